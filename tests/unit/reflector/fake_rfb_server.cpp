#include "tests/unit/reflector/fake_rfb_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <stdexcept>
#include <variant>

#include "codec/byte_writer.h"
#include "codec/client_message_parser.h"
#include "codec/pixel_converter.h"
#include "codec/rfb_constants.h"
#include "codec/vnc_auth.h"

namespace rfbcast::fake {

namespace {

// Long enough for a 50 MB flood under sanitizers; a hung test still ends.
constexpr auto kConnectionDeadline = std::chrono::seconds(60);
constexpr int kPollSliceMs = 20;

Bytes version_bytes(int minor) {
    const std::string v = "RFB 003.00" + std::to_string(minor) + "\n";
    return Bytes(v.begin(), v.end());
}

}  // namespace

const char* handshake_name(Handshake h) {
    switch (h) {
        case Handshake::k38None:
            return "3.8/None";
        case Handshake::k37None:
            return "3.7/None";
        case Handshake::k33None:
            return "3.3/None";
        case Handshake::k38VncAuth:
            return "3.8/VncAuth";
        case Handshake::k33VncAuth:
            return "3.3/VncAuth";
    }
    return "?";
}

std::vector<uint32_t> test_picture(uint16_t w, uint16_t h, uint32_t seed) {
    std::vector<uint32_t> px(size_t{w} * h);
    uint32_t state = seed * 2654435761u + 1;
    for (uint32_t y = 0; y < h; ++y)
        for (uint32_t x = 0; x < w; ++x) {
            state = state * 1664525u + 1013904223u;
            // Blocks, a gradient and noise, different for every seed.
            uint32_t p;
            if (x < w / 3)
                p = ((x / 5 + y / 3 + seed) % 3) ? 0xf0f0f0 : 0x102030 + seed;
            else if (x < 2 * w / 3)
                p = ((x * 3 + seed) & 0xff) << 16 | ((y * 2) & 0xff) << 8 | (seed * 37 & 0xff);
            else
                p = state >> 8;
            px[size_t{y} * w + x] = p & 0xffffff;
        }
    return px;
}

FakePeer::FakePeer(int fd, const std::atomic<bool>& stop)
    : fd_(fd), stop_(stop), deadline_(std::chrono::steady_clock::now() + kConnectionDeadline) {}

FakePeer::~FakePeer() {
    ::close(fd_);
}

bool FakePeer::wait_fd(short events) {
    while (!dead_) {
        if (stop_.load() || std::chrono::steady_clock::now() > deadline_) {
            dead_ = true;
            break;
        }
        pollfd p{fd_, events, 0};
        const int n = ::poll(&p, 1, kPollSliceMs);
        if (n > 0) return true;
        if (n < 0 && errno != EINTR) dead_ = true;
    }
    return false;
}

bool FakePeer::send(std::span<const uint8_t> bytes) {
    size_t off = 0;
    while (off < bytes.size()) {
        if (!wait_fd(POLLOUT)) return false;
        const ssize_t n =
            ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR) continue;
            dead_ = true;
            return false;
        }
        off += static_cast<size_t>(n);
        sent_ += static_cast<uint64_t>(n);
    }
    return true;
}

bool FakePeer::send_repeated(std::span<const uint8_t> pattern, size_t total) {
    while (total > 0) {
        const size_t n = std::min(total, pattern.size());
        if (!send(pattern.first(n))) return false;
        total -= n;
    }
    return true;
}

bool FakePeer::fill_rx() {
    if (!wait_fd(POLLIN)) return false;
    uint8_t buf[16384];
    const ssize_t n = ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
        dead_ = true;
        return false;
    }
    if (n > 0) rx_.insert(rx_.end(), buf, buf + n);
    return true;
}

bool FakePeer::read_exact(size_t n, Bytes& out) {
    while (rx_.size() < n)
        if (!fill_rx()) return false;
    out.assign(rx_.begin(), rx_.begin() + static_cast<ptrdiff_t>(n));
    rx_.erase(rx_.begin(), rx_.begin() + static_cast<ptrdiff_t>(n));
    return true;
}

bool FakePeer::handshake(Handshake h, uint16_t width, uint16_t height, const rfb::PixelFormat& pf,
                         const std::string& password) {
    const bool v33 = h == Handshake::k33None || h == Handshake::k33VncAuth;
    const bool auth = h == Handshake::k38VncAuth || h == Handshake::k33VncAuth;
    const int minor = v33 ? 3 : (h == Handshake::k37None ? 7 : 8);
    Bytes in;
    if (!send(version_bytes(minor)) || !read_exact(12, in)) return false;
    if (in != version_bytes(minor)) return false;  // the client must answer with our version
    Bytes out;
    rfb::ByteWriter w(out);
    const uint8_t type = auth ? rfb::security::kVncAuth : rfb::security::kNone;
    if (v33) {
        w.u32(type);
    } else {
        w.u8(1);
        w.u8(type);
    }
    if (!send(out)) return false;
    if (!v33) {
        if (!read_exact(1, in) || in[0] != type) return false;
    }
    if (auth) {
        std::array<uint8_t, 16> challenge{};
        for (size_t i = 0; i < challenge.size(); ++i)
            challenge[i] = static_cast<uint8_t>(i * 13 + 5);
        if (!send(challenge) || !read_exact(16, in)) return false;
        const bool ok =
            rfb::vnc_auth_check(challenge, std::span<const uint8_t, 16>(in.data(), 16), password);
        out.clear();
        w.u32(ok ? 0 : 1);
        if (!send(out) || !ok) return false;
    } else if (minor == 8) {
        out.clear();
        w.u32(0);
        if (!send(out)) return false;
    }
    if (!read_exact(1, in)) return false;  // ClientInit
    out.clear();
    const std::string name = std::string("fake ") + handshake_name(h);
    w.u16(width);
    w.u16(height);
    pf.write(w);
    w.u32(static_cast<uint32_t>(name.size()));
    w.text(name);
    client_format_ = pf;
    return send(out);
}

bool FakePeer::wait_update_request(bool* incremental) {
    const rfb::ClientMessageParser parser;
    for (;;) {
        const rfb::ClientParse p = parser.parse(rx_);
        if (p.status == rfb::ClientParse::kError) return false;
        if (p.status == rfb::ClientParse::kNeedMore) {
            if (!fill_rx()) return false;
            continue;
        }
        rx_.erase(rx_.begin(), rx_.begin() + static_cast<ptrdiff_t>(p.consumed));
        if (const auto* f = std::get_if<rfb::SetPixelFormatMsg>(&p.message)) {
            client_format_ = f->format;
        } else if (const auto* u = std::get_if<rfb::UpdateRequestMsg>(&p.message)) {
            if (incremental) *incremental = u->incremental;
            return true;
        }
    }
}

Bytes FakePeer::raw_frame_bytes(uint16_t width, uint16_t height,
                                const std::vector<uint32_t>& pixels) {
    const rfb::PixelWriter px(client_format_);
    Bytes out;
    rfb::ByteWriter w(out);
    w.u8(rfb::server_msg::kFramebufferUpdate);
    w.u8(0);
    w.u16(1);
    w.u16(0);
    w.u16(0);
    w.u16(width);
    w.u16(height);
    w.s32(rfb::encoding::kRaw);
    const size_t head = out.size();
    out.resize(head + size_t{width} * height * px.bytes_per_pixel());
    px.write_row(pixels.data(), size_t{width} * height, out.data() + head);
    return out;
}

bool FakePeer::send_raw_frame(uint16_t width, uint16_t height,
                              const std::vector<uint32_t>& pixels) {
    return send(raw_frame_bytes(width, height, pixels));
}

bool FakePeer::wait_for(const std::atomic<bool>& flag) {
    while (!flag.load()) {
        if (dead_ || stop_.load()) return false;
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, kPollSliceMs) > 0) {
            uint8_t buf[4096];
            const ssize_t n = ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
            if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) dead_ = true;
        }
    }
    return true;
}

void FakePeer::drain() {
    rx_.clear();
    while (fill_rx())
        rx_.clear();
}

void FakePeer::close_write() {
    ::shutdown(fd_, SHUT_WR);
}

FakeRfbServer::FakeRfbServer(std::vector<Script> scripts) : scripts_(std::move(scripts)) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (listen_fd_ < 0) throw std::runtime_error("socket");
    const int one = 1;
    setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    socklen_t len = sizeof a;
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::listen(listen_fd_, 8) != 0 ||
        ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0)
        throw std::runtime_error("cannot listen on loopback");
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { run(); });
}

FakeRfbServer::~FakeRfbServer() {
    stop();
}

void FakeRfbServer::stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    if (listen_fd_ >= 0) {
        ::close(listen_fd_);
        listen_fd_ = -1;
    }
}

void FakeRfbServer::run() {
    size_t next = 0;
    while (!stop_.load()) {
        pollfd p{listen_fd_, POLLIN, 0};
        if (::poll(&p, 1, kPollSliceMs) <= 0) continue;
        const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd < 0) continue;
        const int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        ++accepted_;
        FakePeer peer(fd, stop_);
        if (!scripts_.empty()) scripts_[std::min(next, scripts_.size() - 1)](peer);
        ++next;
        // FIN after everything the script sent, then wait for the client to close: closing with
        // unread input would send a reset and could destroy bytes still on their way.
        peer.close_write();
        peer.drain();
        ++finished_;
    }
}

}  // namespace rfbcast::fake
