// record_session: records real RFB sessions on loopback and cuts them into fuzz seeds
// (scripts/record-seeds.sh drives it; tests/fuzz/README.md "Adding seeds").
//
//   record_session relay --to PORT --out PREFIX [--port-file F] [--timeout-ms N]
//                        [--drop-encodings N,N,...]
//     Listens on 127.0.0.1 (a free port, written to F once listening), accepts one connection,
//     dials 127.0.0.1:PORT and relays both ways until both sides have closed, logging what the
//     server was sent to PREFIX.c2s and what the viewer was sent to PREFIX.s2c. With
//     --drop-encodings, those are taken out of the viewer's SetEncodings (EncodingFilter).
//
//   record_session seeds --c2s F --s2c F --corpus DIR --server NAME --viewer NAME --what WHAT
//                        [--password-file F] [--websocket yes]
//     Reads one recorded session (security None or VNC Authentication, the password in F) and
//     writes, each only when the recording yields it and the seed checks out:
//       client_handshake/recorded-<server>-<viewer>-<what>       server->client handshake
//       server_handshake/recorded-<viewer>-<server>-<what>       client->server handshake
//       server_message_reader/recorded-<server>-<viewer>-<what>  server->client after ServerInit
//       client_message_parser/recorded-<viewer>-<server>-<what>  client->server after ClientInit
//       <enc>_decoder/recorded-<server>-<viewer>-<what>[-kind]   one rectangle body of an update
//     With --websocket yes, the viewer is a browser and c2s its WebSocket connection:
//       http_request/recorded-<viewer>-<server>-<what>            its HTTP request head
//       websocket_frame_reader/recorded-<viewer>-<server>-<what>  its frames after the head
//     each with the parameter prefix its target reads, and at most 64 KiB (libFuzzer's
//     -max_len). A seed whose bytes are already in the directory is not written twice. One
//     line per seed says how far it gets.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "codec/byte_reader.h"
#include "codec/byte_writer.h"
#include "codec/client_handshake.h"
#include "codec/client_message_parser.h"
#include "codec/decoder.h"
#include "codec/framebuffer.h"
#include "codec/http_request.h"
#include "codec/pixel_converter.h"
#include "codec/pixel_format.h"
#include "codec/rfb_constants.h"
#include "codec/server_handshake.h"
#include "codec/server_message_reader.h"
#include "codec/websocket_frame_reader.h"
#include "codec/websocket_handshake.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

using Bytes = std::vector<uint8_t>;
namespace fs = std::filesystem;

[[noreturn]] void usage(const std::string& why) {
    std::fprintf(stderr,
                 "record_session: %s\n"
                 "usage: record_session relay --to PORT --out PREFIX [--port-file F] "
                 "[--timeout-ms N] [--drop-encodings N,N,...]\n"
                 "       record_session seeds --c2s F --s2c F --corpus DIR --server NAME "
                 "--viewer NAME --what WHAT [--password-file F] [--websocket yes]\n",
                 why.c_str());
    std::exit(1);
}

std::map<std::string, std::string> parse_flags(int argc, char** argv, int first) {
    std::map<std::string, std::string> flags;
    for (int i = first; i < argc; i += 2) {
        const std::string name = argv[i];
        if (name.rfind("--", 0) != 0 || i + 1 >= argc) usage("bad argument " + name);
        flags[name.substr(2)] = argv[i + 1];
    }
    return flags;
}

std::string need(const std::map<std::string, std::string>& flags, const std::string& name) {
    const auto it = flags.find(name);
    if (it == flags.end() || it->second.empty()) usage("--" + name + " is required");
    return it->second;
}

long number(const std::string& name, const std::string& v, long lo, long hi) {
    char* end = nullptr;
    errno = 0;
    const long n = std::strtol(v.c_str(), &end, 10);
    if (v.empty() || *end != '\0' || errno != 0 || n < lo || n > hi)
        usage("bad value for --" + name);
    return n;
}

// 3, 7 or 8 for an RFB 3.x ProtocolVersion message, as servers read it; 0 for anything else.
int minor_of(std::span<const uint8_t> version) {
    rfb::ProtocolVersion v;
    if (!rfb::parse_protocol_version(version, v) || v.major != 3) return 0;
    return v.minor >= 8 ? 8 : v.minor == 7 ? 7 : 3;
}

// ---- relay -----------------------------------------------------------------------------------

using Clock = std::chrono::steady_clock;

// Bytes read but not yet written on; reading stops while it is full, so a slow side slows the
// other down instead of growing memory.
constexpr size_t kPipeCap = size_t{4} << 20;
// A recording only feeds seeds of at most 64 KiB and a decode check: more is not kept.
constexpr size_t kLogCap = size_t{64} << 20;

// --drop-encodings: takes encodings out of the viewer's SetEncodings on the way to the server.
// libvncclient and vncsnapshot always ask for PointerPos (-232), and libvncclient for
// libvncserver's own pseudo-encodings (-131072..-131069: keyboard LEDs, supported messages and
// encodings, server identity) and xvp (-309); libvncserver then sends them, and rfbcast neither
// asks for nor reads them, so a recording from x11vnc would stop at its first update. The
// viewer's messages are held until complete, and a SetEncodings is passed on rewritten by
// codec's writer; the log keeps what the server was sent.
class EncodingFilter {
  public:
    explicit EncodingFilter(std::vector<int32_t> drop) : drop_(std::move(drop)) {}

    // The server's first bytes: a 3.3 server chooses the security type itself.
    void server_bytes(std::span<const uint8_t> b) {
        const size_t n = std::min(b.size(), kServerHead - server_head_.size());
        server_head_.insert(server_head_.end(), b.begin(), b.begin() + static_cast<ptrdiff_t>(n));
    }

    // Appends to `out` what can go on to the server now.
    void viewer_bytes(std::span<const uint8_t> b, Bytes& out) {
        held_.insert(held_.end(), b.begin(), b.end());
        const size_t head = std::min(b.size(), kViewerHead - viewer_head_.size());
        viewer_head_.insert(viewer_head_.end(), b.begin(),
                            b.begin() + static_cast<ptrdiff_t>(head));
        if (!passthrough_ && handshake_left_ == kUnknown) {
            const size_t total = handshake_size();
            if (total != kUnknown) handshake_left_ = total - passed_;
        }
        if (passthrough_) return flush(out);
        if (handshake_left_ == kUnknown) {
            // The version goes on at once: a 3.3 server names the security type only after it.
            return pass(std::min(held_.size(), rfb::kProtocolVersionSize - passed_), out);
        }
        const size_t hs = std::min(handshake_left_, held_.size());
        pass(hs, out);
        handshake_left_ -= hs;
        while (handshake_left_ == 0 && !held_.empty()) {
            rfb::ClientParse r = parser_.parse(held_);
            if (r.status == rfb::ClientParse::kNeedMore) return;
            if (r.status == rfb::ClientParse::kError) {
                passthrough_ = true;
                return flush(out);
            }
            auto* enc = std::get_if<rfb::SetEncodingsMsg>(&r.message);
            if (!enc) {
                pass(r.consumed, out);
                continue;
            }
            std::erase_if(enc->encodings, [this](int32_t e) {
                return std::find(drop_.begin(), drop_.end(), e) != drop_.end();
            });
            rfb::ByteWriter w(out);
            rfb::write_client_message(w, r.message);
            held_.erase(held_.begin(), held_.begin() + static_cast<ptrdiff_t>(r.consumed));
        }
    }

    // The viewer has gone: whatever is held goes as it is.
    void flush(Bytes& out) { pass(held_.size(), out); }

  private:
    static constexpr size_t kServerHead = 16;  // version and a 3.3 security type
    static constexpr size_t kViewerHead = 13;  // version and a 3.7+ security type choice
    static constexpr size_t kUnknown = SIZE_MAX;

    void pass(size_t n, Bytes& out) {
        out.insert(out.end(), held_.begin(), held_.begin() + static_cast<ptrdiff_t>(n));
        held_.erase(held_.begin(), held_.begin() + static_cast<ptrdiff_t>(n));
        passed_ += n;
    }

    // The viewer's handshake: version, its security type choice (3.7+), the VNC Authentication
    // response, ClientInit. Anything else (another security type, not RFB) is not filtered.
    size_t handshake_size() {
        if (viewer_head_.size() < rfb::kProtocolVersionSize) return kUnknown;
        const int minor = minor_of(std::span<const uint8_t>(viewer_head_).first(12));
        uint32_t type = 0;
        if (minor == 3) {
            if (server_head_.size() < kServerHead) return kUnknown;
            type = (uint32_t{server_head_[12]} << 24) | (uint32_t{server_head_[13]} << 16) |
                   (uint32_t{server_head_[14]} << 8) | server_head_[15];
        } else if (minor != 0) {
            if (viewer_head_.size() < kViewerHead) return kUnknown;
            type = viewer_head_[12];
        }
        if (type != rfb::security::kNone && type != rfb::security::kVncAuth) {
            passthrough_ = true;
            return kUnknown;
        }
        return 12 + (minor >= 7 ? 1 : 0) + (type == rfb::security::kVncAuth ? 16 : 0) + 1;
    }

    std::vector<int32_t> drop_;
    const rfb::ClientMessageParser parser_;
    Bytes held_, server_head_, viewer_head_;
    size_t passed_ = 0;  // bytes of the viewer's stream passed on so far
    size_t handshake_left_ = kUnknown;
    bool passthrough_ = false;
};

struct Direction {
    int from = -1, to = -1;
    EncodingFilter* filter = nullptr;  // viewer->server only
    EncodingFilter* watch = nullptr;   // server->viewer: shows the filter the server's first bytes
    std::FILE* log = nullptr;
    size_t logged = 0;
    Bytes pending;
    bool eof = false;       // `from` has closed (or failed)
    bool shut = false;      // and everything read was passed on: `to` is shut for writing
    bool dead_end = false;  // `to` refused a write: nothing more can be delivered
};

bool set_nonblocking(int fd) {
    const int fl = fcntl(fd, F_GETFL);
    return fl >= 0 && fcntl(fd, F_SETFL, fl | O_NONBLOCK) == 0;
}

sockaddr_in loopback(uint16_t port) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

// Logs what goes to the other side and queues it.
void pass_on(Direction& d, std::span<const uint8_t> bytes) {
    if (d.logged < kLogCap) {
        const size_t keep = std::min(bytes.size(), kLogCap - d.logged);
        if (std::fwrite(bytes.data(), 1, keep, d.log) != keep) std::perror("record_session: log");
        d.logged += keep;
    }
    if (!d.dead_end) d.pending.insert(d.pending.end(), bytes.begin(), bytes.end());
}

void read_side(Direction& d) {
    uint8_t buf[65536];
    const size_t room = std::min(sizeof buf, kPipeCap - d.pending.size());
    const ssize_t n = ::read(d.from, buf, room);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (n <= 0) {
        d.eof = true;
        if (d.filter) {
            Bytes rest;
            d.filter->flush(rest);
            pass_on(d, rest);
        }
        return;
    }
    const std::span<const uint8_t> got(buf, static_cast<size_t>(n));
    if (d.watch) d.watch->server_bytes(got);
    if (!d.filter) return pass_on(d, got);
    Bytes out;
    d.filter->viewer_bytes(got, out);
    pass_on(d, out);
}

void write_side(Direction& d) {
    const ssize_t n = ::send(d.to, d.pending.data(), d.pending.size(), MSG_NOSIGNAL);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (n < 0) {
        d.dead_end = true;
        d.pending.clear();
        return;
    }
    d.pending.erase(d.pending.begin(), d.pending.begin() + n);
}

int relay(int argc, char** argv) {
    const auto flags = parse_flags(argc, argv, 2);
    const auto to_port = static_cast<uint16_t>(number("to", need(flags, "to"), 1, 65535));
    const std::string prefix = need(flags, "out");
    const long timeout_ms = flags.count("timeout-ms")
                                ? number("timeout-ms", flags.at("timeout-ms"), 1, 3600000)
                                : 60000;
    const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    auto ms_left = [&] {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        return static_cast<int>(std::max<int64_t>(0, left.count()));
    };

    const int lfd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const int one = 1;
    ::setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr = loopback(0);
    socklen_t len = sizeof addr;
    if (lfd < 0 || ::bind(lfd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(lfd, 1) != 0 || ::getsockname(lfd, reinterpret_cast<sockaddr*>(&addr), &len)) {
        std::perror("record_session: listen");
        return 2;
    }
    const unsigned port = ntohs(addr.sin_port);
    if (flags.count("port-file")) {
        // Written whole and renamed, so a script polling for it never reads half a number.
        const std::string tmp = flags.at("port-file") + ".tmp";
        std::ofstream(tmp) << port << "\n";
        fs::rename(tmp, flags.at("port-file"));
    }
    std::fprintf(stderr, "record_session: listening on 127.0.0.1:%u, relaying to port %u\n", port,
                 to_port);

    pollfd lp{lfd, POLLIN, 0};
    if (::poll(&lp, 1, ms_left()) != 1) {
        std::fprintf(stderr, "record_session: no connection before the timeout\n");
        return 4;
    }
    const int client = ::accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
    ::close(lfd);
    const int server = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const sockaddr_in up = loopback(to_port);
    if (client < 0 || server < 0 ||
        ::connect(server, reinterpret_cast<const sockaddr*>(&up), sizeof up) != 0) {
        std::perror("record_session: connect");
        return 2;
    }
    if (!set_nonblocking(client) || !set_nonblocking(server)) return 2;

    std::FILE* c2s_log = std::fopen((prefix + ".c2s").c_str(), "wb");
    std::FILE* s2c_log = std::fopen((prefix + ".s2c").c_str(), "wb");
    if (!c2s_log || !s2c_log) {
        std::perror("record_session: log");
        return 2;
    }
    Direction c2s, s2c;
    c2s.from = s2c.to = client;
    c2s.to = s2c.from = server;
    c2s.log = c2s_log;
    s2c.log = s2c_log;
    std::optional<EncodingFilter> filter;
    if (flags.count("drop-encodings")) {
        std::vector<int32_t> drop;
        const std::string& list = flags.at("drop-encodings");
        for (size_t from = 0; from <= list.size();) {
            const size_t comma = std::min(list.find(',', from), list.size());
            drop.push_back(static_cast<int32_t>(
                number("drop-encodings", list.substr(from, comma - from), INT32_MIN, INT32_MAX)));
            from = comma + 1;
        }
        filter.emplace(std::move(drop));
        c2s.filter = s2c.watch = &*filter;
    }
    Direction* dirs[2] = {&c2s, &s2c};

    int status = 0;
    while (!(c2s.shut && s2c.shut)) {
        const int left = ms_left();
        if (left == 0) {
            std::fprintf(stderr, "record_session: timeout, stopping the recording\n");
            status = 4;
            break;
        }
        pollfd p[2] = {{client, 0, 0}, {server, 0, 0}};
        for (Direction* d : dirs) {
            pollfd& in = d->from == client ? p[0] : p[1];
            pollfd& out = d->to == client ? p[0] : p[1];
            if (!d->eof && d->pending.size() < kPipeCap) in.events |= POLLIN;
            if (!d->pending.empty()) out.events |= POLLOUT;
        }
        if (::poll(p, 2, left) < 0 && errno != EINTR) break;
        for (Direction* d : dirs) {
            const pollfd& in = d->from == client ? p[0] : p[1];
            const pollfd& out = d->to == client ? p[0] : p[1];
            if (!d->eof && (in.revents & (POLLIN | POLLHUP | POLLERR))) read_side(*d);
            if (!d->pending.empty() && (out.revents & (POLLOUT | POLLERR))) write_side(*d);
            if (d->eof && d->pending.empty() && !d->shut) {
                ::shutdown(d->to, SHUT_WR);
                d->shut = true;
            }
        }
    }
    std::fclose(c2s_log);
    std::fclose(s2c_log);
    ::close(client);
    ::close(server);
    std::fprintf(stderr,
                 "record_session: recorded %zu byte(s) viewer->server, %zu server->viewer\n",
                 c2s.logged, s2c.logged);
    return status;
}

// ---- seeds: common -----------------------------------------------------------------------

constexpr size_t kMaxSeed = 65536;  // libFuzzer's -max_len in scripts/fuzz.sh's runs
// The client_message_parser target reads at most this many messages of an input.
constexpr size_t kParserTargetMessages = 64;
// decoder_harness.h: non-wide framebuffers are at most 96x96.
constexpr uint32_t kHarnessMaxDim = 96;
// server_message_reader_fuzz.cpp: framebuffers are at most 256x256.
constexpr uint32_t kReaderTargetMaxDim = 256;

Bytes read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) usage("cannot read " + path);
    return Bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

struct SeedWriter {
    fs::path corpus;

    // Writes `target`/`name` unless a file in that directory already holds these bytes.
    void save(const std::string& target, const std::string& name, const Bytes& data,
              const std::string& note) {
        const fs::path dir = corpus / target;
        fs::create_directories(dir);
        std::error_code ec;
        for (const auto& e : fs::directory_iterator(dir, ec)) {
            if (!e.is_regular_file() || e.file_size() != data.size()) continue;
            if (read_file(e.path().string()) == data) {
                std::printf("  %s/%s: same bytes as %s, not written\n", target.c_str(),
                            name.c_str(), e.path().filename().c_str());
                return;
            }
        }
        if (data.size() > kMaxSeed) {
            std::printf("  %s/%s: %zu bytes, over the 64 KiB cap, not written\n", target.c_str(),
                        name.c_str(), data.size());
            return;
        }
        // The same session recorded twice in one run: keep both.
        fs::path path = dir / name;
        for (int n = 2; fs::exists(path); ++n)
            path = dir / (name + "-" + std::to_string(n));
        std::ofstream out(path, std::ios::binary | std::ios::trunc);
        out.write(reinterpret_cast<const char*>(data.data()),
                  static_cast<std::streamsize>(data.size()));
        if (!out) {
            std::fprintf(stderr, "record_session: cannot write %s/%s\n", target.c_str(),
                         name.c_str());
            std::exit(2);
        }
        std::printf("  %s/%s: %zu bytes; %s\n", target.c_str(), path.filename().c_str(),
                    data.size(), note.c_str());
    }
};

void append(Bytes& to, std::span<const uint8_t> from) {
    to.insert(to.end(), from.begin(), from.end());
}

std::string enc_name(int32_t enc) {
    std::string n = rfb::encoding::name(enc);
    return n == "unknown" ? "enc" + std::to_string(enc) : n;
}

// ---- seeds: the handshake ------------------------------------------------------------------

// Where each side's handshake ends, worked out from both directions together (what the viewer
// chose decides what the server sends next). Only None and VNC Authentication: the recordings
// are made with servers that offer exactly one of them.
struct Handshake {
    std::string error;  // empty when understood
    size_t c2s_len = 0, s2c_len = 0;
    int viewer_minor = 0;
    uint8_t type = 0;
    std::array<uint8_t, 16> challenge{};
    uint16_t width = 0, height = 0;
    rfb::PixelFormat format;
    std::string name;
};

Handshake split_handshake(std::span<const uint8_t> c2s, std::span<const uint8_t> s2c) {
    Handshake hs;
    rfb::ByteReader s(s2c), c(c2s);
    std::span<const uint8_t> sv, cv;
    if (!s.bytes(rfb::kProtocolVersionSize, sv) || !c.bytes(rfb::kProtocolVersionSize, cv) ||
        minor_of(sv) == 0 || minor_of(cv) == 0) {
        hs.error = "no RFB 3.x version exchange";
        return hs;
    }
    hs.viewer_minor = minor_of(cv);
    uint32_t type = 0;
    if (hs.viewer_minor == 3) {
        if (!s.u32(type)) hs.error = "short security type";
    } else {
        uint8_t count = 0, chosen = 0;
        if (!s.u8(count) || count == 0 || !s.skip(count) || !c.u8(chosen))
            hs.error = "security types refused or short";
        type = chosen;
    }
    if (!hs.error.empty()) return hs;
    hs.type = static_cast<uint8_t>(type);
    uint32_t result = 0;
    if (type == rfb::security::kVncAuth) {
        std::span<const uint8_t> challenge;
        if (!s.bytes(16, challenge) || !c.skip(16) || !s.u32(result) || result != 0) {
            hs.error = "VNC authentication short or failed";
            return hs;
        }
        std::copy(challenge.begin(), challenge.end(), hs.challenge.begin());
    } else if (type == rfb::security::kNone) {
        if (hs.viewer_minor == 8 && (!s.u32(result) || result != 0)) {
            hs.error = "SecurityResult short or failed";
            return hs;
        }
    } else {
        hs.error = "security type " + std::to_string(type) + " (only None and VncAuth are cut)";
        return hs;
    }
    uint8_t shared = 0;
    uint32_t name_len = 0;
    std::span<const uint8_t> name;
    if (!c.u8(shared) || !s.u16(hs.width) || !s.u16(hs.height) ||
        !rfb::PixelFormat::read(s, hs.format) || !s.u32(name_len) ||
        name_len > rfb::limits::kMaxDesktopNameLength || !s.bytes(name_len, name)) {
        hs.error = "ClientInit or ServerInit short";
        return hs;
    }
    hs.name.assign(name.begin(), name.end());
    hs.c2s_len = c.position();
    hs.s2c_len = s.position();
    return hs;
}

// server_handshake_fuzz.cpp: mode, password lengths, passwords, challenge, chunk seed.
Bytes server_handshake_seed(const Handshake& hs, const std::string& password,
                            std::span<const uint8_t> c2s) {
    const bool pw = hs.type == rfb::security::kVncAuth;
    const std::string p = pw ? password.substr(0, 8) : "";
    Bytes seed{static_cast<uint8_t>(pw ? 1 : 0), static_cast<uint8_t>(p.size()), 0};
    seed.insert(seed.end(), p.begin(), p.end());
    seed.insert(seed.end(), hs.challenge.begin(), hs.challenge.end());
    seed.push_back(0);
    seed.push_back(0);
    append(seed, c2s.first(hs.c2s_len));
    return seed;
}

// What the target makes of it: one chunk, one feed, as server_handshake_fuzz.cpp does.
std::string check_server_handshake(const Handshake& hs, const std::string& password,
                                   std::span<const uint8_t> c2s) {
    rfb::ServerHandshakeConfig config;
    if (hs.type == rfb::security::kVncAuth) config.full_password = password.substr(0, 8);
    config.challenge = hs.challenge;
    rfb::ServerHandshake server(config);
    Bytes out;
    server.start(out);
    const rfb::HandshakeStep step = server.feed(c2s.first(hs.c2s_len), out);
    if (step.status != rfb::HandshakeStep::kDone) return "";
    return "ServerHandshake done (viewer 3." + std::to_string(server.minor_version()) + ", " +
           rfb::security_name(server.security_type()) + ", full access)";
}

// client_handshake_fuzz.cpp: flags (password, shared, TLS policy off), password, chunk seed.
Bytes client_handshake_seed(const Handshake& hs, const std::string& password,
                            std::span<const uint8_t> s2c) {
    const bool pw = hs.type == rfb::security::kVncAuth;
    const std::string p = pw ? password.substr(0, 8) : "";
    const uint8_t policy_off = 2 << 5;
    Bytes seed{static_cast<uint8_t>((pw ? 1 : 0) | 2 | policy_off), static_cast<uint8_t>(p.size())};
    seed.insert(seed.end(), p.begin(), p.end());
    seed.push_back(0);
    seed.push_back(0);
    append(seed, s2c.first(hs.s2c_len));
    return seed;
}

std::string check_client_handshake(const Handshake& hs, const std::string& password,
                                   std::span<const uint8_t> s2c) {
    rfb::ClientHandshakeConfig config;
    if (hs.type == rfb::security::kVncAuth) config.password = password.substr(0, 8);
    config.shared = true;
    config.tls = rfb::TlsPolicy::kOff;
    rfb::ClientHandshake client(config);
    Bytes out;
    std::span<const uint8_t> rest = s2c.first(hs.s2c_len);
    for (;;) {
        const rfb::HandshakeStep step = client.feed(rest, out);
        if (step.status == rfb::HandshakeStep::kFailed) return "";
        rest = rest.subspan(step.consumed);
        if (step.status == rfb::HandshakeStep::kDone) break;
        if (step.consumed == 0) return "";
    }
    const rfb::ServerInitInfo& init = client.server_init();
    return "ClientHandshake done (3." + std::to_string(client.minor_version()) + ", " +
           client.security_description() + ", ServerInit " + std::to_string(init.width) + "x" +
           std::to_string(init.height) + " '" + init.name + "')";
}

// ---- seeds: the viewer's messages ----------------------------------------------------------

struct ClientStream {
    std::vector<size_t> ends;  // offset after each message
    std::map<std::string, int> counts;
    std::optional<rfb::PixelFormat> first_format;
    int formats = 0;
    std::string error;  // the parser's, if the stream did not parse to its end
};

const char* client_message_name(const rfb::ClientMessage& m) {
    static const char* const names[] = {
        "SetPixelFormat", "SetEncodings",  "FramebufferUpdateRequest", "KeyEvent",
        "PointerEvent",   "ClientCutText", "EnableContinuousUpdates",  "ClientFence",
        "QemuKeyEvent",   "SetDesktopSize"};
    return names[m.index()];
}

ClientStream parse_client_stream(std::span<const uint8_t> stream) {
    ClientStream cs;
    const rfb::ClientMessageParser parser;
    size_t pos = 0;
    while (pos < stream.size()) {
        const rfb::ClientParse r = parser.parse(stream.subspan(pos));
        if (r.status == rfb::ClientParse::kError) {
            cs.error = r.error;
            break;
        }
        if (r.status == rfb::ClientParse::kNeedMore) {
            cs.error = "stream ends inside a message";
            break;
        }
        if (const auto* f = std::get_if<rfb::SetPixelFormatMsg>(&r.message)) {
            if (!cs.first_format) cs.first_format = f->format;
            ++cs.formats;
        }
        ++cs.counts[client_message_name(r.message)];
        pos += r.consumed;
        cs.ends.push_back(pos);
    }
    return cs;
}

std::string describe_counts(const std::map<std::string, int>& counts) {
    std::string s;
    for (const auto& [name, n] : counts)
        s += (s.empty() ? "" : ", ") + std::to_string(n) + " " + name;
    return s.empty() ? "nothing" : s;
}

// ---- seeds: the server's messages ----------------------------------------------------------

// A rectangle body as a decoder took it, and the pixels it produced.
struct CapturedRect {
    int32_t encoding = 0;
    rfb::Rect rect;
    Bytes body;
    uint32_t src_x = 0, src_y = 0;  // CopyRect
    std::vector<uint32_t> pixels;
};

constexpr size_t kMaxCaptures = 4096;
constexpr size_t kMaxCapturedBody = kMaxSeed;

// Wraps a real decoder and keeps the bytes of each body it consumes (ServerMessageReader hands
// bodies to decoders in pieces as they arrive; the pieces it consumes are the body).
class CapturingDecoder final : public rfb::RectDecoder {
  public:
    CapturingDecoder(std::unique_ptr<rfb::RectDecoder> inner, std::vector<CapturedRect>& out)
        : inner_(std::move(inner)), out_(out) {}

    int32_t encoding() const override { return inner_->encoding(); }
    void reset() override {
        inner_->reset();
        body_.clear();
        oversized_ = false;
    }
    rfb::DecodeResult decode(const rfb::Rect& r, std::span<const uint8_t> data,
                             rfb::DecodeTarget& t) override {
        rfb::DecodeResult res = inner_->decode(r, data, t);
        if (res.status == rfb::DecodeStatus::kProgress || res.status == rfb::DecodeStatus::kDone) {
            const size_t n = std::min(res.consumed, data.size());
            if (body_.size() + n <= kMaxCapturedBody)
                append(body_, data.first(n));
            else
                oversized_ = true;
        }
        if (res.status == rfb::DecodeStatus::kDone) {
            if (!oversized_ && out_.size() < kMaxCaptures) {
                CapturedRect c{inner_->encoding(), r, std::move(body_), 0, 0, {}};
                c.pixels.resize(r.area());
                t.fb.get(r, c.pixels.data());
                out_.push_back(std::move(c));
            }
            body_.clear();
            oversized_ = false;
        }
        return res;
    }

  private:
    std::unique_ptr<rfb::RectDecoder> inner_;
    std::vector<CapturedRect>& out_;
    Bytes body_;
    bool oversized_ = false;
};

// Counts what the reader reports and marks where messages end.
class RecordingSink final : public rfb::ServerMessageSink {
  public:
    RecordingSink(const rfb::Framebuffer& fb, std::vector<CapturedRect>& captures)
        : fb_(fb), captures_(captures) {}

    void on_update_end() override {
        ++updates;
        message_end = true;
    }
    void on_rect(const rfb::Rect&, int32_t enc) override {
        ++rects[enc_name(enc)];
        rect_end = true;
    }
    void on_copy(const rfb::Rect& dst, uint32_t sx, uint32_t sy) override {
        if (captures_.size() >= kMaxCaptures) return;
        CapturedRect c{rfb::encoding::kCopyRect, dst, {}, sx, sy, {}};
        c.body = {static_cast<uint8_t>(sx >> 8), static_cast<uint8_t>(sx),
                  static_cast<uint8_t>(sy >> 8), static_cast<uint8_t>(sy)};
        c.pixels.resize(dst.area());
        fb_.get(dst, c.pixels.data());
        captures_.push_back(std::move(c));
    }
    void on_resize(uint32_t, uint32_t) override { ++other["resize"]; }
    void on_extended_desktop_size(const rfb::ExtendedDesktopSizeInfo&) override {
        ++other["ExtendedDesktopSize"];
    }
    void on_cursor(const rfb::CursorImage&) override { ++other["cursor"]; }
    void on_desktop_name(const std::string&) override { ++other["DesktopName"]; }
    void on_bell() override {
        ++other["Bell"];
        message_end = true;
    }
    void on_cut_text(const std::string&) override {
        ++other["ServerCutText"];
        message_end = true;
    }
    void on_extended_clipboard(std::span<const uint8_t>) override {
        ++other["ExtendedClipboard"];
        message_end = true;
    }
    void on_fence(uint32_t, std::span<const uint8_t>) override {
        ++other["ServerFence"];
        message_end = true;
    }
    void on_end_of_continuous_updates() override {
        ++other["EndOfContinuousUpdates"];
        message_end = true;
    }
    void on_qemu_extended_key_events() override { ++other["QemuExtendedKeyEvent"]; }

    int updates = 0;
    std::map<std::string, int> rects, other;
    bool message_end = false, rect_end = false;

  private:
    const rfb::Framebuffer& fb_;
    std::vector<CapturedRect>& captures_;
};

struct ServerStream {
    std::vector<size_t> message_ends, rect_ends;  // within the first kMaxSeed bytes
    std::vector<CapturedRect> captures;
    int updates = 0;
    std::map<std::string, int> rects, other;
    size_t read = 0;  // bytes consumed before the end or an error
    std::string error;
};

// Decodes the whole stream. The part a seed can hold is fed a byte at a time, so that message
// and rectangle ends are known exactly; the rest in larger pieces, for the decoder seeds and
// to show the whole recording decodes.
ServerStream read_server_stream(std::span<const uint8_t> stream, uint32_t w, uint32_t h,
                                const rfb::PixelFormat& format) {
    ServerStream ss;
    rfb::Framebuffer fb(w, h);
    rfb::ServerMessageReader reader(fb, format, [&ss](int32_t enc) {
        std::unique_ptr<rfb::RectDecoder> d = rfb::make_decoder(enc);
        if (!d) return d;
        return std::unique_ptr<rfb::RectDecoder>(
            std::make_unique<CapturingDecoder>(std::move(d), ss.captures));
    });
    RecordingSink sink(fb, ss.captures);
    Bytes pending;
    size_t pos = 0;
    while (pos < stream.size()) {
        const size_t step = pos < kMaxSeed ? 1 : 16384;
        const size_t n = std::min(step, stream.size() - pos);
        append(pending, stream.subspan(pos, n));
        pos += n;
        sink.message_end = sink.rect_end = false;
        const rfb::ServerReadResult r = reader.feed(pending, sink);
        if (r.status == rfb::ServerReadResult::kError) {
            ss.error = r.error;
            break;
        }
        pending.erase(pending.begin(), pending.begin() + static_cast<ptrdiff_t>(r.consumed));
        ss.read = pos - pending.size();
        if (step == 1 && pending.empty()) {
            if (sink.message_end && !reader.in_update()) ss.message_ends.push_back(pos);
            if (sink.rect_end) ss.rect_ends.push_back(pos);
        }
    }
    ss.updates = sink.updates;
    ss.rects = sink.rects;
    ss.other = sink.other;
    return ss;
}

// server_message_reader_fuzz.cpp: format selector (240: the 16 bytes follow the parameters),
// width - 1, height - 1, flags (one chunk), chunk seed.
Bytes reader_params(const rfb::PixelFormat& format, uint32_t w, uint32_t h) {
    Bytes p{240,
            static_cast<uint8_t>((w - 1) >> 8),
            static_cast<uint8_t>(w - 1),
            static_cast<uint8_t>((h - 1) >> 8),
            static_cast<uint8_t>(h - 1),
            0,
            0,
            0};
    rfb::ByteWriter wr(p);
    format.write(wr);
    return p;
}

// The target's view of the seed: one feed of the whole stream.
std::string check_reader_seed(std::span<const uint8_t> stream, uint32_t w, uint32_t h,
                              const rfb::PixelFormat& format) {
    rfb::Framebuffer fb(w, h);
    rfb::ServerMessageReader reader(fb, format);
    std::vector<CapturedRect> ignored;
    RecordingSink sink(fb, ignored);
    const rfb::ServerReadResult r = reader.feed(stream, sink);
    if (r.status == rfb::ServerReadResult::kError) return "reader error: " + r.error;
    std::string s = "reader ok: " + std::to_string(sink.updates) + " update(s), rects " +
                    describe_counts(sink.rects);
    if (!sink.other.empty()) s += ", also " + describe_counts(sink.other);
    if (reader.in_update()) s += ", ends inside an update";
    if (r.consumed != stream.size())
        s += ", " + std::to_string(stream.size() - r.consumed) + " byte(s) of a body left";
    return s;
}

// ---- seeds: rectangle bodies for the decoder targets ----------------------------------------

// The wire format index (fuzz_support.h wire_format) that decodes pixels exactly as `pf`.
std::optional<uint8_t> harness_format(const rfb::PixelFormat& pf) {
    if (!pf.true_colour) return std::nullopt;  // the harness has no colour map
    for (uint8_t i = 0; i < 9; ++i) {
        const rfb::PixelFormat h = rfb::fuzz::reader_safe(rfb::fuzz::wire_format(i));
        if (!h.true_colour) continue;
        // Depth does not change how a pixel is read; byte order does not matter at 8 bpp.
        const bool same_order = pf.bits_per_pixel == 8 || pf.big_endian == h.big_endian;
        if (pf.bits_per_pixel == h.bits_per_pixel && same_order && pf.red_max == h.red_max &&
            pf.green_max == h.green_max && pf.blue_max == h.blue_max &&
            pf.red_shift == h.red_shift && pf.green_shift == h.green_shift &&
            pf.blue_shift == h.blue_shift)
            return i;
    }
    return std::nullopt;
}

uint32_t pattern_pixel(size_t i) {  // decoder_harness.h
    return static_cast<uint32_t>(i * 2654435761u) & 0xffffffu;
}

// decoder_harness.h's parameters for one rectangle: in place when the framebuffer it needs fits
// the harness (CopyRect needs its source too), else moved to the corner of a framebuffer its
// own size.
std::optional<Bytes> decoder_params(const CapturedRect& c, uint8_t fmt, uint32_t fbw, uint32_t fbh,
                                    rfb::Rect& placed, uint32_t& fw, uint32_t& fh) {
    const rfb::Rect& r = c.rect;
    if (r.empty()) return std::nullopt;
    fw = std::min(fbw, kHarnessMaxDim);
    fh = std::min(fbh, kHarnessMaxDim);
    const bool is_copy = c.encoding == rfb::encoding::kCopyRect;
    bool in_place = r.fits_in(fw, fh);
    if (is_copy) in_place = in_place && rfb::Rect{c.src_x, c.src_y, r.w, r.h}.fits_in(fw, fh);
    placed = r;
    if (!in_place) {
        if (is_copy || r.w > kHarnessMaxDim || r.h > kHarnessMaxDim) return std::nullopt;
        fw = r.w;
        fh = r.h;
        placed = rfb::Rect{0, 0, r.w, r.h};
    }
    return Bytes{fmt,
                 static_cast<uint8_t>(fw - 1),
                 static_cast<uint8_t>(fh - 1),
                 static_cast<uint8_t>(placed.x),
                 static_cast<uint8_t>(placed.w),
                 static_cast<uint8_t>(placed.y),
                 static_cast<uint8_t>(placed.h),
                 0,
                 0,
                 0};
}

// Decodes the body alone on a fresh decoder, as the harness will: it must finish, use every
// byte and give the pixels the session got (a body that continues an earlier rectangle's zlib
// stream does neither). CopyRect's pixels come from the harness's own pattern, so only its
// completion is checked.
bool self_contained(const CapturedRect& c, uint8_t fmt, const rfb::Rect& placed, uint32_t fw,
                    uint32_t fh) {
    rfb::Framebuffer fb(fw, fh);
    auto px = fb.pixels();
    for (size_t i = 0; i < px.size(); ++i)
        px[i] = pattern_pixel(i);
    const rfb::PixelReader reader(rfb::fuzz::reader_safe(rfb::fuzz::wire_format(fmt)));
    rfb::DecodeTarget target{fb, reader};
    auto decoder = rfb::make_decoder(c.encoding);
    if (!decoder) return false;
    std::span<const uint8_t> rest(c.body);
    for (;;) {
        const rfb::DecodeResult r = decoder->decode(placed, rest, target);
        if (r.status == rfb::DecodeStatus::kError || r.status == rfb::DecodeStatus::kNeedMore)
            return false;
        if (r.consumed > rest.size()) return false;
        rest = rest.subspan(r.consumed);
        if (r.status == rfb::DecodeStatus::kDone) break;
        if (r.consumed == 0) return false;
    }
    if (!rest.empty()) return false;
    if (c.encoding == rfb::encoding::kCopyRect) return true;
    std::vector<uint32_t> got(placed.area());
    fb.get(placed, got.data());
    return got == c.pixels;
}

// Tight bodies differ most by their compression control byte: one seed per kind.
std::string tight_kind(const Bytes& body) {
    if (body.empty()) return "empty";
    const unsigned ctl = body[0] >> 4;
    if (ctl == 8) return "fill";
    if (ctl == 9) return "jpeg";
    if (ctl == 10) return "png";
    if ((ctl & 4) && body.size() > 1) {
        switch (body[1]) {
            case 0:
                return "copy";
            case 1:
                return "palette";
            case 2:
                return "gradient";
            default:
                return "filter" + std::to_string(body[1]);
        }
    }
    return "copy";
}

std::string decoder_target(int32_t enc) {
    switch (enc) {
        case rfb::encoding::kRaw:
            return "raw_decoder";
        case rfb::encoding::kCopyRect:
            return "copyrect_decoder";
        case rfb::encoding::kRRE:
            return "rre_decoder";
        case rfb::encoding::kCoRRE:
            return "corre_decoder";
        case rfb::encoding::kHextile:
            return "hextile_decoder";
        case rfb::encoding::kZlib:
            return "zlib_decoder";
        case rfb::encoding::kTight:
            return "tight_decoder";
        case rfb::encoding::kTRLE:
            return "trle_decoder";
        case rfb::encoding::kZRLE:
            return "zrle_decoder";
        default:
            return "";
    }
}

// Per encoding (and Tight kind), the body that makes the best seed: the largest one up to
// 16 KiB (small inputs fuzz faster), else the smallest.
constexpr size_t kPreferredBody = 16384;

void decoder_seeds(SeedWriter& out, const ServerStream& ss, const rfb::PixelFormat& wire,
                   uint32_t fbw, uint32_t fbh, const std::string& base) {
    const std::optional<uint8_t> fmt = harness_format(wire);
    if (!fmt) {
        std::printf("  decoder seeds: wire format %s is not one the harness offers\n",
                    wire.describe().c_str());
        return;
    }
    struct Pick {
        const CapturedRect* c = nullptr;
        Bytes seed;
    };
    std::map<std::pair<std::string, std::string>, Pick> picks;  // (target, kind)
    std::map<std::string, std::pair<int, int>> tried;           // target: (self-contained, all)
    for (const CapturedRect& c : ss.captures) {
        const std::string target = decoder_target(c.encoding);
        if (target.empty()) continue;
        ++tried[target].second;
        rfb::Rect placed;
        uint32_t fw = 0, fh = 0;
        const std::optional<Bytes> params = decoder_params(c, *fmt, fbw, fbh, placed, fw, fh);
        if (!params || params->size() + c.body.size() > kMaxSeed) continue;
        if (!self_contained(c, *fmt, placed, fw, fh)) continue;
        ++tried[target].first;
        const std::string kind = c.encoding == rfb::encoding::kTight ? tight_kind(c.body) : "";
        Pick& p = picks[{target, kind}];
        const size_t have = p.c ? p.c->body.size() : 0, size = c.body.size();
        const bool better = !p.c ||
                            (size <= kPreferredBody && (have > kPreferredBody || size > have)) ||
                            (size > kPreferredBody && have > kPreferredBody && size < have);
        if (!better) continue;
        p.c = &c;
        p.seed = *params;
        append(p.seed, c.body);
    }
    for (const auto& [target, counts] : tried)
        std::printf("  %s: %d of %d recorded rectangle(s) decode alone on a fresh decoder\n",
                    target.c_str(), counts.first, counts.second);
    for (const auto& [key, p] : picks) {
        const std::string name = base + (key.second.empty() ? "" : "-" + key.second);
        const rfb::Rect& r = p.c->rect;
        const std::string note = enc_name(p.c->encoding) + " " + std::to_string(r.w) + "x" +
                                 std::to_string(r.h) + " at " + std::to_string(r.x) + "," +
                                 std::to_string(r.y) + ", format " + std::to_string(*fmt) +
                                 (p.c->encoding == rfb::encoding::kCopyRect
                                      ? ": copies, every byte used"
                                      : ": decodes to kDone with every byte used and the "
                                        "session's pixels");
        out.save(key.first, name, p.seed, note);
    }
}

// ---- seeds: a browser's WebSocket connection ------------------------------------------------

// Where the frame starting at `pos` ends (header, mask key, payload), or 0 when it is incomplete.
size_t frame_end(std::span<const uint8_t> s, size_t pos) {
    if (s.size() - pos < 2) return 0;
    const uint8_t len7 = s[pos + 1] & 0x7f;
    size_t header = 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) + ((s[pos + 1] & 0x80) ? 4 : 0);
    if (s.size() - pos < header) return 0;
    uint64_t len = len7;
    if (len7 >= 126) {
        len = 0;
        for (size_t i = 0; i < (len7 == 126 ? 2u : 8u); ++i)
            len = (len << 8) | s[pos + 2 + i];
    }
    if (len > s.size() - pos - header) return 0;
    return pos + header + static_cast<size_t>(len);
}

// The browser's side of a WebSocket connection: its HTTP request head for http_request, and
// the frames after it for websocket_frame_reader.
int websocket_seeds(SeedWriter& out, std::span<const uint8_t> c2s, const std::string& name) {
    rfb::HttpRequestParser http;
    const rfb::HttpParseResult& head = http.feed(c2s);
    if (head.status != rfb::HttpParseResult::kDone) {
        std::printf("  no complete HTTP request head (%s): no seeds\n", head.error.c_str());
        return 3;
    }
    const rfb::HttpRequest& req = http.request();
    const rfb::WsHandshakeResult hs = rfb::websocket_handshake(req, {});
    Bytes seed{0, 0, 0, 0};  // http_request_fuzz.cpp: one chunk, no Origin list
    append(seed, c2s.first(head.consumed));
    out.save("http_request", name, seed,
             req.method + " " + req.target + " with " + std::to_string(req.headers.size()) +
                 " header(s) parses; websocket_handshake answers " + std::to_string(hs.status));

    const std::span<const uint8_t> frames = c2s.subspan(head.consumed);
    Bytes ws{0, 0, 0, 0, 0, 0};  // websocket_frame_reader_fuzz.cpp: one chunk, default cap, raw
    size_t cut = 0, count = 0;
    for (size_t e; (e = frame_end(frames, cut)) != 0 && ws.size() + e <= kMaxSeed; cut = e)
        ++count;
    append(ws, frames.first(cut));
    rfb::WebSocketFrameReader reader;
    Bytes data;
    std::string events;
    std::span<const uint8_t> rest = frames.first(cut);
    for (;;) {
        const rfb::WsEvent e = reader.feed(rest, data);
        rest = rest.subspan(e.consumed);
        if (e.kind == rfb::WsEvent::kNeedMore) break;
        events += e.kind == rfb::WsEvent::kClose   ? " close " + std::to_string(e.close_code)
                  : e.kind == rfb::WsEvent::kError ? std::string(" error ") + e.error
                                                   : " ping/pong";
        if (reader.finished()) break;
    }
    out.save("websocket_frame_reader", name, ws,
             std::to_string(count) + " frame(s) of " + std::to_string(frames.size()) +
                 " byte(s) kept; the reader unmasks " + std::to_string(data.size()) +
                 " byte(s) of RFB" + (events.empty() ? "" : "; then" + events));
    return 0;
}

int seeds(int argc, char** argv) {
    const auto flags = parse_flags(argc, argv, 2);
    const Bytes c2s = read_file(need(flags, "c2s"));
    const Bytes s2c = read_file(need(flags, "s2c"));
    SeedWriter out{need(flags, "corpus")};
    const std::string server = need(flags, "server"), viewer = need(flags, "viewer");
    const std::string what = need(flags, "what");
    if (flags.count("websocket")) {
        std::printf("%s -> %s (%s, WebSocket): %zu byte(s) viewer->server\n", viewer.c_str(),
                    server.c_str(), what.c_str(), c2s.size());
        return websocket_seeds(out, c2s, "recorded-" + viewer + "-" + server + "-" + what);
    }
    std::string password;
    if (flags.count("password-file")) {
        const Bytes pw = read_file(flags.at("password-file"));
        password.assign(pw.begin(), std::find(pw.begin(), pw.end(), '\n'));
    }
    std::printf("%s -> %s (%s): %zu byte(s) viewer->server, %zu server->viewer\n", viewer.c_str(),
                server.c_str(), what.c_str(), c2s.size(), s2c.size());

    const Handshake hs = split_handshake(c2s, s2c);
    if (!hs.error.empty()) {
        std::printf("  handshake not understood (%s): no seeds\n", hs.error.c_str());
        return 3;
    }
    const std::span<const uint8_t> c2s_span(c2s), s2c_span(s2c);
    // <peer> is the side whose bytes the seed holds; <what> names the other side and the session.
    const std::string viewer_name = "recorded-" + viewer + "-" + server + "-" + what;
    const std::string server_name = "recorded-" + server + "-" + viewer + "-" + what;

    const std::string sh = check_server_handshake(hs, password, c2s_span);
    if (sh.empty())
        std::printf("  server_handshake: ServerHandshake does not reach the end, not written\n");
    else
        out.save("server_handshake", viewer_name, server_handshake_seed(hs, password, c2s_span),
                 sh);

    // ClientHandshake always answers 3.8 (or what the server offers); a recording where the
    // viewer chose 3.3 below a 3.8 server has a different server side.
    const std::string ch = check_client_handshake(hs, password, s2c_span);
    if (ch.empty())
        std::printf(
            "  client_handshake: ClientHandshake does not reach the end (viewer spoke "
            "3.%d), not written\n",
            hs.viewer_minor);
    else
        out.save("client_handshake", server_name, client_handshake_seed(hs, password, s2c_span),
                 ch);

    // The viewer's messages, cut at a message end within the target's message count and 64 KiB.
    const std::span<const uint8_t> client_msgs = c2s_span.subspan(hs.c2s_len);
    const ClientStream cs = parse_client_stream(client_msgs);
    size_t cut = 0, kept = 0;
    for (size_t end : cs.ends) {
        if (kept == kParserTargetMessages || 1 + end > kMaxSeed) break;
        cut = end;
        ++kept;
    }
    if (kept > 0) {
        Bytes seed{0};
        append(seed, client_msgs.first(cut));
        const ClientStream in_seed = parse_client_stream(client_msgs.first(cut));
        std::string note = std::to_string(kept) + " of " + std::to_string(cs.ends.size()) +
                           " message(s), all parse: " + describe_counts(in_seed.counts);
        if (!cs.error.empty()) note += " (the recording then stops: " + cs.error + ")";
        out.save("client_message_parser", viewer_name, seed, note);
    }

    // The server's messages, in the format the viewer asked for.
    const rfb::PixelFormat wire = cs.first_format.value_or(hs.format);
    if (cs.formats > 1)
        std::printf("  note: the viewer sent %d SetPixelFormat; the first is used\n", cs.formats);
    const std::span<const uint8_t> server_msgs = s2c_span.subspan(hs.s2c_len);
    const ServerStream ss = read_server_stream(server_msgs, hs.width, hs.height, wire);
    std::printf("  server stream: %zu of %zu byte(s) read, %d update(s), rects %s%s%s\n", ss.read,
                server_msgs.size(), ss.updates, describe_counts(ss.rects).c_str(),
                ss.other.empty() ? "" : (", also " + describe_counts(ss.other)).c_str(),
                ss.error.empty() ? "" : (", then error: " + ss.error).c_str());
    if (hs.width > kReaderTargetMaxDim || hs.height > kReaderTargetMaxDim) {
        std::printf("  server_message_reader: %ux%u is over the target's 256x256, not written\n",
                    hs.width, hs.height);
    } else {
        const Bytes params = reader_params(wire, hs.width, hs.height);
        const size_t room = kMaxSeed - params.size();
        size_t end = 0;
        for (size_t e : ss.message_ends)
            if (e <= room) end = e;
        const char* where = "a message end";
        if (end == 0) {  // the first message alone is too big: stop after a rectangle
            for (size_t e : ss.rect_ends)
                if (e <= room) end = e;
            where = "a rectangle end inside the first update";
        }
        if (end > 0) {
            Bytes seed = params;
            append(seed, server_msgs.first(end));
            const std::string note =
                "cut at " + std::string(where) + "; " +
                check_reader_seed(server_msgs.first(end), hs.width, hs.height, wire);
            out.save("server_message_reader", server_name, seed, note);
        }
    }
    decoder_seeds(out, ss, wire, hs.width, hs.height, server_name);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    ::signal(SIGPIPE, SIG_IGN);
    if (argc < 2) usage("no command");
    const std::string cmd = argv[1];
    if (cmd == "relay") return relay(argc, argv);
    if (cmd == "seeds") return seeds(argc, argv);
    usage("unknown command " + cmd);
}
