#pragma once
#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>

#include "reflector/delivery_rate_estimator.h"
#include "reflector/event_loop.h"

namespace rfbcast {

struct PacingOptions {
    double max_fps = 30;            // per viewer
    double rate_cap = 0;            // bytes/s per viewer; 0 = none
    size_t max_unacknowledged = 2;  // updates in flight for viewers that acknowledge by fence
    Clock::duration stall_timeout = std::chrono::seconds(30);
    size_t notsent_lowat = 64 * 1024;  // kernel bytes unsent under which the next update may go
};

// When one viewer may be sent its next update, and whether it is still alive. Pure: the caller
// passes the time and what the socket says, so every rule is testable without a network.
//
// An update goes out only when
// - the viewer acknowledged enough of what it was sent (request-driven viewers: it asked again,
//   which they do once an update is processed; continuous-update viewers: fence answers),
// - what waits unsent (ours and the kernel's) is under the low-water mark, so the update sent
//   is the newest frame, not one queued behind older ones,
// - the frame-rate cap and the byte-rate cap (a token bucket) allow it.
// A viewer that leaves bytes untaken (ours queued, the kernel's unsent or unacknowledged, or
// delivered to its kernel but not read: its receive window stays shut) with no progress for
// `stall_timeout` has stalled: the caller closes it. One that read everything and simply stopped
// asking owes nothing and stays (a minimised viewer, say).
class ViewerPacer {
  public:
    explicit ViewerPacer(PacingOptions options = {}) : options_(options) {}
    void set_options(const PacingOptions& o) { options_ = o; }
    const PacingOptions& options() const { return options_; }

    // An update of `bytes` was queued at `now`; `acknowledged`: the viewer will acknowledge it
    // (false for continuous updates without fences: nothing to wait for).
    void on_update_sent(Clock::time_point now, size_t bytes, bool acknowledged = true);
    // The viewer acknowledged its oldest update at `now` (a request or a fence answer).
    void on_acknowledged(Clock::time_point now, Clock::duration min_rtt);
    // The viewer switched to continuous updates: the requests that would have acknowledged
    // earlier updates never come.
    void forget_unacknowledged() { in_flight_.clear(); }
    // TCP_INFO's delivery rate, for a viewer that acknowledges nothing itself.
    void on_tcp_rate(Clock::time_point now, double bytes_per_second, bool app_limited) {
        estimator_.on_tcp_rate(now, bytes_per_second, app_limited);
    }
    // The viewer's application read data (its receive window opened again).
    void on_progress(Clock::time_point now) { last_progress_ = now; }
    // TCP saw the viewer take bytes (bytes_acked moved): it is making progress.
    void on_tcp_progress(Clock::time_point now, uint64_t bytes_acked);

    // `in_flight_limit`: how many unacknowledged updates are allowed (1 for request-driven
    // viewers, whose next request is their acknowledgement).
    // What the next update waits for, if anything: the caller arranges the matching wake-up.
    enum class Gate {
        kGo,
        kAcknowledgement,  // in-flight limit reached: the viewer's request or fence answer
        kDrain,            // too much unsent: the socket queue draining
        kTime,             // a frame-rate or byte-rate cap: earliest()
    };
    Gate gate(Clock::time_point now, size_t unsent_bytes, size_t in_flight_limit) const;
    bool may_send(Clock::time_point now, size_t unsent_bytes, size_t in_flight_limit) const {
        return gate(now, unsent_bytes, in_flight_limit) == Gate::kGo;
    }
    // The earliest time the frame-rate and byte-rate caps allow the next update.
    Clock::time_point earliest(Clock::time_point now) const;
    size_t unacknowledged() const { return in_flight_.size(); }

    // Empty while alive; else why it stalled. `pending_bytes`: bytes the viewer has not taken
    // yet (ours, and the kernel's unsent and unacknowledged); progress is TCP delivering bytes
    // or the viewer acknowledging an update.
    // Called about once a second (it notes when the viewer began to owe bytes).
    std::string stalled(Clock::time_point now, size_t pending_bytes) const;

    DeliveryRateEstimator::Estimate rate(Clock::time_point now) const {
        return estimator_.estimate(now);
    }
    // The rate cap in force (per viewer or a share of the session's), 0 = none.
    void set_rate_cap(double bytes_per_second);

  private:
    void refill(Clock::time_point now) const;
    void refill_frames(Clock::time_point now) const;

    PacingOptions options_;
    DeliveryRateEstimator estimator_;
    struct Sent {
        Clock::time_point at;
        size_t bytes;
    };
    std::deque<Sent> in_flight_;  // capped: gate() refuses past the in-flight limit
    static constexpr size_t kMaxInFlight = 64;
    Clock::time_point last_sent_{};
    Clock::time_point last_progress_{};
    mutable Clock::time_point owing_since_{};
    uint64_t tcp_acked_ = 0;
    double cap_ = 0;
    mutable double tokens_ = 0;
    mutable double frame_tokens_ = 0;
    mutable Clock::time_point frames_at_{};
    mutable Clock::time_point tokens_at_{};
};

}  // namespace rfbcast
