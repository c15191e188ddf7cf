#pragma once
#include <prometheus/metric_family.h>

#include <cstdint>
#include <vector>

#include "metrics/process_stats.h"

namespace rfbcast::metrics {

// The tile cache's own counters (codec/encode_cache.h EncodeCacheStats), copied at scrape time
// so the cache keeps one set of numbers and metrics/ does not depend on codec/.
struct CacheSnapshot {
    uint64_t hits = 0;
    uint64_t misses = 0;
    uint64_t evictions = 0;
    uint64_t bytes = 0;
    uint64_t entries = 0;
};

// rfbcast_tile_cache_{hits,misses,evictions}_total, rfbcast_tile_cache_bytes and _entries.
std::vector<prometheus::MetricFamily> cache_families(const CacheSnapshot& cache);

// The standard process_* families (the names the Go and Java clients use); empty fields are
// left out.
std::vector<prometheus::MetricFamily> process_families(const ProcessStats& stats);

}  // namespace rfbcast::metrics
