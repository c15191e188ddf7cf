#pragma once
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace rfbcast::metrics {

// A histogram whose observe() is lock-free and allocation-free: prometheus-cpp 1.0.1's
// Histogram::Observe takes a mutex (its header holds a std::mutex; the shared library's Observe
// calls pthread_mutex_lock), which encode workers and the event loop must not wait on.
//
// Bounds are fixed at construction: sorted, duplicates and non-finite values dropped (+Inf is
// always the implicit last bucket). Buckets hold per-bucket counts; snapshot() accumulates them.
// A scrape racing observe() may see a bucket count without its sum (or the reverse) for that one
// observation: each cell is exact, the set is not a transaction, which Prometheus tolerates.
class Histogram {
  public:
    explicit Histogram(std::vector<double> bounds);
    Histogram(const Histogram&) = delete;
    Histogram& operator=(const Histogram&) = delete;

    // NaN is dropped: it would poison the sum forever and fits no bucket.
    void observe(double value) noexcept {
        if (std::isnan(value)) return;
        // lower_bound: the first bound >= value, Prometheus' "le" (less than or equal).
        const auto it = std::lower_bound(bounds_.begin(), bounds_.end(), value);
        const auto bucket = static_cast<size_t>(it - bounds_.begin());
        counts_[bucket].fetch_add(1, std::memory_order_relaxed);
        sum_.fetch_add(value, std::memory_order_relaxed);
    }

    struct Snapshot {
        std::vector<uint64_t> cumulative;  // one per bound, then +Inf (== count)
        uint64_t count = 0;
        double sum = 0;
    };
    Snapshot snapshot() const;
    const std::vector<double>& bounds() const { return bounds_; }

  private:
    const std::vector<double> bounds_;
    const std::unique_ptr<std::atomic<uint64_t>[]> counts_;  // bounds_.size() + 1
    std::atomic<double> sum_{0.0};
};

}  // namespace rfbcast::metrics
