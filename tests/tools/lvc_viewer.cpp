// lvc_viewer: a scriptable libvncclient viewer for the integration tests.
//
//   lvc_viewer --host 127.0.0.1 --port P [--encodings "zrle"] [--bpp 32|16]
//              [--password-file F] [--username-file F] [--out F.ppm] [--settle-ms 700]
//              [--timeout-ms 15000]
//              [--send-key KEYSYM] [--count-updates-ms MS] [--hold-ms MS] [--print-cursor]
//              [--quality 0-9] [--extra-encodings N,N,...] [--repeater-dest TEXT] [--verbose]
//
// Grab mode (default): waits for the first complete FramebufferUpdate, keeps requesting until no
// update has arrived for settle-ms, then writes the framebuffer as a binary PPM.
// Key mode (--send-key): after the first update sends KeyEvent down and up, lingers briefly.
// Count mode (--count-updates-ms): prints the number of FramebufferUpdates received in MS ms
// on stdout, and "last-update-ms: T" (time of the last one since the count started) on stderr.
// Hold mode (--hold-ms): stays connected for MS ms (or until SIGUSR1), then settles and writes
// the framebuffer as in grab mode; losing the connection at any point exits 3. It prints
// "hold-updates: N size: WxH" on stderr.
// --print-cursor: prints "cursor: WxH hot=X,Y mask-hash=H count=N" on stderr for the last cursor
// shape received (H hashes the mask and the masked pixels, so two servers sending the same
// shape as Cursor or XCursor print the same line), or "cursor: none".
// Every mode prints "encodings-seen: ..." on stderr: the encodings of the pixel rectangles that
// really arrived, because servers quietly fall back to Raw.
//
// --username-file F: answers libvncclient's request for a username and password (security types
// that log in a user, such as Apple Remote Desktop, type 30) with the first line of F and the
// password from --password-file. Without it libvncclient does not offer those types.
//
// --extra-encodings N,N,...: appends these encoding numbers (pseudo-encodings such as TurboVNC's
// fine JPEG quality -512..-412 or subsampling -768..-763, which libvncclient cannot ask for
// itself) to the SetEncodings message, through a libvncclient protocol extension.
//
// --repeater-dest TEXT: --host/--port is an UltraVNC repeater. libvncclient connects there, reads
// its "RFB 000.000\n" and sends TEXT as the 250-byte, NUL-padded destination: "ID:1234" (Mode II)
// or "host:port" (Mode I). TEXT is split at its first ':' into destHost and destPort exactly as
// rfbInitClient's -repeaterdest does, so libvncclient writes "destHost:destPort": the part after
// the colon must be a number (leading zeros are lost, "ID:0042" goes out as "ID:42"; there is no
// way to send "ID:nnnn:secret"), and without a colon it sends "TEXT:5900".
//
// Exit status: 0 ok, 1 usage, 2 connect/handshake/auth failure, 3 connection lost or protocol
// error, 4 timeout, 5 could not write the output.
#include <dlfcn.h>
#include <rfb/rfbclient.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

namespace {

struct Options {
    std::string host = "127.0.0.1";
    int port = 0;
    std::string encodings = "zrle";
    int bpp = 32;
    std::string password_file;
    std::string username_file;
    std::string out;
    int settle_ms = 700;
    int timeout_ms = 15000;
    long send_key = -1;
    int count_ms = -1;
    int hold_ms = -1;
    int quality = -1;
    std::vector<int> extra_encodings;
    std::string repeater_dest;
    bool print_cursor = false;
    bool verbose = false;
};

[[noreturn]] void usage(const std::string& why) {
    std::fprintf(stderr,
                 "lvc_viewer: %s\nusage: lvc_viewer --host H --port P [--encodings E] "
                 "[--bpp 32|16] [--password-file F] [--username-file F] [--out F.ppm] "
                 "[--settle-ms N] "
                 "[--timeout-ms N] [--send-key KEYSYM] [--count-updates-ms N] [--hold-ms N] "
                 "[--print-cursor] [--repeater-dest TEXT] [--verbose]\n",
                 why.c_str());
    std::exit(1);
}

long parse_number(const std::string& flag, const std::string& v, long lo, long hi) {
    char* end = nullptr;
    errno = 0;
    long n = std::strtol(v.c_str(), &end, 0);
    if (v.empty() || *end != '\0' || errno != 0 || n < lo || n > hi)
        usage("bad value for " + flag + ": " + v);
    return n;
}

Options parse(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--verbose") {
            o.verbose = true;
            continue;
        }
        if (a == "--print-cursor") {
            o.print_cursor = true;
            continue;
        }
        if (i + 1 >= argc) usage("missing value for " + a);
        std::string v = argv[++i];
        if (a == "--host") {
            o.host = v;
        } else if (a == "--port") {
            o.port = static_cast<int>(parse_number(a, v, 1, 65535));
        } else if (a == "--encodings") {
            o.encodings = v;
        } else if (a == "--bpp") {
            o.bpp = static_cast<int>(parse_number(a, v, 16, 32));
            if (o.bpp != 16 && o.bpp != 32) usage("--bpp must be 16 or 32");
        } else if (a == "--password-file") {
            o.password_file = v;
        } else if (a == "--username-file") {
            o.username_file = v;
        } else if (a == "--out") {
            o.out = v;
        } else if (a == "--settle-ms") {
            o.settle_ms = static_cast<int>(parse_number(a, v, 0, 600000));
        } else if (a == "--timeout-ms") {
            o.timeout_ms = static_cast<int>(parse_number(a, v, 1, 3600000));
        } else if (a == "--send-key") {
            o.send_key = parse_number(a, v, 0, 0x7fffffff);
        } else if (a == "--quality") {
            o.quality = static_cast<int>(parse_number(a, v, 0, 9));
        } else if (a == "--extra-encodings") {
            size_t start = 0;
            while (start <= v.size()) {
                size_t comma = v.find(',', start);
                if (comma == std::string::npos) comma = v.size();
                const long e =
                    parse_number(a, v.substr(start, comma - start), -2147483647L, 2147483647L);
                // libvncclient ends the extension's list at the first 0 (Raw).
                if (e == 0 || o.extra_encodings.size() >= 64) usage("bad --extra-encodings");
                o.extra_encodings.push_back(static_cast<int>(e));
                start = comma + 1;
            }
        } else if (a == "--repeater-dest") {
            if (v.empty() || v.size() > 240) usage("bad --repeater-dest");
            o.repeater_dest = v;
        } else if (a == "--hold-ms") {
            o.hold_ms = static_cast<int>(parse_number(a, v, 1, 3600000));
        } else if (a == "--count-updates-ms") {
            o.count_ms = static_cast<int>(parse_number(a, v, 1, 3600000));
        } else {
            usage("unknown argument " + a);
        }
    }
    if (o.port == 0) usage("--port is required");
    return o;
}

using Clock = std::chrono::steady_clock;
int64_t ms_since(Clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count();
}

// State shared with libvncclient's callbacks (one client per process).
struct State {
    std::string password;
    std::string username;
    bool verbose = false;
    int updates = 0;
    Clock::time_point last_update{};
    std::vector<int32_t> encodings_seen;
    // The last bytes libvncclient read, when that read was exactly one rectangle header.
    uint8_t last_header[12] = {};
    bool last_read_was_header = false;
    int cursors = 0;
    std::string cursor_line = "none";
} g;

volatile sig_atomic_t g_end_hold = 0;

void on_usr1(int) {
    g_end_hold = 1;
}

void quiet_log(const char* format, ...) {
    if (!g.verbose) return;
    va_list ap;
    va_start(ap, format);
    std::vfprintf(stderr, format, ap);
    va_end(ap);
}

void error_log(const char* format, ...) {
    va_list ap;
    va_start(ap, format);
    std::vfprintf(stderr, format, ap);
    va_end(ap);
}

const char* encoding_name(int32_t e) {
    switch (e) {
        case rfbEncodingRaw:
            return "raw";
        case rfbEncodingCopyRect:
            return "copyrect";
        case rfbEncodingRRE:
            return "rre";
        case rfbEncodingCoRRE:
            return "corre";
        case rfbEncodingHextile:
            return "hextile";
        case rfbEncodingZlib:
            return "zlib";
        case rfbEncodingTight:
            return "tight";
        case rfbEncodingZlibHex:
            return "zlibhex";
        case rfbEncodingTRLE:
            return "trle";
        case rfbEncodingZRLE:
            return "zrle";
        case rfbEncodingZYWRLE:
            return "zywrle";
        default:
            return nullptr;
    }
}

std::string encodings_seen() {
    if (g.encodings_seen.empty()) return "none";
    std::string s;
    for (int32_t e : g.encodings_seen) {
        if (!s.empty()) s += ',';
        const char* n = encoding_name(e);
        s += n ? n : std::to_string(e);
    }
    return s;
}

uint32_t be32(const uint8_t* p) {
    return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}
uint16_t be16(const uint8_t* p) {
    return static_cast<uint16_t>((p[0] << 8) | p[1]);
}

// libvncclient decodes every pixel rectangle right after it calls SoftCursorLockArea with the
// rectangle, and the read just before that call is the 12-byte rectangle header; its last four
// bytes are the encoding. libvncclient has no other way to tell which encoding arrived.
void on_lock_area(rfbClient*, int x, int y, int w, int h) {
    if (!g.last_read_was_header) return;
    const uint8_t* hdr = g.last_header;
    if (be16(hdr) != x || be16(hdr + 2) != y || be16(hdr + 4) != w || be16(hdr + 6) != h) return;
    int32_t enc = static_cast<int32_t>(be32(hdr + 8));
    if (enc < 0) return;  // pseudo-encodings (e.g. QEMU key events) carry no pixels
    for (int32_t e : g.encodings_seen)
        if (e == enc) return;
    g.encodings_seen.push_back(enc);
}

void on_finished_update(rfbClient*) {
    ++g.updates;
    g.last_update = Clock::now();
}

// FNV-1a over the mask and the pixels it shows: the hidden pixels of a shape are arbitrary
// (XCursor sends none, Cursor sends whatever the server had), so they are left out.
void on_cursor_shape(rfbClient* c, int xhot, int yhot, int width, int height, int bpp) {
    ++g.cursors;
    uint64_t h = 1469598103934665603ull;
    auto mix = [&h](uint8_t b) {
        h ^= b;
        h *= 1099511628211ull;
    };
    if (c->rcSource && c->rcMask && width > 0 && height > 0 && bpp > 0) {
        const size_t n = size_t(width) * size_t(height);
        for (size_t i = 0; i < n; ++i) {
            const bool shown = c->rcMask[i] != 0;
            mix(shown ? 1 : 0);
            for (int b = 0; b < bpp && shown; ++b)
                mix(c->rcSource[i * size_t(bpp) + size_t(b)]);
        }
    }
    char line[160];
    std::snprintf(line, sizeof line, "%dx%d hot=%d,%d mask-hash=%016llx", width, height, xhot, yhot,
                  static_cast<unsigned long long>(h));
    g.cursor_line = line;
}

char* get_password(rfbClient*) {
    return strdup(g.password.c_str());
}

// libvncclient frees the credential and both strings with free().
rfbCredential* get_credential(rfbClient*, int type) {
    if (type != rfbCredentialTypeUser) return nullptr;
    auto* cred = static_cast<rfbCredential*>(std::calloc(1, sizeof(rfbCredential)));
    if (!cred) return nullptr;
    cred->userCredential.username = strdup(g.username.c_str());
    cred->userCredential.password = strdup(g.password.c_str());
    if (!cred->userCredential.username || !cred->userCredential.password) {
        std::free(cred->userCredential.username);
        std::free(cred->userCredential.password);
        std::free(cred);
        return nullptr;
    }
    return cred;
}

std::string read_first_line(const std::string& path) {
    std::ifstream f(path);
    if (!f) {
        std::fprintf(stderr, "lvc_viewer: cannot read file %s\n", path.c_str());
        std::exit(1);
    }
    std::string line;
    std::getline(f, line);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    return line;
}

void on_alarm(int) {
    const char msg[] = "lvc_viewer: hard timeout\n";
    ssize_t ignored = write(2, msg, sizeof msg - 1);
    (void)ignored;
    _exit(4);
}

// Expands one channel to 8 bits with rounding, so a 16 bpp grab maps to fixed values.
uint8_t expand(uint32_t v, uint32_t max) {
    if (max == 0) return 0;
    return static_cast<uint8_t>((v * 255u + max / 2) / max);
}

bool write_ppm(rfbClient* c, const std::string& path) {
    const rfbPixelFormat& f = c->format;
    const size_t bpp = f.bitsPerPixel / 8;
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    if (!out) return false;
    out << "P6\n" << c->width << ' ' << c->height << "\n255\n";
    std::vector<uint8_t> row(size_t(c->width) * 3);
    for (int y = 0; y < c->height; ++y) {
        const uint8_t* src = c->frameBuffer + size_t(y) * c->width * bpp;
        for (int x = 0; x < c->width; ++x, src += bpp) {
            uint32_t v = 0;
            for (size_t i = 0; i < bpp; ++i) {
                size_t idx = f.bigEndian ? i : bpp - 1 - i;
                v = (v << 8) | src[idx];
            }
            row[size_t(x) * 3 + 0] = expand((v >> f.redShift) & f.redMax, f.redMax);
            row[size_t(x) * 3 + 1] = expand((v >> f.greenShift) & f.greenMax, f.greenMax);
            row[size_t(x) * 3 + 2] = expand((v >> f.blueShift) & f.blueMax, f.blueMax);
        }
        out.write(reinterpret_cast<const char*>(row.data()),
                  static_cast<std::streamsize>(row.size()));
    }
    out.close();
    return static_cast<bool>(out);
}

bool g_print_cursor = false;

int finish(int code) {
    if (g_print_cursor)
        std::fprintf(stderr, "cursor: %s count=%d\n", g.cursor_line.c_str(), g.cursors);
    std::fprintf(stderr, "encodings-seen: %s\n", encodings_seen().c_str());
    return code;
}

}  // namespace

// Wraps libvncclient's own reader (its internal calls go through the PLT, so this definition
// takes their place) to remember the last rectangle header; see on_lock_area().
extern "C" rfbBool ReadFromRFBServer(rfbClient* client, char* out, unsigned int n) {
    using Fn = rfbBool (*)(rfbClient*, char*, unsigned int);
    static Fn real = reinterpret_cast<Fn>(dlsym(RTLD_NEXT, "ReadFromRFBServer"));
    if (!real) {
        std::fprintf(stderr, "lvc_viewer: cannot find libvncclient's ReadFromRFBServer\n");
        _exit(3);
    }
    rfbBool ok = real(client, out, n);
    g.last_read_was_header = ok && n == 12;
    if (g.last_read_was_header) std::memcpy(g.last_header, out, 12);
    return ok;
}

int main(int argc, char** argv) {
    Options opt = parse(argc, argv);
    g.verbose = opt.verbose;
    g_print_cursor = opt.print_cursor;
    if (!opt.password_file.empty()) g.password = read_first_line(opt.password_file);
    if (!opt.username_file.empty()) g.username = read_first_line(opt.username_file);

    // Backstop for anything that blocks inside libvncclient past our own deadlines.
    signal(SIGALRM, on_alarm);
    signal(SIGPIPE, SIG_IGN);
    signal(SIGUSR1, on_usr1);
    int budget_ms = opt.timeout_ms + (opt.count_ms > 0 ? opt.count_ms : 0) +
                    (opt.hold_ms > 0 ? opt.hold_ms : 0) + 5000;
    alarm(static_cast<unsigned>(budget_ms / 1000 + 1));

    rfbClientLog = quiet_log;
    rfbClientErr = error_log;

    rfbClient* c = opt.bpp == 16 ? rfbGetClient(5, 3, 2) : rfbGetClient(8, 3, 4);
    if (!c) {
        std::fprintf(stderr, "lvc_viewer: rfbGetClient failed\n");
        return 2;
    }
    if (opt.bpp == 16) {
        // RGB565, the usual low-colour format (rfbGetClient(5,3,2) would give RGB555).
        c->format.depth = 16;
        c->format.redMax = 31;
        c->format.greenMax = 63;
        c->format.blueMax = 31;
        c->format.redShift = 11;
        c->format.greenShift = 5;
        c->format.blueShift = 0;
    }
    c->appData.encodingsString = opt.encodings.c_str();
    c->appData.useRemoteCursor = TRUE;
    // Lossless unless asked: --quality N sends the JPEG quality pseudo-encoding N.
    c->appData.enableJPEG = opt.quality >= 0 ? TRUE : FALSE;
    if (opt.quality >= 0) c->appData.qualityLevel = opt.quality;
    // libvncclient appends every registered extension's (0-terminated) encodings to SetEncodings.
    static std::vector<int> extra;
    static rfbClientProtocolExtension extension{};
    if (!opt.extra_encodings.empty()) {
        extra = opt.extra_encodings;
        extra.push_back(0);
        extension.encodings = extra.data();
        rfbClientRegisterExtension(&extension);
    }
    c->appData.shareDesktop = TRUE;
    c->canHandleNewFBSize = TRUE;
    c->serverHost = strdup(opt.host.c_str());
    c->serverPort = opt.port;
    if (!opt.repeater_dest.empty()) {
        // What rfbInitClient does with -repeaterdest; rfbClientCleanup frees destHost.
        const size_t colon = opt.repeater_dest.find(':');
        c->destHost = strdup(opt.repeater_dest.substr(0, colon).c_str());
        c->destPort =
            colon == std::string::npos ? 5900 : std::atoi(opt.repeater_dest.c_str() + colon + 1);
    }
    c->connectTimeout = static_cast<unsigned>(opt.timeout_ms / 1000 + 1);
    c->readTimeout = static_cast<unsigned>(opt.timeout_ms / 1000 + 1);
    c->GetPassword = get_password;
    if (!opt.username_file.empty()) c->GetCredential = get_credential;
    c->FinishedFrameBufferUpdate = on_finished_update;
    c->SoftCursorLockArea = on_lock_area;
    if (opt.print_cursor) c->GotCursorShape = on_cursor_shape;

    const Clock::time_point start = Clock::now();
    int ac = 1;
    char prog[] = "lvc_viewer";
    char* av[] = {prog, nullptr};
    if (!rfbInitClient(c, &ac, av)) {
        // rfbInitClient has already freed the client.
        std::fprintf(stderr, "lvc_viewer: cannot connect or authenticate to %s:%d\n",
                     opt.host.c_str(), opt.port);
        return finish(2);
    }

    const Clock::time_point connected = Clock::now();
    Clock::time_point hold_end = start;
    bool key_sent = false;
    Clock::time_point key_time{};
    int code = -1;
    while (code < 0) {
        int n = WaitForMessage(c, 50000);
        // SIGUSR1 (end of hold) interrupts the wait; that is not a lost connection.
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            std::fprintf(stderr, "lvc_viewer: connection lost\n");
            code = 3;
            break;
        }
        if (n > 0 && !HandleRFBServerMessage(c)) {
            std::fprintf(stderr, "lvc_viewer: connection lost or protocol error after %d updates\n",
                         g.updates);
            code = 3;
            break;
        }
        if (opt.count_ms > 0) {
            if (ms_since(connected) >= opt.count_ms) {
                std::printf("%d\n", g.updates);
                std::fprintf(stderr, "last-update-ms: %lld\n",
                             g.updates ? static_cast<long long>(
                                             std::chrono::duration_cast<std::chrono::milliseconds>(
                                                 g.last_update - connected)
                                                 .count())
                                       : -1LL);
                code = 0;
            }
            continue;
        }
        if (opt.hold_ms > 0) {
            // The timeout applies after the hold: until then only a lost connection ends it.
            if (g_end_hold || ms_since(connected) >= opt.hold_ms) {
                std::fprintf(stderr, "hold-updates: %d size: %dx%d\n", g.updates, c->width,
                             c->height);
                opt.hold_ms = -1;
                hold_end = Clock::now();
            }
            continue;
        }
        if (ms_since(hold_end) > opt.timeout_ms) {
            std::fprintf(stderr, "lvc_viewer: timeout after %d updates\n", g.updates);
            code = 4;
            break;
        }
        if (g.updates == 0) continue;
        if (opt.send_key >= 0) {
            if (!key_sent) {
                uint32_t ks = static_cast<uint32_t>(opt.send_key);
                if (!SendKeyEvent(c, ks, TRUE) || !SendKeyEvent(c, ks, FALSE)) {
                    std::fprintf(stderr, "lvc_viewer: cannot send key event\n");
                    code = 3;
                    break;
                }
                key_sent = true;
                key_time = Clock::now();
            } else if (ms_since(key_time) >= 500) {
                // Lingering lets the server act on the key before it sees the connection close.
                code = 0;
            }
            continue;
        }
        if (ms_since(g.last_update) >= opt.settle_ms && ms_since(hold_end) >= opt.settle_ms) {
            if (!opt.out.empty() && !write_ppm(c, opt.out)) {
                std::fprintf(stderr, "lvc_viewer: cannot write %s\n", opt.out.c_str());
                code = 5;
                break;
            }
            code = 0;
        }
    }
    if (c->frameBuffer) {
        std::free(c->frameBuffer);
        c->frameBuffer = nullptr;
    }
    rfbClientCleanup(c);
    std::fflush(stdout);
    return finish(code);
}
