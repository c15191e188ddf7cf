#include "reflector/delivery_rate_estimator.h"

#include <algorithm>

namespace rfbcast {

void DeliveryRateEstimator::on_acknowledged(Clock::time_point sent, Clock::time_point acked,
                                            size_t bytes, Clock::duration min_rtt) {
    if (acked < sent || bytes == 0) return;
    Clock::duration transfer = acked - sent - std::min(min_rtt, acked - sent);
    const bool lower_bound = transfer < kMinTransfer;
    if (lower_bound && bytes < kMinBoundBytes) return;  // a burst: proves nothing
    transfer = std::max(transfer, kMinTransfer);
    const double seconds = std::chrono::duration<double>(transfer).count();
    if (samples_.size() >= kMaxSamples) samples_.pop_front();
    samples_.push_back(Sample{acked, static_cast<double>(bytes) / seconds, lower_bound});
    last_ = estimate(acked);
}

void DeliveryRateEstimator::on_tcp_rate(Clock::time_point now, double bytes_per_second,
                                        bool app_limited) {
    if (bytes_per_second <= 0) return;
    if (samples_.size() >= kMaxSamples) samples_.pop_front();
    samples_.push_back(Sample{now, bytes_per_second, app_limited});
    last_ = estimate(now);
}

void DeliveryRateEstimator::expire(Clock::time_point now) const {
    while (!samples_.empty() && now - samples_.front().at > kWindow)
        samples_.pop_front();
}

DeliveryRateEstimator::Estimate DeliveryRateEstimator::estimate(Clock::time_point now) const {
    expire(now);
    double measured = 0, bound = 0;
    bool have_measured = false;
    for (const Sample& s : samples_) {
        if (s.lower_bound) {
            bound = std::max(bound, s.rate);
        } else {
            measured = std::max(measured, s.rate);
            have_measured = true;
        }
    }
    if (have_measured) return Estimate{std::max(measured, bound), measured >= bound};
    // Only small updates lately: the link carried each of them at once. What was measured
    // before still holds unless they prove the link faster.
    if (last_.rate >= bound) return last_;
    return Estimate{bound, false};
}

}  // namespace rfbcast
