#include "metrics/metrics.h"

#include <prometheus/gauge.h>

#include <iterator>
#include <utility>
#include <vector>

#include "metrics/text_format.h"

namespace rfbcast::metrics {

namespace {

using prometheus::BuildCounter;
using prometheus::BuildGauge;

// 20 µs (a small raw or cached tile) to 2.5 s (a full 4K screen through zlib level 9).
std::vector<double> encode_seconds_bounds() {
    return {0.00002, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
            0.01,    0.025,   0.05,   0.1,     0.25,   0.5,   1,      2.5};
}

template <typename Out>
void append(Out& out, std::vector<prometheus::MetricFamily> more) {
    out.insert(out.end(), std::make_move_iterator(more.begin()),
               std::make_move_iterator(more.end()));
}

// One pre-created cell per name: the label set is bounded by the table.
template <size_t N>
std::array<prometheus::Counter*, N> counters_for(prometheus::Family<prometheus::Counter>& family,
                                                 const char* label,
                                                 const std::array<std::string_view, N>& names,
                                                 const prometheus::Labels& extra = {}) {
    std::array<prometheus::Counter*, N> out{};
    for (size_t i = 0; i < N; ++i) {
        auto labels = extra;
        labels.emplace(label, std::string(names[i]));
        out[i] = &family.Add(labels);
    }
    return out;
}

}  // namespace

Metrics::Metrics(std::string_view version)
    : registry_(std::make_shared<prometheus::Registry>()),
      sessions_(std::make_shared<SessionFamilies>(registry_)),
      encode_duration_("rfbcast_encode_duration_seconds",
                       "Time to encode one rectangle or tile, by encoding",
                       encode_seconds_bounds()),
      auth_failures_(BuildCounter()
                         .Name("rfbcast_auth_failures_total")
                         .Help("Failed viewer authentications")
                         .Register(*registry_)
                         .Add({})),
      lockouts_(BuildCounter()
                    .Name("rfbcast_lockouts_total")
                    .Help("Addresses locked out after repeated authentication failures")
                    .Register(*registry_)
                    .Add({})),
      draining_(BuildGauge()
                    .Name("rfbcast_draining")
                    .Help("1 while shutting down: no new viewers, the current ones finishing")
                    .Register(*registry_)
                    .Add({})),
      process_source_(read_process_stats) {
    BuildGauge()
        .Name("rfbcast_build_info")
        .Help("Always 1; the label carries the rfbcast version")
        .Register(*registry_)
        .Add({{"version", std::string(version)}})
        .Set(1);

    accepted_ = counters_for(BuildCounter()
                                 .Name("rfbcast_connections_accepted_total")
                                 .Help("Connections accepted, by listener")
                                 .Register(*registry_),
                             "listener", kListenerNames);
    refused_ = counters_for(BuildCounter()
                                .Name("rfbcast_connections_refused_total")
                                .Help("Connections refused or closed before a session, by reason")
                                .Register(*registry_),
                            "reason", kRefuseReasonNames);
    auto& errors = BuildCounter()
                       .Name("rfbcast_protocol_errors_total")
                       .Help("Connections closed for a protocol error, by side and kind")
                       .Register(*registry_);
    for (size_t s = 0; s < kSideNames.size(); ++s) {
        protocol_errors_[s] =
            counters_for(errors, "kind", kErrorKindNames, {{"side", std::string(kSideNames[s])}});
    }
    encodes_ = counters_for(BuildCounter()
                                .Name("rfbcast_encodes_total")
                                .Help("Rectangles or tiles encoded, by encoding")
                                .Register(*registry_),
                            "encoding", kEncodingNames);
    for (size_t i = 0; i < kEncodingNames.size(); ++i) {
        encode_seconds_[i] = &encode_duration_.add({{"encoding", std::string(kEncodingNames[i])}});
    }
    limits_ = counters_for(BuildCounter()
                               .Name("rfbcast_limit_triggered_total")
                               .Help("Times a size cap or deadline refused or cut input, by limit")
                               .Register(*registry_),
                           "limit", kLimitNames);
}

Metrics& unscraped_metrics() {
    static Metrics unscraped("unscraped");
    return unscraped;
}

std::shared_ptr<SessionMetrics> Metrics::session(const std::string& name) {
    return sessions_->acquire(name);
}

void Metrics::set_cache_stats_source(std::function<CacheSnapshot()> source) {
    std::lock_guard lock(sources_mutex_);
    cache_source_ = std::move(source);
}

void Metrics::set_process_stats_source(std::function<ProcessStats()> source) {
    std::lock_guard lock(sources_mutex_);
    process_source_ = std::move(source);
}

std::string Metrics::render() const {
    std::function<CacheSnapshot()> cache;
    std::function<ProcessStats()> process;
    {
        // Copied out so a source that takes its own locks never runs under ours.
        std::lock_guard lock(sources_mutex_);
        cache = cache_source_;
        process = process_source_;
    }
    auto families = registry_->Collect();
    append(families, sessions_->collect_histograms());
    append(families, encode_duration_.Collect());
    if (cache) append(families, cache_families(cache()));
    if (process) append(families, process_families(process()));
    return render_text(std::move(families));
}

}  // namespace rfbcast::metrics
