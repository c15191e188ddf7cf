// Issue 6, "Tests with real peers": many sessions in one rfbcast process.
//
// - 20 sessions x 5 viewers: 20 Xvnc, each with its own xdraw picture (a different seed), one
//   rfbcast with a [[session]] per Xvnc; every session's viewers (three by repeater ID on the
//   shared port, two on the session's own port) must end up with exactly their own upstream's
//   pixels, which would show any cross-talk between sessions.
// - SIGHUP reload under load: a session is added and another removed while the viewers of a third
//   keep receiving frames; none of them is dropped.
//
// Xvnc rather than x11vnc as the upstreams: 20 small (200x150) Xvnc with their xdraw start one
// after the other in about 3.5 s on two cores and sit idle once drawn (~65 MB resident each
// here), where every x11vnc keeps polling its screen. The whole test takes about 7 s.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/harness.h"

namespace itest {
namespace {

using ::testing::AssertionFailure;
using ::testing::AssertionResult;
using ::testing::AssertionSuccess;
using Clock = std::chrono::steady_clock;

constexpr uint64_t kSeed = 20260707;

void sleep_ms(int ms) {
    std::this_thread::sleep_for(milliseconds(ms));
}

// Established IPv4 TCP connections (in this network namespace) whose far end is 127.0.0.1:port,
// from /proc/net/tcp: how many clients a loopback server has, seen from the clients' side.
size_t connections_to(int port) {
    char want[32];
    std::snprintf(want, sizeof want, "0100007F:%04X", port);
    size_t n = 0;
    for (const std::string& line : read_lines("/proc/net/tcp")) {
        // "  sl  local_address rem_address   st ..."
        char local[64], remote[64], state[8];
        if (std::sscanf(line.c_str(), " %*s %63s %63s %7s", local, remote, state) != 3) continue;
        if (std::string(remote) == want && std::string(state) == "01") ++n;
    }
    return n;
}

double seconds_since(Clock::time_point t) {
    return std::chrono::duration<double>(Clock::now() - t).count();
}

// One upstream: Xvnc with an xdraw picture, in a directory of its own (xdraw's files have fixed
// names).
struct Desktop {
    TempDir dir;
    std::unique_ptr<XvncServer> xvnc;
    std::unique_ptr<Xdraw> xdraw;
    std::string error;  // why start() failed

    bool start(int width, int height, uint64_t seed, bool animate) {
        xvnc = std::make_unique<XvncServer>(dir, XvncOptions{width, height, {}});
        if (!xvnc->start(&error)) {
            error = "Xvnc: " + error;
            return false;
        }
        xdraw = std::make_unique<Xdraw>(dir, XdrawOptions{seed, animate});
        if (!xdraw->start(xvnc->display_name(), &error)) {
            error = "xdraw: " + error;
            return false;
        }
        return true;
    }
    std::string upstream() const { return "127.0.0.1:" + std::to_string(xvnc->port()); }
};

// Starts the desktops one after the other: not from threads, because a child the harness starts
// is killed when the *thread* that forked it ends (PR_SET_PDEATHSIG follows the thread).
AssertionResult start_desktops(std::vector<std::unique_ptr<Desktop>>& desktops, int width,
                               int height, uint64_t first_seed,
                               const std::vector<bool>& animate = {}) {
    for (size_t i = 0; i < desktops.size(); ++i) {
        const bool a = i < animate.size() && animate[i];
        if (!desktops[i]->start(width, height, first_seed + i, a))
            return AssertionFailure() << "desktop " << i << ": " << desktops[i]->error;
    }
    return AssertionSuccess();
}

// A libvncclient viewer held connected until told to grab (hold mode: it exits 3 if its
// connection drops at any point).
struct HeldViewer {
    std::string tag;
    LvcOptions opt;
    Process proc;

    bool start(const TempDir& dir, std::string* error) {
        opt.hold_ms = 600000;
        opt.settle_ms = 1000;
        opt.timeout_ms = 30000;
        opt.out_ppm = dir.file(tag + ".ppm");
        return start_lvc_viewer(dir, opt, tag, proc, error);
    }
    // Ends the hold; the picture once nothing came for settle_ms.
    AssertionResult grab(const TempDir& dir, Image& img) {
        proc.signal(SIGUSR1);
        ViewerResult r = finish_viewer(dir, tag, proc, milliseconds(60000));
        if (!r.ok()) return AssertionFailure() << tag << ": " << r.describe();
        std::string err;
        if (!load_ppm(opt.out_ppm, img, &err)) return AssertionFailure() << err;
        return AssertionSuccess();
    }
};

class MultiSessionTest : public ::testing::Test {
  protected:
    void TearDown() override {
        if (HasFailure() && rfbcast_)
            std::fprintf(stderr, "--- rfbcast log (%s) ---\n%s\n", rfbcast_->log_path().c_str(),
                         rfbcast_->log_tail().c_str());
        for (HeldViewer& v : viewers_)
            v.proc.stop();
        if (rfbcast_) rfbcast_->process().stop();
        desktops_.clear();
    }

    void make_desktops(size_t n) {
        desktops_.clear();
        for (size_t i = 0; i < n; ++i)
            desktops_.push_back(std::make_unique<Desktop>());
    }

    // Direct libvncclient grabs of every desktop, all at once.
    AssertionResult direct_grabs(std::vector<Image>& out) {
        out.assign(desktops_.size(), Image{});
        std::vector<Process> procs(desktops_.size());
        std::vector<LvcOptions> opts(desktops_.size());
        for (size_t i = 0; i < desktops_.size(); ++i) {
            opts[i].port = desktops_[i]->xvnc->port();
            opts[i].out_ppm = dir_.file("direct-" + std::to_string(i) + ".ppm");
            std::string err;
            if (!start_lvc_viewer(dir_, opts[i], "direct-" + std::to_string(i), procs[i], &err))
                return AssertionFailure() << err;
        }
        for (size_t i = 0; i < desktops_.size(); ++i) {
            ViewerResult r =
                finish_viewer(dir_, "direct-" + std::to_string(i), procs[i], milliseconds(40000));
            if (!r.ok()) return AssertionFailure() << "direct grab " << i << ": " << r.describe();
            std::string err;
            if (!load_ppm(opts[i].out_ppm, out[i], &err)) return AssertionFailure() << err;
            if (distinct_colours(out[i]) < 1000)
                return AssertionFailure() << "direct grab " << i << " is not xdraw's picture";
        }
        return AssertionSuccess();
    }

    void start_rfbcast(const std::string& config) {
        config_path_ = dir_.file("rfbcast.toml");
        ASSERT_TRUE(write_file(config_path_, config));
        RfbcastOptions o;
        o.no_upstream = true;
        o.config_file = config_path_;
        // Sessions with repeater IDs would otherwise open the 0.0.0.0:5500 default, which tests
        // running in parallel would share.
        o.repeater_listen_address = "127.0.0.1";
        o.extra_args = {"--stats-interval", "1"};
        rfbcast_ = std::make_unique<Rfbcast>(dir_, o);
        std::string err;
        ASSERT_TRUE(rfbcast_->start(&err)) << err;
    }

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
    // The ids rfbcast gave the viewers of `session`.
    std::vector<std::string> viewer_ids(const std::string& session) const {
        std::vector<std::string> ids;
        for (const std::string& line :
             log_events(rfbcast_->log(), "viewer-connected", "session", session))
            ids.push_back(log_field(line, "viewer"));
        return ids;
    }

    TempDir dir_;
    std::vector<std::unique_ptr<Desktop>> desktops_;
    std::vector<HeldViewer> viewers_;
    std::unique_ptr<Rfbcast> rfbcast_;
    std::string config_path_;
};

// ---------------------------------------------------------------------------------------------
// 4. 20 sessions x 5 viewers in one process, each viewer with exactly its own upstream's pixels.

TEST_F(MultiSessionTest, TwentySessionsFiveViewersEachNoCrossTalk) {
    constexpr size_t kSessions = 20, kPerSession = 5, kById = 3;
    constexpr int kW = 200, kH = 150;
    const auto t0 = Clock::now();
    make_desktops(kSessions);
    ASSERT_TRUE(start_desktops(desktops_, kW, kH, kSeed));
    const double desktops_s = seconds_since(t0);
    std::vector<Image> direct;
    ASSERT_TRUE(direct_grabs(direct));
    // Every picture differs from every other, so a viewer shown another session's upstream fails.
    for (size_t i = 0; i < kSessions; ++i)
        for (size_t j = i + 1; j < kSessions; ++j)
            ASSERT_FALSE(compare_images(direct[i], direct[j]).equal())
                << "desktops " << i << " and " << j << " show the same picture";

    std::vector<SessionSpec> sessions(kSessions);
    std::vector<int> ports(kSessions);
    for (size_t i = 0; i < kSessions; ++i) {
        ports[i] = free_tcp_port();
        sessions[i].name = "s" + std::to_string(i);
        sessions[i].upstream = desktops_[i]->upstream();
        sessions[i].repeater_id = std::to_string(7000 + i);
        sessions[i].listen = "127.0.0.1:" + std::to_string(ports[i]);
    }
    ASSERT_NO_FATAL_FAILURE(start_rfbcast(config_toml({}, sessions)));
    ASSERT_TRUE(wait_count("upstream-connected", {}, {}, kSessions, milliseconds(30000)))
        << count("upstream-connected") << " of " << kSessions << " upstreams connected";
    const double upstreams_s = seconds_since(t0);

    // All 100 connected at the same time, then all grab.
    viewers_.resize(kSessions * kPerSession);
    for (size_t i = 0; i < kSessions; ++i)
        for (size_t k = 0; k < kPerSession; ++k) {
            HeldViewer& v = viewers_[i * kPerSession + k];
            v.tag = "v" + std::to_string(i) + "-" + std::to_string(k);
            if (k < kById) {
                v.opt.port = rfbcast_->port();
                v.opt.repeater_dest = "ID:" + sessions[i].repeater_id;
            } else {
                v.opt.port = ports[i];
            }
            std::string err;
            ASSERT_TRUE(v.start(dir_, &err)) << err;
        }
    ASSERT_TRUE(
        wait_count("viewer-connected", {}, {}, kSessions * kPerSession, milliseconds(60000)))
        << count("viewer-connected") << " of " << kSessions * kPerSession << " viewers connected";
    const double viewers_s = seconds_since(t0);
    for (size_t i = 0; i < kSessions; ++i)
        EXPECT_EQ(viewer_ids(sessions[i].name).size(), kPerSession) << sessions[i].name;
    EXPECT_EQ(count("viewer-disconnected"), 0u) << "viewers were dropped while all were held";

    for (HeldViewer& v : viewers_)
        v.proc.signal(SIGUSR1);
    size_t matched = 0;
    for (size_t i = 0; i < kSessions; ++i)
        for (size_t k = 0; k < kPerSession; ++k) {
            HeldViewer& v = viewers_[i * kPerSession + k];
            Image img;
            AssertionResult grabbed = v.grab(dir_, img);
            EXPECT_TRUE(grabbed);
            if (!grabbed) continue;
            const AssertionResult same =
                same_pixels(direct[i], img,
                            v.tag + " (" + (k < kById ? "by ID" : "by port") + ") vs session " +
                                sessions[i].name + "'s upstream");
            EXPECT_TRUE(same);
            if (same) ++matched;
        }
    std::printf(
        "[ sessions ] %zu desktops up %.1f s, upstreams %.1f s, %zu viewers connected "
        "%.1f s, all grabbed %.1f s; %zu/%zu pictures exact\n",
        kSessions, desktops_s, upstreams_s, viewers_.size(), viewers_s, seconds_since(t0), matched,
        viewers_.size());
}

// ---------------------------------------------------------------------------------------------
// 8. SIGHUP reload under load: session "gone" is removed, "added" appears, and the viewers of
//    "kept" (animated) keep receiving frames throughout; none of them is dropped.

TEST_F(MultiSessionTest, ReloadAddsAndRemovesSessionsWithoutDroppingOthers) {
    constexpr int kW = 320, kH = 240;
    enum { kGone = 0, kKept = 1, kAdded = 2 };
    make_desktops(3);
    ASSERT_TRUE(start_desktops(desktops_, kW, kH, kSeed + 100, {false, true, false}));
    const int gone_port = free_tcp_port(), kept_port = free_tcp_port(),
              added_port = free_tcp_port();
    SessionSpec gone, kept, added;
    gone.name = "gone";
    gone.upstream = desktops_[kGone]->upstream();
    gone.listen = "127.0.0.1:" + std::to_string(gone_port);
    kept.name = "kept";
    kept.upstream = desktops_[kKept]->upstream();
    kept.repeater_id = "3000";
    kept.listen = "127.0.0.1:" + std::to_string(kept_port);
    added.name = "added";
    added.upstream = desktops_[kAdded]->upstream();
    added.repeater_id = "2000";
    added.listen = "127.0.0.1:" + std::to_string(added_port);
    ASSERT_NO_FATAL_FAILURE(start_rfbcast(config_toml({}, {gone, kept})));
    ASSERT_TRUE(wait_count("upstream-connected", "session", "gone", 1, milliseconds(20000)));
    ASSERT_TRUE(wait_count("upstream-connected", "session", "kept", 1, milliseconds(20000)));

    // Four viewers of "kept" (two by ID, two by port), one of "gone".
    viewers_.resize(5);
    for (size_t k = 0; k < 4; ++k) {
        viewers_[k].tag = "kept" + std::to_string(k);
        viewers_[k].opt.port = k < 2 ? rfbcast_->port() : kept_port;
        if (k < 2) viewers_[k].opt.repeater_dest = "ID:3000";
    }
    viewers_[4].tag = "gone0";
    viewers_[4].opt.port = gone_port;
    for (HeldViewer& v : viewers_) {
        std::string err;
        ASSERT_TRUE(v.start(dir_, &err)) << err;
    }
    ASSERT_TRUE(wait_count("viewer-connected", "session", "kept", 4, milliseconds(20000)));
    ASSERT_TRUE(wait_count("viewer-connected", "session", "gone", 1, milliseconds(20000)));
    const std::vector<std::string> kept_ids = viewer_ids("kept");
    // Each kept viewer is receiving frames before the reload.
    auto updates_since = [&](size_t offset, const std::string& id) {
        const std::string log = rfbcast_->log();
        return log_events(log.substr(std::min(offset, log.size())), "viewer-update", "viewer", id)
            .size();
    };
    for (const std::string& id : kept_ids)
        ASSERT_TRUE(wait_log([&](const std::string&) { return updates_since(0, id) >= 3; },
                             milliseconds(20000)))
            << "kept viewer " << id << " got no frames before the reload";
    ASSERT_EQ(connections_to(desktops_[kGone]->xvnc->port()), 1u)
        << "expected exactly rfbcast connected to the Xvnc of \"gone\"";

    // The reload: "gone" out, "added" in, "kept" exactly as it was.
    ASSERT_TRUE(write_file(config_path_, config_toml({}, {kept, added})));
    const size_t reload_at = rfbcast_->log().size();
    const auto reload_time = Clock::now();
    rfbcast_->process().signal(SIGHUP);

    // "gone": its viewer is closed with the reason, its upstream and its port too.
    const std::optional<int> gone_exit = viewers_[4].proc.wait_for(milliseconds(15000));
    EXPECT_EQ(gone_exit, std::optional<int>(3))
        << "the viewer of the removed session was not disconnected";
    EXPECT_TRUE(wait_log(
        [&](const std::string& log) {
            for (const std::string& line :
                 log_events(log, "viewer-disconnected", "session", "gone"))
                if (log_field(line, "reason").find("session removed") != std::string::npos)
                    return true;
            return false;
        },
        milliseconds(10000)))
        << "no viewer-disconnected session=gone reason=\"session removed...\"";
    bool upstream_closed = false;
    for (int i = 0; i < 100 && !upstream_closed; ++i, sleep_ms(100))
        upstream_closed = connections_to(desktops_[kGone]->xvnc->port()) == 0;
    EXPECT_TRUE(upstream_closed) << "Xvnc of the removed session never saw rfbcast leave";
    bool port_closed = false;
    for (int i = 0; i < 50 && !port_closed; ++i, sleep_ms(100)) {
        const int fd = connect_tcp(gone_port, milliseconds(500));
        port_closed = fd < 0;
        if (fd >= 0) ::close(fd);
    }
    EXPECT_TRUE(port_closed) << "the removed session's port still accepts connections";

    // "added": reachable by ID and by its port, with its own upstream's pixels.
    ASSERT_TRUE(wait_count("upstream-connected", "session", "added", 1, milliseconds(20000)))
        << "the added session never connected its upstream";
    const double added_s = seconds_since(reload_time);
    std::vector<Image> direct;
    {
        // Direct grabs of the still ones only ("kept" is moving).
        LvcOptions o;
        o.port = desktops_[kAdded]->xvnc->port();
        o.out_ppm = dir_.file("direct-added.ppm");
        ViewerResult r = run_lvc_viewer(dir_, o, "direct-added");
        ASSERT_TRUE(r.ok()) << r.describe();
        direct.resize(1);
        std::string err;
        ASSERT_TRUE(load_ppm(o.out_ppm, direct[0], &err)) << err;
    }
    for (int by_id = 0; by_id < 2; ++by_id) {
        LvcOptions o;
        o.port = by_id ? rfbcast_->port() : added_port;
        if (by_id) o.repeater_dest = "ID:2000";
        o.out_ppm = dir_.file("added" + std::to_string(by_id) + ".ppm");
        o.timeout_ms = 20000;
        ViewerResult r = run_lvc_viewer(dir_, o, "added" + std::to_string(by_id));
        ASSERT_TRUE(r.ok()) << r.describe();
        Image img;
        std::string err;
        ASSERT_TRUE(load_ppm(o.out_ppm, img, &err)) << err;
        EXPECT_TRUE(same_pixels(direct[0], img,
                                std::string("added session ") + (by_id ? "by ID" : "by port")));
    }

    // "kept": every viewer got frames after the reload, and none was dropped.
    for (const std::string& id : kept_ids)
        EXPECT_TRUE(wait_log([&](const std::string&) { return updates_since(reload_at, id) >= 3; },
                             milliseconds(10000)))
            << "kept viewer " << id << " got no frames after the reload";
    EXPECT_TRUE(log_events(rfbcast_->log(), "viewer-disconnected", "session", "kept").empty())
        << "a viewer of the kept session was dropped";
    EXPECT_EQ(count("upstream-connected", "session", "kept"), 1u)
        << "the kept session's upstream was reconnected by the reload";
    std::string err;
    ASSERT_TRUE(desktops_[kKept]->xdraw->freeze(&err)) << err;
    Image kept_direct;
    {
        LvcOptions o;
        o.port = desktops_[kKept]->xvnc->port();
        o.out_ppm = dir_.file("direct-kept.ppm");
        ViewerResult r = run_lvc_viewer(dir_, o, "direct-kept");
        ASSERT_TRUE(r.ok()) << r.describe();
        ASSERT_TRUE(load_ppm(o.out_ppm, kept_direct, &err)) << err;
    }
    for (size_t k = 0; k < 4; ++k) {
        Image img;
        AssertionResult grabbed = viewers_[k].grab(dir_, img);
        EXPECT_TRUE(grabbed) << "kept viewer " << k << " did not stay connected";
        if (grabbed) {
            EXPECT_TRUE(same_pixels(kept_direct, img, viewers_[k].tag));
        }
    }
    std::printf("[ reload   ] added session upstream %.1f s after SIGHUP\n", added_s);
}

}  // namespace
}  // namespace itest
