#include "reflector/viewer_pacer.h"

#include <algorithm>

namespace rfbcast {

namespace {

constexpr double kBurstSeconds = 0.5;  // the token bucket holds this much of the rate cap

double seconds(Clock::duration d) {
    return std::chrono::duration<double>(d).count();
}

}  // namespace

void ViewerPacer::set_rate_cap(double bytes_per_second) {
    cap_ = std::max(0.0, bytes_per_second);
}

// The frame-rate cap is an average, not a minimum gap: a bucket of kFrameBurst frames lets a
// frame that comes a little early (a 30 fps source against a 30 fps cap jitters both ways) go at
// once instead of merging it into the next one.
void ViewerPacer::refill_frames(Clock::time_point now) const {
    constexpr double kFrameBurst = 2;
    if (frames_at_ == Clock::time_point{}) {
        frame_tokens_ = kFrameBurst;
    } else if (now > frames_at_) {
        frame_tokens_ =
            std::min(kFrameBurst, frame_tokens_ + options_.max_fps * seconds(now - frames_at_));
    }
    frames_at_ = now;
}

void ViewerPacer::refill(Clock::time_point now) const {
    if (cap_ <= 0) return;
    const double burst = cap_ * kBurstSeconds;
    if (tokens_at_ == Clock::time_point{}) {
        tokens_ = burst;
    } else if (now > tokens_at_) {
        tokens_ = std::min(burst, tokens_ + cap_ * seconds(now - tokens_at_));
    }
    tokens_at_ = now;
}

void ViewerPacer::on_update_sent(Clock::time_point now, size_t bytes, bool acknowledged) {
    if (acknowledged) {
        if (in_flight_.size() >= kMaxInFlight) in_flight_.pop_front();
        in_flight_.push_back(Sent{now, bytes});
    }
    refill_frames(now);
    frame_tokens_ -= 1;
    last_sent_ = now;
    refill(now);
    if (cap_ > 0) tokens_ -= static_cast<double>(bytes);
}

void ViewerPacer::on_acknowledged(Clock::time_point now, Clock::duration min_rtt) {
    if (in_flight_.empty()) return;  // a request with nothing outstanding: nothing to learn
    const Sent s = in_flight_.front();
    in_flight_.pop_front();
    estimator_.on_acknowledged(s.at, now, s.bytes, min_rtt);
    last_progress_ = now;
}

void ViewerPacer::on_tcp_progress(Clock::time_point now, uint64_t bytes_acked) {
    if (bytes_acked > tcp_acked_) {
        tcp_acked_ = bytes_acked;
        last_progress_ = now;
    }
}

Clock::time_point ViewerPacer::earliest(Clock::time_point now) const {
    Clock::time_point t = now;
    if (options_.max_fps > 0) {
        refill_frames(now);
        if (frame_tokens_ < 1) {
            const auto wait = std::chrono::duration_cast<Clock::duration>(
                std::chrono::duration<double>((1 - frame_tokens_) / options_.max_fps));
            t = std::max(t, now + wait);
        }
    }
    if (cap_ > 0) {
        refill(now);
        if (tokens_ < 0) {
            const auto wait = std::chrono::duration_cast<Clock::duration>(
                std::chrono::duration<double>(-tokens_ / cap_));
            t = std::max(t, now + wait);
        }
    }
    return t;
}

ViewerPacer::Gate ViewerPacer::gate(Clock::time_point now, size_t unsent_bytes,
                                    size_t in_flight_limit) const {
    if (in_flight_.size() >= std::max<size_t>(1, in_flight_limit)) return Gate::kAcknowledgement;
    if (unsent_bytes > options_.notsent_lowat) return Gate::kDrain;
    return earliest(now) <= now ? Gate::kGo : Gate::kTime;
}

std::string ViewerPacer::stalled(Clock::time_point now, size_t pending_bytes) const {
    if (options_.stall_timeout <= Clock::duration::zero()) return {};
    if (pending_bytes == 0) {
        owing_since_ = {};
        return {};
    }
    // The clock starts when the viewer began to owe us bytes, not at its last progress before.
    if (owing_since_ == Clock::time_point{}) owing_since_ = now;
    const Clock::time_point since = std::max(last_progress_, owing_since_);
    if (now - since < options_.stall_timeout) return {};
    const auto s = std::chrono::duration_cast<std::chrono::seconds>(now - since).count();
    return "no progress: " + std::to_string(pending_bytes) + " bytes not taken for " +
           std::to_string(s) + " s";
}

}  // namespace rfbcast
