// ard_server: a minimal RFB 3.8 server that offers only Apple Remote Desktop authentication
// (security type 30), for the integration tests. It stands in for macOS Screen Sharing, which
// we cannot run here: libvncclient (lvc_viewer --username-file) authenticating to it shows
// that the server side of codec/ard_auth agrees with libvncclient's client side.
//
//   ard_server --username-file F --password-file F [--port P] [--port-file F]
//              [--key-bits 1024|2048] [--max-connections N] [--idle-timeout-ms N]
//
// Serves one connection at a time, on 127.0.0.1. After authentication it sends ServerInit
// (64x48, 32 bpp) and answers every non-incremental FramebufferUpdateRequest (and the first
// incremental one) with a fixed picture as one Raw rectangle, converted to the client's pixel
// format: pixel (x, y) = red 4x, green 5y, blue 3(x+y), each & 255. Incremental requests after
// that stay unanswered: nothing changes.
//
// stderr gets one line per event ("listening port=P", "security-result ok", "security-result
// failed: ...", "update w=.. h=..", "closed: ..."); never a password. --port 0 (the default)
// lets the kernel choose; --port-file receives the port once listening, so a test can wait for
// the file instead of racing for a free port.
//
// Exit status: 0 after --max-connections connections, 1 usage or setup error.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "codec/ard_auth.h"
#include "codec/rfb_constants.h"

namespace {

constexpr uint16_t kWidth = 64;
constexpr uint16_t kHeight = 48;
constexpr uint32_t kMaxCutText = 1 << 20;

struct Options {
    int port = 0;
    std::string port_file;
    std::string username, password;
    int key_bits = 1024;
    long max_connections = 0;  // 0: serve until killed
    int idle_timeout_ms = 30000;
};

[[noreturn]] void usage(const std::string& why) {
    std::fprintf(stderr,
                 "ard_server: %s\nusage: ard_server --username-file F --password-file F "
                 "[--port P] [--port-file F] [--key-bits 1024|2048] [--max-connections N] "
                 "[--idle-timeout-ms N]\n",
                 why.c_str());
    std::exit(1);
}

long number(const std::string& flag, const std::string& v, long lo, long hi) {
    char* end = nullptr;
    errno = 0;
    const long n = std::strtol(v.c_str(), &end, 10);
    if (v.empty() || *end != '\0' || errno != 0 || n < lo || n > hi)
        usage("bad value for " + flag + ": " + v);
    return n;
}

std::string first_line(const std::string& path) {
    std::ifstream f(path);
    if (!f) usage("cannot read " + path);
    std::string line;
    std::getline(f, line);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    return line;
}

Options parse(int argc, char** argv) {
    Options o;
    bool have_user = false, have_password = false;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (i + 1 >= argc) usage("missing value for " + a);
        const std::string v = argv[++i];
        if (a == "--port") {
            o.port = static_cast<int>(number(a, v, 0, 65535));
        } else if (a == "--port-file") {
            o.port_file = v;
        } else if (a == "--username-file") {
            o.username = first_line(v);
            have_user = true;
        } else if (a == "--password-file") {
            o.password = first_line(v);
            have_password = true;
        } else if (a == "--key-bits") {
            o.key_bits = static_cast<int>(number(a, v, 1024, 2048));
            if (o.key_bits != 1024 && o.key_bits != 2048) usage("--key-bits must be 1024 or 2048");
        } else if (a == "--max-connections") {
            o.max_connections = number(a, v, 0, 1000000);
        } else if (a == "--idle-timeout-ms") {
            o.idle_timeout_ms = static_cast<int>(number(a, v, 1, 3600000));
        } else {
            usage("unknown argument " + a);
        }
    }
    if (!have_user || !have_password) usage("--username-file and --password-file are required");
    return o;
}

void log_line(const std::string& line) {
    std::fprintf(stderr, "%s\n", line.c_str());
    std::fflush(stderr);
}

// One client connection; every read has the idle timeout, so a silent client cannot hold the
// server (which serves one connection at a time) forever.
class Conn {
  public:
    Conn(int fd, int timeout_ms) : fd_(fd), timeout_ms_(timeout_ms) {}
    ~Conn() { ::close(fd_); }

    bool read(void* dst, size_t n) {
        auto* p = static_cast<uint8_t*>(dst);
        while (n > 0) {
            pollfd pfd{fd_, POLLIN, 0};
            const int r = ::poll(&pfd, 1, timeout_ms_);
            if (r < 0 && errno == EINTR) continue;
            if (r <= 0) return false;
            const ssize_t got = ::recv(fd_, p, n, 0);
            if (got < 0 && errno == EINTR) continue;
            if (got <= 0) return false;
            p += got;
            n -= static_cast<size_t>(got);
        }
        return true;
    }
    bool write(const std::vector<uint8_t>& b) {
        size_t off = 0;
        while (off < b.size()) {
            const ssize_t n = ::send(fd_, b.data() + off, b.size() - off, MSG_NOSIGNAL);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) return false;
            off += static_cast<size_t>(n);
        }
        return true;
    }

  private:
    int fd_;
    int timeout_ms_;
};

void put16(std::vector<uint8_t>& b, uint16_t v) {
    b.push_back(static_cast<uint8_t>(v >> 8));
    b.push_back(static_cast<uint8_t>(v));
}
void put32(std::vector<uint8_t>& b, uint32_t v) {
    put16(b, static_cast<uint16_t>(v >> 16));
    put16(b, static_cast<uint16_t>(v));
}
uint16_t get16(const uint8_t* p) {
    return static_cast<uint16_t>((p[0] << 8) | p[1]);
}
uint32_t get32(const uint8_t* p) {
    return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

struct Format {
    uint8_t bpp = 32, depth = 24, big_endian = 0, true_colour = 1;
    uint16_t red_max = 255, green_max = 255, blue_max = 255;
    uint8_t red_shift = 16, green_shift = 8, blue_shift = 0;
};

void put_format(std::vector<uint8_t>& b, const Format& f) {
    b.insert(b.end(), {f.bpp, f.depth, f.big_endian, f.true_colour});
    put16(b, f.red_max);
    put16(b, f.green_max);
    put16(b, f.blue_max);
    b.insert(b.end(), {f.red_shift, f.green_shift, f.blue_shift, 0, 0, 0});
}

bool read_format(const uint8_t* p, Format& f, std::string& why) {
    f.bpp = p[0];
    f.depth = p[1];
    f.big_endian = p[2];
    f.true_colour = p[3];
    f.red_max = get16(p + 4);
    f.green_max = get16(p + 6);
    f.blue_max = get16(p + 8);
    f.red_shift = p[10];
    f.green_shift = p[11];
    f.blue_shift = p[12];
    if (f.bpp != 8 && f.bpp != 16 && f.bpp != 32) {
        why = "bits-per-pixel " + std::to_string(f.bpp);
        return false;
    }
    if (!f.true_colour) {
        why = "colour map formats are not supported";
        return false;
    }
    if (f.red_shift >= f.bpp || f.green_shift >= f.bpp || f.blue_shift >= f.bpp) {
        why = "shift beyond the pixel";
        return false;
    }
    return true;
}

uint32_t channel(uint32_t v8, uint16_t max) {
    return (v8 * max + 127) / 255;
}

void put_pixel(std::vector<uint8_t>& b, const Format& f, int x, int y) {
    const uint32_t r = static_cast<uint32_t>(x * 4) & 255;
    const uint32_t g = static_cast<uint32_t>(y * 5) & 255;
    const uint32_t bl = static_cast<uint32_t>((x + y) * 3) & 255;
    const uint32_t v = (channel(r, f.red_max) << f.red_shift) |
                       (channel(g, f.green_max) << f.green_shift) |
                       (channel(bl, f.blue_max) << f.blue_shift);
    const size_t n = f.bpp / 8;
    for (size_t i = 0; i < n; ++i) {
        const size_t byte = f.big_endian ? n - 1 - i : i;
        b.push_back(static_cast<uint8_t>(v >> (8 * byte)));
    }
}

bool send_update(Conn& c, const Format& f, uint16_t x, uint16_t y, uint16_t w, uint16_t h) {
    // Clip the request to the framebuffer; an empty result is still answered (no rectangles)
    // so that the client's request is not left hanging.
    const int x0 = x < kWidth ? x : kWidth, y0 = y < kHeight ? y : kHeight;
    const int x1 = x + w < kWidth ? x + w : kWidth, y1 = y + h < kHeight ? y + h : kHeight;
    std::vector<uint8_t> b = {0, 0};
    const bool empty = x1 <= x0 || y1 <= y0;
    put16(b, empty ? 0 : 1);
    if (!empty) {
        put16(b, static_cast<uint16_t>(x0));
        put16(b, static_cast<uint16_t>(y0));
        put16(b, static_cast<uint16_t>(x1 - x0));
        put16(b, static_cast<uint16_t>(y1 - y0));
        put32(b, 0);  // Raw
        for (int yy = y0; yy < y1; ++yy)
            for (int xx = x0; xx < x1; ++xx)
                put_pixel(b, f, xx, yy);
    }
    log_line("update w=" + std::to_string(empty ? 0 : x1 - x0) +
             " h=" + std::to_string(empty ? 0 : y1 - y0));
    return c.write(b);
}

bool fail_security(Conn& c, int minor, const std::string& reason) {
    std::vector<uint8_t> b;
    put32(b, 1);
    if (minor >= 8) {
        put32(b, static_cast<uint32_t>(reason.size()));
        b.insert(b.end(), reason.begin(), reason.end());
    }
    log_line("security-result failed: " + reason);
    c.write(b);
    return false;
}

// Version, security type 30, ARD, SecurityResult. True when the client may go on.
bool authenticate(Conn& c, const Options& opt) {
    const std::string version = "RFB 003.008\n";
    if (!c.write(std::vector<uint8_t>(version.begin(), version.end()))) return false;
    uint8_t v[12];
    if (!c.read(v, sizeof v)) return false;
    const std::string got(reinterpret_cast<char*>(v), sizeof v);
    int minor = 0;
    if (got == "RFB 003.008\n") {
        minor = 8;
    } else if (got == "RFB 003.007\n") {
        minor = 7;
    } else {
        log_line("closed: client version " + got.substr(0, 11) + " is not 3.7 or 3.8");
        return false;
    }
    if (!c.write({1, rfb::security::kAppleRemoteDesktop})) return false;
    uint8_t type = 0;
    if (!c.read(&type, 1)) return false;
    if (type != rfb::security::kAppleRemoteDesktop)
        return fail_security(c, minor, "only security type 30 is offered");

    uint8_t random[512];
    if (getrandom(random, sizeof random, 0) != static_cast<ssize_t>(sizeof random)) {
        log_line("closed: getrandom failed");
        return false;
    }
    const auto prime =
        opt.key_bits == 2048 ? rfb::ard_rfc3526_group14_prime() : rfb::ard_rfc2409_group2_prime();
    const rfb::ArdServerHello hello = rfb::ard_server_hello(rfb::kArdGenerator, prime, random);
    std::memset(random, 0, sizeof random);
    if (!hello.ok) {
        log_line("closed: " + hello.error);
        return false;
    }
    log_line("ard keylen=" + std::to_string(prime.size()));
    if (!c.write(hello.message)) return false;
    std::vector<uint8_t> reply(rfb::ard_client_reply_size(prime.size()));
    if (!c.read(reply.data(), reply.size())) {
        log_line("closed: client reply incomplete");
        return false;
    }
    const rfb::ArdCredentials cred =
        rfb::ard_server_recover(hello.message, hello.private_key, reply);
    if (!cred.ok) return fail_security(c, minor, cred.error);
    if (!rfb::ard_credentials_match(cred, opt.username, opt.password))
        return fail_security(c, minor, "ARD: wrong username or password");
    log_line("security-result ok");
    std::vector<uint8_t> ok;
    put32(ok, 0);
    return c.write(ok);
}

void serve(Conn& c, const Options& opt) {
    if (!authenticate(c, opt)) return;
    uint8_t shared = 0;
    if (!c.read(&shared, 1)) return;
    Format format;
    std::vector<uint8_t> init;
    put16(init, kWidth);
    put16(init, kHeight);
    put_format(init, format);
    const std::string name = "ard_server";
    put32(init, static_cast<uint32_t>(name.size()));
    init.insert(init.end(), name.begin(), name.end());
    if (!c.write(init)) return;
    bool sent_once = false;
    for (;;) {
        uint8_t type = 0;
        if (!c.read(&type, 1)) {
            log_line("closed: client went away");
            return;
        }
        uint8_t m[20];
        switch (type) {
            case 0: {  // SetPixelFormat
                if (!c.read(m, 19)) return;
                std::string why;
                if (!read_format(m + 3, format, why)) {
                    log_line("closed: SetPixelFormat: " + why);
                    return;
                }
                break;
            }
            case 2: {  // SetEncodings: only Raw is ever sent, which every client accepts
                if (!c.read(m, 3)) return;
                std::vector<uint8_t> list(size_t{get16(m + 1)} * 4);
                if (!list.empty() && !c.read(list.data(), list.size())) return;
                break;
            }
            case 3: {  // FramebufferUpdateRequest
                if (!c.read(m, 9)) return;
                if (m[0] && sent_once) break;  // incremental: nothing has changed
                if (!send_update(c, format, get16(m + 1), get16(m + 3), get16(m + 5), get16(m + 7)))
                    return;
                sent_once = true;
                break;
            }
            case 4:  // KeyEvent
                if (!c.read(m, 7)) return;
                break;
            case 5:  // PointerEvent
                if (!c.read(m, 5)) return;
                break;
            case 6: {  // ClientCutText
                if (!c.read(m, 7)) return;
                const uint32_t len = get32(m + 3);
                if (len > kMaxCutText) {
                    log_line("closed: cut text of " + std::to_string(len) + " bytes");
                    return;
                }
                std::vector<uint8_t> text(len);
                if (len && !c.read(text.data(), len)) return;
                break;
            }
            default:
                log_line("closed: unknown client message type " + std::to_string(type));
                return;
        }
    }
}

}  // namespace

int main(int argc, char** argv) {
    const Options opt = parse(argc, argv);
    signal(SIGPIPE, SIG_IGN);

    const int ls = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (ls < 0) usage("socket failed");
    const int one = 1;
    ::setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(opt.port));
    if (::bind(ls, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(ls, 8) != 0)
        usage("cannot listen on 127.0.0.1:" + std::to_string(opt.port) + ": " +
              std::strerror(errno));
    socklen_t len = sizeof addr;
    ::getsockname(ls, reinterpret_cast<sockaddr*>(&addr), &len);
    const int port = ntohs(addr.sin_port);
    if (!opt.port_file.empty()) {
        // Written to a temporary name and renamed, so a reader never sees a partial number.
        const std::string tmp = opt.port_file + ".tmp";
        {
            std::ofstream f(tmp, std::ios::trunc);
            f << port << "\n";
            if (!f) usage("cannot write " + tmp);
        }
        if (std::rename(tmp.c_str(), opt.port_file.c_str()) != 0)
            usage("cannot write " + opt.port_file);
    }
    log_line("listening port=" + std::to_string(port));

    for (long served = 0; opt.max_connections == 0 || served < opt.max_connections; ++served) {
        const int fd = ::accept4(ls, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR) {
                --served;
                continue;
            }
            usage(std::string("accept failed: ") + std::strerror(errno));
        }
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        log_line("connection");
        Conn c(fd, opt.idle_timeout_ms);
        serve(c, opt);
    }
    ::close(ls);
    return 0;
}
