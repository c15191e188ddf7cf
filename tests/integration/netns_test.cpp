// The network-namespace harness (tests/integration/netns.h) measured: the links it builds carry
// the delay and rate they were given, namespaces are private and unique, and teardown leaves
// nothing behind even when a test fails. Then rfbcast across such a link: it reflects an Xvnc
// that sits behind a slow link, and (once the link estimator is wired into the upstream client)
// asks it for Tight + JPEG there and for Raw on loopback.
//
// Every test needs root (namespaces, veth, tc, TUN) and skips with the precise reason otherwise.
#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>
#include <net/if.h>
#include <sys/stat.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <thread>

#include "tests/integration/harness.h"
#include "tests/integration/netns.h"

namespace itest {
namespace {

using std::chrono::microseconds;

void sleep_ms(int ms) {
    std::this_thread::sleep_for(milliseconds(ms));
}

bool exists(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0;
}

bool interface_exists(const std::string& name) {
    return ::if_nametoindex(name.c_str()) != 0;
}

double ms(microseconds us) {
    return static_cast<double>(us.count()) / 1000.0;
}

class NetNsTest : public ::testing::Test {
  protected:
    void SetUp() override {
        const NetNsSupport& s = netns_support();
        if (!s.usable) GTEST_SKIP() << s.why_not;
    }
    void need_veth() {
        if (!netns_support().veth) GTEST_SKIP() << "no veth: " << netns_support().detail;
    }
    TempDir dir_;
};

TEST_F(NetNsTest, ReportsWhatThisKernelCanDo) {
    const NetNsSupport& s = netns_support();
    std::fprintf(stderr, "[netns] veth=%d tbf=%d netem=%d tun=%d; delay is shaped by %s here\n%s",
                 s.veth, s.tbf, s.netem, s.tun, s.netem ? "netem" : "the userspace TUN shaper",
                 s.detail.c_str());
    RecordProperty("netem", s.netem ? "yes" : "no");
    EXPECT_TRUE(s.netem || s.tun) << "no way to add delay on this host: " << s.detail;
    EXPECT_TRUE(s.tbf || s.netem || s.tun) << "no way to limit rate on this host: " << s.detail;
}

TEST_F(NetNsTest, NamespacesArePrivateAndUnique) {
    NetNs a(dir_), b(dir_);
    std::string err;
    ASSERT_TRUE(a.create({}, &err)) << err;
    ASSERT_TRUE(b.create({}, &err)) << err;
    EXPECT_NE(a.name(), b.name());
    EXPECT_NE(a.host_address(), b.host_address());
    EXPECT_NE(a.ns_address(), b.ns_address());
    EXPECT_NE(a.host_interface(), b.host_interface());
    EXPECT_EQ(a.name().rfind("rfbcast-" + std::to_string(::getpid()) + "-", 0), 0u) << a.name();
    EXPECT_TRUE(exists("/run/netns/" + a.name()));
    EXPECT_TRUE(interface_exists(a.host_interface()));
    EXPECT_FALSE(interface_exists(a.ns_interface())) << "the namespace end leaked into root";

    // A process started with run_in sees the namespace's addresses, not the root namespace's.
    Process p;
    const std::string out = dir_.file("ip-addr.out");
    ASSERT_TRUE(a.run_in(p, {"ip", "-o", "-4", "addr", "show"}, out, out, &err)) << err;
    ASSERT_EQ(p.wait_for(milliseconds(10000)), std::optional<int>(0)) << read_file(out);
    const std::string seen = read_file(out);
    EXPECT_NE(seen.find(a.ns_address() + "/30"), std::string::npos) << seen;
    EXPECT_NE(seen.find("127.0.0.1/8"), std::string::npos) << "lo is up in the namespace: " << seen;
    EXPECT_EQ(seen.find(a.host_address() + "/"), std::string::npos) << seen;
    EXPECT_EQ(seen.find(b.ns_address() + "/"), std::string::npos) << seen;

    // Both links really work, each to its own namespace.
    std::string out_b;
    ASSERT_EQ(b.run_in_and_wait({"ip", "-o", "-4", "addr", "show"}, &out_b), 0) << out_b;
    EXPECT_NE(out_b.find(b.ns_address() + "/30"), std::string::npos) << out_b;
    for (NetNs* ns : {&a, &b}) {
        auto rtt = measure_rtt(*ns, 5, milliseconds(5000), &err);
        ASSERT_TRUE(rtt) << ns->describe() << ": " << err;
    }
}

TEST_F(NetNsTest, UnshapedVethIsShortAndFast) {
    need_veth();
    if (IsSkipped()) return;
    NetNs ns(dir_);
    NetNsOptions o;
    o.shaper = Shaper::kKernel;
    std::string err;
    ASSERT_TRUE(ns.create(o, &err)) << err;
    auto rtt = measure_rtt(ns, 21, milliseconds(5000), &err);
    ASSERT_TRUE(rtt) << err;
    EXPECT_LT(ms(rtt->min), 2.0) << "RTT over an unshaped veth";
    auto g = measure_goodput(ns, true, 64 << 20, milliseconds(20000), &err);
    ASSERT_TRUE(g) << err;
    std::fprintf(stderr, "[netns] unshaped veth: rtt %.3f ms (median %.3f), %.0f Mbit/s\n",
                 ms(rtt->min), ms(rtt->median), g->bps() / 1e6);
    EXPECT_GT(g->bps(), 200e6);
}

// The link's own round trip is the fastest echo: never below the delays, at most a few ms
// above (the echo threads' wake-ups). The median may carry scheduling noise on a loaded machine.
void expect_round_trip(const RoundTrips& rtt, double delays_ms, const std::string& what) {
    std::fprintf(stderr, "[netns] %s: rtt min %.2f ms, median %.2f ms, max %.2f ms\n", what.c_str(),
                 ms(rtt.min), ms(rtt.median), ms(rtt.max));
    EXPECT_GE(ms(rtt.min), delays_ms) << what;
    EXPECT_LE(ms(rtt.min), delays_ms + 4.0) << what;
    EXPECT_LE(ms(rtt.median), delays_ms + 25.0) << what;
}

// Goodput is TCP payload; the shapers count whole packets (tbf: Ethernet frames, the userspace
// shaper: IP packets), so goodput sits a few percent under the rate.
void expect_rate(const Goodput& g, double rate, const std::string& what) {
    std::fprintf(stderr, "[netns] %s: %.2f Mbit/s for a %.2f Mbit/s link (%zu bytes in %.2f s)\n",
                 what.c_str(), g.bps() / 1e6, rate / 1e6, g.bytes, g.seconds);
    EXPECT_GT(g.bps(), 0.85 * rate) << what;
    EXPECT_LT(g.bps(), 1.03 * rate) << what;
}

TEST_F(NetNsTest, TbfOnVethLimitsTheRateEachWay) {
    need_veth();
    if (IsSkipped()) return;
    if (!netns_support().tbf) GTEST_SKIP() << "no tbf: " << netns_support().detail;
    NetNs ns(dir_);
    NetNsOptions o;
    o.shaper = Shaper::kKernel;
    o.to_ns.rate_bps = 8'000'000;
    o.from_ns.rate_bps = 4'000'000;
    std::string err;
    ASSERT_TRUE(ns.create(o, &err)) << err;
    auto in = measure_goodput(ns, true, 2'000'000, milliseconds(15000), &err);
    ASSERT_TRUE(in) << err;
    expect_rate(*in, 8e6, "tbf into the namespace");
    auto out = measure_goodput(ns, false, 1'000'000, milliseconds(15000), &err);
    ASSERT_TRUE(out) << err;
    expect_rate(*out, 4e6, "tbf out of the namespace");
    auto rtt = measure_rtt(ns, 11, milliseconds(5000), &err);
    ASSERT_TRUE(rtt) << err;
    EXPECT_LT(ms(rtt->min), 3.0) << "rate shaping alone adds no delay to an idle link";
}

TEST_F(NetNsTest, NetemDelaysAndLimitsWhenTheKernelHasIt) {
    need_veth();
    if (IsSkipped()) return;
    if (!netns_support().netem)
        GTEST_SKIP() << "this kernel has no sch_netem (delay falls back to the userspace shaper): "
                     << netns_support().detail;
    NetNs ns(dir_);
    NetNsOptions o;
    o.shaper = Shaper::kKernel;
    o.to_ns = {milliseconds(20), 5'000'000, 0};
    o.from_ns = {milliseconds(20), 5'000'000, 0};
    std::string err;
    ASSERT_TRUE(ns.create(o, &err)) << err;
    auto rtt = measure_rtt(ns, 11, milliseconds(10000), &err);
    ASSERT_TRUE(rtt) << err;
    expect_round_trip(*rtt, 40.0, "netem 20 + 20 ms");
    auto g = measure_goodput(ns, true, 1'500'000, milliseconds(20000), &err);
    ASSERT_TRUE(g) << err;
    expect_rate(*g, 5e6, "netem into the namespace");
}

TEST_F(NetNsTest, UserspaceShaperDelaysAndLimitsEachWay) {
    if (!netns_support().tun) GTEST_SKIP() << "no TUN: " << netns_support().detail;
    NetNs ns(dir_);
    NetNsOptions o;
    o.shaper = Shaper::kUserspace;
    o.to_ns = {milliseconds(20), 5'000'000, 0};
    o.from_ns = {milliseconds(20), 2'000'000, 0};
    std::string err;
    ASSERT_TRUE(ns.create(o, &err)) << err;
    EXPECT_EQ(ns.shaper(), Shaper::kUserspace);
    auto rtt = measure_rtt(ns, 11, milliseconds(10000), &err);
    ASSERT_TRUE(rtt) << err;
    expect_round_trip(*rtt, 40.0, "userspace 20 + 20 ms");
    auto in = measure_goodput(ns, true, 1'500'000, milliseconds(20000), &err);
    ASSERT_TRUE(in) << err;
    expect_rate(*in, 5e6, "userspace shaper into the namespace");
    auto out = measure_goodput(ns, false, 600'000, milliseconds(20000), &err);
    ASSERT_TRUE(out) << err;
    expect_rate(*out, 2e6, "userspace shaper out of the namespace");
    EXPECT_GT(ns.stats(0).packets, 1000u);
    EXPECT_GT(ns.stats(1).packets, 400u);
}

TEST_F(NetNsTest, UserspaceShaperOneWayDelayOnly) {
    if (!netns_support().tun) GTEST_SKIP() << "no TUN: " << netns_support().detail;
    NetNs ns(dir_);
    NetNsOptions o;
    o.shaper = Shaper::kUserspace;
    o.to_ns.delay = milliseconds(30);
    std::string err;
    ASSERT_TRUE(ns.create(o, &err)) << err;
    auto rtt = measure_rtt(ns, 11, milliseconds(10000), &err);
    ASSERT_TRUE(rtt) << err;
    expect_round_trip(*rtt, 30.0, "userspace 30 + 0 ms");
    // Unlimited rate: only the delay shapes it, so a bulk transfer is far faster than any
    // shaped rate in these tests.
    auto g = measure_goodput(ns, true, 8 << 20, milliseconds(20000), &err);
    ASSERT_TRUE(g) << err;
    EXPECT_GT(g->bps(), 50e6);
}

TEST_F(NetNsTest, AutoChoosesAKernelLinkWhenItCanAndTheShaperOtherwise) {
    const NetNsSupport& s = netns_support();
    NetNs rate_only(dir_), with_delay(dir_);
    NetNsOptions r;
    r.to_ns.rate_bps = 10'000'000;
    std::string err;
    ASSERT_TRUE(rate_only.create(r, &err)) << err;
    EXPECT_EQ(rate_only.shaper(), s.tbf || s.netem ? Shaper::kKernel : Shaper::kUserspace);
    NetNsOptions d;
    d.to_ns.delay = milliseconds(5);
    ASSERT_TRUE(with_delay.create(d, &err)) << err;
    EXPECT_EQ(with_delay.shaper(), s.netem ? Shaper::kKernel : Shaper::kUserspace);
    NetNsOptions k = d;
    k.shaper = Shaper::kKernel;
    NetNs forced(dir_);
    EXPECT_EQ(forced.create(k, &err), s.netem) << err;
    if (!s.netem) {
        EXPECT_NE(err.find("netem"), std::string::npos) << err;
    }
}

// Statics: EXPECT_FATAL_FAILURE's statement cannot see locals.
struct Doomed {
    std::unique_ptr<TempDir> dir;
    std::string name, host_if;
    Process sleeper;
};
Doomed* g_doomed = nullptr;

void create_and_fail() {
    NetNs ns(*g_doomed->dir);
    std::string err;
    ASSERT_TRUE(ns.create({}, &err)) << err;
    g_doomed->name = ns.name();
    g_doomed->host_if = ns.host_interface();
    ASSERT_TRUE(ns.run_in(g_doomed->sleeper, {"sleep", "60"}, "/dev/null", "/dev/null", &err))
        << err;
    ASSERT_TRUE(g_doomed->sleeper.running());
    FAIL() << "deliberate failure with a namespace alive";
}

TEST_F(NetNsTest, TeardownRemovesEverythingEvenWhenATestFails) {
    Doomed d;
    d.dir = std::make_unique<TempDir>();
    g_doomed = &d;
    EXPECT_FATAL_FAILURE(create_and_fail(), "deliberate failure");
    g_doomed = nullptr;
    ASSERT_FALSE(d.name.empty());
    EXPECT_FALSE(exists("/run/netns/" + d.name));
    EXPECT_FALSE(interface_exists(d.host_if));
    EXPECT_EQ(d.sleeper.wait_for(milliseconds(5000)), std::optional<int>(128 + SIGKILL))
        << "the process inside the namespace was not killed";
}

TEST_F(NetNsTest, SweepsNamespacesLeftByACrashedRun) {
    // A pid that certainly existed and is gone now.
    Process gone;
    std::string err;
    ASSERT_TRUE(gone.start({"true"}, "/dev/null", "/dev/null", &err)) << err;
    const pid_t pid = gone.pid();
    ASSERT_EQ(gone.wait_for(milliseconds(5000)), std::optional<int>(0));
    const std::string stale = "rfbcast-" + std::to_string(pid) + "-99";
    Process add;
    ASSERT_TRUE(add.start({"ip", "netns", "add", stale}, "/dev/null", "/dev/null", &err)) << err;
    ASSERT_EQ(add.wait_for(milliseconds(5000)), std::optional<int>(0));
    ASSERT_TRUE(exists("/run/netns/" + stale));
    NetNs ns(dir_);
    ASSERT_TRUE(ns.create({}, &err)) << err;
    EXPECT_FALSE(exists("/run/netns/" + stale)) << "stale namespace not swept";
    if (exists("/run/netns/" + stale)) {
        Process del;
        del.start({"ip", "netns", "del", stale}, "/dev/null", "/dev/null", &err);
        del.wait_for(milliseconds(5000));
    }
}

// ---------------------------------------------------------------------------------------------
// rfbcast across a shaped link.

class ReflectOverLinkTest : public NetNsTest {
  protected:
    void TearDown() override {
        if (HasFailure()) {
            if (!rfbcast_log_.empty())
                std::fprintf(stderr, "--- rfbcast log ---\n%s\n",
                             file_tail(rfbcast_log_, 6000).c_str());
            if (xdraw_) std::fprintf(stderr, "--- xdraw log ---\n%s\n", xdraw_->log_tail().c_str());
            if (xvnc_ns_)
                std::fprintf(stderr, "--- Xvnc (ns) log ---\n%s\n", xvnc_ns_->log_tail().c_str());
            if (xvnc_) std::fprintf(stderr, "--- Xvnc log ---\n%s\n", xvnc_->log_tail().c_str());
        }
        rfbcast_.stop();
        xdraw_.reset();
        xvnc_ns_.reset();
        xvnc_.reset();
        ns_.reset();
    }

    // Xvnc in a namespace behind `shape` (both ways), xdraw drawing on it from the root namespace.
    void start_desktop_behind(const LinkShape& shape, XvncOptions xo, bool animate) {
        ns_ = std::make_unique<NetNs>(dir_);
        NetNsOptions o;
        o.to_ns = shape;
        o.from_ns = shape;
        std::string err;
        ASSERT_TRUE(ns_->create(o, &err)) << err;
        xvnc_ns_ = std::make_unique<XvncInNs>(dir_, *ns_, xo);
        ASSERT_TRUE(xvnc_ns_->start(&err)) << err;
        xdraw_ = std::make_unique<Xdraw>(dir_, XdrawOptions{20240917, animate});
        ASSERT_TRUE(xdraw_->start(xvnc_ns_->display_name(), &err)) << "xdraw: " << err;
    }

    void start_desktop_on_loopback(XvncOptions xo, bool animate) {
        xvnc_ = std::make_unique<XvncServer>(dir_, xo);
        std::string err;
        ASSERT_TRUE(xvnc_->start(&err)) << err;
        xdraw_ = std::make_unique<Xdraw>(dir_, XdrawOptions{20240917, animate});
        ASSERT_TRUE(xdraw_->start(xvnc_->display_name(), &err)) << "xdraw: " << err;
    }

    // rfbcast in the root namespace with the given upstream and no --upstream-encodings.
    void start_rfbcast(const std::string& upstream) {
        std::string last;
        for (int attempt = 0; attempt < 3; ++attempt) {
            rfbcast_port_ = free_tcp_port();
            rfbcast_log_ = dir_.file("rfbcast-" + std::to_string(attempt) + ".log");
            std::string err;
            ASSERT_TRUE(rfbcast_.start(
                {rfbcast_bin(), "--upstream", upstream, "--listen",
                 "127.0.0.1:" + std::to_string(rfbcast_port_), "--log-level", "debug"},
                rfbcast_log_, rfbcast_log_, &err))
                << err;
            if (wait_for_rfb_greeting(rfbcast_port_, milliseconds(15000), &rfbcast_)) return;
            rfbcast_.stop();
            last = file_tail(rfbcast_log_);
        }
        FAIL() << "rfbcast did not come up; log:\n" << last;
    }

    // Waits until rfbcast's log has a line containing every one of `needles`.
    bool log_has_line(const std::vector<std::string>& needles, milliseconds timeout) {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        do {
            for (const std::string& line : read_lines(rfbcast_log_)) {
                bool all = true;
                for (const auto& n : needles)
                    all = all && line.find(n) != std::string::npos;
                if (all) return true;
            }
            sleep_ms(200);
        } while (std::chrono::steady_clock::now() < deadline);
        return false;
    }

    // lvc_viewer grab of host:port (run_lvc_viewer dials 127.0.0.1 only).
    bool grab(const std::string& host, int port, const std::string& tag, Image& img,
              std::string* error) {
        const std::string ppm = dir_.file(tag + ".ppm");
        Process p;
        if (!p.start({lvc_viewer_bin(), "--host", host, "--port", std::to_string(port),
                      "--encodings", "zrle", "--bpp", "32", "--settle-ms", "1500", "--timeout-ms",
                      "30000", "--out", ppm},
                     dir_.file(tag + ".out"), dir_.file(tag + ".err"), error))
            return false;
        if (p.wait_for(milliseconds(40000)) != std::optional<int>(0)) {
            *error = tag + ": " + read_file(dir_.file(tag + ".err"));
            return false;
        }
        return load_ppm(ppm, img, error);
    }

    std::unique_ptr<NetNs> ns_;
    std::unique_ptr<XvncInNs> xvnc_ns_;
    std::unique_ptr<XvncServer> xvnc_;
    std::unique_ptr<Xdraw> xdraw_;
    Process rfbcast_;
    int rfbcast_port_ = 0;
    std::string rfbcast_log_;
};

// rfbcast reflects a server in another namespace behind a LAN-like shaped link (10 ms RTT,
// 50 Mbit/s: not slow, so lossless encodings on both legs also once the link estimator is
// wired in), pixel for pixel.
TEST_F(ReflectOverLinkTest, ReflectsAnXvncBehindAShapedLink) {
    XvncOptions xo;
    xo.width = 640;
    xo.height = 480;
    ASSERT_NO_FATAL_FAILURE(start_desktop_behind({milliseconds(5), 50'000'000, 0}, xo, false));
    ASSERT_NO_FATAL_FAILURE(
        start_rfbcast(xvnc_ns_->address() + ":" + std::to_string(xvnc_ns_->port())));
    ASSERT_TRUE(log_has_line({"upstream-connected"}, milliseconds(20000)))
        << "rfbcast never reached the upstream across the link";

    // The direct grab crosses the same shaped link, straight to Xvnc.
    Image want, got;
    std::string err;
    ASSERT_TRUE(grab(xvnc_ns_->address(), xvnc_ns_->port(), "direct", want, &err)) << err;
    EXPECT_GT(distinct_colours(want), 1000u) << "the direct grab is not xdraw's picture";
    const auto deadline = std::chrono::steady_clock::now() + milliseconds(30000);
    ImageDiff d;
    for (int i = 0; std::chrono::steady_clock::now() < deadline; ++i) {
        if (grab("127.0.0.1", rfbcast_port_, "via-rfbcast-" + std::to_string(i), got, &err)) {
            d = compare_images(want, got);
            if (d.equal()) break;
        }
        sleep_ms(500);
    }
    ASSERT_TRUE(d.equal()) << "no grab through rfbcast matched within 30 s: " << d.describe() << " "
                           << err;
    // Warmed up: from now on every grab must match at once.
    ASSERT_TRUE(grab("127.0.0.1", rfbcast_port_, "measured", got, &err)) << err;
    ImageDiff measured = compare_images(want, got);
    EXPECT_TRUE(measured.equal()) << measured.describe();
}

// TigerVNC logs per-connection encoder statistics when a connection closes; it lists only the
// encoders it used ("Tight (JPEG):", "Raw:", "ZRLE:", ...). That is the server's own word on
// whether JPEG went out, which rfbcast's log (one line per encoding number) cannot tell.
bool xvnc_stats_mention(const TempDir& dir, const std::string& log_prefix,
                        const std::string& encoder) {
    for (int attempt = 0; attempt < 5; ++attempt)
        for (const std::string& line :
             read_lines(dir.file(log_prefix + std::to_string(attempt) + ".log")))
            if (line.find("EncodeManager:") != std::string::npos &&
                line.find(" " + encoder + ":") != std::string::npos)
                return true;
    return false;
}

// Waits a little for Xvnc to log the statistics of a connection that just closed.
bool eventually_mentions(const TempDir& dir, const std::string& log_prefix,
                         const std::string& encoder) {
    for (int i = 0; i < 25; ++i) {
        if (xvnc_stats_mention(dir, log_prefix, encoder)) return true;
        sleep_ms(200);
    }
    return false;
}

// Enable once reflector/upstream_client.cpp feeds a LinkEstimator and asks for
// preferred_encodings(class) (see the report): rfbcast must then find the 40 ms / 5 Mbit/s link
// slow and get Tight with JPEG from Xvnc.
TEST_F(ReflectOverLinkTest, SlowLinkGetsTightWithJpeg) {
    XvncOptions xo;
    xo.width = 800;
    xo.height = 600;
    ASSERT_NO_FATAL_FAILURE(start_desktop_behind({milliseconds(20), 5'000'000, 0}, xo, true));
    ASSERT_NO_FATAL_FAILURE(
        start_rfbcast(xvnc_ns_->address() + ":" + std::to_string(xvnc_ns_->port())));
    EXPECT_TRUE(
        log_has_line({"upstream-encoding", "encoding=tight", "first-use"}, milliseconds(30000)))
        << "the upstream never sent Tight";
    sleep_ms(3000);  // more animated updates under whatever rfbcast asked for by now
    rfbcast_.stop();
    EXPECT_TRUE(eventually_mentions(dir_, "xvnc-ns-", "Tight (JPEG)"))
        << "Xvnc sent no Tight JPEG rectangle to rfbcast; its log:\n"
        << xvnc_ns_->log_tail();
}

// The loopback counterpart: Raw for the pixels, no JPEG. (Until the estimator has decided, the
// first update may come in whatever the initial list asked for.)
TEST_F(ReflectOverLinkTest, LoopbackGetsRawNotTight) {
    XvncOptions xo;
    xo.width = 800;
    xo.height = 600;
    ASSERT_NO_FATAL_FAILURE(start_desktop_on_loopback(xo, true));
    ASSERT_NO_FATAL_FAILURE(start_rfbcast("127.0.0.1:" + std::to_string(xvnc_->port())));
    EXPECT_TRUE(
        log_has_line({"upstream-encoding", "encoding=raw", "first-use"}, milliseconds(20000)));
    sleep_ms(3000);  // animation keeps updates coming
    rfbcast_.stop();
    EXPECT_TRUE(eventually_mentions(dir_, "xvnc-", "Raw")) << "Xvnc sent no Raw rectangles:\n"
                                                           << xvnc_->log_tail();
    EXPECT_FALSE(xvnc_stats_mention(dir_, "xvnc-", "Tight (JPEG)")) << xvnc_->log_tail();
    EXPECT_FALSE(log_has_line({"upstream-encoding", "encoding=tight"}, milliseconds(0)))
        << "Tight on loopback";
}

}  // namespace
}  // namespace itest
