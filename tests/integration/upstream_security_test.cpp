// Issue 3, upstream security: rfbcast in front of a TigerVNC Xvnc that only speaks one VeNCrypt
// sub-type at a time (TLSNone, TLSVnc, TLSPlain, X509None, X509Vnc, X509Plain), and in front of
// x11vnc's VeNCrypt; the pixels a viewer gets through rfbcast are compared with the X server's
// own picture of the screen (xwd), since a direct libvncclient grab cannot do X509 here.
// Then the failures: a wrong CA or host name is logged with the verification status and retried
// with backoff, never in a tight loop; --upstream-tls require refuses a server without TLS.
//
// Certificates are made per test with the openssl command-line tool; TLSPlain/X509Plain need a
// local user whose password PAM checks (created with useradd/chpasswd when running as root).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/harness.h"

namespace itest {
namespace {

using ::testing::AssertionFailure;
using ::testing::AssertionResult;
using ::testing::AssertionSuccess;

constexpr int kWidth = 640, kHeight = 480;
constexpr uint64_t kSeed = 20250303;
const char* const kVncPassword = "tls-s3cr";  // VncAuth: 8 characters

void sleep_ms(int ms) {
    std::this_thread::sleep_for(milliseconds(ms));
}

bool file_exists(const std::string& path) {
    return ::access(path.c_str(), F_OK) == 0;
}

size_t count_of(const std::string& haystack, const std::string& needle) {
    size_t n = 0;
    for (size_t pos = haystack.find(needle); pos != std::string::npos;
         pos = haystack.find(needle, pos + 1))
        ++n;
    return n;
}

// Runs a short-lived tool to completion; its output goes to `log`.
AssertionResult run_tool(const std::vector<std::string>& argv, const std::string& log,
                         milliseconds timeout = milliseconds(30000)) {
    Process p;
    std::string err;
    if (!p.start(argv, log, log, &err)) return AssertionFailure() << argv[0] << ": " << err;
    const auto status = p.wait_for(timeout);
    if (!status) return AssertionFailure() << argv[0] << " timed out; " << file_tail(log);
    if (*status != 0)
        return AssertionFailure() << argv[0] << " exited " << *status << ": " << file_tail(log);
    return AssertionSuccess();
}

// ---------------------------------------------------------------------------------------------
// A CA, a second unrelated CA, and a server certificate (RSA, which x11vnc's OpenSSL mode
// requires) for localhost and 127.0.0.1 signed by the first.

struct TestPki {
    std::string ca, other_ca, cert, key, x11vnc_pem;
};

AssertionResult make_pki(const TempDir& dir, TestPki& pki) {
    const std::string log = dir.file("openssl.log");
    const std::string ext = dir.file("server-ext.cnf");
    if (!write_file(ext,
                    "subjectAltName=DNS:localhost,IP:127.0.0.1\n"
                    "extendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n"
                    "keyUsage=critical,digitalSignature,keyEncipherment\n"))
        return AssertionFailure() << "cannot write " << ext;
    pki.ca = dir.file("ca.pem");
    pki.other_ca = dir.file("other-ca.pem");
    pki.cert = dir.file("server.pem");
    pki.key = dir.file("server.key");
    pki.x11vnc_pem = dir.file("x11vnc.pem");
    for (const auto& [name, file] :
         {std::pair<std::string, std::string>{"ca", pki.ca}, {"other-ca", pki.other_ca}}) {
        AssertionResult r = run_tool({"openssl",
                                      "req",
                                      "-x509",
                                      "-newkey",
                                      "ec",
                                      "-pkeyopt",
                                      "ec_paramgen_curve:prime256v1",
                                      "-nodes",
                                      "-keyout",
                                      dir.file(name + ".key"),
                                      "-out",
                                      file,
                                      "-days",
                                      "2",
                                      "-subj",
                                      "/CN=rfbcast test " + name,
                                      "-addext",
                                      "basicConstraints=critical,CA:TRUE",
                                      "-addext",
                                      "keyUsage=critical,keyCertSign,cRLSign"},
                                     log);
        if (!r) return r;
    }
    AssertionResult r =
        run_tool({"openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", pki.key, "-out",
                  dir.file("server.csr"), "-subj", "/CN=localhost"},
                 log);
    if (!r) return r;
    r = run_tool(
        {"openssl", "x509", "-req", "-in", dir.file("server.csr"), "-CA", pki.ca, "-CAkey",
         dir.file("ca.key"), "-CAcreateserial", "-out", pki.cert, "-days", "2", "-extfile", ext},
        log);
    if (!r) return r;
    if (!write_file(pki.x11vnc_pem, read_file(pki.key) + read_file(pki.cert)))
        return AssertionFailure() << "cannot write " << pki.x11vnc_pem;
    return AssertionSuccess();
}

// ---------------------------------------------------------------------------------------------
// The X server's own picture of the screen, through xwd (ZPixmap, 32 bits per pixel).

AssertionResult load_xwd(const std::string& path, Image& out) {
    const std::string d = read_file(path);
    auto be32 = [&](size_t field) {
        const size_t o = field * 4;
        return (uint32_t(uint8_t(d[o])) << 24) | (uint32_t(uint8_t(d[o + 1])) << 16) |
               (uint32_t(uint8_t(d[o + 2])) << 8) | uint32_t(uint8_t(d[o + 3]));
    };
    if (d.size() < 100) return AssertionFailure() << path << ": too short for an XWD header";
    const uint32_t header = be32(0), version = be32(1), format = be32(2), width = be32(4),
                   height = be32(5), byte_order = be32(7), bpp = be32(11), bpl = be32(12),
                   rmask = be32(14), gmask = be32(15), bmask = be32(16), ncolors = be32(19);
    if (version != 7 || format != 2 || bpp != 32 || width == 0 || height == 0 || width > 16384 ||
        height > 16384 || bpl < width * 4 || header < 100 || ncolors > 65536)
        return AssertionFailure() << path << ": unexpected XWD (version " << version << " format "
                                  << format << " bpp " << bpp << ")";
    const size_t data = size_t{header} + size_t{ncolors} * 12;
    if (d.size() < data + size_t{bpl} * height) return AssertionFailure() << path << ": truncated";
    auto shift_of = [](uint32_t mask) {
        int s = 0;
        while (mask && !(mask & 1)) {
            mask >>= 1;
            ++s;
        }
        return s;
    };
    out.width = static_cast<int>(width);
    out.height = static_cast<int>(height);
    out.rgb.resize(size_t{width} * height * 3);
    for (uint32_t y = 0; y < height; ++y) {
        for (uint32_t x = 0; x < width; ++x) {
            const auto* p =
                reinterpret_cast<const uint8_t*>(d.data() + data + size_t{y} * bpl + x * 4);
            const uint32_t v = byte_order == 0
                                   ? p[0] | (p[1] << 8) | (p[2] << 16) | (uint32_t(p[3]) << 24)
                                   : (uint32_t(p[0]) << 24) | (p[1] << 16) | (p[2] << 8) | p[3];
            uint8_t* o = &out.rgb[(size_t{y} * width + x) * 3];
            o[0] = static_cast<uint8_t>((v & rmask) >> shift_of(rmask));
            o[1] = static_cast<uint8_t>((v & gmask) >> shift_of(gmask));
            o[2] = static_cast<uint8_t>((v & bmask) >> shift_of(bmask));
        }
    }
    return AssertionSuccess();
}

// ---------------------------------------------------------------------------------------------
// A local user for Plain (PAM), removed again at the end.

class LocalUser {
  public:
    ~LocalUser() {
        for (int attempt = 0; !name_.empty() && attempt < 10; ++attempt) {
            Process p;
            std::string err;
            if (!p.start({"/usr/sbin/userdel", name_}, "/dev/null", "/dev/null", &err)) break;
            const auto status = p.wait_for(milliseconds(10000));
            if (status && *status == 0) break;
            sleep_ms(200);
        }
    }
    // Empty on success, else why not (the caller skips with it).
    std::string create(const TempDir& dir, const std::string& password) {
        if (::geteuid() != 0) return "not root: cannot create a local user for PAM";
        if (!file_exists("/usr/sbin/useradd") || !file_exists("/usr/sbin/chpasswd"))
            return "useradd/chpasswd missing";
        const std::string name = "rfbtls" + std::to_string(::getpid() % 100000);
        const std::string log = dir.file("useradd.log");
        // Tests running in parallel may hold the passwd lock for a moment; a user left behind
        // by a crashed run with the same pid is removed first.
        bool added = false;
        for (int attempt = 0; attempt < 10 && !added; ++attempt) {
            if (attempt > 0) {
                run_tool({"/usr/sbin/userdel", name}, log);
                sleep_ms(200);
            }
            added =
                run_tool({"/usr/sbin/useradd", "-M", "-N", "-s", "/usr/sbin/nologin", name}, log);
        }
        if (!added) return "useradd failed: " + file_tail(log);
        name_ = name;
        const std::string input = dir.file("chpasswd.txt");
        write_file(input, name + ":" + password + "\n");
        for (int attempt = 0; attempt < 10; ++attempt) {
            Process p;
            std::string err;
            if (!p.start({"/usr/sbin/chpasswd"}, log, log, &err, input)) return "chpasswd: " + err;
            const auto status = p.wait_for(milliseconds(10000));
            if (status && *status == 0) return {};
            sleep_ms(200);
        }
        return "chpasswd failed: " + file_tail(log);
    }
    const std::string& name() const { return name_; }

  private:
    std::string name_;
};

// ---------------------------------------------------------------------------------------------
// Xvnc with the security arguments of each test (the harness's XvncServer only does None and
// VncAuth), on a leased display and a free port.

class SecureXvnc {
  public:
    explicit SecureXvnc(const TempDir& dir) : dir_(dir) {}
    bool start(const std::vector<std::string>& security_args, std::string* error) {
        std::vector<int> tried;
        std::string last;
        for (int attempt = 0; attempt < 5; ++attempt) {
            if (!lease_.acquire(tried)) {
                last = "no free X display number";
                break;
            }
            tried.push_back(lease_.number());
            port_ = free_tcp_port();
            log_ = dir_.file("xvnc-" + std::to_string(attempt) + ".log");
            std::vector<std::string> args = {"Xvnc",
                                             display_name(),
                                             "-geometry",
                                             std::to_string(kWidth) + "x" + std::to_string(kHeight),
                                             "-depth",
                                             "24",
                                             "-rfbport",
                                             std::to_string(port_),
                                             "-localhost",
                                             "-interface",
                                             "127.0.0.1",
                                             "-nolisten",
                                             "tcp",
                                             "-AlwaysShared",
                                             "-BlacklistThreshold",
                                             "100000"};
            args.insert(args.end(), security_args.begin(), security_args.end());
            std::string err;
            if (!proc_.start(args, log_, log_, &err)) {
                if (error) *error = err;
                return false;
            }
            if (wait_for_rfb_greeting(port_, milliseconds(15000), &proc_)) {
                const std::string sock = "/tmp/.X11-unix/X" + std::to_string(lease_.number());
                for (int i = 0; i < 100 && !file_exists(sock); ++i)
                    sleep_ms(50);
                if (file_exists(sock)) return true;
                last = "Xvnc answers but " + sock + " never appeared";
            } else {
                last = "Xvnc did not come up; log:\n" + file_tail(log_);
            }
            proc_.stop();
            lease_.release();
        }
        if (error) *error = last;
        return false;
    }
    std::string display_name() const { return ":" + std::to_string(lease_.number()); }
    int port() const { return port_; }
    std::string log_tail() const { return file_tail(log_); }
    std::string log() const { return read_file(log_); }

  private:
    const TempDir& dir_;
    DisplayLease lease_;
    Process proc_;
    int port_ = 0;
    std::string log_;
};

// ---------------------------------------------------------------------------------------------

class UpstreamSecurityTest : public ::testing::Test {
  protected:
    void TearDown() override {
        if (HasFailure()) {
            if (rfbcast_)
                std::fprintf(stderr, "--- rfbcast log ---\n%s\n", rfbcast_->log_tail().c_str());
            if (xvnc_) std::fprintf(stderr, "--- Xvnc log ---\n%s\n", xvnc_->log_tail().c_str());
            if (!x11vnc_log_.empty())
                std::fprintf(stderr, "--- x11vnc log ---\n%s\n", file_tail(x11vnc_log_).c_str());
        }
        rfbcast_.reset();
        x11vnc_.stop();
        xdraw_.reset();
        xvnc_.reset();
    }

    void make_pki_files() { ASSERT_TRUE(make_pki(dir_, pki_)); }

    // Xvnc with `security_args`, and xdraw's picture on it.
    void start_desktop(const std::vector<std::string>& security_args) {
        xvnc_ = std::make_unique<SecureXvnc>(dir_);
        std::string err;
        ASSERT_TRUE(xvnc_->start(security_args, &err)) << "Xvnc: " << err;
        xdraw_ = std::make_unique<Xdraw>(dir_, XdrawOptions{kSeed, false});
        ASSERT_TRUE(xdraw_->start(xvnc_->display_name(), &err)) << "xdraw: " << err;
    }

    void start_rfbcast(int upstream_port, std::vector<std::string> args,
                       const std::string& upstream_password = "") {
        RfbcastOptions o;
        o.upstream_port = upstream_port;
        o.upstream_password = upstream_password;
        o.extra_args = std::move(args);
        rfbcast_ = std::make_unique<Rfbcast>(dir_, std::move(o));
        std::string err;
        ASSERT_TRUE(rfbcast_->start(&err)) << err;
    }

    std::string username_file(const std::string& user) {
        const std::string f = dir_.file("upstream-user.txt");
        EXPECT_TRUE(write_file(f, user + "\n"));
        return f;
    }

    AssertionResult xwd_grab(const std::string& display, Image& img) {
        const std::string path = dir_.file("root-" + std::to_string(++xwd_count_) + ".xwd");
        AssertionResult r = run_tool({"xwd", "-root", "-silent", "-display", display, "-out", path},
                                     dir_.file("xwd.log"));
        if (!r) return r;
        return load_xwd(path, img);
    }

    bool wait_for_log(const std::string& needle, milliseconds timeout) {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        while (std::chrono::steady_clock::now() < deadline) {
            if (rfbcast_->log().find(needle) != std::string::npos) return true;
            sleep_ms(100);
        }
        return rfbcast_->log().find(needle) != std::string::npos;
    }

    // A viewer through rfbcast sees what the X server shows. rfbcast may serve viewers before the
    // upstream's first frame is complete, so this retries for a while.
    AssertionResult reflected_matches(const Image& expected) {
        const auto deadline = std::chrono::steady_clock::now() + milliseconds(20000);
        std::string last = "no attempt";
        for (int i = 0; std::chrono::steady_clock::now() < deadline; ++i) {
            LvcOptions o;
            o.port = rfbcast_->port();
            o.timeout_ms = 8000;
            o.out_ppm = dir_.file("through-" + std::to_string(i) + ".ppm");
            ViewerResult r = run_lvc_viewer(dir_, o, "through-" + std::to_string(i));
            Image img;
            std::string err;
            if (!r.ok()) {
                last = "lvc_viewer: " + r.describe();
            } else if (!load_ppm(o.out_ppm, img, &err)) {
                last = err;
            } else {
                ImageDiff d = compare_images(expected, img);
                if (d.equal()) return AssertionSuccess();
                last = d.describe();
            }
            sleep_ms(500);
        }
        return AssertionFailure()
               << "no grab through rfbcast matched the X server's picture; last: " << last;
    }

    // The upstream-connected line says `security` was used.
    AssertionResult connected_with(const std::string& security) {
        if (!wait_for_log("upstream-connected", milliseconds(20000)))
            return AssertionFailure() << "rfbcast never connected upstream";
        const std::string log = rfbcast_->log();
        const size_t at = log.rfind("upstream-connected");
        const std::string line = log.substr(at, log.find('\n', at) - at);
        if (line.find("security=" + security + " ") == std::string::npos)
            return AssertionFailure() << "expected security=" << security << " in: " << line;
        return AssertionSuccess();
    }

    TempDir dir_;
    TestPki pki_;
    std::unique_ptr<SecureXvnc> xvnc_;
    std::unique_ptr<Xdraw> xdraw_;
    std::unique_ptr<Rfbcast> rfbcast_;
    Process x11vnc_;
    std::string x11vnc_log_;
    int xwd_count_ = 0;
};

// ---------------------------------------------------------------------------------------------
// Every sub-type, each against an Xvnc that offers only that one.

struct SubtypeCase {
    const char* name;
    bool x509, vnc, plain;
};

void PrintTo(const SubtypeCase& c, std::ostream* os) {
    *os << c.name;
}

class EverySubtype : public UpstreamSecurityTest,
                     public ::testing::WithParamInterface<SubtypeCase> {};

TEST_P(EverySubtype, ReflectsTheRightPixels) {
    const SubtypeCase& c = GetParam();
    ASSERT_NO_FATAL_FAILURE(make_pki_files());
    LocalUser user;
    const std::string plain_password = "Plain-pw-" + std::to_string(::getpid());
    if (c.plain) {
        const std::string why = user.create(dir_, plain_password);
        if (!why.empty()) GTEST_SKIP() << "TLSPlain/X509Plain need a PAM user: " << why;
    }
    std::vector<std::string> xargs = {"-SecurityTypes", c.name,     "-X509Cert",
                                      pki_.cert,        "-X509Key", pki_.key};
    if (c.vnc) {
        std::string err;
        const std::string f = dir_.file("xvnc.vncauth");
        ASSERT_TRUE(make_vncauth_file(dir_, kVncPassword, f, &err)) << err;
        xargs.insert(xargs.end(), {"-rfbauth", f});
    }
    if (c.plain) {
        // Debian's TigerVNC ships /etc/pam.d/tigervnc; the built-in default "vnc" has no file.
        xargs.insert(xargs.end(), {"-PlainUsers", user.name(), "-PAMService", "tigervnc"});
    }
    ASSERT_NO_FATAL_FAILURE(start_desktop(xargs));
    Image expected;
    ASSERT_TRUE(xwd_grab(xvnc_->display_name(), expected));
    ASSERT_EQ(expected.width, kWidth);
    ASSERT_GT(distinct_colours(expected), 1000u) << "xdraw's picture is not on the screen";

    std::vector<std::string> args = {"--upstream-tls", "require"};
    if (c.x509) args.insert(args.end(), {"--upstream-ca", pki_.ca});
    if (c.plain) args.insert(args.end(), {"--upstream-username-file", username_file(user.name())});
    ASSERT_NO_FATAL_FAILURE(start_rfbcast(xvnc_->port(), args,
                                          c.plain ? plain_password
                                          : c.vnc ? kVncPassword
                                                  : ""));
    ASSERT_TRUE(connected_with(std::string("VeNCrypt/") + c.name));
    const std::string log = rfbcast_->log();
    EXPECT_NE(log.find("upstream-tls"), std::string::npos);
    EXPECT_NE(log.find(c.x509 ? "server=certificate-verified" : "server=anonymous"),
              std::string::npos);
    // Anonymous key exchange is TLS 1.2 only; with certificates GnuTLS on both ends says 1.3.
    EXPECT_NE(log.find(c.x509 ? "(TLS1.3)" : "(TLS1.2)-(ANON-"), std::string::npos);
    EXPECT_EQ(log.find(plain_password), std::string::npos) << "a password reached the log";
    EXPECT_TRUE(reflected_matches(expected));
}

INSTANTIATE_TEST_SUITE_P(Xvnc, EverySubtype,
                         ::testing::Values(SubtypeCase{"TLSNone", false, false, false},
                                           SubtypeCase{"TLSVnc", false, true, false},
                                           SubtypeCase{"TLSPlain", false, false, true},
                                           SubtypeCase{"X509None", true, false, false},
                                           SubtypeCase{"X509Vnc", true, true, false},
                                           SubtypeCase{"X509Plain", true, false, true}),
                         [](const auto& info) { return std::string(info.param.name); });

// The X server's picture is what a plain VNC viewer sees too: the reference is sound.
TEST_F(UpstreamSecurityTest, XwdPictureEqualsADirectVncGrab) {
    ASSERT_NO_FATAL_FAILURE(start_desktop({"-SecurityTypes", "None"}));
    Image x, v;
    ASSERT_TRUE(xwd_grab(xvnc_->display_name(), x));
    LvcOptions o;
    o.port = xvnc_->port();
    o.out_ppm = dir_.file("direct.ppm");
    ViewerResult r = run_lvc_viewer(dir_, o, "direct");
    ASSERT_TRUE(r.ok()) << r.describe();
    std::string err;
    ASSERT_TRUE(load_ppm(o.out_ppm, v, &err)) << err;
    ImageDiff d = compare_images(x, v);
    EXPECT_TRUE(d.equal()) << d.describe();
}

// Xvnc's default types with a password: under the default policy (prefer) rfbcast takes TLS.
TEST_F(UpstreamSecurityTest, PreferTakesTlsVncOverVncAuth) {
    std::string err;
    const std::string f = dir_.file("xvnc.vncauth");
    ASSERT_TRUE(make_vncauth_file(dir_, kVncPassword, f, &err)) << err;
    ASSERT_NO_FATAL_FAILURE(start_desktop({"-SecurityTypes", "TLSVnc,VncAuth", "-rfbauth", f}));
    Image expected;
    ASSERT_TRUE(xwd_grab(xvnc_->display_name(), expected));
    ASSERT_NO_FATAL_FAILURE(start_rfbcast(xvnc_->port(), {}, kVncPassword));
    ASSERT_TRUE(connected_with("VeNCrypt/TLSVnc"));
    EXPECT_NE(rfbcast_->log().find("tls-policy=prefer"), std::string::npos);
    EXPECT_TRUE(reflected_matches(expected));
}

// The failures are logged with their reason and retried with backoff: a handful of attempts in
// several seconds, not hundreds.
AssertionResult retried_with_backoff(const std::string& log, const std::string& reason,
                                     size_t max_attempts) {
    const size_t failures = count_of(log, "upstream-connect-failed");
    if (failures < 2)
        return AssertionFailure() << "only " << failures << " attempts; log:\n" << log;
    if (failures > max_attempts)
        return AssertionFailure() << failures << " attempts: no backoff? log tail:\n"
                                  << log.substr(log.size() > 3000 ? log.size() - 3000 : 0);
    if (log.find(reason) == std::string::npos)
        return AssertionFailure() << "\"" << reason << "\" not logged:\n" << log;
    if (log.find("upstream-connected") != std::string::npos)
        return AssertionFailure() << "connected although it must not";
    return AssertionSuccess();
}

TEST_F(UpstreamSecurityTest, WrongCaIsLoggedAndRetriedWithBackoff) {
    ASSERT_NO_FATAL_FAILURE(make_pki_files());
    ASSERT_NO_FATAL_FAILURE(start_desktop(
        {"-SecurityTypes", "X509None", "-X509Cert", pki_.cert, "-X509Key", pki_.key}));
    ASSERT_NO_FATAL_FAILURE(start_rfbcast(xvnc_->port(), {"--upstream-ca", pki_.other_ca}));
    sleep_ms(6000);
    const std::string log = rfbcast_->log();
    // Backoff 0.5 s doubling (jittered +-25 %): at most 5 attempts in 6 s.
    EXPECT_TRUE(retried_with_backoff(log, "certificate verification", 6));
    EXPECT_NE(log.find("The certificate issuer is unknown"), std::string::npos) << log;
    EXPECT_NE(log.find("NOT trusted"), std::string::npos);
    // rfbcast itself keeps serving viewers meanwhile.
    EXPECT_TRUE(rfbcast_->running());
    // Xvnc saw rfbcast's alert, not just a dropped connection.
    EXPECT_NE(xvnc_->log().find("TLS fatal alert has been received"), std::string::npos)
        << xvnc_->log_tail();
}

TEST_F(UpstreamSecurityTest, WrongHostnameIsRefused) {
    ASSERT_NO_FATAL_FAILURE(make_pki_files());
    ASSERT_NO_FATAL_FAILURE(start_desktop(
        {"-SecurityTypes", "X509None", "-X509Cert", pki_.cert, "-X509Key", pki_.key}));
    ASSERT_NO_FATAL_FAILURE(start_rfbcast(
        xvnc_->port(), {"--upstream-ca", pki_.ca, "--upstream-tls-hostname", "vnc.example.org"}));
    sleep_ms(3000);
    EXPECT_TRUE(retried_with_backoff(rfbcast_->log(), "does not match", 5));
}

TEST_F(UpstreamSecurityTest, HostnameOverrideIsUsed) {
    ASSERT_NO_FATAL_FAILURE(make_pki_files());
    ASSERT_NO_FATAL_FAILURE(start_desktop(
        {"-SecurityTypes", "X509None", "-X509Cert", pki_.cert, "-X509Key", pki_.key}));
    ASSERT_NO_FATAL_FAILURE(start_rfbcast(
        xvnc_->port(), {"--upstream-ca", pki_.ca, "--upstream-tls-hostname", "localhost"}));
    EXPECT_TRUE(connected_with("VeNCrypt/X509None"));
}

// A pinned public key instead of a CA (a self-signed server, say): the right pin connects over
// X509 whatever the chain and name; any other key is refused.
TEST_F(UpstreamSecurityTest, PinnedPublicKeyIsTrustedAndOnlyIt) {
    ASSERT_NO_FATAL_FAILURE(make_pki_files());
    ASSERT_NO_FATAL_FAILURE(start_desktop(
        {"-SecurityTypes", "X509None", "-X509Cert", pki_.cert, "-X509Key", pki_.key}));
    // The pin computed independently (OpenSSL): SHA-256 of the certificate's public key (SPKI).
    ASSERT_TRUE(run_tool({"/bin/sh", "-c",
                          "openssl x509 -in " + pki_.cert +
                              " -pubkey -noout | openssl pkey -pubin -outform DER | openssl dgst "
                              "-sha256 -binary | base64 > " +
                              dir_.file("pin.txt")},
                         dir_.file("pin.log")));
    std::string pin = read_file(dir_.file("pin.txt"));
    while (!pin.empty() && (pin.back() == '\n' || pin.back() == '\r'))
        pin.pop_back();
    ASSERT_EQ(pin.size(), 44u) << pin;
    ASSERT_NO_FATAL_FAILURE(start_rfbcast(xvnc_->port(), {"--upstream-pin", "pin-sha256:" + pin}));
    EXPECT_TRUE(connected_with("VeNCrypt/X509None"));
}

TEST_F(UpstreamSecurityTest, WrongPinIsRefused) {
    ASSERT_NO_FATAL_FAILURE(make_pki_files());
    ASSERT_NO_FATAL_FAILURE(start_desktop(
        {"-SecurityTypes", "X509None", "-X509Cert", pki_.cert, "-X509Key", pki_.key}));
    ASSERT_NO_FATAL_FAILURE(start_rfbcast(
        xvnc_->port(),
        {"--upstream-pin", "pin-sha256:snPuoewKVMtL1XekT+ZIMP9EftCMjq/6/nIxTg9JO7k="}));
    sleep_ms(3000);
    EXPECT_TRUE(retried_with_backoff(rfbcast_->log(), "does not match the pinned one", 5))
        << rfbcast_->log_tail();
}

TEST_F(UpstreamSecurityTest, RequireRefusesAServerWithoutTls) {
    ASSERT_NO_FATAL_FAILURE(start_desktop({"-SecurityTypes", "None"}));
    ASSERT_NO_FATAL_FAILURE(start_rfbcast(xvnc_->port(), {"--upstream-tls", "require"}));
    sleep_ms(3000);
    EXPECT_TRUE(retried_with_backoff(rfbcast_->log(), "TLS is required", 5));
}

// With a CA and "require", anonymous TLS is not good enough.
TEST_F(UpstreamSecurityTest, RequireWithCaRefusesAnonymousTls) {
    ASSERT_NO_FATAL_FAILURE(make_pki_files());
    ASSERT_NO_FATAL_FAILURE(start_desktop({"-SecurityTypes", "TLSNone"}));
    ASSERT_NO_FATAL_FAILURE(
        start_rfbcast(xvnc_->port(), {"--upstream-tls", "require", "--upstream-ca", pki_.ca}));
    sleep_ms(3000);
    EXPECT_TRUE(retried_with_backoff(rfbcast_->log(), "anonymous TLS cannot be verified", 5));
}

// A bad CA file stops rfbcast at start-up with the file named, not at the first connection.
TEST_F(UpstreamSecurityTest, UnreadableCaFileFailsAtStartup) {
    const std::string bad = dir_.file("not-a-ca.pem");
    ASSERT_TRUE(write_file(bad, "garbage\n"));
    Process p;
    std::string err;
    const std::string log = dir_.file("rfbcast-bad-ca.log");
    ASSERT_TRUE(p.start({rfbcast_bin(), "--upstream", "127.0.0.1:1", "--listen", "127.0.0.1:0",
                         "--upstream-ca", bad},
                        log, log, &err))
        << err;
    const auto status = p.wait_for(milliseconds(10000));
    ASSERT_TRUE(status.has_value());
    EXPECT_NE(*status, 0);
    EXPECT_NE(read_file(log).find("not-a-ca.pem"), std::string::npos) << read_file(log);
}

// x11vnc's VeNCrypt (OpenSSL on its side, sub-types TLSNone and X509None) on the Xvnc display.
class X11vncTest : public UpstreamSecurityTest {
  protected:
    void start_x11vnc() {
        ASSERT_NO_FATAL_FAILURE(make_pki_files());
        ASSERT_NO_FATAL_FAILURE(start_desktop({"-SecurityTypes", "None"}));
        ASSERT_TRUE(xwd_grab(xvnc_->display_name(), expected_));
        port_ = free_tcp_port();
        x11vnc_log_ = dir_.file("x11vnc.log");
        // x11vnc's anonymous TLS is OpenSSL's ADH, which OpenSSL 3 only allows at security
        // level 0: without this no client at all can use x11vnc's TLSNone here.
        const std::string conf = dir_.file("openssl-seclevel0.cnf");
        ASSERT_TRUE(write_file(conf,
                               "openssl_conf = default_conf\n[default_conf]\nssl_conf = ssl_sect\n"
                               "[ssl_sect]\nsystem_default = system_default_sect\n"
                               "[system_default_sect]\nCipherString = DEFAULT@SECLEVEL=0\n"));
        std::string err;
        ASSERT_TRUE(x11vnc_.start(
            {"/usr/bin/env", "OPENSSL_CONF=" + conf, "x11vnc", "-display", xvnc_->display_name(),
             "-rfbport", std::to_string(port_), "-localhost", "-ssl", pki_.x11vnc_pem, "-vencrypt",
             "only", "-anontls", "never", "-nopw", "-forever", "-shared"},
            x11vnc_log_, x11vnc_log_, &err))
            << err;
        ASSERT_TRUE(wait_for_rfb_greeting(port_, milliseconds(20000), &x11vnc_))
            << file_tail(x11vnc_log_);
    }
    Image expected_;
    int port_ = 0;
};

TEST_F(X11vncTest, AnonymousTls) {
    ASSERT_NO_FATAL_FAILURE(start_x11vnc());
    ASSERT_NO_FATAL_FAILURE(start_rfbcast(port_, {"--upstream-tls", "require"}));
    ASSERT_TRUE(connected_with("VeNCrypt/TLSNone"));
    EXPECT_TRUE(reflected_matches(expected_));
}

TEST_F(X11vncTest, X509) {
    ASSERT_NO_FATAL_FAILURE(start_x11vnc());
    ASSERT_NO_FATAL_FAILURE(
        start_rfbcast(port_, {"--upstream-tls", "require", "--upstream-ca", pki_.ca}));
    ASSERT_TRUE(connected_with("VeNCrypt/X509None"));
    EXPECT_NE(rfbcast_->log().find("server=certificate-verified"), std::string::npos);
    EXPECT_TRUE(reflected_matches(expected_));
}

// ---------------------------------------------------------------------------------------------
// A scripted server for what no real server here does: VeNCrypt whose only sub-type rfbcast
// cannot use (X509 without a CA), next to None. Under "prefer" the first attempt fails with the
// reason, and the next one takes None instead of failing the same way forever.

class ScriptedServer {
  public:
    using Script = std::function<void(int fd)>;
    explicit ScriptedServer(std::vector<Script> scripts) : scripts_(std::move(scripts)) {
        listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof a;
        if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
            ::listen(listen_fd_, 8) == 0 &&
            ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len) == 0)
            port_ = ntohs(a.sin_port);
        thread_ = std::thread([this] { run(); });
    }
    ~ScriptedServer() {
        stop_ = true;
        thread_.join();
        ::close(listen_fd_);
    }
    int port() const { return port_; }
    int accepted() const { return accepted_.load(); }

  private:
    void run() {
        while (!stop_) {
            pollfd p{listen_fd_, POLLIN, 0};
            if (::poll(&p, 1, 100) <= 0) continue;
            const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
            if (fd < 0) continue;
            const size_t i = std::min<size_t>(accepted_++, scripts_.size() - 1);
            scripts_[i](fd);
            ::close(fd);
        }
    }
    std::vector<Script> scripts_;
    int listen_fd_ = -1, port_ = 0;
    std::atomic<bool> stop_{false};
    std::atomic<int> accepted_{0};
    std::thread thread_;
};

using Bytes = std::vector<uint8_t>;

bool send_all(int fd, const Bytes& b) {
    size_t off = 0;
    while (off < b.size()) {
        const ssize_t n = ::send(fd, b.data() + off, b.size() - off, MSG_NOSIGNAL);
        if (n <= 0) return false;
        off += static_cast<size_t>(n);
    }
    return true;
}

// Exactly n bytes within 5 s, or false (also when the peer closes).
bool recv_exact(int fd, size_t n, Bytes& out) {
    out.clear();
    const auto deadline = std::chrono::steady_clock::now() + milliseconds(5000);
    while (out.size() < n) {
        const auto left =
            std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) return false;
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
        uint8_t buf[256];
        const ssize_t r = ::recv(fd, buf, std::min(sizeof buf, n - out.size()), 0);
        if (r <= 0) return false;
        out.insert(out.end(), buf, buf + r);
    }
    return true;
}

// Reads until the peer closes or the server stops.
void drain(int fd, const std::atomic<bool>& stop) {
    uint8_t buf[4096];
    while (!stop) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 100) < 0) return;
        if ((p.revents & (POLLIN | POLLHUP | POLLERR)) && ::recv(fd, buf, sizeof buf, 0) <= 0)
            return;
    }
}

Bytes text_bytes(const std::string& s) {
    return Bytes(s.begin(), s.end());
}

TEST(UpstreamSecurityFallback, UnusableVeNCryptIsAvoidedNextTime) {
    TempDir dir;
    std::atomic<int> second_choice{-1};
    std::atomic<bool> stop{false};
    std::vector<ScriptedServer::Script> scripts;
    scripts.push_back([&](int fd) {  // VeNCrypt offering only X509None
        Bytes in;
        if (!send_all(fd, text_bytes("RFB 003.008\n")) || !recv_exact(fd, 12, in)) return;
        if (!send_all(fd, {2, 19, 1}) || !recv_exact(fd, 1, in) || in[0] != 19) return;
        if (!send_all(fd, {0, 2}) || !recv_exact(fd, 2, in)) return;
        if (!send_all(fd, {0, 1, 0, 0, 1, 4})) return;  // ok, 1 sub-type: 260
        drain(fd, stop);
    });
    scripts.push_back([&](int fd) {  // the same offer; this time None must be chosen
        Bytes in;
        if (!send_all(fd, text_bytes("RFB 003.008\n")) || !recv_exact(fd, 12, in)) return;
        if (!send_all(fd, {2, 19, 1}) || !recv_exact(fd, 1, in)) return;
        second_choice = in[0];
        if (in[0] != 1 || !send_all(fd, {0, 0, 0, 0}) || !recv_exact(fd, 1, in)) return;
        // ServerInit: 64x48, 32 bpp depth 24 little-endian true colour, name "fake".
        Bytes init = {0,  64, 0, 48, 32, 24, 0, 1, 0, 255, 0,   255, 0,   255,
                      16, 8,  0, 0,  0,  0,  0, 0, 0, 4,   'f', 'a', 'k', 'e'};
        if (!send_all(fd, init)) return;
        drain(fd, stop);
    });
    auto server = std::make_unique<ScriptedServer>(std::move(scripts));
    ASSERT_GT(server->port(), 0);

    RfbcastOptions o;
    o.upstream_port = server->port();
    Rfbcast rfbcast(dir, o);
    std::string err;
    ASSERT_TRUE(rfbcast.start(&err)) << err;
    const auto deadline = std::chrono::steady_clock::now() + milliseconds(15000);
    while (std::chrono::steady_clock::now() < deadline &&
           rfbcast.log().find("upstream-connected") == std::string::npos)
        sleep_ms(100);
    const std::string log = rfbcast.log();
    EXPECT_NE(log.find("no usable VeNCrypt sub-type (offered: X509None): X509 needs a CA"),
              std::string::npos)
        << log;
    EXPECT_NE(log.find("upstream-vencrypt-unusable"), std::string::npos) << log;
    EXPECT_NE(log.find("security=None "), std::string::npos) << log;
    EXPECT_EQ(second_choice.load(), 1);
    EXPECT_EQ(server->accepted(), 2);
    stop = true;
}

}  // namespace
}  // namespace itest
