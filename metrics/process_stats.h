#pragma once
#include <cstdint>
#include <optional>
#include <string_view>

namespace rfbcast::metrics {

// The standard process_* metrics' inputs. A field is empty when its source could not be read or
// parsed; that metric is then left out of the scrape rather than reported as 0.
struct ProcessStats {
    std::optional<double> cpu_seconds;         // user + system
    std::optional<double> start_time_seconds;  // since the Unix epoch
    std::optional<uint64_t> resident_bytes;
    std::optional<uint64_t> virtual_bytes;
    std::optional<uint64_t> open_fds;
    std::optional<uint64_t> max_fds;  // the soft RLIMIT_NOFILE
};

// The fields of /proc/<pid>/stat that the metrics use, in the kernel's units.
struct ProcSelfStat {
    uint64_t utime_ticks = 0;
    uint64_t stime_ticks = 0;
    uint64_t start_ticks = 0;  // after boot
    uint64_t vsize_bytes = 0;
    uint64_t rss_pages = 0;
};

// Pure parsers over the files' text (nullopt on anything malformed).
// /proc/self/stat: "pid (comm) state ppid ...": comm may hold spaces and ')', so the fields
// are counted from the last ')'.
std::optional<ProcSelfStat> parse_proc_self_stat(std::string_view text);
// /proc/stat: the "btime <seconds>" line, the boot time since the epoch.
std::optional<uint64_t> parse_boot_time(std::string_view text);
// /proc/self/limits: the soft limit of "Max open files" ("unlimited": nullopt).
std::optional<uint64_t> parse_max_open_files(std::string_view text);

// Combines the parsed texts; any text may be empty (then its fields stay empty).
ProcessStats process_stats_from_text(std::string_view self_stat, std::string_view proc_stat,
                                     std::string_view self_limits, long ticks_per_second,
                                     long page_size);

// Reads /proc now (a scrape's worth of small reads and one directory listing).
ProcessStats read_process_stats();

}  // namespace rfbcast::metrics
