#include "bench/fanout/run_report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace fanout {
namespace {

std::string fmt(const char* f, double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, f, v);
    return buf;
}

std::string json_string(const std::string& s) {
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (static_cast<unsigned char>(c) < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
            out += buf;
        } else {
            out += c;
        }
    }
    return out + "\"";
}

std::string json_spread(const Spread& s) {
    return "{\"min\":" + fmt("%.2f", s.min) + ",\"median\":" + fmt("%.2f", s.median) +
           ",\"max\":" + fmt("%.2f", s.max) + "}";
}

double pct_of_core(double cpu_s, double seconds) {
    return seconds > 0 ? 100 * cpu_s / seconds : 0;
}

// Reflector CPU per frame it took from the upstream: comparable across runs whose frame rates
// differ, which "CPU at N viewers against CPU at 1 viewer for the same frame rate" needs.
double ms_per_frame(const RunResult& r, double cpu_s) {
    const double frames = r.upstream_fps * r.seconds;
    return frames > 0 ? 1000 * cpu_s / frames : 0;
}
double ms_per_frame(const RunResult& r) {
    return ms_per_frame(r, r.reflector_cpu_s);
}
// "total (user + sys)" per frame.
std::string ms_per_frame_split(const RunResult& r) {
    return fmt("%.1f", ms_per_frame(r)) + " (" +
           fmt("%.1f", ms_per_frame(r, r.reflector_cpu_s - r.reflector_sys_s)) + " + " +
           fmt("%.1f", ms_per_frame(r, r.reflector_sys_s)) + ")";
}

std::string json_tally(const JpegTally& t) {
    const auto median = t.median_quality();
    return "{\"tight_rects\":" + std::to_string(t.tight_rects) +
           ",\"jpeg_rects\":" + std::to_string(t.jpeg_rects) + ",\"jpeg_share\":" +
           (t.tight_rects ? fmt("%.3f", static_cast<double>(t.jpeg_rects) / t.tight_rects)
                          : std::string("null")) +
           ",\"quality_median\":" + (median ? std::to_string(*median) : std::string("null")) +
           ",\"estimated\":" + std::to_string(t.estimated()) +
           ",\"inexact\":" + std::to_string(t.inexact) +
           ",\"unreadable\":" + std::to_string(t.unreadable) + "}";
}

std::string quality_cell(const JpegTally& t) {
    const auto median = t.median_quality();
    if (!median) return "–";
    // "~": some tables were not exactly libjpeg's, the median is the nearest quality.
    return (t.inexact ? "~" : "") + std::to_string(*median);
}

std::string share_cell(const JpegTally& t) {
    if (t.tight_rects == 0) return "–";
    return fmt("%.0f %%", 100.0 * static_cast<double>(t.jpeg_rects) / t.tight_rects);
}

size_t stalled_count(const RunResult& r) {
    return static_cast<size_t>(
        std::count_if(r.stalls.begin(), r.stalls.end(), [](const auto& s) { return s.stalled; }));
}

// "2/3 closed after 5.2, 5.4 s", "0/3 closed in 10 s".
std::string stalled_cell(const RunResult& r) {
    if (r.stalled_asked == 0) return "–";
    size_t closed = 0;
    std::string times;
    for (const StallOutcome& s : r.stalls) {
        if (!s.closed) continue;
        times += (closed++ ? ", " : "") + fmt("%.1f", s.after_s);
    }
    const std::string of = std::to_string(closed) + "/" + std::to_string(stalled_count(r));
    return closed ? of + " closed after " + times + " s"
                  : of + " closed in " + fmt("%.0f", r.seconds) + " s";
}

}  // namespace

Spread spread_of(std::vector<double> v) {
    if (v.empty()) return {};
    std::sort(v.begin(), v.end());
    const size_t n = v.size();
    const double median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    return Spread{v.front(), median, v.back()};
}

double percentile(std::vector<double> v, double p) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    const double rank = std::ceil(p / 100.0 * static_cast<double>(v.size()));
    const size_t i = static_cast<size_t>(std::clamp(rank, 1.0, static_cast<double>(v.size())));
    return v[i - 1];
}

std::string to_json(const RunResult& r) {
    std::string j = "{";
    const auto add = [&](const std::string& key, const std::string& value) {
        if (j.size() > 1) j += ",";
        j += "\"" + key + "\":" + value;
    };
    const auto num = [](double v) { return fmt("%.3f", v); };
    const auto integer = [](uint64_t v) { return std::to_string(v); };
    add("reflector", json_string(r.reflector));
    add("encoding", json_string(r.encoding));
    add("upstream_encoding", json_string(r.upstream_encoding));
    add("viewers", integer(r.viewers_asked));
    add("viewers_ready", integer(r.viewers_ready));
    add("probes", integer(r.probes));
    add("slow", integer(r.slow));
    add("fps_target", num(r.fps_target));
    add("seconds", num(r.seconds));
    add("upstream_fps", num(r.upstream_fps));
    add("reflector_cpu_s", num(r.reflector_cpu_s));
    add("reflector_sys_s", num(r.reflector_sys_s));
    add("reflector_cpu_pct", num(pct_of_core(r.reflector_cpu_s, r.seconds)));
    add("reflector_cpu_ms_per_frame", num(ms_per_frame(r)));
    add("rss_zero_kib", integer(r.rss_zero_kib));
    add("rss_idle_kib", integer(r.rss_idle_kib));
    add("rss_end_kib", integer(r.rss_end_kib));
    add("rss_peak_kib", integer(r.rss_peak_kib));
    add("idle_kib_per_viewer", num(r.idle_kib_per_viewer));
    add("updates_per_s", json_spread(r.fast_ups));
    add("slow_updates_per_s", json_spread(r.slow_ups));
    add("probe_frames_per_s", num(r.probe_fps));
    add("bytes_received", integer(r.bytes));
    add("latency_ms", "{\"p50\":" + num(r.lat_p50_ms) + ",\"p95\":" + num(r.lat_p95_ms) +
                          ",\"p99\":" + num(r.lat_p99_ms) +
                          ",\"samples\":" + integer(r.latency_samples) + "}");
    add("age_ms", "{\"p50\":" + num(r.age_p50_ms) + ",\"p95\":" + num(r.age_p95_ms) +
                      ",\"p99\":" + num(r.age_p99_ms) + "}");
    add("tool_cpu_s", num(r.tool_cpu_s));
    add("tool_upstream_cpu_s", num(r.tool_upstream_cpu_s));
    add("failed", integer(r.failed));
    add("disconnected", integer(r.disconnected));
    add("skipper_mismatches", integer(r.skipper_mismatches));
    add("unmatched_frames", integer(r.unmatched_frames));
    if (r.counters)
        add("counters", "{\"encodes\":" + integer(r.counters->encodes) +
                            ",\"cache_hits\":" + integer(r.counters->cache_hits) +
                            ",\"cache_misses\":" + integer(r.counters->cache_misses) + "}");
    else
        add("counters", "null");
    add("slow_frames_per_s", json_spread(r.slow_fps));
    add("slow_latency_ms",
        "{\"p50\":" + num(r.slow_lat_p50_ms) + ",\"p99\":" + num(r.slow_lat_p99_ms) +
            ",\"max\":" + num(r.slow_lat_max_ms) + ",\"samples\":" + integer(r.slow_samples) +
            ",\"viewers_without_frames\":" + integer(r.slow_without_frames) + "}");
    add("jpeg",
        "{\"fast\":" + json_tally(r.jpeg_fast) + ",\"slow\":" + json_tally(r.jpeg_slow) + "}");
    add("rss_window_kib", "{\"min\":" + integer(r.rss_min_kib) +
                              ",\"max\":" + integer(r.rss_max_kib) +
                              ",\"samples\":" + integer(r.rss_samples) + "}");
    std::string stalls = "[";
    for (const StallOutcome& s : r.stalls) {
        if (stalls.size() > 1) stalls += ",";
        stalls += "{\"stalled\":" + std::string(s.stalled ? "true" : "false") +
                  ",\"closed\":" + (s.closed ? "true" : "false") +
                  ",\"after_s\":" + (s.closed ? num(s.after_s) : std::string("null")) +
                  ",\"how\":" + json_string(s.how) + "}";
    }
    add("stalled", "{\"asked\":" + integer(r.stalled_asked) + ",\"stopped\":" +
                       integer(stalled_count(r)) + ",\"viewers\":" + stalls + "]}");
    add("error", json_string(r.error));
    return j + "}";
}

std::string markdown_header() {
    return "| reflector | viewers | enc | upstream fps | updates/s per viewer min/med/max | "
           "probe fps | CPU % | CPU ms/frame (user + sys) | RSS end/peak MiB | idle KiB/viewer | "
           "latency "
           "p50/p95/p99 ms | "
           "recv MB/s | tool CPU % | encodes/frame | notes | "
           "slow fps | slow backlog age p50/p99/max ms | JPEG q fast/slow | "
           "JPEG share of Tight rects fast/slow | RSS 1 s min/max MiB | stalled viewers |\n"
           "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|";
}

std::string markdown_row(const RunResult& r) {
    std::string viewers = std::to_string(r.viewers_ready);
    if (r.viewers_ready != r.viewers_asked) viewers += " of " + std::to_string(r.viewers_asked);
    if (r.slow > 0) viewers += " (" + std::to_string(r.slow) + " slow)";
    if (r.stalled_asked > 0) viewers += " + " + std::to_string(r.stalled_asked) + " stalled";
    std::string notes;
    if (r.failed + r.disconnected > 0)
        notes +=
            std::to_string(r.failed) + " failed, " + std::to_string(r.disconnected) + " dropped; ";
    if (r.slow > 0) notes += "slow viewers " + fmt("%.1f", r.slow_ups.median) + " updates/s; ";
    if (r.slow_without_frames > 0)
        notes += std::to_string(r.slow_without_frames) + " slow viewers showed no new frame; ";
    if (r.stalled_asked > stalled_count(r))
        notes += std::to_string(r.stalled_asked - stalled_count(r)) +
                 " stalled viewers were not connected; ";
    if (r.skipper_mismatches > 0)
        notes += std::to_string(r.skipper_mismatches) + " skipper mismatches; ";
    if (!r.error.empty()) notes += r.error;
    std::string row =
        "| " + r.reflector + " | " + viewers + " | " + r.encoding + " | " +
        fmt("%.1f", r.upstream_fps) + " | " + fmt("%.1f", r.fast_ups.min) + " / " +
        fmt("%.1f", r.fast_ups.median) + " / " + fmt("%.1f", r.fast_ups.max) + " | " +
        fmt("%.1f", r.probe_fps) + " | " + fmt("%.0f", pct_of_core(r.reflector_cpu_s, r.seconds)) +
        " | " + ms_per_frame_split(r) + " | " + fmt("%.1f", r.rss_end_kib / 1024.0) + " / " +
        fmt("%.1f", r.rss_peak_kib / 1024.0) + " | " + fmt("%.1f", r.idle_kib_per_viewer) + " | ";
    row += r.latency_samples == 0 ? std::string("–")
                                  : fmt("%.1f", r.lat_p50_ms) + " / " + fmt("%.1f", r.lat_p95_ms) +
                                        " / " + fmt("%.1f", r.lat_p99_ms);
    row += " | " + fmt("%.1f", r.seconds > 0 ? r.bytes / r.seconds / 1e6 : 0) + " | " +
           fmt("%.0f", pct_of_core(r.tool_cpu_s, r.seconds)) + " | ";
    // Encodes per upstream frame: independent of the viewer count when sharing works.
    const double frames = r.upstream_fps * r.seconds;
    row += r.counters && frames > 0 ? fmt("%.1f", r.counters->encodes / frames) : std::string("–");
    row += " | " + notes + " | ";
    row += r.slow > 0 ? fmt("%.1f", r.slow_fps.median) : std::string("–");
    row += " | ";
    if (r.slow_samples > 0)
        row += fmt("%.0f", r.slow_lat_p50_ms) + " / " + fmt("%.0f", r.slow_lat_p99_ms) + " / " +
               fmt("%.0f", r.slow_lat_max_ms);
    else
        row += r.slow > 0 ? "none shown" : "–";
    row += " | " + quality_cell(r.jpeg_fast) + " / " + quality_cell(r.jpeg_slow) + " | " +
           share_cell(r.jpeg_fast) + " / " + share_cell(r.jpeg_slow) + " | ";
    row += r.rss_samples > 0
               ? fmt("%.1f", r.rss_min_kib / 1024.0) + " / " + fmt("%.1f", r.rss_max_kib / 1024.0)
               : std::string("–");
    row += " | " + stalled_cell(r) + " |";
    return row;
}

std::string summary(const RunResult& r) {
    std::string s;
    s += r.reflector + ": " + std::to_string(r.viewers_ready) + "/" +
         std::to_string(r.viewers_asked) + " viewers (" + std::to_string(r.probes) + " probes, " +
         std::to_string(r.slow) + " slow), encoding " + r.encoding + ", " + fmt("%.0f", r.seconds) +
         " s window\n";
    s += "  upstream: " + fmt("%.1f", r.upstream_fps) + " updates/s pulled (source " +
         fmt("%.0f", r.fps_target) + " fps), sent as " + r.upstream_encoding + "\n";
    s += "  reflector CPU: " + fmt("%.2f", r.reflector_cpu_s) + " s (" +
         fmt("%.1f", pct_of_core(r.reflector_cpu_s, r.seconds)) + " % of one core, " +
         fmt("%.1f", ms_per_frame(r)) + " ms per upstream frame)\n";
    s += "  reflector RSS: no viewers " + fmt("%.1f", r.rss_zero_kib / 1024.0) + " MiB, idle " +
         fmt("%.1f", r.rss_idle_kib / 1024.0) + " MiB (" + fmt("%.1f", r.idle_kib_per_viewer) +
         " KiB per idle viewer), end " + fmt("%.1f", r.rss_end_kib / 1024.0) + " MiB, peak " +
         fmt("%.1f", r.rss_peak_kib / 1024.0) + " MiB\n";
    s += "  updates/s per viewer: min " + fmt("%.1f", r.fast_ups.min) + ", median " +
         fmt("%.1f", r.fast_ups.median) + ", max " + fmt("%.1f", r.fast_ups.max);
    if (r.slow > 0)
        s += " (slow viewers: min " + fmt("%.1f", r.slow_ups.min) + ", median " +
             fmt("%.1f", r.slow_ups.median) + ", max " + fmt("%.1f", r.slow_ups.max) + ")";
    s += "\n  probes: " + fmt("%.1f", r.probe_fps) + " new frames/s, latency p50 " +
         fmt("%.1f", r.lat_p50_ms) + " p95 " + fmt("%.1f", r.lat_p95_ms) + " p99 " +
         fmt("%.1f", r.lat_p99_ms) + " ms (" + std::to_string(r.latency_samples) +
         " samples); since drawn p50 " + fmt("%.1f", r.age_p50_ms) + " p95 " +
         fmt("%.1f", r.age_p95_ms) + " p99 " + fmt("%.1f", r.age_p99_ms) + " ms\n";
    if (r.slow > 0) {
        s += "  slow viewers: " + fmt("%.1f", r.slow_fps.median) + " new frames/s (min " +
             fmt("%.1f", r.slow_fps.min) + ", max " + fmt("%.1f", r.slow_fps.max) +
             "), backlog age p50 " + fmt("%.0f", r.slow_lat_p50_ms) + " p99 " +
             fmt("%.0f", r.slow_lat_p99_ms) + " max " + fmt("%.0f", r.slow_lat_max_ms) + " ms (" +
             std::to_string(r.slow_samples) + " samples";
        if (r.slow_without_frames > 0)
            s += "; " + std::to_string(r.slow_without_frames) + " showed no new frame";
        s += ")\n";
    }
    if (r.jpeg_fast.tight_rects + r.jpeg_slow.tight_rects > 0) {
        const auto line = [](const char* who, const JpegTally& t) {
            const auto median = t.median_quality();
            return std::string("  JPEG to ") + who + ": " + std::to_string(t.jpeg_rects) + " of " +
                   std::to_string(t.tight_rects) + " Tight rects, median quality " +
                   (median ? std::to_string(*median) : std::string("–")) +
                   (t.inexact ? " (" + std::to_string(t.inexact) + " tables not libjpeg's)" : "") +
                   (t.unreadable ? " (" + std::to_string(t.unreadable) + " unreadable)" : "") +
                   "\n";
        };
        s += line("probes", r.jpeg_fast);
        if (r.slow > 0) s += line("slow viewers", r.jpeg_slow);
    }
    s += "  reflector RSS across the window (1 s samples): min " +
         fmt("%.1f", r.rss_min_kib / 1024.0) + " MiB, max " + fmt("%.1f", r.rss_max_kib / 1024.0) +
         " MiB\n";
    if (r.stalled_asked > 0) {
        s += "  stalled viewers: " + stalled_cell(r) + "\n";
        for (size_t i = 0; i < r.stalls.size(); ++i) {
            const StallOutcome& o = r.stalls[i];
            s += "    " + std::to_string(i) + ": " +
                 (!o.stalled ? std::string("not connected at the stall")
                  : o.closed ? "closed after " + fmt("%.1f", o.after_s) + " s: " + o.how
                             : "still open" + (o.how.empty() ? "" : " (" + o.how + ")")) +
                 "\n";
        }
    }
    s += "  received: " + fmt("%.1f", r.bytes / 1e6) + " MB (" +
         fmt("%.1f", r.seconds > 0 ? r.bytes / r.seconds / 1e6 : 0) + " MB/s)\n";
    s += "  this tool: " + fmt("%.2f", r.tool_cpu_s) + " s CPU (" +
         fmt("%.1f", pct_of_core(r.tool_cpu_s, r.seconds)) + " % of one core; upstream thread " +
         fmt("%.2f", r.tool_upstream_cpu_s) + " s) on the same 2 cores as the reflector\n";
    s += "  encode/cache counters: ";
    s += r.counters ? std::to_string(r.counters->encodes) + " encodes, " +
                          std::to_string(r.counters->cache_hits) + " hits, " +
                          std::to_string(r.counters->cache_misses) + " misses\n"
                    : std::string("not exposed by the reflector\n");
    if (r.failed + r.disconnected + r.skipper_mismatches + r.unmatched_frames > 0)
        s += "  problems: " + std::to_string(r.failed) + " viewers failed to connect, " +
             std::to_string(r.disconnected) + " dropped, " + std::to_string(r.skipper_mismatches) +
             " skipper mismatches, " + std::to_string(r.unmatched_frames) +
             " probe frames without a send time\n";
    if (!r.error.empty()) s += "  error: " + r.error + "\n";
    return s;
}

}  // namespace fanout
