#pragma once
#include <cstddef>
#include <cstdint>
#include <deque>

#include "reflector/event_loop.h"

namespace rfbcast {

// How fast one viewer takes our bytes, end to end: the link and the viewer's own reading and
// decoding. Measured from updates the viewer acknowledged (its next request, or its answer to a
// fence sent after the update): bytes over the time they took beyond one round trip.
//
// An update that took less than `kMinTransfer` beyond the round trip says only that the link is
// at least bytes / kMinTransfer fast, and only if it was large: shapers, Wi-Fi and TCP's initial
// window let a small burst through at once whatever the sustained rate (a 1 KB update through a
// 256 kbit/s token bucket arrives in a millisecond). So updates under `kMinBoundBytes` that went
// quickly are ignored, larger ones are lower bounds: they may raise the estimate, never lower
// it. The estimate is the largest measurement of the last `kWindow`, so one slow decode does not
// halve a viewer's quality, and a link that got slower shows within the window.
class DeliveryRateEstimator {
  public:
    static constexpr Clock::duration kWindow = std::chrono::seconds(3);
    static constexpr Clock::duration kMinTransfer = std::chrono::milliseconds(15);
    static constexpr size_t kMinBoundBytes = 16 * 1024;

    // An update of `bytes`, handed to the socket at `sent`, was acknowledged at `acked`.
    // `min_rtt` is the path's round trip without queueing (TCP_INFO), zero if unknown.
    void on_acknowledged(Clock::time_point sent, Clock::time_point acked, size_t bytes,
                         Clock::duration min_rtt);

    // The kernel's own delivery-rate sample (TCP_INFO), for viewers that acknowledge nothing
    // (continuous updates without fences): it measures the link, not the viewer's reading, so
    // it is used only when there is nothing better. App-limited samples are lower bounds.
    void on_tcp_rate(Clock::time_point now, double bytes_per_second, bool app_limited);

    struct Estimate {
        double rate = 0;     // bytes per second; 0: nothing known yet
        bool exact = false;  // false: only a lower bound (the link may be much faster)
    };
    // A viewer we know nothing about is treated as fast: it gets the best quality until its
    // first updates say otherwise.
    Estimate estimate(Clock::time_point now) const;
    size_t samples() const { return samples_.size(); }

  private:
    struct Sample {
        Clock::time_point at;
        double rate;
        bool lower_bound;
    };
    void expire(Clock::time_point now) const;

    mutable std::deque<Sample> samples_;
    static constexpr size_t kMaxSamples = 64;  // the deque's cap, whatever the update rate
    Estimate last_;  // kept when the window empties: a quiet viewer keeps its estimate
};

}  // namespace rfbcast
