#include "metrics/scrape_families.h"

#include <optional>
#include <string>

namespace rfbcast::metrics {

namespace {

prometheus::MetricFamily single(std::string name, std::string help, prometheus::MetricType type,
                                double value) {
    prometheus::MetricFamily f;
    f.name = std::move(name);
    f.help = std::move(help);
    f.type = type;
    prometheus::ClientMetric m;
    if (type == prometheus::MetricType::Counter) {
        m.counter.value = value;
    } else {
        m.gauge.value = value;
    }
    f.metric.push_back(std::move(m));
    return f;
}

template <typename T>
void add_if(std::vector<prometheus::MetricFamily>& out, const std::optional<T>& value,
            const char* name, const char* help, prometheus::MetricType type) {
    if (value) out.push_back(single(name, help, type, static_cast<double>(*value)));
}

}  // namespace

std::vector<prometheus::MetricFamily> cache_families(const CacheSnapshot& c) {
    using prometheus::MetricType;
    const auto d = [](uint64_t v) { return static_cast<double>(v); };
    std::vector<prometheus::MetricFamily> out;
    out.push_back(single("rfbcast_tile_cache_hits_total", "Encoded-tile cache lookups that hit",
                         MetricType::Counter, d(c.hits)));
    out.push_back(single("rfbcast_tile_cache_misses_total",
                         "Encoded-tile cache lookups that missed", MetricType::Counter,
                         d(c.misses)));
    out.push_back(single("rfbcast_tile_cache_evictions_total",
                         "Encoded tiles evicted from the cache to stay under its byte cap",
                         MetricType::Counter, d(c.evictions)));
    out.push_back(single("rfbcast_tile_cache_bytes", "Bytes of encoded tiles in the cache",
                         MetricType::Gauge, d(c.bytes)));
    out.push_back(single("rfbcast_tile_cache_entries", "Encoded tiles in the cache",
                         MetricType::Gauge, d(c.entries)));
    return out;
}

std::vector<prometheus::MetricFamily> process_families(const ProcessStats& s) {
    using prometheus::MetricType;
    std::vector<prometheus::MetricFamily> out;
    add_if(out, s.cpu_seconds, "process_cpu_seconds_total",
           "Total user and system CPU time spent in seconds.", MetricType::Counter);
    add_if(out, s.resident_bytes, "process_resident_memory_bytes", "Resident memory size in bytes.",
           MetricType::Gauge);
    add_if(out, s.virtual_bytes, "process_virtual_memory_bytes", "Virtual memory size in bytes.",
           MetricType::Gauge);
    add_if(out, s.open_fds, "process_open_fds", "Number of open file descriptors.",
           MetricType::Gauge);
    add_if(out, s.max_fds, "process_max_fds", "Maximum number of open file descriptors.",
           MetricType::Gauge);
    add_if(out, s.start_time_seconds, "process_start_time_seconds",
           "Start time of the process since unix epoch in seconds.", MetricType::Gauge);
    return out;
}

}  // namespace rfbcast::metrics
