// Issue 6, "Tests with real peers": servers that dial in (UltraVNC repeater, plain reverse
// connections), viewers that reach a session by repeater ID, refusals, and a server whose link is
// cut and restored.
//
// What the peers really do, checked by hand on this image (x11vnc 0.9.16, TigerVNC 1.12,
// libvncclient 0.9.14) before these tests were written; the first two tests keep checking the
// parts rfbcast relies on:
// - `x11vnc -connect repeater=ID:1234+HOST:PORT` dials HOST:PORT and writes exactly 250 bytes,
//   "ID:1234" padded with NULs, then speaks as an ordinary RFB server: "RFB 003.008\n" next.
// - `-rfbport 0` only stops x11vnc's IPv4 listener: it still listens on [::]:5900, even with
//   -noipv6 or -no6. `-rfbportv6 -1` stops that one too.
// - Without -forever, x11vnc exits once its only client is gone. -connect_or_exit (-coe) also
//   makes it exit when the dial fails, and -loopN re-runs it N ms after every exit: together, a
//   server that re-dials until it gets through, as a Raspberry Pi behind a home router would.
//   Under -loop the log has " --- x11vnc loop: N ---" for every run.
// - x11vnc notices a silently dead link only when TCP gives up on its unacknowledged data
//   (net.ipv4.tcp_retries2 = 15 by default: about 15 minutes), and a dial into a dead link waits
//   out tcp_syn_retries (6: two minutes). Both sysctls are per network namespace, so the link-cut
//   test lowers them in the server's namespace only.
// - `vncconfig -display :N -connect HOST:PORT` returns 0 at once whether or not Xvnc's dial
//   works (Xvnc logs "Reverse connection: unable to connect" and never retries). Xvnc then sends
//   "RFB 003.008\n" first, as a server, and does not dial again when that connection closes.
// - libvncclient with destHost/destPort set (rfbInitClient's -repeaterdest) reads the repeater's
//   "RFB 000.000\n" (anything else fails), writes 250 bytes "destHost:destPort" NUL-padded, then
//   runs the ordinary RFB handshake on the same connection. A refusal (3.8, zero security types)
//   is logged by libvncclient as "VNC connection failed: <reason>".
//
// Pixels are compared exactly: with what the X server itself holds (xwd) for x11vnc on Xvfb, and
// with a direct libvncclient grab for Xvnc.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/harness.h"
#include "tests/integration/netns.h"

namespace itest {
namespace {

using ::testing::AssertionFailure;
using ::testing::AssertionResult;
using ::testing::AssertionSuccess;
using Clock = std::chrono::steady_clock;

constexpr uint64_t kSeed = 20260606;
constexpr int kWidth = 400, kHeight = 300;

void sleep_ms(int ms) {
    std::this_thread::sleep_for(milliseconds(ms));
}

// The 250-byte UltraVNC repeater header carrying `text`.
std::vector<uint8_t> repeater_header(const std::string& text) {
    std::vector<uint8_t> h(250, 0);
    std::memcpy(h.data(), text.data(), std::min<size_t>(text.size(), 250));
    return h;
}

std::string printable(const uint8_t* p, size_t n) {
    std::string s;
    for (size_t i = 0; i < n; ++i) {
        if (p[i] >= 0x20 && p[i] < 0x7f) {
            s += static_cast<char>(p[i]);
        } else {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02x", p[i]);
            s += buf;
        }
    }
    return s;
}

// A listening socket on 127.0.0.x:0 in the test process, for the peer-fact tests and as a
// destination that must never be dialled.
class Listener {
  public:
    ~Listener() {
        if (fd_ >= 0) ::close(fd_);
    }
    bool open(const std::string& address = "127.0.0.1") {
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd_ < 0) return false;
        sockaddr_in a{};
        a.sin_family = AF_INET;
        ::inet_pton(AF_INET, address.c_str(), &a.sin_addr);
        socklen_t len = sizeof a;
        if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd_, 8) != 0 ||
            ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0)
            return false;
        port_ = ntohs(a.sin_port);
        return true;
    }
    // -1 when nobody connected within `timeout`.
    int accept_within(milliseconds timeout) {
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(timeout.count())) != 1) return -1;
        return ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    }
    // True when a connection is waiting to be accepted (nothing blocks).
    bool dialled() {
        pollfd p{fd_, POLLIN, 0};
        return ::poll(&p, 1, 0) == 1;
    }
    int port() const { return port_; }

  private:
    int fd_ = -1;
    int port_ = 0;
};

// How many TCP sockets (IPv4 and IPv6) process `pid` has in the LISTEN state: its socket inodes
// from /proc/PID/fd, matched against /proc/net/tcp and tcp6.
size_t listening_sockets(pid_t pid) {
    std::vector<std::string> inodes;
    const std::string fd_dir = "/proc/" + std::to_string(pid) + "/fd/";
    for (int fd = 0; fd < 1024; ++fd) {
        char target[128];
        const ssize_t n =
            ::readlink((fd_dir + std::to_string(fd)).c_str(), target, sizeof target - 1);
        if (n <= 0) continue;
        target[n] = 0;
        unsigned long inode = 0;
        if (std::sscanf(target, "socket:[%lu]", &inode) == 1)
            inodes.push_back(std::to_string(inode));
    }
    size_t listening = 0;
    for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"})
        for (const std::string& line : read_lines(table)) {
            // sl local rem st tx:rx tr:when retrnsmt uid timeout inode
            char st[8], inode[32];
            if (std::sscanf(line.c_str(), " %*s %*s %*s %7s %*s %*s %*s %*s %*s %31s", st, inode) !=
                2)
                continue;
            if (std::string(st) != "0A") continue;
            for (const std::string& i : inodes)
                if (i == inode) ++listening;
        }
    return listening;
}

bool read_exact(int fd, uint8_t* dst, size_t n, milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    size_t got = 0;
    while (got < n) {
        const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
        if (left.count() <= 0) return false;
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(left.count())) != 1) continue;
        const ssize_t r = ::recv(fd, dst + got, n - got, 0);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return false;
        got += static_cast<size_t>(r);
    }
    return true;
}

// x11vnc as a server that only dials out: no listener at all (-rfbport 0 -rfbportv6 -1), no
// password (rfbcast is its only client), no cursor drawn into the picture. `loop`: re-dial after
// every exit, as a server behind NAT would (see the notes at the top).
std::vector<std::string> x11vnc_dialling(const std::string& display, const std::string& connect,
                                         bool loop) {
    std::vector<std::string> a = {"x11vnc", "-display", display, "-rfbport",  "0",    "-rfbportv6",
                                  "-1",     "-noipv6",  "-nopw", "-nocursor", "-coe", connect};
    if (loop) a.push_back("-loop300");
    return a;
}

class RepeaterTest : public ::testing::Test {
  protected:
    void TearDown() override {
        if (HasFailure()) {
            if (rfbcast_)
                std::fprintf(stderr, "--- rfbcast log (%s) ---\n%s\n", rfbcast_->log_path().c_str(),
                             rfbcast_->log_tail().c_str());
            if (!x11vnc_log_.empty())
                std::fprintf(stderr, "--- x11vnc log ---\n%s\n", file_tail(x11vnc_log_).c_str());
            if (xvnc_) std::fprintf(stderr, "--- Xvnc log ---\n%s\n", xvnc_->log_tail().c_str());
        }
        x11vnc_.stop();
        if (rfbcast_) rfbcast_->process().stop();
        cover_.reset();
        xdraw_.reset();
        xvfb_.reset();
        xvnc_.reset();
        ns_.reset();
    }

    // Xvfb with xdraw's picture: the screen x11vnc serves.
    void start_xvfb_desktop(uint64_t seed, bool animate) {
        xvfb_ = std::make_unique<XvfbServer>(dir_, XvfbOptions{kWidth, kHeight});
        std::string err;
        ASSERT_TRUE(xvfb_->start(&err)) << "Xvfb: " << err;
        xdraw_ = std::make_unique<Xdraw>(dir_, XdrawOptions{seed, animate});
        ASSERT_TRUE(xdraw_->start(xvfb_->display_name(), &err)) << "xdraw: " << err;
    }

    // Xvnc with xdraw's picture, on a loopback port of its own (the direct grab's).
    void start_xvnc_desktop(uint64_t seed) {
        xvnc_ = std::make_unique<XvncServer>(dir_, XvncOptions{kWidth, kHeight, {}});
        std::string err;
        ASSERT_TRUE(xvnc_->start(&err)) << "Xvnc: " << err;
        xdraw_ = std::make_unique<Xdraw>(dir_, XdrawOptions{seed, false});
        ASSERT_TRUE(xdraw_->start(xvnc_->display_name(), &err)) << "xdraw: " << err;
    }

    // What the X server holds, straight from it.
    AssertionResult x_truth(Image& img) {
        std::string err;
        if (!grab_x_root(dir_, xvfb_->display_name(), dir_.file("truth.xwd"), img, &err))
            return AssertionFailure() << "xwd: " << err;
        if (distinct_colours(img) < 1000)
            return AssertionFailure() << "the X screen does not hold xdraw's picture";
        return AssertionSuccess();
    }

    // libvncclient straight to Xvnc.
    AssertionResult direct_grab(Image& img) {
        LvcOptions o;
        o.port = xvnc_->port();
        o.out_ppm = dir_.file("direct.ppm");
        ViewerResult r = run_lvc_viewer(dir_, o, "direct");
        if (!r.ok()) return AssertionFailure() << "direct grab: " << r.describe();
        std::string err;
        if (!load_ppm(o.out_ppm, img, &err)) return AssertionFailure() << err;
        if (distinct_colours(img) < 1000)
            return AssertionFailure() << "the direct grab is not xdraw's picture";
        return AssertionSuccess();
    }

    std::string write_config(const std::string& text) {
        const std::string path = dir_.file("rfbcast.toml");
        EXPECT_TRUE(write_file(path, text)) << path;
        return path;
    }

    // rfbcast with `config` (when not empty), no --upstream, its repeater port on
    // `repeater_address` (127.0.0.1 unless said: never the 0.0.0.0:5500 default, which tests
    // running in parallel would share), stats every second, plus `extra`.
    void start_rfbcast(const std::string& config, const std::string& repeater_address = "127.0.0.1",
                       std::vector<std::string> extra = {}) {
        RfbcastOptions o;
        o.no_upstream = true;
        o.config_file = config.empty() ? std::string() : write_config(config);
        o.repeater_listen_address = repeater_address;
        o.extra_args = std::move(extra);
        o.extra_args.push_back("--stats-interval");
        o.extra_args.push_back("1");
        rfbcast_ = std::make_unique<Rfbcast>(dir_, o);
        std::string err;
        ASSERT_TRUE(rfbcast_->start(&err)) << err;
    }

    // Polls rfbcast's log until `pred` holds for it.
    bool wait_log(const std::function<bool(const std::string&)>& pred, milliseconds timeout) {
        return wait_for_log(*rfbcast_, pred, timeout);
    }
    size_t count(const std::string& event, const std::string& key = {},
                 const std::string& value = {}) const {
        return log_events(rfbcast_->log(), event, key, value).size();
    }
    bool wait_count(const std::string& event, const std::string& key, const std::string& value,
                    size_t n, milliseconds timeout) {
        return wait_for_log_events(*rfbcast_, event, key, value, n, timeout);
    }

    bool start_x11vnc(const std::vector<std::string>& argv, bool in_ns, std::string* err) {
        x11vnc_log_ = dir_.file("x11vnc.log");
        if (in_ns) return ns_->run_in(x11vnc_, argv, x11vnc_log_, x11vnc_log_, err);
        return x11vnc_.start(argv, x11vnc_log_, x11vnc_log_, err);
    }

    LvcOptions via_repeater(const std::string& dest, const std::string& tag) {
        LvcOptions o;
        o.port = rfbcast_->port();
        o.repeater_dest = dest;
        o.out_ppm = dir_.file(tag + ".ppm");
        o.timeout_ms = 20000;
        return o;
    }

    // Several viewers grabbing at once; each image must equal `expected`.
    void grab_all_and_compare(const std::vector<LvcOptions>& opts, const Image& expected,
                              const std::string& what) {
        std::vector<Process> procs(opts.size());
        for (size_t i = 0; i < opts.size(); ++i) {
            std::string err;
            ASSERT_TRUE(start_lvc_viewer(dir_, opts[i], what + std::to_string(i), procs[i], &err))
                << err;
        }
        for (size_t i = 0; i < opts.size(); ++i) {
            const std::string tag = what + std::to_string(i);
            ViewerResult r = finish_viewer(dir_, tag, procs[i], milliseconds(40000));
            ASSERT_TRUE(r.ok()) << tag << ": " << r.describe();
            Image img;
            std::string err;
            ASSERT_TRUE(load_ppm(opts[i].out_ppm, img, &err)) << err;
            EXPECT_TRUE(same_pixels(expected, img, tag + " through rfbcast"));
        }
    }

    // A viewer that must be refused: exit status 2 (no session), and libvncclient's log shows
    // the reason rfbcast gave.
    void expect_refused(const LvcOptions& base, const std::string& tag) {
        LvcOptions o = base;
        o.out_ppm.clear();
        o.verbose = true;
        o.timeout_ms = 10000;
        ViewerResult r = run_lvc_viewer(dir_, o, tag);
        EXPECT_EQ(r.exit_code, std::optional<int>(2)) << tag << ": " << r.describe();
        const std::string key = "VNC connection failed: ";
        const size_t at = r.err.find(key);
        ASSERT_NE(at, std::string::npos) << tag << " got no RFB failure reason: " << r.describe();
        const std::string reason =
            r.err.substr(at + key.size(), r.err.find('\n', at) - at - key.size());
        EXPECT_FALSE(reason.empty()) << tag << ": the failure reason is empty";
    }

    // The highest repeater-refused=N of the periodic stats lines so far (rfbcast writes the
    // routing counters on a "stats-routing" line beside the per-session "stats" ones).
    long stats_refused() const {
        long best = -1;
        const std::string log = rfbcast_->log();
        for (const char* event : {"stats", "stats-routing"})
            for (const std::string& line : log_events(log, event)) {
                const std::string v = log_field(line, "repeater-refused");
                if (!v.empty()) best = std::max(best, std::strtol(v.c_str(), nullptr, 10));
            }
        return best;
    }

    TempDir dir_, cover_dir_;
    std::unique_ptr<NetNs> ns_;
    std::unique_ptr<XvfbServer> xvfb_;
    std::unique_ptr<XvncServer> xvnc_;
    std::unique_ptr<Xdraw> xdraw_, cover_;
    std::unique_ptr<Rfbcast> rfbcast_;
    Process x11vnc_;
    std::string x11vnc_log_;
};

// ---------------------------------------------------------------------------------------------
// The peers on their own: what rfbcast must accept and send.

TEST_F(RepeaterTest, PeerX11vncSendsA250ByteIdThenRfbGreeting) {
    start_xvfb_desktop(kSeed, false);
    if (HasFatalFailure()) return;
    Listener repeater;
    ASSERT_TRUE(repeater.open());
    std::string err;
    ASSERT_TRUE(start_x11vnc(
        x11vnc_dialling(xvfb_->display_name(),
                        "repeater=ID:1234+127.0.0.1:" + std::to_string(repeater.port()), false),
        false, &err))
        << err;
    const int fd = repeater.accept_within(milliseconds(20000));
    ASSERT_GE(fd, 0) << "x11vnc never dialled; log:\n" << file_tail(x11vnc_log_);
    uint8_t got[262];
    const bool complete = read_exact(fd, got, sizeof got, milliseconds(10000));
    // While connected: it dialled out and listens nowhere, on no address family.
    EXPECT_EQ(listening_sockets(x11vnc_.pid()), 0u) << "x11vnc has a listening socket";
    ::close(fd);
    ASSERT_TRUE(complete) << "x11vnc sent fewer than 250 + 12 bytes";
    const std::vector<uint8_t> want = repeater_header("ID:1234");
    EXPECT_EQ(0, std::memcmp(got, want.data(), 250)) << printable(got, 250);
    EXPECT_EQ("RFB 003.008\n", std::string(reinterpret_cast<char*>(got) + 250, 12));
}

TEST_F(RepeaterTest, PeerLvcViewerRepeaterDestSends250BytesAfterRfb000) {
    for (const std::string dest : {"ID:1234", "127.0.0.1:5901"}) {
        Listener repeater;
        ASSERT_TRUE(repeater.open());
        LvcOptions o;
        o.port = repeater.port();
        o.repeater_dest = dest;
        o.timeout_ms = 5000;
        o.verbose = true;
        Process viewer;
        std::string err;
        ASSERT_TRUE(start_lvc_viewer(dir_, o, "peer-lvc", viewer, &err)) << err;
        const int fd = repeater.accept_within(milliseconds(10000));
        ASSERT_GE(fd, 0) << "lvc_viewer never connected";
        ASSERT_EQ(12, ::send(fd, "RFB 000.000\n", 12, MSG_NOSIGNAL));
        uint8_t got[250];
        const bool complete = read_exact(fd, got, sizeof got, milliseconds(5000));
        // Then ordinary RFB on the same connection: the viewer answers a server's version, and
        // a refusal (no security types, a reason) is what rfbcast sends for an unknown ID.
        ASSERT_EQ(12, ::send(fd, "RFB 003.008\n", 12, MSG_NOSIGNAL));
        uint8_t version[12];
        const bool answered = read_exact(fd, version, sizeof version, milliseconds(5000));
        const char refusal[] = "\0\0\0\0\x0aunknown ID";
        ::send(fd, refusal, sizeof refusal - 1, MSG_NOSIGNAL);
        const ViewerResult r = finish_viewer(dir_, "peer-lvc", viewer, milliseconds(10000));
        ::close(fd);
        ASSERT_TRUE(complete) << dest << ": fewer than 250 bytes";
        const std::vector<uint8_t> want = repeater_header(dest);
        EXPECT_EQ(0, std::memcmp(got, want.data(), 250)) << printable(got, 250);
        ASSERT_TRUE(answered) << dest << ": no ProtocolVersion after the header";
        EXPECT_EQ(0, std::memcmp(version, "RFB 003.", 8)) << printable(version, 12);
        EXPECT_EQ(r.exit_code, std::optional<int>(2)) << r.describe();
        EXPECT_NE(r.err.find("VNC connection failed: unknown ID\n"), std::string::npos)
            << r.describe();
    }
}

// ---------------------------------------------------------------------------------------------
// 1. x11vnc behind "NAT" (a namespace it can only connect out of) dials the repeater port with
//    a configured ID; two viewers reach it by that ID on the shared port.

TEST_F(RepeaterTest, ServerBehindNatDialsInWithConfiguredIdAndViewersReachIt) {
    const NetNsSupport& support = netns_support();
    if (!support.usable) GTEST_SKIP() << support.why_not;
    ns_ = std::make_unique<NetNs>(dir_);
    std::string err;
    ASSERT_TRUE(ns_->create(NetNsOptions{}, &err)) << err;
    ASSERT_NO_FATAL_FAILURE(start_xvfb_desktop(kSeed, false));
    SessionSpec nat;
    nat.name = "nat";
    nat.repeater_id = "1234";
    ASSERT_NO_FATAL_FAILURE(start_rfbcast(config_toml({}, {nat}), ns_->host_address()));

    // x11vnc listens nowhere; the only way in is the connection it makes itself.
    ASSERT_TRUE(start_x11vnc(x11vnc_dialling(xvfb_->display_name(),
                                             "repeater=ID:1234+" + ns_->host_address() + ":" +
                                                 std::to_string(rfbcast_->repeater_port()),
                                             false),
                             true, &err))
        << err;
    ASSERT_TRUE(wait_count("upstream-connected", "session", "nat", 1, milliseconds(30000)))
        << "x11vnc's dial-in never became session nat's upstream";
    // It came across the link, from the namespace's address.
    bool from_ns = false;
    for (const char* ev : {"upstream-dialled-in", "upstream-connected"})
        for (const std::string& line : log_events(rfbcast_->log(), ev, "session", "nat"))
            from_ns = from_ns || line.find(ns_->ns_address()) != std::string::npos;
    EXPECT_TRUE(from_ns) << "no upstream line of session nat names " << ns_->ns_address();

    Image truth;
    ASSERT_TRUE(x_truth(truth));
    ASSERT_NO_FATAL_FAILURE(grab_all_and_compare(
        {via_repeater("ID:1234", "nat-a"), via_repeater("ID:1234", "nat-b")}, truth, "nat-viewer"));
    EXPECT_EQ(count("viewer-connected", "session", "nat"), 2u);
    EXPECT_TRUE(x11vnc_.running()) << "x11vnc lost its connection";
}

// ---------------------------------------------------------------------------------------------
// 2. No config at all: --allow-dynamic-ids makes a session for whatever ID dials in. (On
//    loopback, so it runs where namespaces cannot; test 1 covers the namespace.)

TEST_F(RepeaterTest, DynamicIdWithoutConfigGetsASessionViewersReachById) {
    ASSERT_NO_FATAL_FAILURE(start_xvfb_desktop(kSeed + 1, false));
    ASSERT_NO_FATAL_FAILURE(start_rfbcast("", "127.0.0.1", {"--allow-dynamic-ids"}));
    std::string err;
    ASSERT_TRUE(start_x11vnc(
        x11vnc_dialling(xvfb_->display_name(),
                        "repeater=ID:5678+127.0.0.1:" + std::to_string(rfbcast_->repeater_port()),
                        false),
        false, &err))
        << err;
    ASSERT_TRUE(wait_count("upstream-connected", {}, {}, 1, milliseconds(30000)))
        << "x11vnc's dial-in with a new ID got no session";

    Image truth;
    ASSERT_TRUE(x_truth(truth));
    ASSERT_NO_FATAL_FAILURE(grab_all_and_compare(
        {via_repeater("ID:5678", "dyn-a"), via_repeater("ID:5678", "dyn-b")}, truth, "dyn-viewer"));
    EXPECT_EQ(count("viewer-connected"), 2u);
}

// ---------------------------------------------------------------------------------------------
// 3. TigerVNC's plain reverse connection: `vncconfig -connect` makes Xvnc dial the session's
//    reverse_listen port; a viewer on the session's own listen port gets Xvnc's pixels.

TEST_F(RepeaterTest, VncconfigReverseConnectionBecomesTheSessionsUpstream) {
    ASSERT_NO_FATAL_FAILURE(start_xvnc_desktop(kSeed + 2));
    const int reverse_port = free_tcp_port(), listen_port = free_tcp_port();
    SessionSpec rev;
    rev.name = "rev";
    rev.reverse_listen = "127.0.0.1:" + std::to_string(reverse_port);
    rev.listen = "127.0.0.1:" + std::to_string(listen_port);
    ASSERT_NO_FATAL_FAILURE(start_rfbcast(config_toml({}, {rev})));

    // vncconfig cannot tell whether Xvnc's dial worked (see the notes at the top): ask again
    // until rfbcast has the upstream.
    bool connected = false;
    for (int attempt = 0; attempt < 5 && !connected; ++attempt) {
        Process vncconfig;
        std::string err;
        ASSERT_TRUE(vncconfig.start({"vncconfig", "-display", xvnc_->display_name(), "-connect",
                                     "127.0.0.1:" + std::to_string(reverse_port)},
                                    dir_.file("vncconfig.log"), dir_.file("vncconfig.log"), &err))
            << err;
        EXPECT_EQ(vncconfig.wait_for(milliseconds(10000)), std::optional<int>(0))
            << file_tail(dir_.file("vncconfig.log"));
        connected = wait_count("upstream-connected", "session", "rev", 1, milliseconds(4000));
    }
    ASSERT_TRUE(connected) << "Xvnc's reverse connection never became session rev's upstream";

    Image direct;
    ASSERT_TRUE(direct_grab(direct));
    LvcOptions o;
    o.port = listen_port;
    o.out_ppm = dir_.file("rev.ppm");
    o.timeout_ms = 20000;
    ASSERT_NO_FATAL_FAILURE(grab_all_and_compare({o}, direct, "rev-viewer"));
    EXPECT_EQ(count("viewer-connected", "session", "rev"), 1u);
}

// ---------------------------------------------------------------------------------------------
// 5. The dial-in server's link is cut (its home router restarts) and restored: its viewers stay
//    connected, the server notices and dials again, and the viewers get what it shows now.

TEST_F(RepeaterTest, LinkCutAndRestoredViewersStayAndGetTheRedialledServersPixels) {
    const NetNsSupport& support = netns_support();
    if (!support.usable) GTEST_SKIP() << support.why_not;
    ns_ = std::make_unique<NetNs>(dir_);
    std::string err;
    ASSERT_TRUE(ns_->create(NetNsOptions{}, &err)) << err;
    // Seconds, not minutes, before x11vnc's TCP gives up on the dead link (see the notes).
    ASSERT_TRUE(ns_->set_sysctl("net.ipv4.tcp_retries2", "3", &err)) << err;
    ASSERT_TRUE(ns_->set_sysctl("net.ipv4.tcp_syn_retries", "1", &err)) << err;
    // Animated: x11vnc always has an update in flight, so the cut leaves it data unacknowledged.
    ASSERT_NO_FATAL_FAILURE(start_xvfb_desktop(kSeed + 3, true));
    SessionSpec home;
    home.name = "home";
    home.repeater_id = "4321";
    ASSERT_NO_FATAL_FAILURE(start_rfbcast(config_toml({}, {home}), ns_->host_address()));
    ASSERT_TRUE(start_x11vnc(x11vnc_dialling(xvfb_->display_name(),
                                             "repeater=ID:4321+" + ns_->host_address() + ":" +
                                                 std::to_string(rfbcast_->repeater_port()),
                                             true),
                             true, &err))
        << err;
    ASSERT_TRUE(wait_count("upstream-connected", "session", "home", 1, milliseconds(30000)))
        << "x11vnc never became session home's upstream";

    // Two viewers hold on through everything; hold mode exits 3 if its connection drops.
    std::vector<LvcOptions> opts = {via_repeater("ID:4321", "held-a"),
                                    via_repeater("ID:4321", "held-b")};
    std::vector<Process> held(opts.size());
    for (size_t i = 0; i < opts.size(); ++i) {
        opts[i].hold_ms = 600000;
        opts[i].settle_ms = 1500;
        ASSERT_TRUE(start_lvc_viewer(dir_, opts[i], "held" + std::to_string(i), held[i], &err))
            << err;
    }
    ASSERT_TRUE(wait_count("viewer-connected", "session", "home", 2, milliseconds(20000)));
    sleep_ms(1500);  // a few frames of the animation reach them

    ASSERT_TRUE(ns_->set_link_up(false, &err)) << err;
    const auto cut_at = Clock::now();
    // What the screen shows from now on never crossed the old connection.
    ASSERT_TRUE(xdraw_->freeze(&err)) << err;
    cover_ = std::make_unique<Xdraw>(cover_dir_, XdrawOptions{kSeed + 30, false});
    ASSERT_TRUE(cover_->start(xvfb_->display_name(), &err)) << err;
    Image truth;
    ASSERT_TRUE(x_truth(truth));
    // x11vnc gives up on the dead connection and its -loop starts dialling again.
    bool redialling = false;
    while (!redialling && Clock::now() - cut_at < milliseconds(40000)) {
        redialling = read_file(x11vnc_log_).find("x11vnc loop: 2 ---") != std::string::npos;
        sleep_ms(200);
    }
    ASSERT_TRUE(redialling) << "x11vnc did not notice the dead link within 40 s";
    const size_t log_at_restore = rfbcast_->log().size();
    ASSERT_TRUE(ns_->set_link_up(true, &err)) << err;
    const auto restored_at = Clock::now();

    ASSERT_TRUE(wait_count("upstream-connected", "session", "home", 2, milliseconds(40000)))
        << "x11vnc's new dial-in never became session home's upstream again";
    std::printf(
        "[  relink  ] cut %.1f s; upstream back %.1f s after the link; old upstream: %zu "
        "upstream-lost, %zu upstream-replaced\n",
        std::chrono::duration<double>(restored_at - cut_at).count(),
        std::chrono::duration<double>(Clock::now() - restored_at).count(),
        count("upstream-lost", "session", "home"), count("upstream-replaced", "session", "home"));
    // Both viewers are sent something from the new connection before they are asked to settle.
    std::vector<uint64_t> ids;
    for (const std::string& line :
         log_events(rfbcast_->log(), "viewer-connected", "session", "home"))
        ids.push_back(std::strtoull(log_field(line, "viewer").c_str(), nullptr, 10));
    ASSERT_EQ(ids.size(), 2u);
    EXPECT_TRUE(wait_log(
        [&](const std::string& log) {
            const std::string after = log.substr(std::min(log_at_restore, log.size()));
            for (uint64_t id : ids)
                if (log_events(after, "viewer-update", "viewer", std::to_string(id)).empty())
                    return false;
            return true;
        },
        milliseconds(20000)))
        << "the viewers were sent nothing after the server came back";

    // (Checked before the grabs: a viewer that has its picture leaves, and that is logged too.)
    EXPECT_TRUE(log_events(rfbcast_->log(), "viewer-disconnected", "session", "home").empty())
        << "rfbcast dropped a viewer of session home";
    for (size_t i = 0; i < held.size(); ++i) {
        held[i].signal(SIGUSR1);
        const std::string tag = "held" + std::to_string(i);
        ViewerResult r = finish_viewer(dir_, tag, held[i], milliseconds(40000));
        EXPECT_TRUE(r.ok()) << tag << " did not stay connected: " << r.describe();
        if (!r.ok()) continue;
        Image img;
        ASSERT_TRUE(load_ppm(opts[i].out_ppm, img, &err)) << err;
        EXPECT_TRUE(same_pixels(truth, img, tag + " after the server re-dialled"));
    }
}

// ---------------------------------------------------------------------------------------------
// 6. Wrong or guessed IDs: a viewer is refused with an RFB failure reason, logged and counted;
//    a server dialling in with an ID nobody configured is closed.

TEST_F(RepeaterTest, UnknownIdsAreRefusedForViewersAndServers) {
    ASSERT_NO_FATAL_FAILURE(start_xvnc_desktop(kSeed + 4));
    SessionSpec lab;
    lab.name = "lab";
    lab.upstream = "127.0.0.1:" + std::to_string(xvnc_->port());
    lab.repeater_id = "1234";
    ASSERT_NO_FATAL_FAILURE(start_rfbcast(config_toml({}, {lab})));
    ASSERT_TRUE(wait_count("upstream-connected", "session", "lab", 1, milliseconds(20000)));

    // The right ID works: the refusals below are about the ID, nothing else.
    Image direct;
    ASSERT_TRUE(direct_grab(direct));
    ASSERT_NO_FATAL_FAILURE(grab_all_and_compare({via_repeater("ID:1234", "right")}, direct, "ok"));

    // "Guesses" next to the real one: a prefix of it, an extension of it, another number.
    // (Baselines: rfbcast's start-up probe may itself count as a refused repeater viewer.)
    sleep_ms(1200);  // a stats line after everything so far
    const long stats_before = std::max(0L, stats_refused());
    const size_t refused_before = count("repeater-refused", "side", "viewer");
    const std::vector<std::string> wrong = {"ID:123", "ID:12345", "ID:9999"};
    for (const std::string& id : wrong)
        ASSERT_NO_FATAL_FAILURE(expect_refused(via_repeater(id, "wrong"), "wrong-" + id.substr(3)));
    EXPECT_TRUE(wait_count("repeater-refused", "side", "viewer", refused_before + wrong.size(),
                           milliseconds(5000)))
        << "expected " << wrong.size() << " more repeater-refused side=viewer lines";
    for (const std::string& line :
         log_events(rfbcast_->log(), "repeater-refused", "side", "viewer"))
        EXPECT_FALSE(log_field(line, "reason").empty()) << "no reason: " << line;
    EXPECT_EQ(count("viewer-connected", "session", "lab"), 1u) << "a wrong ID reached session lab";
    // Counted in the stats line.
    const long stats_want = stats_before + long(wrong.size());
    EXPECT_TRUE(wait_log([&](const std::string&) { return stats_refused() >= stats_want; },
                         milliseconds(5000)))
        << "stats never counted repeater-refused=" << stats_want << " (best " << stats_refused()
        << ")";

    // A server with an ID nobody configured: closed at once, so x11vnc (no -forever) exits.
    std::string err;
    ASSERT_TRUE(start_x11vnc(
        x11vnc_dialling(xvnc_->display_name(),
                        "repeater=ID:8888+127.0.0.1:" + std::to_string(rfbcast_->repeater_port()),
                        false),
        false, &err))
        << err;
    EXPECT_TRUE(wait_count("repeater-refused", "side", "server", 1, milliseconds(20000)))
        << "no repeater-refused side=server for ID 8888";
    EXPECT_TRUE(x11vnc_.wait_for(milliseconds(20000)).has_value())
        << "x11vnc is still connected with an unknown ID";
    EXPECT_EQ(count("upstream-connected"), 1u) << "the unknown server became an upstream";
    EXPECT_EQ(count("upstream-replaced"), 0u);
}

// ---------------------------------------------------------------------------------------------
// 7. UltraVNC Mode I ("host:port" instead of an ID) goes only to destinations in mode1_allow.

TEST_F(RepeaterTest, ModeIOnlyToAllowedDestinations) {
    ASSERT_NO_FATAL_FAILURE(start_xvnc_desktop(kSeed + 5));
    // Destinations that are not allowed but would answer: a dial there shows as a connection.
    Listener other_port, other_host;
    ASSERT_TRUE(other_port.open("127.0.0.1"));
    ASSERT_TRUE(other_host.open("127.0.0.2"));
    const std::string allowed = "127.0.0.1:" + std::to_string(xvnc_->port());
    ASSERT_NO_FATAL_FAILURE(start_rfbcast(config_toml(
        {"mode1_allow = [" + toml_string("127.0.0.1/32:" + std::to_string(xvnc_->port())) + "]"},
        {})));

    Image direct;
    ASSERT_TRUE(direct_grab(direct));
    ASSERT_NO_FATAL_FAILURE(grab_all_and_compare({via_repeater(allowed, "mode1")}, direct, "m1-"));

    const size_t refused_before = count("repeater-refused", "side", "viewer");
    ASSERT_NO_FATAL_FAILURE(expect_refused(
        via_repeater("127.0.0.1:" + std::to_string(other_port.port()), "x"), "mode1-port"));
    ASSERT_NO_FATAL_FAILURE(expect_refused(
        via_repeater("127.0.0.2:" + std::to_string(other_host.port()), "x"), "mode1-host"));
    EXPECT_TRUE(
        wait_count("repeater-refused", "side", "viewer", refused_before + 2, milliseconds(5000)));
    EXPECT_FALSE(other_port.dialled()) << "rfbcast dialled a port mode1_allow does not list";
    EXPECT_FALSE(other_host.dialled()) << "rfbcast dialled a host outside mode1_allow";
}

}  // namespace
}  // namespace itest
