#pragma once
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/metric_family.h>
#include <prometheus/registry.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "metrics/cells.h"
#include "metrics/histogram_family.h"
#include "metrics/metric_names.h"

namespace rfbcast::metrics {

class SessionFamilies;

// One session's series (label session="<configured name>"). Its methods are the hot path:
// relaxed atomic updates of cells created with the object, no lock, no allocation, callable
// from any thread. Destroying the last holder removes the series from the output.
class SessionMetrics {
  public:
    ~SessionMetrics();
    SessionMetrics(const SessionMetrics&) = delete;
    SessionMetrics& operator=(const SessionMetrics&) = delete;

    const std::string& name() const { return name_; }

    void set_upstream_up(bool up) { c_.upstream_up->Set(up ? 1.0 : 0.0); }
    void set_viewers(size_t n) { c_.viewers->Set(static_cast<double>(n)); }
    void viewer_added() { c_.viewers->Increment(); }
    void viewer_removed() { c_.viewers->Decrement(); }
    void upstream_reconnect() { c_.upstream_reconnects->Increment(); }
    void bytes_received(Side side, uint64_t n) {
        c_.bytes_received[index_of<kSides>(side)]->Increment(static_cast<double>(n));
    }
    void bytes_sent(Side side, uint64_t n) {
        c_.bytes_sent[index_of<kSides>(side)]->Increment(static_cast<double>(n));
    }
    // A FramebufferUpdate read from upstream.
    void framebuffer_update() { c_.framebuffer_updates->Increment(); }
    // A FramebufferUpdate written to a viewer.
    void frame_sent() { c_.frames_sent->Increment(); }
    // Updates a viewer never got as such: merged into a later one or dropped while it was behind.
    void frames_skipped(uint64_t n = 1) { c_.frames_skipped->Increment(static_cast<double>(n)); }
    // One viewer's delivery-rate estimate, observed periodically for each viewer.
    void observe_viewer_bandwidth(double bytes_per_second) {
        c_.viewer_bandwidth->observe(bytes_per_second);
    }
    void observe_send_queue(uint64_t bytes) {
        c_.viewer_send_queue->observe(static_cast<double>(bytes));
    }

  private:
    friend class SessionFamilies;
    static constexpr size_t kSides = kSideNames.size();
    struct Cells {
        prometheus::Gauge* upstream_up = nullptr;
        prometheus::Gauge* viewers = nullptr;
        prometheus::Counter* upstream_reconnects = nullptr;
        std::array<prometheus::Counter*, kSides> bytes_received{};
        std::array<prometheus::Counter*, kSides> bytes_sent{};
        prometheus::Counter* framebuffer_updates = nullptr;
        prometheus::Counter* frames_sent = nullptr;
        prometheus::Counter* frames_skipped = nullptr;
        Histogram* viewer_bandwidth = nullptr;
        Histogram* viewer_send_queue = nullptr;
    };
    SessionMetrics(std::shared_ptr<SessionFamilies> families, std::string name, Cells cells);

    const std::shared_ptr<SessionFamilies> families_;  // outlives the cells it holds for us
    const std::string name_;
    const Cells c_;
};

// The per-session metric families and the live sessions, shared by Metrics and every
// SessionMetrics (so a SessionMetrics kept past Metrics' destruction still has valid cells).
class SessionFamilies : public std::enable_shared_from_this<SessionFamilies> {
  public:
    // Registers the per-session counter and gauge families (and rfbcast_sessions) in `registry`.
    explicit SessionFamilies(std::shared_ptr<prometheus::Registry> registry);

    // The live SessionMetrics for `name`, or a new one. Two sessions by one name (the old one
    // still draining after a reload) share one set of series.
    std::shared_ptr<SessionMetrics> acquire(const std::string& name);
    size_t live_sessions() const;
    // The histogram families (the counters and gauges are collected through the registry).
    std::vector<prometheus::MetricFamily> collect_histograms() const;

  private:
    friend class SessionMetrics;
    void release(const SessionMetrics& gone);

    const std::shared_ptr<prometheus::Registry> registry_;
    prometheus::Gauge& sessions_;
    prometheus::Family<prometheus::Gauge>& upstream_up_;
    prometheus::Family<prometheus::Gauge>& viewers_;
    prometheus::Family<prometheus::Counter>& upstream_reconnects_;
    prometheus::Family<prometheus::Counter>& bytes_received_;
    prometheus::Family<prometheus::Counter>& bytes_sent_;
    prometheus::Family<prometheus::Counter>& framebuffer_updates_;
    prometheus::Family<prometheus::Counter>& frames_sent_;
    prometheus::Family<prometheus::Counter>& frames_skipped_;
    HistogramFamily viewer_bandwidth_;
    HistogramFamily viewer_send_queue_;

    mutable std::mutex mutex_;
    // `owner` tells release() whether a newer SessionMetrics took the name over while the
    // old one was expiring (its weak_ptr already dead, its destructor not yet run): then the
    // cells belong to the newer one and must stay.
    struct Live {
        std::weak_ptr<SessionMetrics> weak;
        const SessionMetrics* owner = nullptr;
    };
    std::map<std::string, Live> live_;
};

}  // namespace rfbcast::metrics
