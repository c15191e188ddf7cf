// Issue 5, "Prove it": every viewer at its own pace, against real peers.
//
// - A viewer behind a 256 kbit/s link (a network namespace, shaped host -> namespace) watches
//   the same animated Xvnc as a viewer on the local host. While the picture moves the slow one is
//   sent JPEG steps and the fast one lossless; once it stops, the slow one is refreshed lossless
//   and both end up pixel-equal to a direct grab of Xvnc.
// - A viewer that stops reading is closed after --viewer-stall-timeout while a normal viewer
//   beside it keeps getting updates, and rfbcast's memory stays bounded meanwhile.
//
// Everything is judged from rfbcast's own debug log (viewer-connected / viewer-update /
// viewer-disconnected lines) and the pixels the viewers end with, never from timing alone.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
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

constexpr uint64_t kSeed = 20250505;

void sleep_ms(int ms) {
    std::this_thread::sleep_for(milliseconds(ms));
}

double seconds_since(Clock::time_point t) {
    return std::chrono::duration<double>(Clock::now() - t).count();
}

// ---------------------------------------------------------------------------------------------
// rfbcast's debug log.

// The value of ` key=` in a log line, up to the next space ("" when absent).
std::string field(const std::string& line, const std::string& key) {
    const size_t k = line.find(" " + key + "=");
    if (k == std::string::npos) return {};
    const size_t v = k + key.size() + 2;
    return line.substr(v, line.find(' ', v) - v);
}

bool has_event(const std::string& line, const std::string& event) {
    return line.find(" " + event + " ") != std::string::npos;
}

// "viewer-update viewer=N rects=R bytes=B quality=Q[ refresh]"
struct UpdateLine {
    uint64_t viewer = 0;
    size_t bytes = 0;
    int quality = 0;  // -1: lossless
    bool refresh = false;
    size_t offset = 0;  // where the line starts in the log
    int64_t at_ms = 0;  // the line's time of day (UTC), ms
};

// "2026-01-02T03:04:05.678Z ..." -> ms since midnight; -1 when the line does not start so.
int64_t time_of_day_ms(const std::string& line) {
    int h = 0, m = 0, s = 0, ms = 0;
    if (line.size() < 24 || line[10] != 'T' ||
        std::sscanf(line.c_str() + 11, "%2d:%2d:%2d.%3d", &h, &m, &s, &ms) != 4)
        return -1;
    return ((int64_t{h} * 60 + m) * 60 + s) * 1000 + ms;
}

// Calls fn(line, offset) for each complete line of the log.
template <typename Fn>
void for_each_line(const std::string& log, Fn fn) {
    size_t pos = 0;
    while (pos < log.size()) {
        const size_t end = log.find('\n', pos);
        if (end == std::string::npos) return;  // a line still being written
        fn(log.substr(pos, end - pos), pos);
        pos = end + 1;
    }
}

std::vector<UpdateLine> viewer_updates(const std::string& log) {
    std::vector<UpdateLine> out;
    for_each_line(log, [&](const std::string& line, size_t offset) {
        if (!has_event(line, "viewer-update")) return;
        UpdateLine u;
        u.viewer = std::strtoull(field(line, "viewer").c_str(), nullptr, 10);
        u.bytes = std::strtoull(field(line, "bytes").c_str(), nullptr, 10);
        u.quality = std::atoi(field(line, "quality").c_str());
        u.refresh = line.size() >= 8 && line.compare(line.size() - 8, 8, " refresh") == 0;
        u.offset = offset;
        u.at_ms = time_of_day_ms(line);
        out.push_back(u);
    });
    return out;
}

// The id of the viewer whose peer is `address`:`port` (any port when `port` is 0).
std::optional<uint64_t> viewer_from(const std::string& log, const std::string& address,
                                    int port = 0) {
    std::optional<uint64_t> id;
    for_each_line(log, [&](const std::string& line, size_t) {
        if (id || !has_event(line, "viewer-connected")) return;
        const std::string peer = field(line, "peer");
        const bool match = port > 0 ? peer == address + ":" + std::to_string(port)
                                    : peer.rfind(address + ":", 0) == 0;
        if (match) id = std::strtoull(field(line, "viewer").c_str(), nullptr, 10);
    });
    return id;
}

struct ViewerTally {
    size_t updates = 0, bytes = 0, lossless = 0, jpeg = 0, refreshes = 0;
    int lowest_quality = 99;
    std::string describe() const {
        return std::to_string(updates) + " updates, " + std::to_string(bytes) + " bytes, " +
               std::to_string(lossless) + " lossless, " + std::to_string(jpeg) +
               " JPEG (lowest quality " + (jpeg ? std::to_string(lowest_quality) : "-") + "), " +
               std::to_string(refreshes) + " refreshes";
    }
};

// The updates of `viewer` in [from, to) (log offsets), refreshes counted apart.
ViewerTally tally(const std::vector<UpdateLine>& all, uint64_t viewer, size_t from = 0,
                  size_t to = SIZE_MAX) {
    ViewerTally t;
    for (const UpdateLine& u : all) {
        if (u.viewer != viewer || u.offset < from || u.offset >= to) continue;
        ++t.updates;
        t.bytes += u.bytes;
        if (u.refresh) {
            ++t.refreshes;
        } else if (u.quality < 0) {
            ++t.lossless;
        } else {
            ++t.jpeg;
            t.lowest_quality = std::min(t.lowest_quality, u.quality);
        }
    }
    return t;
}

size_t count_updates(const std::string& log, uint64_t viewer) {
    return tally(viewer_updates(log), viewer).updates;
}

// ---------------------------------------------------------------------------------------------

// VmRSS of a process in bytes; 0 when it cannot be read.
size_t rss_bytes(pid_t pid) {
    for (const std::string& line : read_lines("/proc/" + std::to_string(pid) + "/status"))
        if (line.rfind("VmRSS:", 0) == 0)
            return std::strtoull(line.c_str() + 6, nullptr, 10) * 1024;
    return 0;
}

// lvc_viewer on any address (start_lvc_viewer dials 127.0.0.1), in hold mode until SIGUSR1,
// then it writes `tag`.ppm once no update came for `settle_ms`. `ns`: run it inside.
struct HeldViewer {
    std::string tag;
    Process proc;
    bool start(const TempDir& dir, NetNs* ns, const std::string& host, int port, int quality,
               int settle_ms, std::string* error) {
        std::vector<std::string> args = {lvc_viewer_bin(),
                                         "--host",
                                         host,
                                         "--port",
                                         std::to_string(port),
                                         "--encodings",
                                         "tight",
                                         "--quality",
                                         std::to_string(quality),
                                         "--bpp",
                                         "32",
                                         "--hold-ms",
                                         "3000000",
                                         "--settle-ms",
                                         std::to_string(settle_ms),
                                         "--timeout-ms",
                                         "120000",
                                         "--out",
                                         dir.file(tag + ".ppm")};
        if (ns)
            return ns->run_in(proc, args, dir.file(tag + ".out"), dir.file(tag + ".err"), error);
        return proc.start(args, dir.file(tag + ".out"), dir.file(tag + ".err"), error);
    }
    // Ends the hold; the viewer settles, writes its picture and exits.
    AssertionResult grab(const TempDir& dir, milliseconds timeout, Image& img) {
        proc.signal(SIGUSR1);
        const std::optional<int> status = proc.wait_for(timeout);
        if (!status) proc.stop();
        if (status != std::optional<int>(0))
            return AssertionFailure()
                   << tag << " exited with " << (status ? std::to_string(*status) : "timeout")
                   << "; stderr:\n"
                   << file_tail(dir.file(tag + ".err"));
        std::string err;
        if (!load_ppm(dir.file(tag + ".ppm"), img, &err)) return AssertionFailure() << err;
        return AssertionSuccess();
    }
};

// ---------------------------------------------------------------------------------------------

class SlowViewerTest : public ::testing::Test {
  protected:
    void TearDown() override {
        if (HasFailure()) {
            if (!rfbcast_log_.empty())
                std::fprintf(stderr, "--- rfbcast log (%s) ---\n%s\n", rfbcast_log_.c_str(),
                             file_tail(rfbcast_log_, 6000).c_str());
            if (xdraw_) std::fprintf(stderr, "--- xdraw log ---\n%s\n", xdraw_->log_tail().c_str());
            if (xvnc_) std::fprintf(stderr, "--- Xvnc log ---\n%s\n", xvnc_->log_tail().c_str());
        }
        for (HeldViewer* v : {&fast_, &slow_, &steady_})
            v->proc.stop();
        rfbcast_.stop();
        xdraw_.reset();
        xvnc_.reset();
        ns_.reset();
    }

    void start_desktop(int width, int height) {
        xvnc_ = std::make_unique<XvncServer>(dir_, XvncOptions{width, height, {}});
        std::string err;
        ASSERT_TRUE(xvnc_->start(&err)) << "Xvnc: " << err;
        xdraw_ = std::make_unique<Xdraw>(dir_, XdrawOptions{kSeed, true});
        ASSERT_TRUE(xdraw_->start(xvnc_->display_name(), &err)) << "xdraw: " << err;
    }

    // rfbcast in front of Xvnc, listening on `address` (a free port), debug log, stats each
    // second, plus `extra`.
    void start_rfbcast(const std::string& address, const std::vector<std::string>& extra) {
        std::string last;
        for (int attempt = 0; attempt < 3; ++attempt) {
            rfbcast_port_ = free_tcp_port();
            rfbcast_log_ = dir_.file("rfbcast-" + std::to_string(attempt) + ".log");
            std::vector<std::string> args = {rfbcast_bin(),
                                             "--upstream",
                                             "127.0.0.1:" + std::to_string(xvnc_->port()),
                                             "--listen",
                                             address + ":" + std::to_string(rfbcast_port_),
                                             "--log-level",
                                             "debug",
                                             "--stats-interval",
                                             "1"};
            args.insert(args.end(), extra.begin(), extra.end());
            std::string err;
            ASSERT_TRUE(rfbcast_.start(args, rfbcast_log_, rfbcast_log_, &err)) << err;
            if (wait_for_rfb_greeting_at(address, rfbcast_port_, milliseconds(15000), &rfbcast_))
                return;
            rfbcast_.stop();
            last = file_tail(rfbcast_log_);
        }
        FAIL() << "rfbcast did not come up on " << address << "; log:\n" << last;
    }

    std::string log() const { return read_file(rfbcast_log_); }

    // The id rfbcast gave the viewer from `address` (`port`: its source port, 0 = any).
    std::optional<uint64_t> wait_for_viewer(const std::string& address, int port,
                                            milliseconds timeout) {
        const auto deadline = Clock::now() + timeout;
        do {
            if (auto id = viewer_from(log(), address, port)) return id;
            sleep_ms(100);
        } while (Clock::now() < deadline);
        return std::nullopt;
    }

    // Waits until `viewer` was sent at least `n` updates.
    bool wait_for_updates(uint64_t viewer, size_t n, milliseconds timeout) {
        const auto deadline = Clock::now() + timeout;
        do {
            if (count_updates(log(), viewer) >= n) return true;
            sleep_ms(200);
        } while (Clock::now() < deadline);
        return false;
    }

    // The lossless picture, straight from Xvnc.
    AssertionResult direct_grab(Image& img) {
        LvcOptions o;
        o.port = xvnc_->port();
        o.encodings = "zrle";
        o.out_ppm = dir_.file("direct.ppm");
        ViewerResult r = run_lvc_viewer(dir_, o, "direct");
        if (!r.ok()) return AssertionFailure() << "direct grab: " << r.describe();
        std::string err;
        if (!load_ppm(o.out_ppm, img, &err)) return AssertionFailure() << err;
        if (distinct_colours(img) < 1000)
            return AssertionFailure() << "the direct grab is not xdraw's picture";
        return AssertionSuccess();
    }

    TempDir dir_;
    std::unique_ptr<NetNs> ns_;
    std::unique_ptr<XvncServer> xvnc_;
    std::unique_ptr<Xdraw> xdraw_;
    Process rfbcast_;
    int rfbcast_port_ = 0;
    std::string rfbcast_log_;
    HeldViewer fast_{"fast", {}}, slow_{"slow", {}}, steady_{"steady", {}};
};

// ---------------------------------------------------------------------------------------------
// 1. A viewer behind 256 kbit/s and one on the local host, both asking Tight with JPEG quality 8.

constexpr uint64_t kSlowRate = 256'000;  // bit/s, host -> namespace
constexpr int kWidth = 640, kHeight = 480;

// xdraw's own animation is a 64x64 counter: about 1 KB a frame, 10 KB/s, which a 256 kbit/s link
// carries lossless (and rfbcast rightly sends it so). Motion that link cannot carry: whole-screen
// repaints with other seeds (gradients and noise), each by another xdraw mapped on top of the
// previous one. Destroying the last uncovers the animated xdraw, which repaints on Expose.
class Repainter {
  public:
    bool next(const std::string& display, std::string* error) {
        const size_t slot = count_ % 2;
        covers_[slot].reset();  // the one before last: hidden under the last, so nothing shows
        covers_[slot] =
            std::make_unique<Xdraw>(dirs_[slot], XdrawOptions{kSeed + 1 + count_, false});
        ++count_;
        return covers_[slot]->start(display, error);
    }
    void stop() {
        const size_t top = (count_ + 1) % 2;
        covers_[1 - top].reset();
        covers_[top].reset();
    }
    size_t count() const { return count_; }

  private:
    TempDir dirs_[2];
    std::unique_ptr<Xdraw> covers_[2];
    size_t count_ = 0;
};

TEST_F(SlowViewerTest, SlowViewerBehindAShapedLinkGetsJpegThenConvergesToLossless) {
    const NetNsSupport& support = netns_support();
    if (!support.usable) GTEST_SKIP() << support.why_not;
    ns_ = std::make_unique<NetNs>(dir_);
    NetNsOptions no;
    no.to_ns.rate_bps = kSlowRate;
    no.shaper = Shaper::kAuto;
    std::string err;
    ASSERT_TRUE(ns_->create(no, &err)) << err;
    std::printf("[  slow    ] link: %s\n", ns_->describe().c_str());

    ASSERT_NO_FATAL_FAILURE(start_desktop(kWidth, kHeight));
    // rfbcast listens on the root end of the link only: the namespace reaches it across the
    // shaped link, the local viewer through the host's own routing (loopback, unshaped).
    const std::string listen = ns_->host_address();
    ASSERT_NO_FATAL_FAILURE(start_rfbcast(listen, {}));

    ASSERT_TRUE(fast_.start(dir_, nullptr, listen, rfbcast_port_, 8, 1500, &err)) << err;
    const std::optional<uint64_t> fast_id = wait_for_viewer(listen, 0, milliseconds(20000));
    ASSERT_TRUE(fast_id) << "the local viewer never connected";
    ASSERT_TRUE(wait_for_updates(*fast_id, 2, milliseconds(20000)))
        << "the local viewer got no updates";

    const auto slow_start = Clock::now();
    ASSERT_TRUE(slow_.start(dir_, ns_.get(), listen, rfbcast_port_, 8, 3000, &err)) << err;
    const std::optional<uint64_t> slow_id =
        wait_for_viewer(ns_->ns_address(), 0, milliseconds(20000));
    ASSERT_TRUE(slow_id) << "the viewer in the namespace never connected";
    // Its first update is the whole screen, sent before anything is known about its link; its
    // second is sent once it asked again, i.e. once the first arrived. Lossless that is at most
    // the raw 24-bit picture; allow three times that at the link's rate.
    const double raw_seconds = double(kWidth) * kHeight * 24 / double(kSlowRate);
    const auto first_bound = milliseconds(static_cast<int64_t>(3000 * raw_seconds) + 10000);
    ASSERT_TRUE(wait_for_updates(*slow_id, 2, first_bound))
        << "the slow viewer did not get its first screen within " << first_bound.count()
        << " ms: " << tally(viewer_updates(log()), *slow_id).describe();
    const double first_screen_s = seconds_since(slow_start);

    // Motion: a whole new picture about twice a second (the covers hide the counter meanwhile).
    const size_t motion_from = log().size();
    const auto motion_start = Clock::now();
    Repainter repaint;
    while (Clock::now() - motion_start < milliseconds(8000)) {
        ASSERT_TRUE(repaint.next(xvnc_->display_name(), &err)) << err;
        sleep_ms(400);
    }
    repaint.stop();
    sleep_ms(500);  // the animated xdraw repaints what was uncovered
    ASSERT_TRUE(xdraw_->freeze(&err)) << err;
    const size_t motion_to = log().size();
    const auto still_since = Clock::now();
    const double motion_s = std::chrono::duration<double>(still_since - motion_start).count();

    Image direct;
    ASSERT_TRUE(direct_grab(direct));

    // Converged: the slow viewer was sent nothing for a while after the screen stopped (its
    // refresh goes at its pace, a share at a time); "a while" covers the time its last update
    // needs on the link. The bound: the lossless picture (at most the raw 24-bit one) twice over
    // at the link's rate, plus slack.
    const auto converge_bound = milliseconds(static_cast<int64_t>(2000 * raw_seconds) + 20000);
    size_t last_count = 0;
    auto last_change = Clock::now();
    auto quiet = milliseconds(4000);
    for (;;) {
        const std::vector<UpdateLine> now = viewer_updates(log());
        const ViewerTally t = tally(now, *slow_id);
        if (t.updates != last_count) {
            last_count = t.updates;
            last_change = Clock::now();
            size_t newest = 0;
            for (const UpdateLine& u : now)
                if (u.viewer == *slow_id) newest = u.bytes;
            quiet = milliseconds(4000) +
                    milliseconds(static_cast<int64_t>(1500.0 * newest * 8 / double(kSlowRate)));
        }
        if (Clock::now() - last_change >= quiet) break;
        ASSERT_LT(Clock::now() - still_since, converge_bound)
            << "the slow viewer was still being sent updates " << converge_bound.count()
            << " ms after the picture stopped: " << t.describe();
        sleep_ms(250);
    }
    const double converge_s = std::chrono::duration<double>(last_change - still_since).count();

    Image fast_img, slow_img;
    EXPECT_TRUE(fast_.grab(dir_, milliseconds(30000), fast_img));
    EXPECT_TRUE(slow_.grab(dir_, milliseconds(60000), slow_img));
    EXPECT_TRUE(same_pixels(direct, fast_img, "local viewer vs direct grab"));
    EXPECT_TRUE(same_pixels(direct, slow_img, "256 kbit/s viewer vs direct grab"));

    const std::vector<UpdateLine> all = viewer_updates(log());
    const ViewerTally fast_motion = tally(all, *fast_id, motion_from, motion_to);
    const ViewerTally slow_motion = tally(all, *slow_id, motion_from, motion_to);
    const ViewerTally slow_still = tally(all, *slow_id, motion_to);
    // The largest update sent to the slow viewer while the picture moved, and the longest it
    // took to ask for the next one (a request-driven viewer asks once it has the update): how
    // old its picture got. The issue wants about 1 s; updates are sized for half a second of
    // the measured rate (at least 24 KiB, 0.75 s here) from per-tile averages, so allow 2.5 s
    // for tiles that cost more than the average (noise here costs ~5x).
    size_t largest = 0;
    int64_t longest_ms = 0, previous_ms = -1;
    for (const UpdateLine& u : all) {
        if (u.viewer != *slow_id || u.offset < motion_from || u.offset >= motion_to) continue;
        largest = std::max(largest, u.bytes);
        if (previous_ms >= 0) {
            int64_t gap = u.at_ms - previous_ms;
            if (gap < 0) gap += 24 * 3600 * 1000;  // midnight
            longest_ms = std::max(longest_ms, gap);
        }
        previous_ms = u.at_ms;
    }
    std::printf(
        "[  slow    ] first screen %.1f s; %zu repaints in %.1f s of motion; converged %.1f s "
        "after the picture stopped\n"
        "[  slow    ] local viewer, motion: %s\n"
        "[  slow    ] slow viewer, motion: %s (largest %zu bytes, longest gap %.1f s)\n"
        "[  slow    ] slow viewer, still: %s\n",
        first_screen_s, repaint.count(), motion_s, converge_s, fast_motion.describe().c_str(),
        slow_motion.describe().c_str(), largest, double(longest_ms) / 1000,
        slow_still.describe().c_str());

    EXPECT_LE(longest_ms, 2500) << "the slow viewer's picture got this old: its update was "
                                   "sized for a faster link than it has";
    EXPECT_GT(slow_motion.jpeg, 0u)
        << "the slow viewer got no JPEG while the picture moved: " << slow_motion.describe();
    EXPECT_GE(fast_motion.updates, 10u) << fast_motion.describe();
    EXPECT_LT(slow_motion.updates, fast_motion.updates)
        << "the slow viewer kept the local viewer's frame rate: " << slow_motion.describe();
    // Mostly lossless, not always: on a CPU-starved machine (this suite runs beside others on two
    // cores) the local viewer itself decodes slowly, its measured rate dips, and pacing is right
    // to step it down for a while (CI saw 10 of 27 motion updates as JPEG under such load).
    EXPECT_GT(fast_motion.lossless, fast_motion.jpeg)
        << "the local viewer was sent mostly JPEG while the picture moved: "
        << fast_motion.describe();
    EXPECT_GT(slow_still.refreshes, 0u)
        << "the slow viewer's JPEG tiles were never refreshed: " << slow_still.describe();
    // No backlog: while the picture moved, the slow viewer was sent about what its link
    // carried (plus the update in flight), not every frame the local viewer got.
    const double carried = double(kSlowRate) / 8 * motion_s;
    EXPECT_LT(double(slow_motion.bytes), 1.25 * carried + double(largest) + 65536)
        << "more was queued for the slow viewer than its link carried: " << slow_motion.describe();
}

// ---------------------------------------------------------------------------------------------
// 2. A viewer that stops reading.

// Completes the RFB 3.8 handshake (security None) over a socket with a tiny receive buffer, asks
// for Raw and the whole screen (and keeps asking), and never reads again.
class NonReadingViewer {
  public:
    ~NonReadingViewer() {
        if (fd_ >= 0) ::close(fd_);
    }
    AssertionResult connect_and_ask(int port, int extra_requests) {
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd_ < 0) return AssertionFailure() << "socket: " << std::strerror(errno);
        // Before connect, so that the window it advertises stays small: the kernel cannot take
        // the update on the viewer's behalf.
        const int rcvbuf = 4096;
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(static_cast<uint16_t>(port));
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
            return AssertionFailure() << "connect: " << std::strerror(errno);
        sockaddr_in local{};
        socklen_t len = sizeof local;
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&local), &len);
        local_port_ = ntohs(local.sin_port);

        uint8_t version[12];
        if (!read(version, sizeof version)) return AssertionFailure() << "no ProtocolVersion";
        if (std::memcmp(version, "RFB 003.", 8) != 0)
            return AssertionFailure() << "bad ProtocolVersion";
        if (!write("RFB 003.008\n", 12)) return AssertionFailure() << "cannot send version";
        uint8_t count = 0;
        if (!read(&count, 1) || count == 0) return AssertionFailure() << "no security types";
        std::vector<uint8_t> types(count);
        if (!read(types.data(), count)) return AssertionFailure() << "truncated security types";
        if (std::find(types.begin(), types.end(), 1) == types.end())
            return AssertionFailure() << "security None not offered";
        const uint8_t none = 1, shared = 1;
        if (!write(&none, 1)) return AssertionFailure() << "cannot choose None";
        uint8_t result[4];
        if (!read(result, 4) || (result[0] | result[1] | result[2] | result[3]))
            return AssertionFailure() << "SecurityResult failed";
        if (!write(&shared, 1)) return AssertionFailure() << "cannot send ClientInit";
        uint8_t init[24];
        if (!read(init, sizeof init)) return AssertionFailure() << "no ServerInit";
        width_ = (init[0] << 8) | init[1];
        height_ = (init[2] << 8) | init[3];
        const uint32_t name_len = (uint32_t{init[20]} << 24) | (uint32_t{init[21]} << 16) |
                                  (uint32_t{init[22]} << 8) | init[23];
        if (name_len > 4096) return AssertionFailure() << "absurd name length " << name_len;
        std::vector<uint8_t> name(name_len);
        if (name_len && !read(name.data(), name_len)) return AssertionFailure() << "no name";

        // SetEncodings: Raw only. Then full-screen non-incremental requests: one, as a viewer
        // would, then more as if it kept asking. A server that answered each of them would
        // queue a whole Raw screen per request for a viewer that takes nothing.
        std::vector<uint8_t> msg = {2, 0, 0, 1, 0, 0, 0, 0};
        for (int i = 0; i <= extra_requests; ++i) {
            const uint8_t req[10] = {3,
                                     0,
                                     0,
                                     0,
                                     0,
                                     0,
                                     static_cast<uint8_t>(width_ >> 8),
                                     static_cast<uint8_t>(width_),
                                     static_cast<uint8_t>(height_ >> 8),
                                     static_cast<uint8_t>(height_)};
            msg.insert(msg.end(), req, req + sizeof req);
        }
        if (!write(msg.data(), msg.size())) return AssertionFailure() << "cannot send requests";
        return AssertionSuccess();
    }
    int local_port() const { return local_port_; }
    int width() const { return width_; }
    int height() const { return height_; }

  private:
    bool read(void* dst, size_t n) {
        auto* p = static_cast<uint8_t*>(dst);
        const auto deadline = Clock::now() + milliseconds(10000);
        while (n > 0) {
            const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
            if (left.count() <= 0) return false;
            pollfd pfd{fd_, POLLIN, 0};
            if (::poll(&pfd, 1, static_cast<int>(left.count())) <= 0) continue;
            const ssize_t got = ::recv(fd_, p, n, 0);
            if (got < 0 && errno == EINTR) continue;
            if (got <= 0) return false;
            p += got;
            n -= static_cast<size_t>(got);
        }
        return true;
    }
    bool write(const void* src, size_t n) {
        const auto* p = static_cast<const uint8_t*>(src);
        while (n > 0) {
            const ssize_t put = ::send(fd_, p, n, MSG_NOSIGNAL);
            if (put < 0 && errno == EINTR) continue;
            if (put <= 0) return false;
            p += put;
            n -= static_cast<size_t>(put);
        }
        return true;
    }

    int fd_ = -1;
    int local_port_ = 0;
    int width_ = 0, height_ = 0;
};

TEST_F(SlowViewerTest, ViewerThatStopsReadingIsDisconnectedOthersUnaffected) {
    constexpr int kStallTimeout = 3;  // s
    constexpr size_t kRssSlack = size_t{64} << 20;
    ASSERT_NO_FATAL_FAILURE(start_desktop(1024, 768));
    ASSERT_NO_FATAL_FAILURE(
        start_rfbcast("127.0.0.1", {"--viewer-stall-timeout", std::to_string(kStallTimeout)}));

    std::string err;
    ASSERT_TRUE(steady_.start(dir_, nullptr, "127.0.0.1", rfbcast_port_, 8, 1500, &err)) << err;
    const std::optional<uint64_t> steady_id = wait_for_viewer("127.0.0.1", 0, milliseconds(20000));
    ASSERT_TRUE(steady_id) << "the lvc viewer never connected";
    ASSERT_TRUE(wait_for_updates(*steady_id, 5, milliseconds(20000)))
        << "the lvc viewer got no updates";
    const pid_t pid = rfbcast_.pid();
    const size_t baseline = rss_bytes(pid);
    ASSERT_GT(baseline, 0u) << "cannot read rfbcast's VmRSS";

    NonReadingViewer stuck;
    ASSERT_TRUE(stuck.connect_and_ask(rfbcast_port_, 31));
    const auto stuck_since = Clock::now();
    const std::optional<uint64_t> stuck_id =
        wait_for_viewer("127.0.0.1", stuck.local_port(), milliseconds(10000));
    ASSERT_TRUE(stuck_id) << "rfbcast logged no viewer-connected for port " << stuck.local_port();
    const size_t steady_before = count_updates(log(), *steady_id);

    // The stall disconnect, watching memory all along.
    const auto bound = milliseconds(kStallTimeout * 1000 + 7000);
    size_t peak = baseline;
    std::string stall_line;
    while (stall_line.empty() && Clock::now() - stuck_since < bound) {
        peak = std::max(peak, rss_bytes(pid));
        for (const std::string& line : read_lines(rfbcast_log_))
            if (has_event(line, "viewer-disconnected") &&
                field(line, "viewer") == std::to_string(*stuck_id))
                stall_line = line;
        sleep_ms(100);
    }
    const double stall_s = seconds_since(stuck_since);
    const size_t steady_during = count_updates(log(), *steady_id) - steady_before;
    // Memory a little longer: nothing left behind that grows.
    for (int i = 0; i < 20; ++i) {
        peak = std::max(peak, rss_bytes(pid));
        sleep_ms(100);
    }
    std::printf("[  stall   ] %s\n",
                stall_line.empty() ? "no stall disconnect" : stall_line.c_str());
    std::printf(
        "[  stall   ] %dx%d raw screen %.1f MiB; closed or gave up after %.1f s; RSS baseline "
        "%.1f MiB, peak %.1f MiB; lvc viewer meanwhile: %zu updates\n",
        stuck.width(), stuck.height(), double(stuck.width()) * stuck.height() * 4 / 1048576,
        stall_s, double(baseline) / 1048576, double(peak) / 1048576, steady_during);

    ASSERT_FALSE(stall_line.empty())
        << "no viewer-disconnected for the non-reading viewer within " << bound.count() << " ms";
    EXPECT_NE(stall_line.find("reason=\"no progress: "), std::string::npos) << stall_line;
    EXPECT_GE(stall_s, kStallTimeout - 0.5) << "closed before the stall timeout: " << stall_line;
    EXPECT_LE(peak, baseline + kRssSlack)
        << "rfbcast's RSS grew from " << baseline << " to " << peak << " bytes";
    EXPECT_GE(steady_during, 5u) << "the lvc viewer was starved while the other one stalled";
    EXPECT_TRUE(rfbcast_.running());

    // The stall is counted.
    bool counted = false;
    const auto counted_deadline = Clock::now() + milliseconds(5000);
    while (!counted && Clock::now() < counted_deadline) {
        for (const std::string& line : read_lines(rfbcast_log_))
            if (has_event(line, "stats") && field(line, "viewers-stalled") == "1") counted = true;
        sleep_ms(200);
    }
    EXPECT_TRUE(counted) << "no stats line with viewers-stalled=1";

    // The other viewer still shows exactly what Xvnc shows.
    ASSERT_TRUE(xdraw_->freeze(&err)) << err;
    Image direct, img;
    ASSERT_TRUE(direct_grab(direct));
    ASSERT_TRUE(steady_.grab(dir_, milliseconds(30000), img));
    EXPECT_TRUE(same_pixels(direct, img, "lvc viewer beside the stalled one vs direct grab"));
}

}  // namespace
}  // namespace itest
