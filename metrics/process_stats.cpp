#include "metrics/process_stats.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <charconv>
#include <string>

namespace rfbcast::metrics {

namespace {

std::optional<uint64_t> parse_u64(std::string_view s) {
    uint64_t v = 0;
    const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size() || s.empty()) return std::nullopt;
    return v;
}

bool is_space(char c) {
    return c == ' ' || c == '\t';
}

// The next blank-separated token of `s` from `pos` (empty at the end or at a line end).
std::string_view next_token(std::string_view s, size_t& pos) {
    while (pos < s.size() && is_space(s[pos]))
        ++pos;
    const size_t start = pos;
    while (pos < s.size() && !is_space(s[pos]) && s[pos] != '\n')
        ++pos;
    return s.substr(start, pos - start);
}

// /proc/stat on a large machine has a long "intr" line before btime; the cap still bounds a
// scrape's memory.
constexpr size_t kMaxProcFile = size_t{1} << 20;

std::string read_proc_file(const char* path) {
    std::string out;
    const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return out;
    std::array<char, 4096> buf;
    while (out.size() < kMaxProcFile) {
        const ssize_t n = ::read(fd, buf.data(), buf.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        out.append(buf.data(), static_cast<size_t>(n));
    }
    ::close(fd);
    if (out.size() > kMaxProcFile) out.resize(kMaxProcFile);
    return out;
}

std::optional<uint64_t> count_open_fds() {
    DIR* dir = ::opendir("/proc/self/fd");
    if (dir == nullptr) return std::nullopt;
    const int own = ::dirfd(dir);
    uint64_t n = 0;
    while (const dirent* e = ::readdir(dir)) {
        if (e->d_name[0] == '.') continue;
        // The listing's own descriptor is not one of the process's.
        if (parse_u64(e->d_name) == static_cast<uint64_t>(own)) continue;
        ++n;
    }
    ::closedir(dir);
    return n;
}

}  // namespace

std::optional<ProcSelfStat> parse_proc_self_stat(std::string_view text) {
    const size_t close = text.rfind(')');
    if (close == std::string_view::npos) return std::nullopt;
    // Fields after "(comm)" start at field 3 (state); the ones needed are 14, 15, 22, 23, 24.
    size_t pos = close + 1;
    std::array<std::string_view, 22> fields;  // fields 3..24
    for (auto& f : fields) {
        f = next_token(text, pos);
        if (f.empty()) return std::nullopt;
    }
    const auto field = [&](size_t number) { return parse_u64(fields[number - 3]); };
    const auto utime = field(14), stime = field(15), start = field(22), vsize = field(23),
               rss = field(24);
    if (!utime || !stime || !start || !vsize || !rss) return std::nullopt;
    return ProcSelfStat{*utime, *stime, *start, *vsize, *rss};
}

std::optional<uint64_t> parse_boot_time(std::string_view text) {
    size_t line = 0;
    while (line < text.size()) {
        size_t end = text.find('\n', line);
        if (end == std::string_view::npos) end = text.size();
        const auto l = text.substr(line, end - line);
        if (l.starts_with("btime ")) {
            size_t pos = 6;
            const auto value = next_token(l, pos);
            if (!next_token(l, pos).empty()) return std::nullopt;
            return parse_u64(value);
        }
        line = end + 1;
    }
    return std::nullopt;
}

std::optional<uint64_t> parse_max_open_files(std::string_view text) {
    constexpr std::string_view kKey = "Max open files";
    size_t line = 0;
    while (line < text.size()) {
        size_t end = text.find('\n', line);
        if (end == std::string_view::npos) end = text.size();
        const auto l = text.substr(line, end - line);
        if (l.starts_with(kKey) && l.size() > kKey.size() && is_space(l[kKey.size()])) {
            size_t pos = kKey.size();
            return parse_u64(next_token(l, pos));  // "unlimited" does not parse: nullopt
        }
        line = end + 1;
    }
    return std::nullopt;
}

ProcessStats process_stats_from_text(std::string_view self_stat, std::string_view proc_stat,
                                     std::string_view self_limits, long ticks_per_second,
                                     long page_size) {
    ProcessStats s;
    const auto st = parse_proc_self_stat(self_stat);
    if (st && ticks_per_second > 0) {
        const auto hz = static_cast<double>(ticks_per_second);
        s.cpu_seconds = static_cast<double>(st->utime_ticks + st->stime_ticks) / hz;
        if (const auto boot = parse_boot_time(proc_stat)) {
            s.start_time_seconds =
                static_cast<double>(*boot) + static_cast<double>(st->start_ticks) / hz;
        }
    }
    if (st) {
        s.virtual_bytes = st->vsize_bytes;
        const auto page = static_cast<uint64_t>(page_size);
        if (page_size > 0 && st->rss_pages <= UINT64_MAX / page) {
            s.resident_bytes = st->rss_pages * page;
        }
    }
    s.max_fds = parse_max_open_files(self_limits);
    return s;
}

ProcessStats read_process_stats() {
    auto s = process_stats_from_text(
        read_proc_file("/proc/self/stat"), read_proc_file("/proc/stat"),
        read_proc_file("/proc/self/limits"), ::sysconf(_SC_CLK_TCK), ::sysconf(_SC_PAGESIZE));
    s.open_fds = count_open_fds();
    return s;
}

}  // namespace rfbcast::metrics
