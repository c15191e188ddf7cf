#pragma once
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <array>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "metrics/cells.h"
#include "metrics/histogram_family.h"
#include "metrics/metric_names.h"
#include "metrics/process_stats.h"
#include "metrics/scrape_families.h"
#include "metrics/session_metrics.h"

namespace rfbcast::metrics {

// The process-wide metrics. Hot-path methods (accepted, refused, ..., limit, and every
// SessionMetrics method) are relaxed atomic updates of cells created in the constructor: no lock,
// no allocation, safe from any thread. session() and render() lock and allocate.
class Metrics {
  public:
    // `version` is rfbcast_build_info's label. Process metrics are read from /proc at each
    // render() unless replaced with set_process_stats_source().
    explicit Metrics(std::string_view version);
    Metrics(const Metrics&) = delete;
    Metrics& operator=(const Metrics&) = delete;

    // The series of the session configured as `name` (created with the first holder, removed
    // with the last). `name` comes from the config, never from a peer.
    std::shared_ptr<SessionMetrics> session(const std::string& name);
    size_t sessions() const { return sessions_->live_sessions(); }

    // Called at each render(), on the rendering thread; an empty function removes the source
    // (and its families from the output).
    void set_cache_stats_source(std::function<CacheSnapshot()> source);
    void set_process_stats_source(std::function<ProcessStats()> source);

    // Prometheus text format 0.0.4 (serve with kTextContentType from metrics/text_format.h).
    std::string render() const;

    void accepted(Listener l) { accepted_[index_of<kListenerNames.size()>(l)]->Increment(); }
    void refused(RefuseReason r) { refused_[index_of<kRefuseReasonNames.size()>(r)]->Increment(); }
    // One failed authentication (a refusal for it is counted separately with refused()).
    void auth_failure() { auth_failures_.Increment(); }
    // An address (IPv4, or an IPv6 /64) entering an authentication lockout.
    void lockout() { lockouts_.Increment(); }
    void protocol_error(Side s, ErrorKind k) {
        protocol_errors_[index_of<kSideNames.size()>(s)][index_of<kErrorKindNames.size()>(k)]
            ->Increment();
    }
    // One rectangle (or tile) encoded, and how long it took.
    void encoded(Encoding e, double seconds) {
        const size_t i = index_of<kEncodingNames.size()>(e);
        encodes_[i]->Increment();
        encode_seconds_[i]->observe(seconds);
    }
    void limit(Limit l) { limits_[index_of<kLimitNames.size()>(l)]->Increment(); }
    // 1 from SIGTERM on: no new viewers, the current ones finishing (readiness fails).
    void set_draining(bool draining) { draining_.Set(draining ? 1.0 : 0.0); }

  private:
    template <typename T, size_t N>
    using Cells = std::array<T*, N>;

    const std::shared_ptr<prometheus::Registry> registry_;
    const std::shared_ptr<SessionFamilies> sessions_;
    HistogramFamily encode_duration_;

    Cells<prometheus::Counter, kListenerNames.size()> accepted_{};
    Cells<prometheus::Counter, kRefuseReasonNames.size()> refused_{};
    prometheus::Counter& auth_failures_;
    prometheus::Counter& lockouts_;
    prometheus::Gauge& draining_;
    std::array<Cells<prometheus::Counter, kErrorKindNames.size()>, kSideNames.size()>
        protocol_errors_{};
    Cells<prometheus::Counter, kEncodingNames.size()> encodes_{};
    Cells<Histogram, kEncodingNames.size()> encode_seconds_{};
    Cells<prometheus::Counter, kLimitNames.size()> limits_{};

    mutable std::mutex sources_mutex_;
    std::function<CacheSnapshot()> cache_source_;
    std::function<ProcessStats()> process_source_;
};

// For parts built without the process's Metrics (unit tests, tools): one process-wide instance
// that nobody renders, so hot paths never need a null check.
Metrics& unscraped_metrics();

}  // namespace rfbcast::metrics
