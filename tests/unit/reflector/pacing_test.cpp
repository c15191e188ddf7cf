// The pure parts of per-viewer pacing: the delivery-rate estimate, the quality ladder and the
// pacer's gate and stall rules, driven with made-up times (no sockets, no clocks).
#include <gtest/gtest.h>

#include "reflector/delivery_rate_estimator.h"
#include "reflector/quality_ladder.h"
#include "reflector/viewer_pacer.h"

namespace rfbcast {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

const Clock::time_point t0 = Clock::time_point{} + seconds(1000);

TEST(DeliveryRateEstimator, MeasuresBytesOverTheTimeBeyondTheRoundTrip) {
    DeliveryRateEstimator e;
    EXPECT_EQ(e.estimate(t0).rate, 0) << "nothing known yet";
    // 100 KB acknowledged 1.01 s after it was sent, over a 10 ms round trip: 100 KB/s.
    e.on_acknowledged(t0, t0 + milliseconds(1010), 100000, milliseconds(10));
    const auto est = e.estimate(t0 + milliseconds(1010));
    EXPECT_NEAR(est.rate, 100000, 1);
    EXPECT_TRUE(est.exact);
}

TEST(DeliveryRateEstimator, QuickUpdatesAreLowerBoundsOnlyWhenLarge) {
    DeliveryRateEstimator e;
    e.on_acknowledged(t0, t0 + seconds(1), 32000, {});  // 32 KB/s, measured
    // 1 KB back in 2 ms: a shaper's burst lets that through at once, whatever the link: ignored.
    e.on_acknowledged(t0 + seconds(1), t0 + seconds(1) + milliseconds(2), 1000, {});
    auto est = e.estimate(t0 + seconds(1) + milliseconds(2));
    EXPECT_NEAR(est.rate, 32000, 1);
    EXPECT_TRUE(est.exact);
    // 150 KB in 2 ms: the link is at least 150 KB / 15 ms = 10 MB/s now (it got faster).
    e.on_acknowledged(t0 + seconds(2), t0 + seconds(2) + milliseconds(2), 150000, {});
    est = e.estimate(t0 + seconds(2) + milliseconds(2));
    EXPECT_NEAR(est.rate, 1e7, 1);
    EXPECT_FALSE(est.exact) << "a bound above every measurement is not a measurement";
    // Quick updates never lower what was measured.
    DeliveryRateEstimator f;
    f.on_acknowledged(t0, t0 + milliseconds(100), 1000000, {});  // 10 MB/s
    f.on_acknowledged(t0 + seconds(4), t0 + seconds(4) + milliseconds(5), 20000, {});
    est = f.estimate(t0 + seconds(4) + milliseconds(5));
    EXPECT_NEAR(est.rate, 1e7, 1) << "the old measurement outlives its window";
    EXPECT_TRUE(est.exact);
}

TEST(DeliveryRateEstimator, ALinkThatSlowsDownShowsWithinTheWindow) {
    DeliveryRateEstimator e;
    e.on_acknowledged(t0, t0 + milliseconds(100), 1000000, {});  // 10 MB/s
    Clock::time_point t = t0 + milliseconds(100);
    for (int i = 0; i < 5; ++i) {  // then 20 KB/s
        e.on_acknowledged(t, t + seconds(1), 20000, {});
        t += seconds(1);
    }
    EXPECT_NEAR(e.estimate(t).rate, 20000, 1);
}

TEST(DeliveryRateEstimator, TcpRateSamplesStandInWhenNothingIsAcknowledged) {
    DeliveryRateEstimator e;
    e.on_tcp_rate(t0, 50000, true);  // app-limited: the link is at least this fast
    auto est = e.estimate(t0);
    EXPECT_NEAR(est.rate, 50000, 1);
    EXPECT_FALSE(est.exact);
    e.on_tcp_rate(t0 + seconds(1), 30000, false);  // link-limited: a measurement
    est = e.estimate(t0 + seconds(1));
    EXPECT_NEAR(est.rate, 50000, 1) << "the bound still says at least 50 KB/s";
    EXPECT_FALSE(est.exact);
    e.on_tcp_rate(t0 + seconds(4), 30000, false);  // the bound has left the window
    est = e.estimate(t0 + seconds(4));
    EXPECT_NEAR(est.rate, 30000, 1);
    EXPECT_TRUE(est.exact);
}

TEST(QualityLadder, StepsStayWithinWhatTheViewerAskedAndTheSessionAllows) {
    QualityLadder l;
    l.configure(-1, 0, 9);
    EXPECT_EQ(l.levels(), 1u) << "no JPEG allowed: lossless only";
    l.configure(6, 0, 9);
    ASSERT_EQ(l.levels(), 5u);
    EXPECT_EQ(l.quality(0), QualityLadder::kLossless);
    EXPECT_EQ(l.quality(1), 6);
    EXPECT_EQ(l.quality(4), 0);
    l.configure(9, 3, 7);  // the session caps at 7 and floors at 3
    ASSERT_EQ(l.levels(), 4u);
    EXPECT_EQ(l.quality(1), 7);
    EXPECT_EQ(l.quality(2), 6);
    EXPECT_EQ(l.quality(3), 4);
    l.configure(7, 0, 9);  // the viewer's own quality, then the shared steps
    ASSERT_EQ(l.levels(), 6u);
    EXPECT_EQ(l.quality(1), 7);
    EXPECT_EQ(l.quality(2), 6);
    l.configure(1, 3, 9);  // asked below the session's floor: one step, clamped
    ASSERT_EQ(l.levels(), 2u);
    EXPECT_EQ(l.quality(1), 3);
}

TEST(QualityLadder, FallsAtOnceWhenTheLinkCannotCarryAndClimbsSlowly) {
    QualityLadder l;
    l.configure(8, 0, 9);  // lossless, 8, 6, 4, 2, 0
    l.observe(0, 100 * 6000, 100);
    for (size_t i = 1; i < l.levels(); ++i)
        l.observe(i, 100 * static_cast<size_t>(3000 / (i + 1)), 100);
    // Fast link: lossless.
    EXPECT_EQ(l.choose(t0, 100, 1e9, true, 0.033), 0u);
    // 100 tiles, 100 KB/s, a 1 s frame: lossless (600 KB) does not fit; 8 (150 KB) neither;
    // 6 (100 KB) does.
    EXPECT_EQ(l.quality(l.choose(t0, 100, 1e5, true, 1.0)), 6);
    // A lower bound never lowers quality.
    QualityLadder m;
    m.configure(8, 0, 9);
    EXPECT_EQ(m.choose(t0, 100, 10, false, 1.0), 0u);
    // Back up: only one step at a time, with headroom, once per interval.
    const size_t low = l.choose(t0, 100, 1e3, true, 1.0);
    EXPECT_EQ(low, l.levels() - 1) << "nothing fits: the lowest step (frame rate falls)";
    EXPECT_EQ(l.choose(t0 + milliseconds(1), 100, 1e9, true, 1.0), low - 1);
    EXPECT_EQ(l.choose(t0 + milliseconds(2), 100, 1e9, true, 1.0), low - 1) << "not yet";
    EXPECT_EQ(l.choose(t0 + milliseconds(2) + QualityLadder::kUpInterval, 100, 1e9, true, 1.0),
              low - 2);
}

TEST(QualityLadder, TopStepKeepsMotionOffLossless) {
    QualityLadder l;
    l.configure(8, 0, 9);
    l.set_top(1);
    EXPECT_EQ(l.current(), 1u) << "starts at the viewer's own JPEG quality";
    EXPECT_EQ(l.choose(t0, 10, 1e12, true, 1.0), 1u) << "never lossless, however fast";
    EXPECT_EQ(l.choose(t0 + QualityLadder::kUpInterval * 2, 10, 1e12, true, 1.0), 1u);
    EXPECT_EQ(l.quality(l.choose(t0, 1000, 1e3, true, 1.0)), 0) << "and falls as usual";
    QualityLadder lossless_only;
    lossless_only.set_top(1);
    EXPECT_EQ(lossless_only.current(), 0u) << "no JPEG allowed: the top is clamped";
}

TEST(QualityLadder, UnobservedStepsArePredictedFromObservedOnes) {
    QualityLadder l;
    l.configure(8, 0, 9);
    l.observe(0, 10 * 8000, 10);
    EXPECT_NEAR(l.predict(0, 10), 80000, 1);
    EXPECT_LT(l.predict(1, 10), l.predict(0, 10));
    EXPECT_LT(l.predict(2, 10), l.predict(1, 10));
    l.observe(1, 10 * 4000, 10);
    EXPECT_NEAR(l.predict(1, 10), 40000, 1) << "observed beats predicted";
}

TEST(ViewerPacer, RequestDrivenViewerGetsOneUpdateAtATimeWithinTheFrameRate) {
    PacingOptions o;
    o.max_fps = 10;
    ViewerPacer p(o);
    EXPECT_TRUE(p.may_send(t0, 0, 1));
    p.on_update_sent(t0, 5000);
    EXPECT_FALSE(p.may_send(t0 + milliseconds(40), 0, 1)) << "not acknowledged yet";
    p.on_acknowledged(t0 + milliseconds(50), {});
    // The cap is an average with a burst of two frames: one early frame may go at once...
    EXPECT_TRUE(p.may_send(t0 + milliseconds(60), 0, 1));
    p.on_update_sent(t0 + milliseconds(60), 5000);
    p.on_acknowledged(t0 + milliseconds(65), {});
    // ...the next waits until the bucket holds a frame again (0.6 + 0.4 at 10 fps).
    EXPECT_FALSE(p.may_send(t0 + milliseconds(70), 0, 1));
    const auto off = p.earliest(t0 + milliseconds(70)) - (t0 + milliseconds(100));
    EXPECT_LT(std::chrono::abs(off), std::chrono::microseconds(1));
    EXPECT_TRUE(p.may_send(t0 + milliseconds(100) + std::chrono::microseconds(1), 0, 1));
    EXPECT_FALSE(p.may_send(t0 + milliseconds(101), o.notsent_lowat + 1, 1))
        << "the kernel still holds older bytes";
    // Over a long run the average holds: 10 frames a second, give or take the burst.
    ViewerPacer q(o);
    int sent = 0;
    for (int ms = 0; ms < 10000; ++ms) {
        const Clock::time_point now = t0 + milliseconds(ms);
        if (q.may_send(now, 0, 1)) {
            q.on_update_sent(now, 100);
            q.on_acknowledged(now, {});
            ++sent;
        }
    }
    EXPECT_GE(sent, 100);
    EXPECT_LE(sent, 102);
}

TEST(ViewerPacer, RateCapIsATokenBucket) {
    PacingOptions o;
    o.max_fps = 1000;
    ViewerPacer p(o);
    p.set_rate_cap(10000);  // 10 KB/s, 5 KB burst
    EXPECT_TRUE(p.may_send(t0, 0, 100));
    p.on_update_sent(t0, 25000, false);  // 20 KB into debt
    EXPECT_FALSE(p.may_send(t0 + seconds(1), 0, 100));
    EXPECT_EQ(p.earliest(t0 + seconds(1)), t0 + seconds(2));
    EXPECT_TRUE(p.may_send(t0 + seconds(2), 0, 100));
}

TEST(ViewerPacer, StallsOnlyWhenOwingBytesAndSilentForTheTimeout) {
    PacingOptions o;
    o.stall_timeout = seconds(30);
    ViewerPacer p(o);
    p.on_update_sent(t0, 1000);
    EXPECT_EQ(p.stalled(t0 + seconds(100), 0), "")
        << "took everything and stopped asking (minimised, say): owes nothing, stays";
    // From when it began to owe bytes, not from its last progress long before.
    EXPECT_EQ(p.stalled(t0 + seconds(200), 4096), "");
    EXPECT_EQ(p.stalled(t0 + seconds(229), 4096), "");
    EXPECT_NE(p.stalled(t0 + seconds(230), 4096).find("4096 bytes not taken for 30 s"),
              std::string::npos);
    // TCP delivering bytes is progress.
    p.on_tcp_progress(t0 + seconds(225), 500);
    EXPECT_EQ(p.stalled(t0 + seconds(240), 4096), "");
    EXPECT_NE(p.stalled(t0 + seconds(255), 4096), "");
    // So is an acknowledgement.
    p.on_acknowledged(t0 + seconds(256), {});
    EXPECT_EQ(p.stalled(t0 + seconds(260), 4096), "");
    // Owing nothing resets the clock.
    EXPECT_EQ(p.stalled(t0 + seconds(300), 0), "");
    EXPECT_EQ(p.stalled(t0 + seconds(320), 1), "");
    EXPECT_EQ(p.stalled(t0 + seconds(349), 1), "");
    EXPECT_NE(p.stalled(t0 + seconds(350), 1), "");
    PacingOptions never;
    never.stall_timeout = Clock::duration::zero();
    ViewerPacer q(never);
    EXPECT_EQ(q.stalled(t0, 1), "");
    EXPECT_EQ(q.stalled(t0 + seconds(100000), 1), "") << "0 turns the timeout off";
}

}  // namespace
}  // namespace rfbcast
