#include "bench/fanout/upstream_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <variant>

#include "codec/byte_writer.h"
#include "codec/client_message_parser.h"
#include "codec/encoder.h"
#include "codec/pixel_converter.h"
#include "codec/rect_framing.h"
#include "codec/rfb_constants.h"
#include "codec/server_handshake.h"
#include "codec/server_messages.h"

namespace fanout {
namespace {

constexpr size_t kRecvChunk = 64 * 1024;
constexpr size_t kMaxPendingRects = 32;  // more damage rectangles than this become one

int64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

// Adds r to a small damage list: dropped if covered, merged with anything it overlaps, and the
// whole list collapses to its bounding box past kMaxPendingRects.
void add_damage(std::vector<rfb::Rect>& list, rfb::Rect r) {
    if (r.empty()) return;
    for (;;) {
        auto hit = std::find_if(list.begin(), list.end(),
                                [&](const rfb::Rect& o) { return !o.intersect(r).empty(); });
        if (hit == list.end()) break;
        if (hit->contains(r)) return;
        const uint32_t l = std::min(hit->x, r.x), t = std::min(hit->y, r.y);
        const uint32_t rr = std::max(hit->right(), r.right());
        const uint32_t b = std::max(hit->bottom(), r.bottom());
        r = rfb::Rect{l, t, rr - l, b - t};
        list.erase(hit);
    }
    list.push_back(r);
    if (list.size() > kMaxPendingRects) {
        rfb::Rect box = list.front();
        for (const rfb::Rect& o : list) {
            const uint32_t l = std::min(box.x, o.x), t = std::min(box.y, o.y);
            const uint32_t rr = std::max(box.right(), o.right());
            const uint32_t b = std::max(box.bottom(), o.bottom());
            box = rfb::Rect{l, t, rr - l, b - t};
        }
        list.assign(1, box);
    }
}

bool supported(int32_t e) {
    return e == rfb::encoding::kRaw || e == rfb::encoding::kHextile || e == rfb::encoding::kZRLE;
}

}  // namespace

struct UpstreamServer::Client {
    explicit Client(int fd_) : fd(fd_), handshake(rfb::ServerHandshakeConfig{}) {}
    int fd;
    rfb::ServerHandshake handshake;
    bool ready = false;  // handshake done, ServerInit sent
    std::vector<uint8_t> rx, tx;
    size_t tx_off = 0;
    bool watching_output = false;
    rfb::PixelWriter px{rfb::PixelFormat::canonical()};
    int32_t encoding = rfb::encoding::kRaw;
    std::unique_ptr<rfb::RectEncoder> encoder = rfb::make_encoder(rfb::encoding::kRaw);
    rfb::EncodeTuning tuning;
    rfb::ViewerStreamState stream;
    bool copyrect_ok = false;
    bool request = false;  // a FramebufferUpdateRequest waits for an answer
    // Pending change: an optional CopyRect (only ever taken when nothing else was pending, so
    // its source is what the client shows), then damage painted with current pixels.
    bool has_copy = false;
    rfb::Rect copy_dst;
    uint32_t copy_sx = 0, copy_sy = 0;
    std::vector<rfb::Rect> damage;
    bool dead = false;
};

UpstreamServer::UpstreamServer(const UpstreamOptions& opt, FrameClock& times)
    : opt_(opt), times_(times), content_(opt.content) {}

UpstreamServer::~UpstreamServer() {
    stop();
    for (int fd : {listen_fd_, epoll_fd_, timer_fd_, stop_fd_})
        if (fd >= 0) close(fd);
}

bool UpstreamServer::start(std::string& error) {
    const auto sys_fail = [&](const char* what) {
        error = std::string(what) + ": " + std::strerror(errno);
        return false;
    };
    listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (listen_fd_ < 0) return sys_fail("socket");
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
        return sys_fail("bind");
    if (listen(listen_fd_, 16) != 0) return sys_fail("listen");
    socklen_t len = sizeof addr;
    getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);

    epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
    timer_fd_ = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    stop_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (epoll_fd_ < 0 || timer_fd_ < 0 || stop_fd_ < 0) return sys_fail("epoll/timerfd/eventfd");
    const double fps = std::clamp(opt_.fps, 0.1, 1000.0);
    const auto period = static_cast<long>(std::llround(1e9 / fps));
    itimerspec its{};
    its.it_interval.tv_sec = period / 1000000000L;
    its.it_interval.tv_nsec = period % 1000000000L;
    its.it_value = its.it_interval;
    if (timerfd_settime(timer_fd_, 0, &its, nullptr) != 0) return sys_fail("timerfd_settime");
    for (int fd : {listen_fd_, timer_fd_, stop_fd_}) {
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.u64 = static_cast<uint64_t>(fd);
        epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev);
    }
    thread_ = std::thread([this] { run(); });
    has_cpu_clock_ = pthread_getcpuclockid(thread_.native_handle(), &cpu_clock_) == 0;
    return true;
}

void UpstreamServer::stop() {
    if (!thread_.joinable()) return;
    const uint64_t one = 1;
    [[maybe_unused]] ssize_t n = write(stop_fd_, &one, sizeof one);
    thread_.join();
    has_cpu_clock_ = false;
    for (auto& c : clients_)
        close(c->fd);
    clients_.clear();
}

UpstreamStats UpstreamServer::stats() const {
    UpstreamStats s;
    s.frames = frames_.load();
    s.late_ticks = late_.load();
    s.updates = updates_.load();
    s.bytes = bytes_.load();
    s.connections = connections_.load();
    s.disconnects = disconnects_.load();
    s.clients = client_count_.load();
    s.encoding = encoding_.load();
    return s;
}

double UpstreamServer::cpu_seconds() const {
    if (!has_cpu_clock_) return 0;
    timespec ts{};
    if (clock_gettime(cpu_clock_, &ts) != 0) return 0;
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

std::string UpstreamServer::last_error() const {
    std::lock_guard lock(error_mutex_);
    return last_error_;
}

// Client sockets are told apart from the three fixed fds by data.u64: fds are small, client
// pointers are not.
void UpstreamServer::run() {
    std::array<epoll_event, 16> events{};
    for (;;) {
        const int n = epoll_wait(epoll_fd_, events.data(), static_cast<int>(events.size()), 1000);
        if (n < 0 && errno != EINTR) return;
        for (int i = 0; i < n; ++i) {
            const uint64_t key = events[i].data.u64;
            if (key == static_cast<uint64_t>(stop_fd_)) return;
            if (key == static_cast<uint64_t>(listen_fd_)) {
                accept_clients();
            } else if (key == static_cast<uint64_t>(timer_fd_)) {
                on_tick();
            } else {
                auto* c = reinterpret_cast<Client*>(key);
                if (events[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) on_readable(*c);
                if (!c->dead && (events[i].events & EPOLLOUT)) on_writable(*c);
            }
        }
        // Closed clients are freed only here, after no event of this batch can name them.
        std::erase_if(clients_, [](const std::unique_ptr<Client>& c) { return c->dead; });
        client_count_ = static_cast<uint32_t>(clients_.size());
    }
}

void UpstreamServer::accept_clients() {
    for (;;) {
        const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) return;
        if (clients_.size() >= opt_.max_clients) {
            close(fd);
            continue;
        }
        const int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        auto c = std::make_unique<Client>(fd);
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.u64 = reinterpret_cast<uint64_t>(c.get());
        epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev);
        c->handshake.start(c->tx);
        Client& ref = *c;
        clients_.push_back(std::move(c));
        client_count_ = static_cast<uint32_t>(clients_.size());
        ++connections_;
        flush(ref);
    }
}

void UpstreamServer::on_tick() {
    uint64_t expirations = 0;
    if (read(timer_fd_, &expirations, sizeof expirations) != sizeof expirations) return;
    if (expirations > 1) late_ += expirations - 1;
    const FrameChange change = content_.advance();
    times_.drawn.record(content_.frame(), now_ns());
    ++frames_;
    for (auto& c : clients_) {
        if (c->dead || !c->ready) continue;
        add_frame(*c, change);
        try_send(*c);
    }
}

void UpstreamServer::add_frame(Client& c, const FrameChange& change) {
    if (change.has_copy) {
        if (c.copyrect_ok && !c.has_copy && c.damage.empty()) {
            c.has_copy = true;
            c.copy_dst = change.copy_dst;
            c.copy_sx = change.copy_src_x;
            c.copy_sy = change.copy_src_y;
        } else {
            // The client's picture is behind: paint the scrolled area instead of copying it.
            if (c.has_copy && change.copy_dst.contains(c.copy_dst)) c.has_copy = false;
            add_damage(c.damage, change.copy_dst);
        }
    }
    for (const rfb::Rect& r : change.damage)
        add_damage(c.damage, r);
}

void UpstreamServer::on_readable(Client& c) {
    const rfb::ClientMessageParser parser;
    const size_t cap = parser.max_message_size() + kRecvChunk;
    for (;;) {
        if (c.rx.size() >= cap) return drop(c, "client message larger than the parser allows");
        const size_t old = c.rx.size();
        c.rx.resize(old + kRecvChunk);
        const ssize_t n = recv(c.fd, c.rx.data() + old, kRecvChunk, MSG_DONTWAIT);
        c.rx.resize(old + static_cast<size_t>(std::max<ssize_t>(n, 0)));
        if (n == 0) return drop(c, "client closed the connection");
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) break;
            if (errno == EINTR) continue;
            return drop(c, std::string("recv: ") + std::strerror(errno));
        }
    }
    if (!handle_messages(c) || !flush(c)) return;
    try_send(c);
}

bool UpstreamServer::handle_messages(Client& c) {
    size_t pos = 0;
    if (!c.ready) {
        const rfb::HandshakeStep step = c.handshake.feed(c.rx, c.tx);
        pos = step.consumed;
        if (step.status == rfb::HandshakeStep::kFailed) {
            flush(c);
            drop(c, "handshake: " + step.error);
            return false;
        }
        if (step.status == rfb::HandshakeStep::kDone) {
            rfb::ByteWriter w(c.tx);
            const rfb::Framebuffer& fb = content_.framebuffer();
            rfb::write_server_init(w, static_cast<uint16_t>(fb.width()),
                                   static_cast<uint16_t>(fb.height()),
                                   rfb::PixelFormat::canonical(), "fanout upstream");
            c.ready = true;
        }
    }
    const rfb::ClientMessageParser parser;
    while (c.ready) {
        const rfb::ClientParse p = parser.parse(std::span(c.rx).subspan(pos));
        if (p.status == rfb::ClientParse::kNeedMore) break;
        if (p.status == rfb::ClientParse::kError) {
            drop(c, "client message: " + p.error);
            return false;
        }
        pos += p.consumed;
        if (auto* spf = std::get_if<rfb::SetPixelFormatMsg>(&p.message)) {
            std::string why;
            if (!spf->format.valid(&why)) {
                drop(c, "SetPixelFormat: " + why);
                return false;
            }
            c.px = rfb::PixelWriter(spf->format);
        } else if (auto* se = std::get_if<rfb::SetEncodingsMsg>(&p.message)) {
            int32_t chosen = rfb::encoding::kRaw;
            bool found = false;
            for (int32_t e : se->encodings) {
                if (!found && supported(e)) {
                    chosen = e;
                    found = true;
                }
                if (e == opt_.encoding && supported(e)) {
                    chosen = e;
                    found = true;
                    break;
                }
            }
            c.copyrect_ok =
                opt_.copyrect && std::find(se->encodings.begin(), se->encodings.end(),
                                           rfb::encoding::kCopyRect) != se->encodings.end();
            for (int32_t e : se->encodings)
                if (e >= rfb::encoding::kCompressLevel0 && e <= rfb::encoding::kCompressLevel9)
                    c.tuning.compress = e - rfb::encoding::kCompressLevel0;
            if (chosen != c.encoding) {
                c.encoding = chosen;
                c.encoder = rfb::make_encoder(chosen);
            }
            encoding_ = chosen;
        } else if (auto* req = std::get_if<rfb::UpdateRequestMsg>(&p.message)) {
            c.request = true;
            if (!req->incremental) {
                c.has_copy = false;
                c.damage.assign(1, content_.framebuffer().bounds());
            }
        }
        // Input, clipboard and the rest are of no interest to a load source.
    }
    c.rx.erase(c.rx.begin(), c.rx.begin() + static_cast<std::ptrdiff_t>(pos));
    return true;
}

void UpstreamServer::try_send(Client& c) {
    if (c.dead || !c.ready || !c.request || c.tx_off < c.tx.size()) return;
    if (!c.has_copy && c.damage.empty()) return;
    c.tx.clear();
    c.tx_off = 0;
    rfb::ByteWriter w(c.tx);
    const size_t nrects = c.damage.size() + (c.has_copy ? 1 : 0);
    rfb::write_update_header(w, static_cast<uint16_t>(nrects));
    if (c.has_copy) rfb::write_copyrect(w, c.copy_dst, c.copy_sx, c.copy_sy);
    const rfb::Framebuffer& fb = content_.framebuffer();
    std::vector<uint8_t> body;
    for (const rfb::Rect& r : c.damage) {
        body.clear();
        if (!c.encoder->encode(fb, r, c.px, c.tuning, body) ||
            !rfb::write_rect_prefix(w, r, c.encoding, body.size(), c.stream))
            return drop(c, "cannot encode a rectangle");
        w.bytes(body);
    }
    c.has_copy = false;
    c.damage.clear();
    c.request = false;
    times_.sent.record(content_.frame(), now_ns());
    ++updates_;
    flush(c);
}

bool UpstreamServer::flush(Client& c) {
    while (c.tx_off < c.tx.size()) {
        const ssize_t n =
            send(c.fd, c.tx.data() + c.tx_off, c.tx.size() - c.tx_off, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n > 0) {
            c.tx_off += static_cast<size_t>(n);
            bytes_ += static_cast<uint64_t>(n);
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            watch_output(c, true);
            return true;
        }
        drop(c, std::string("send: ") + std::strerror(errno));
        return false;
    }
    c.tx.clear();
    c.tx_off = 0;
    watch_output(c, false);
    return true;
}

void UpstreamServer::on_writable(Client& c) {
    if (flush(c)) try_send(c);
}

void UpstreamServer::watch_output(Client& c, bool on) {
    if (c.watching_output == on) return;
    c.watching_output = on;
    epoll_event ev{};
    ev.events = EPOLLIN | (on ? EPOLLOUT : 0u);
    ev.data.u64 = reinterpret_cast<uint64_t>(&c);
    epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, c.fd, &ev);
}

void UpstreamServer::drop(Client& c, const std::string& why) {
    if (c.dead) return;
    c.dead = true;
    epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, c.fd, nullptr);
    close(c.fd);
    ++disconnects_;
    std::lock_guard lock(error_mutex_);
    last_error_ = why;
}

}  // namespace fanout
