// LinkEstimator with synthetic samples: classification, hysteresis, the hold time, the window,
// reader-limited samples, garbage input; and the encoding lists per class.
#include "reflector/link_estimator.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <limits>
#include <vector>

#include "codec/rfb_constants.h"

namespace rfbcast {
namespace {

using namespace std::chrono_literals;
using Clock = LinkEstimator::Clock;
namespace enc = rfb::encoding;

// A transfer of `bits_per_second` for `seconds`, with nothing waiting at the start.
TransferSample at_rate(double bits_per_second, double seconds = 0.5, bool reader_limited = false) {
    TransferSample s;
    s.bytes = static_cast<uint64_t>(bits_per_second * seconds / 8.0);
    s.elapsed = std::chrono::duration_cast<std::chrono::nanoseconds>(
        std::chrono::duration<double>(seconds));
    s.reader_limited = reader_limited;
    return s;
}

class LinkEstimatorTest : public ::testing::Test {
  protected:
    // Feeds `n` RTT samples one `step` apart, starting at the current test time.
    void rtts(LinkEstimator& e, std::chrono::nanoseconds rtt, int n,
              std::chrono::nanoseconds step = 100ms) {
        for (int i = 0; i < n; ++i) {
            ASSERT_TRUE(e.add_rtt(rtt, now_));
            now_ += step;
        }
    }
    Clock::time_point now_ = Clock::time_point{} + 1000s;
};

TEST_F(LinkEstimatorTest, StartsUndecidedInTheInitialClass) {
    LinkEstimator lan;
    EXPECT_EQ(lan.link_class(), LinkClass::kLan);
    EXPECT_FALSE(lan.decided());
    EXPECT_FALSE(lan.min_rtt());
    EXPECT_FALSE(lan.smoothed_rtt());
    EXPECT_FALSE(lan.throughput_bps());
    LinkEstimator slow({}, LinkClass::kSlow);
    EXPECT_EQ(slow.link_class(), LinkClass::kSlow);
}

TEST_F(LinkEstimatorTest, LoopbackRttAloneIsLocalAfterThreeSamples) {
    LinkEstimator e;
    rtts(e, 80us, 2);
    EXPECT_FALSE(e.decided()) << "two samples are not enough for the first decision";
    EXPECT_EQ(e.link_class(), LinkClass::kLan);
    rtts(e, 80us, 1);
    EXPECT_TRUE(e.decided());
    EXPECT_EQ(e.link_class(), LinkClass::kLocal);
    EXPECT_EQ(e.changes(), 1u);
}

TEST_F(LinkEstimatorTest, LongRttIsSlowWhateverTheThroughput) {
    LinkEstimator e;
    ASSERT_TRUE(e.add_transfer(at_rate(500e6), now_));
    rtts(e, 40ms, 3);
    EXPECT_EQ(e.link_class(), LinkClass::kSlow);
}

TEST_F(LinkEstimatorTest, MediumRttIsLan) {
    LinkEstimator e;
    rtts(e, 5ms, 3);
    EXPECT_EQ(e.link_class(), LinkClass::kLan);
    EXPECT_TRUE(e.decided());
    EXPECT_EQ(e.changes(), 0u) << "the initial class was already right";
}

TEST_F(LinkEstimatorTest, LowMeasuredThroughputIsSlowEvenWithShortRtt) {
    LinkEstimator e;
    ASSERT_TRUE(e.add_transfer(at_rate(5e6), now_));
    EXPECT_TRUE(e.decided()) << "a link-paced rate sample is enough to decide";
    EXPECT_EQ(e.link_class(), LinkClass::kSlow);
    rtts(e, 1ms, 3);
    EXPECT_EQ(e.link_class(), LinkClass::kSlow);
}

TEST_F(LinkEstimatorTest, GigabitLanWithShortRttIsLanNotLocal) {
    LinkEstimator e;
    ASSERT_TRUE(e.add_transfer(at_rate(940e6), now_));
    rtts(e, 400us, 3);
    EXPECT_EQ(e.link_class(), LinkClass::kLan);
    ASSERT_TRUE(e.throughput_bps());
    EXPECT_NEAR(*e.throughput_bps(), 940e6, 1e3);
}

TEST_F(LinkEstimatorTest, ShortRttAndHighThroughputIsLocal) {
    LinkEstimator e;
    ASSERT_TRUE(e.add_transfer(at_rate(3e9, 0.01), now_));
    rtts(e, 300us, 3);
    EXPECT_EQ(e.link_class(), LinkClass::kLocal);
}

TEST_F(LinkEstimatorTest, ComputesRateWithoutTheBytesThatWereWaiting) {
    LinkEstimator e;
    TransferSample s;
    s.bytes = 1'000'000;
    s.bytes_waiting = 100'000;
    s.elapsed = 900ms;
    ASSERT_TRUE(e.add_transfer(s, now_));
    ASSERT_TRUE(e.throughput_bps());
    EXPECT_DOUBLE_EQ(*e.throughput_bps(), 8e6);  // 900 000 bytes * 8 / 0.9 s
    EXPECT_FALSE(e.throughput_is_lower_bound());
}

TEST_F(LinkEstimatorTest, SmoothedRttIsAnEighthStepEwmaAndMinIsTheMinimum) {
    LinkEstimator e;
    ASSERT_TRUE(e.add_rtt(8ms, now_));
    ASSERT_TRUE(e.add_rtt(16ms, now_ + 1ms));
    ASSERT_TRUE(e.smoothed_rtt());
    EXPECT_EQ(*e.smoothed_rtt(), 9ms);  // 8 + (16 - 8) / 8
    EXPECT_EQ(*e.min_rtt(), 8ms);
    ASSERT_TRUE(e.add_rtt(4ms, now_ + 2ms));
    EXPECT_EQ(*e.min_rtt(), 4ms);
    EXPECT_EQ(*e.smoothed_rtt(), 8375us);  // 9 + (4 - 9) / 8
}

TEST_F(LinkEstimatorTest, ReaderLimitedSamplesNeverMakeALinkSlow) {
    LinkEstimator e;
    rtts(e, 100us, 3);
    ASSERT_EQ(e.link_class(), LinkClass::kLocal);
    for (int i = 0; i < 20; ++i) {
        ASSERT_TRUE(e.add_transfer(at_rate(10e6, 0.5, /*reader_limited=*/true), now_));
        now_ += 1s;
    }
    EXPECT_EQ(e.link_class(), LinkClass::kLocal)
        << "a decoder that reads at 10 Mbit/s says nothing about the link";
    EXPECT_TRUE(e.throughput_is_lower_bound());
    // One sample that the link paced is real evidence, and the first rate evidence counts at
    // once: no hold time before the class has rested on both RTT and rate.
    ASSERT_TRUE(e.add_transfer(at_rate(10e6), now_));
    EXPECT_FALSE(e.throughput_is_lower_bound());
    EXPECT_EQ(e.link_class(), LinkClass::kSlow);
}

TEST_F(LinkEstimatorTest, ReaderLimitedSamplesCanRaiseTheEstimate) {
    LinkEstimator e;
    ASSERT_TRUE(e.add_transfer(at_rate(50e6), now_));
    ASSERT_TRUE(e.add_transfer(at_rate(400e6, 0.01, true), now_ + 1ms));
    EXPECT_NEAR(*e.throughput_bps(), 400e6, 1e3);
    EXPECT_FALSE(e.throughput_is_lower_bound());
}

TEST_F(LinkEstimatorTest, SwitchesOnlyAfterTheHoldTimeOnceSettled) {
    LinkEstimator e;  // hold 3 s
    rtts(e, 300us, 3);
    ASSERT_EQ(e.link_class(), LinkClass::kLocal);
    ASSERT_TRUE(e.add_transfer(at_rate(50e6), now_));  // LAN speed: settled as LAN at once
    ASSERT_EQ(e.link_class(), LinkClass::kLan);
    const uint64_t changes = e.changes();
    const Clock::time_point start = now_ + 1s;
    ASSERT_TRUE(e.add_transfer(at_rate(3e9, 0.01), start));  // now it looks local
    EXPECT_EQ(e.link_class(), LinkClass::kLan);
    ASSERT_TRUE(e.add_rtt(300us, start + 2900ms));
    EXPECT_EQ(e.link_class(), LinkClass::kLan) << "switched before the hold time";
    ASSERT_TRUE(e.add_rtt(300us, start + 3000ms));
    EXPECT_EQ(e.link_class(), LinkClass::kLocal);
    EXPECT_EQ(e.changes(), changes + 1);
}

TEST_F(LinkEstimatorTest, ABreakInTheEvidenceRestartsTheHold) {
    LinkEstimatorConfig cfg;
    cfg.window = 1s;
    LinkEstimator e(cfg);
    rtts(e, 1ms, 3);
    ASSERT_TRUE(e.add_transfer(at_rate(50e6), now_));
    ASSERT_EQ(e.link_class(), LinkClass::kLan);
    const Clock::time_point start = now_ + 2s;
    ASSERT_TRUE(e.add_transfer(at_rate(5e6), start));           // slow...
    ASSERT_TRUE(e.add_transfer(at_rate(50e6), start + 2s));     // ...not any more...
    ASSERT_TRUE(e.add_transfer(at_rate(5e6), start + 3500ms));  // ...slow again
    ASSERT_TRUE(e.add_rtt(1ms, start + 5s));
    EXPECT_EQ(e.link_class(), LinkClass::kLan) << "5 s since the first slow sample, but only "
                                                  "1.5 s of unbroken evidence";
    ASSERT_TRUE(e.add_rtt(1ms, start + 6500ms));
    EXPECT_EQ(e.link_class(), LinkClass::kSlow);
}

TEST_F(LinkEstimatorTest, HysteresisKeepsSlowUntilClearlyFaster) {
    LinkEstimator e;
    rtts(e, 1ms, 3);
    ASSERT_TRUE(e.add_transfer(at_rate(5e6), now_));
    now_ += 4s;
    ASSERT_TRUE(e.add_rtt(1ms, now_));
    ASSERT_EQ(e.link_class(), LinkClass::kSlow);
    // 25 Mbit/s is above the 20 Mbit/s that made the link slow but below 20 * 1.5.
    for (int i = 0; i < 10; ++i) {
        ASSERT_TRUE(e.add_transfer(at_rate(25e6), now_));
        now_ += 1s;
    }
    EXPECT_EQ(e.link_class(), LinkClass::kSlow);
    for (int i = 0; i < 4; ++i) {
        ASSERT_TRUE(e.add_transfer(at_rate(31e6), now_));
        now_ += 1s;
    }
    EXPECT_EQ(e.link_class(), LinkClass::kLan);
}

TEST_F(LinkEstimatorTest, HysteresisOnRttAroundTheLocalThreshold) {
    LinkEstimatorConfig cfg;
    cfg.window = 2s;  // let old minima age out quickly
    LinkEstimator e(cfg);
    rtts(e, 1ms, 3);
    ASSERT_EQ(e.link_class(), LinkClass::kLocal);
    // 2.5 ms: no longer enough to become local, but not enough to stop being local (3 ms).
    rtts(e, 2500us, 60);
    EXPECT_EQ(e.link_class(), LinkClass::kLocal);
    rtts(e, 3500us, 60);
    EXPECT_EQ(e.link_class(), LinkClass::kLan);
    // And back: 2.5 ms is not below the 2 ms needed to enter local.
    rtts(e, 2500us, 60);
    EXPECT_EQ(e.link_class(), LinkClass::kLan);
    rtts(e, 1500us, 60);
    EXPECT_EQ(e.link_class(), LinkClass::kLocal);
}

TEST_F(LinkEstimatorTest, DoesNotFlapWhenTheEvidenceAlternatesFasterThanTheHold) {
    LinkEstimatorConfig cfg;
    cfg.window = 1s;  // each new sample is the only one that counts
    LinkEstimator e(cfg);
    rtts(e, 1ms, 3);
    ASSERT_TRUE(e.add_transfer(at_rate(50e6), now_));
    now_ += 5s;
    ASSERT_TRUE(e.add_rtt(1ms, now_));
    ASSERT_EQ(e.link_class(), LinkClass::kLan);
    const uint64_t before = e.changes();
    for (int i = 0; i < 100; ++i) {
        now_ += 2s;
        ASSERT_TRUE(e.add_transfer(at_rate(i % 2 ? 50e6 : 10e6), now_));
    }
    EXPECT_EQ(e.link_class(), LinkClass::kLan);
    EXPECT_EQ(e.changes(), before);
}

TEST_F(LinkEstimatorTest, FollowsALinkThatGetsSlowerOnceOldSamplesLeaveTheWindow) {
    LinkEstimator e;  // window 30 s, hold 3 s
    rtts(e, 1ms, 3);
    ASSERT_TRUE(e.add_transfer(at_rate(80e6), now_));
    ASSERT_EQ(e.link_class(), LinkClass::kLan);
    const Clock::time_point fast_at = now_;
    // From now on the link carries 4 Mbit/s: the 80 Mbit/s maximum holds for the window.
    for (int i = 1; i <= 40; ++i) {
        ASSERT_TRUE(e.add_transfer(at_rate(4e6), fast_at + std::chrono::seconds(i)));
        if (i <= 30) {
            EXPECT_EQ(e.link_class(), LinkClass::kLan) << "at +" << i << " s";
        }
    }
    EXPECT_EQ(e.link_class(), LinkClass::kSlow);
    EXPECT_NEAR(*e.throughput_bps(), 4e6, 1e3);
}

TEST_F(LinkEstimatorTest, TheNewestSampleOutlivesTheWindow) {
    LinkEstimator e;
    rtts(e, 40ms, 3);
    ASSERT_EQ(e.link_class(), LinkClass::kSlow);
    ASSERT_TRUE(e.add_transfer(at_rate(4e6), now_));
    now_ += 1h;
    ASSERT_TRUE(e.add_rtt(40ms, now_));
    EXPECT_TRUE(e.throughput_bps());
    EXPECT_EQ(e.link_class(), LinkClass::kSlow);
}

TEST_F(LinkEstimatorTest, RefusesGarbageSamples) {
    LinkEstimator e;
    EXPECT_FALSE(e.add_rtt(0ns, now_));
    EXPECT_FALSE(e.add_rtt(-5ms, now_));
    EXPECT_FALSE(e.add_rtt(61s, now_));
    EXPECT_FALSE(e.add_rtt(std::chrono::nanoseconds::max(), now_));
    EXPECT_FALSE(e.add_rtt(std::chrono::nanoseconds::min(), now_));

    TransferSample zero_time;
    zero_time.bytes = 10'000'000;
    EXPECT_FALSE(e.add_transfer(zero_time, now_)) << "no elapsed time: no rate";
    TransferSample negative_time = zero_time;
    negative_time.elapsed = -1s;
    EXPECT_FALSE(e.add_transfer(negative_time, now_));
    TransferSample more_waiting_than_bytes;
    more_waiting_than_bytes.bytes = 1000;
    more_waiting_than_bytes.bytes_waiting = 2000;
    more_waiting_than_bytes.elapsed = 1s;
    EXPECT_FALSE(e.add_transfer(more_waiting_than_bytes, now_));
    TransferSample tiny;
    tiny.bytes = 4000;
    tiny.elapsed = 10ms;
    EXPECT_FALSE(e.add_transfer(tiny, now_)) << "a few packets cannot be timed";
    TransferSample all_waiting;
    all_waiting.bytes = 5'000'000;
    all_waiting.bytes_waiting = 5'000'000;
    all_waiting.elapsed = 1ms;
    EXPECT_FALSE(e.add_transfer(all_waiting, now_)) << "nothing was timed";
    TransferSample huge;
    huge.bytes = std::numeric_limits<uint64_t>::max();
    huge.elapsed = 1s;
    EXPECT_FALSE(e.add_transfer(huge, now_)) << "1.5e20 bit/s is a counter bug, not a link";
    TransferSample huge_time;
    huge_time.bytes = 1'000'000;
    huge_time.elapsed = std::chrono::nanoseconds::max();
    EXPECT_TRUE(e.add_transfer(huge_time, now_)) << "a very slow but valid sample";
    EXPECT_LT(*e.throughput_bps(), 1.0);

    // None of the refused samples moved anything.
    LinkEstimator clean;
    EXPECT_FALSE(clean.add_rtt(0ns, now_));
    EXPECT_FALSE(clean.decided());
    EXPECT_FALSE(clean.min_rtt());
}

TEST_F(LinkEstimatorTest, TimeGoingBackwardsDoesNotShortenTheHold) {
    LinkEstimator e;
    rtts(e, 300us, 3);
    ASSERT_TRUE(e.add_transfer(at_rate(50e6), now_));
    ASSERT_EQ(e.link_class(), LinkClass::kLan);
    const Clock::time_point t = now_ + 1s;
    ASSERT_TRUE(e.add_transfer(at_rate(3e9, 0.01), t));
    // A sample stamped an hour earlier is taken as "now", not as a time travel.
    ASSERT_TRUE(e.add_rtt(300us, t - 1h));
    EXPECT_EQ(e.link_class(), LinkClass::kLan);
    ASSERT_TRUE(e.add_rtt(300us, t + 2s));
    EXPECT_EQ(e.link_class(), LinkClass::kLan);
    ASSERT_TRUE(e.add_rtt(300us, t + 3s));
    EXPECT_EQ(e.link_class(), LinkClass::kLocal);
}

TEST_F(LinkEstimatorTest, InsaneConfigIsMadeSafe) {
    LinkEstimatorConfig cfg;
    cfg.hysteresis = std::numeric_limits<double>::quiet_NaN();
    LinkEstimator e(cfg);
    rtts(e, 40ms, 3);
    EXPECT_EQ(e.link_class(), LinkClass::kSlow);
    cfg.hysteresis = 0.1;
    LinkEstimator f(cfg);
    rtts(f, 40ms, 3);
    EXPECT_EQ(f.link_class(), LinkClass::kSlow);
}

TEST_F(LinkEstimatorTest, ManySamplesStayBounded) {
    LinkEstimator e;
    for (int i = 0; i < 100'000; ++i) {
        ASSERT_TRUE(e.add_rtt(std::chrono::microseconds(100 + i % 50), now_));
        ASSERT_TRUE(e.add_transfer(at_rate(5e9, 0.01), now_));
        now_ += 1ms;
    }
    EXPECT_EQ(e.link_class(), LinkClass::kLocal);
    EXPECT_EQ(*e.min_rtt(), 100us);
}

// ---------------------------------------------------------------------------------------------

const std::vector<int32_t> kDecodable = {enc::kRaw,   enc::kCopyRect, enc::kRRE,
                                         enc::kCoRRE, enc::kHextile,  enc::kZlib,
                                         enc::kTight, enc::kTRLE,     enc::kZRLE};

void expect_every_decodable_encoding_once(const std::vector<int32_t>& list) {
    for (int32_t e : kDecodable)
        EXPECT_EQ(std::count(list.begin(), list.end(), e), 1) << "encoding " << e;
}

TEST(PreferredEncodings, LocalAsksForRawAndNothingThatCompresses) {
    // Raw, CopyRect, RRE: with ZRLE or Tight anywhere in the list TigerVNC would use them.
    EXPECT_EQ(preferred_encodings(LinkClass::kLocal), (std::vector<int32_t>{0, 1, 2}));
}

TEST(PreferredEncodings, LanAsksForZrleThenHextile) {
    const std::vector<int32_t> l = preferred_encodings(LinkClass::kLan);
    ASSERT_GE(l.size(), 3u);
    EXPECT_EQ(l[0], 16);  // ZRLE
    // Hextile comes before every other real encoding except CopyRect.
    auto pos = [&](int32_t e) { return std::find(l.begin(), l.end(), e) - l.begin(); };
    EXPECT_LT(pos(5), pos(7));
    EXPECT_LT(pos(5), pos(6));
    EXPECT_LT(pos(5), pos(0));
    expect_every_decodable_encoding_once(l);
    EXPECT_EQ(l.size(), kDecodable.size());
}

TEST(PreferredEncodings, SlowAsksForTightWithJpegQualitySixAndCompressionSix) {
    const std::vector<int32_t> l = preferred_encodings(LinkClass::kSlow);
    ASSERT_FALSE(l.empty());
    EXPECT_EQ(l[0], 7);  // Tight
    expect_every_decodable_encoding_once(l);
    EXPECT_EQ(std::count(l.begin(), l.end(), -26), 1) << "JPEG quality level 6 is -32 + 6";
    EXPECT_EQ(std::count(l.begin(), l.end(), -250), 1) << "compression level 6 is -256 + 6";
    EXPECT_EQ(l.size(), kDecodable.size() + 2);
}

TEST(PreferredEncodings, ClassNames) {
    EXPECT_STREQ(link_class_name(LinkClass::kLocal), "local");
    EXPECT_STREQ(link_class_name(LinkClass::kLan), "lan");
    EXPECT_STREQ(link_class_name(LinkClass::kSlow), "slow");
}

}  // namespace
}  // namespace rfbcast
