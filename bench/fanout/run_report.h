#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "bench/fanout/stall_watch.h"
#include "bench/fanout/tight_jpeg_tap.h"

// One fan-out run's numbers, and how they are printed: a readable summary, one JSON object per
// line (--json), and a markdown table row (bench-fanout.sh stacks the rows under one header).
namespace fanout {

struct Spread {
    double min = 0, median = 0, max = 0;
};

// Encode and cache counters of the reflector under test, when it exposes them.
struct ReflectorCounters {
    uint64_t encodes = 0, cache_hits = 0, cache_misses = 0;
};

struct RunResult {
    std::string reflector;          // "rfbcast" or "x11vnc"
    std::string encoding;           // what the viewers asked for
    std::string upstream_encoding;  // what the upstream sent the reflector its pixels in
    size_t viewers_asked = 0, viewers_ready = 0, probes = 0, slow = 0;
    double fps_target = 0, seconds = 0;
    double upstream_fps = 0;     // updates the reflector pulled from the upstream per second
    double reflector_cpu_s = 0;  // utime + stime in the window
    double reflector_sys_s = 0;  // its stime part: mostly the kernel's TCP send path
    uint64_t rss_zero_kib = 0;   // connected to the upstream, no viewers
    uint64_t rss_idle_kib = 0;   // all viewers connected, none asking for updates
    uint64_t rss_end_kib = 0, rss_peak_kib = 0;  // peak: highest sample in the window
    double idle_kib_per_viewer = 0;
    Spread fast_ups;             // updates/s per viewer, all but the slow ones
    Spread slow_ups;             // the slow viewers (zero when there are none)
    double probe_fps = 0;        // median distinct upstream frames/s that probes showed
    uint64_t bytes = 0;          // received by all viewers in the window
    size_t latency_samples = 0;  // probes' new frames in the window
    double lat_p50_ms = 0, lat_p95_ms = 0, lat_p99_ms = 0;  // from the upstream's send
    double age_p50_ms = 0, age_p95_ms = 0, age_p99_ms = 0;  // from the upstream's drawing
    double tool_cpu_s = 0, tool_upstream_cpu_s = 0;
    size_t failed = 0, disconnected = 0;
    uint64_t skipper_mismatches = 0, unmatched_frames = 0;
    std::optional<ReflectorCounters> counters;
    // Issue 5. Slow viewers decode like probes: their own frame rate, and the latency of what
    // they are shown (the age of their backlog).
    Spread slow_fps;                 // distinct upstream frames/s per slow viewer
    size_t slow_samples = 0;         // slow viewers' new frames in the window
    size_t slow_without_frames = 0;  // slow viewers that showed no new frame in the window
    double slow_lat_p50_ms = 0, slow_lat_p99_ms = 0, slow_lat_max_ms = 0;
    // Tight rectangles probes (fast) and slow viewers received, and the JPEG quality in them.
    JpegTally jpeg_fast, jpeg_slow;
    // Reflector RSS sampled once a second across the window.
    uint64_t rss_min_kib = 0, rss_max_kib = 0;
    size_t rss_samples = 0;
    // --stall: viewers that stopped reading when the window opened, and what became of them.
    size_t stalled_asked = 0;
    std::vector<StallOutcome> stalls;
    std::string error;  // the first thing that went wrong, if anything did
};

Spread spread_of(std::vector<double> values);
// The value below which `p` percent of the samples fall (nearest rank); 0 for no samples.
double percentile(std::vector<double> values, double p);

std::string to_json(const RunResult& r);
std::string markdown_header();
std::string markdown_row(const RunResult& r);
std::string summary(const RunResult& r);

}  // namespace fanout
