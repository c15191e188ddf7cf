// fanout: one upstream RFB server, one reflector under test (rfbcast or x11vnc -reflect) as a
// child process, N viewers; measures what the reflector costs and what the viewers get.
// bench/RESULTS.md ("Fan-out") has the numbers and scripts/bench-fanout.sh the full comparison.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>
#include <fstream>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "bench/fanout/child_process.h"
#include "bench/fanout/proc_stats.h"
#include "bench/fanout/run_report.h"
#include "bench/fanout/upstream_server.h"
#include "bench/fanout/viewer_swarm.h"
#include "codec/rfb_constants.h"

using namespace fanout;
using namespace std::chrono_literals;

namespace {

struct Options {
    std::string reflector = "rfbcast";
    std::string rfbcast_path;  // default: next to this binary's build tree
    std::string x11vnc_path = "x11vnc";
    std::vector<std::string> reflector_args;
    size_t viewers = 1, probes = 4;
    std::string encoding = "zrle";
    int quality = -1;
    std::string upstream_encoding = "raw";
    bool no_copyrect = false;
    double fps = 30, seconds = 20, warmup = 3, settle = 1;
    std::string slow;
    size_t stall = 0;
    uint32_t width = 1920, height = 1080;
    std::string child_log;
    bool json = false, markdown = false, markdown_header = false;
    unsigned timeout = 0;
};

// "K@RATE": K viewers reading at RATE; RATE is a number with bit, kbit, mbit (bits per
// second) or B, kB, MB (bytes per second).
bool parse_slow(const std::string& spec, size_t& count, double& bytes_per_s, std::string& why) {
    const size_t at = spec.find('@');
    if (at == std::string::npos) {
        why = "expected K@RATE, e.g. 3@256kbit";
        return false;
    }
    try {
        count = std::stoul(spec.substr(0, at));
        size_t used = 0;
        const std::string rate = spec.substr(at + 1);
        const double v = std::stod(rate, &used);
        const std::string unit = rate.substr(used);
        const std::pair<const char*, double> units[] = {
            {"bit", 1 / 8.0}, {"kbit", 1e3 / 8}, {"mbit", 1e6 / 8},
            {"B", 1},         {"kB", 1e3},       {"MB", 1e6},
            {"", 1}};
        for (const auto& [name, scale] : units) {
            if (unit == name) {
                bytes_per_s = v * scale;
                if (bytes_per_s <= 0) break;
                return true;
            }
        }
    } catch (const std::exception&) {
    }
    why = "bad rate in '" + spec + "' (units: bit, kbit, mbit, B, kB, MB per second)";
    return false;
}

uint16_t free_port() {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    uint16_t port = 0;
    if (fd >= 0 && bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
        getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
        port = ntohs(addr.sin_port);
    if (fd >= 0) close(fd);
    return port;
}

std::string default_rfbcast() {
    std::error_code ec;
    const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (ec) return "rfbcast";
    return (self.parent_path().parent_path() / "rfbcast").string();
}

template <class Pred>
bool wait_for(Pred pred, std::chrono::milliseconds limit, ChildProcess& child) {
    const auto deadline = Clock::now() + limit;
    while (Clock::now() < deadline) {
        if (pred()) return true;
        if (!child.alive()) return false;
        std::this_thread::sleep_for(20ms);
    }
    return pred();
}

// rfbcast logs a cumulative 'stats' line every second (--stats-interval 1); the newest one in
// its log gives the encode and cache counters. x11vnc has none.
std::optional<ReflectorCounters> read_reflector_counters(const std::string& log_path) {
    std::ifstream in(log_path);
    std::string line, last;
    while (std::getline(in, line))
        if (line.find(" stats ") != std::string::npos && line.find("encodes=") != std::string::npos)
            last = line;
    if (last.empty()) return std::nullopt;
    auto field = [&](const char* name) -> std::optional<uint64_t> {
        const std::string key = std::string(" ") + name + "=";
        const size_t at = last.find(key);
        if (at == std::string::npos) return std::nullopt;
        return std::strtoull(last.c_str() + at + key.size(), nullptr, 10);
    };
    const auto encodes = field("encodes"), hits = field("cache-hits"), joins = field("joins");
    if (!encodes || !hits || !joins) return std::nullopt;
    // A join waited for an encode another viewer started: shared work, counted as a hit.
    return ReflectorCounters{*encodes, *hits + *joins, *encodes};
}

int run(const Options& o) {
    RunResult res;
    res.reflector = o.reflector;
    res.encoding = o.encoding;
    res.viewers_asked = o.viewers;
    res.fps_target = o.fps;

    int32_t view_enc = 0, up_enc = -1;
    if (!rfb::encoding::from_name(o.encoding, view_enc)) {
        std::fprintf(stderr, "fanout: unknown --encoding '%s'\n", o.encoding.c_str());
        return 2;
    }
    if (o.upstream_encoding != "auto" && !rfb::encoding::from_name(o.upstream_encoding, up_enc)) {
        std::fprintf(stderr, "fanout: unknown --upstream-encoding '%s'\n",
                     o.upstream_encoding.c_str());
        return 2;
    }
    SwarmOptions so;
    so.viewers = o.viewers;
    so.probes = o.probes;
    so.encoding = view_enc;
    so.quality = o.quality;
    if (!o.slow.empty()) {
        std::string why;
        if (!parse_slow(o.slow, so.slow, so.slow_rate, why)) {
            std::fprintf(stderr, "fanout: --slow: %s\n", why.c_str());
            return 2;
        }
    }
    so.stalled = o.stall;
    res.probes = std::min(so.probes, so.viewers);
    res.slow = std::min(so.slow, so.viewers - res.probes);
    res.stalled_asked = o.stall;
    const size_t connections = o.viewers + o.stall;

    // Viewers, the reflector's sockets to them and its upstream, plus headroom.
    const uint64_t fds = raise_fd_limit(2 * connections + 1024);
    if (fds < connections + 64)
        std::fprintf(stderr, "fanout: warning: RLIMIT_NOFILE is %llu, too low for %zu viewers\n",
                     static_cast<unsigned long long>(fds), connections);

    FrameClock times;
    UpstreamOptions uo;
    uo.content.width = o.width;
    uo.content.height = o.height;
    uo.fps = o.fps;
    uo.encoding = up_enc;
    uo.copyrect = !o.no_copyrect;
    // "none": the viewers watch the upstream itself, which then encodes for each of them. It
    // measures this tool's own ceiling (and the cost of encoding per viewer), not a reflector.
    const bool direct = o.reflector == "none";
    if (direct) uo.max_clients = connections + 4;
    UpstreamServer upstream(uo, times);
    std::string error;
    if (!upstream.start(error)) {
        std::fprintf(stderr, "fanout: upstream: %s\n", error.c_str());
        return 1;
    }
    const uint16_t listen_port = direct ? upstream.port() : free_port();
    const std::string up_addr = "127.0.0.1:" + std::to_string(upstream.port());
    std::vector<std::string> argv;
    if (o.reflector == "rfbcast") {
        argv = {o.rfbcast_path.empty() ? default_rfbcast() : o.rfbcast_path, "--upstream", up_addr,
                "--listen", "127.0.0.1:" + std::to_string(listen_port), "--max-viewers",
                std::to_string(std::max<size_t>(1000, connections + 16)),
                // Every load viewer comes from 127.0.0.1, all at once.
                "--max-preauth-per-address",
                std::to_string(std::max<size_t>(256, connections + 16)), "--max-preauth",
                std::to_string(std::max<size_t>(2048, connections + 16)), "--log-level", "info",
                "--stats-interval", "1"};
    } else {
        // -reflect takes host:port for ports above 200 (below, a display number). The rest
        // keeps x11vnc from prompting, exiting after a viewer, or listening beyond loopback.
        argv = {o.x11vnc_path, "-reflect", up_addr,    "-rfbport", std::to_string(listen_port),
                "-localhost",  "-shared",  "-forever", "-nopw",    "-noipv6",
                "-q"};
    }
    argv.insert(argv.end(), o.reflector_args.begin(), o.reflector_args.end());
    const std::string log_path =
        o.child_log.empty() ? "/tmp/fanout-" + o.reflector + "-" + std::to_string(getpid()) + ".log"
                            : o.child_log;
    ChildProcess child;
    if (!direct && !child.spawn(argv, log_path, error)) {
        std::fprintf(stderr, "fanout: %s\n", error.c_str());
        return 1;
    }
    const pid_t pid = child.pid();
    const auto child_failed = [&](const std::string& what) {
        const std::string status = child.alive() ? "still running" : child.exit_description();
        std::fprintf(stderr, "fanout: %s (%s: %s; its log: %s)\n", what.c_str(),
                     o.reflector.c_str(), status.c_str(), log_path.c_str());
        return 1;
    };
    if (!direct && !wait_for([&] { return port_listening(listen_port); }, 20s, child))
        return child_failed("the reflector does not listen on port " + std::to_string(listen_port));
    if (!direct && !wait_for([&] { return upstream.stats().updates > 0; }, 20s, child))
        return child_failed("the reflector did not fetch a frame from the upstream");

    std::this_thread::sleep_for(std::chrono::duration<double>(o.settle));
    MemoryUse mem;
    process_memory(pid, mem);
    res.rss_zero_kib = mem.rss_kib;

    so.port = listen_port;
    ViewerSwarm swarm(so, times);
    const auto connect_limit = 20s + std::chrono::milliseconds(30 * connections);
    const size_t all_ready = swarm.connect_all(Clock::now() + connect_limit);
    res.viewers_ready = 0;
    for (const ViewerCounters& c : swarm.counters())
        if (c.alive && !c.stalled) ++res.viewers_ready;
    swarm.run_until(Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                       std::chrono::duration<double>(o.settle)),
                    nullptr, 100ms);
    if (process_memory(pid, mem)) res.rss_idle_kib = mem.rss_kib;
    if (all_ready > 0)
        res.idle_kib_per_viewer =
            (static_cast<double>(res.rss_idle_kib) - static_cast<double>(res.rss_zero_kib)) /
            static_cast<double>(all_ready);

    swarm.start_requesting();
    bool child_gone = false;
    const auto watch_child = [&] {
        if (!direct && !child_gone && !child.alive()) child_gone = true;
    };
    swarm.run_until(Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                       std::chrono::duration<double>(o.warmup)),
                    watch_child, 200ms);

    // The measured window.
    const std::vector<ViewerCounters> c0 = swarm.counters();
    double cpu0 = 0, cpu1 = 0, sys0 = 0, sys1 = 0, user = 0;
    process_cpu_seconds(pid, user, sys0);
    cpu0 = user + sys0;
    const double self0 = self_cpu_seconds(), up_cpu0 = upstream.cpu_seconds();
    const UpstreamStats u0 = upstream.stats();
    const auto counters0 = read_reflector_counters(log_path);
    const auto t0 = Clock::now();
    swarm.stall();
    swarm.set_recording(true);
    swarm.take_latencies();
    swarm.take_slow_latencies();
    swarm.take_ages();
    JpegTally ignored_fast, ignored_slow;
    swarm.take_jpeg_tallies(ignored_fast, ignored_slow);
    uint64_t peak = 0;
    // RSS once a second across the window (the first at its start), for the min/max a
    // stalled viewer must not move.
    auto next_rss = t0;
    const auto sample_rss = [&] {
        MemoryUse m;
        if (!process_memory(pid, m)) return;
        res.rss_min_kib = res.rss_samples ? std::min(res.rss_min_kib, m.rss_kib) : m.rss_kib;
        res.rss_max_kib = std::max(res.rss_max_kib, m.rss_kib);
        ++res.rss_samples;
    };
    sample_rss();
    next_rss += 1s;
    swarm.run_until(
        t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.seconds)),
        [&] {
            watch_child();
            MemoryUse m;
            if (process_memory(pid, m)) peak = std::max(peak, m.rss_kib);
            if (Clock::now() >= next_rss) {
                sample_rss();
                next_rss += 1s;
            }
            swarm.check_stalled();
        },
        200ms);
    swarm.check_stalled();
    const auto t1 = Clock::now();
    swarm.set_recording(false);
    const bool cpu_ok = process_cpu_seconds(pid, user, sys1);
    cpu1 = user + sys1;
    const double self1 = self_cpu_seconds(), up_cpu1 = upstream.cpu_seconds();
    const UpstreamStats u1 = upstream.stats();
    const auto counters1 = read_reflector_counters(log_path);
    const std::vector<ViewerCounters> c1 = swarm.counters();
    if (process_memory(pid, mem)) res.rss_end_kib = mem.rss_kib;
    res.rss_peak_kib = std::max(peak, res.rss_end_kib);

    const double secs = std::chrono::duration<double>(t1 - t0).count();
    res.seconds = secs;
    res.reflector_cpu_s = cpu_ok ? cpu1 - cpu0 : 0;
    res.reflector_sys_s = cpu_ok ? sys1 - sys0 : 0;
    res.tool_cpu_s = self1 - self0;
    res.tool_upstream_cpu_s = up_cpu1 - up_cpu0;
    res.upstream_fps = static_cast<double>(u1.updates - u0.updates) / secs;
    res.upstream_encoding = u1.encoding >= 0 ? rfb::encoding::name(u1.encoding) : "none";
    if (counters0 && counters1)
        res.counters = ReflectorCounters{counters1->encodes - counters0->encodes,
                                         counters1->cache_hits - counters0->cache_hits,
                                         counters1->cache_misses - counters0->cache_misses};
    std::vector<double> fast, slow, probe_fps, slow_fps;
    for (size_t i = 0; i < c1.size(); ++i) {
        if (!c0[i].alive) continue;  // not connected when the window opened
        res.bytes += c1[i].bytes - c0[i].bytes;
        if (c1[i].stalled) continue;
        const double ups = static_cast<double>(c1[i].updates - c0[i].updates) / secs;
        (c1[i].slow ? slow : fast).push_back(ups);
        const uint64_t frames = c1[i].frames - c0[i].frames;
        if (c1[i].probe) probe_fps.push_back(static_cast<double>(frames) / secs);
        if (c1[i].slow) {
            slow_fps.push_back(static_cast<double>(frames) / secs);
            if (frames == 0) ++res.slow_without_frames;
        }
    }
    res.fast_ups = spread_of(fast);
    res.slow_ups = spread_of(slow);
    res.probe_fps = spread_of(probe_fps).median;
    res.slow_fps = spread_of(slow_fps);
    const std::vector<double> slow_lat = swarm.take_slow_latencies();
    res.slow_samples = slow_lat.size();
    res.slow_lat_p50_ms = percentile(slow_lat, 50);
    res.slow_lat_p99_ms = percentile(slow_lat, 99);
    res.slow_lat_max_ms = percentile(slow_lat, 100);
    swarm.take_jpeg_tallies(res.jpeg_fast, res.jpeg_slow);
    res.stalls = swarm.stall_outcomes();
    const std::vector<double> lat = swarm.take_latencies();
    res.latency_samples = lat.size();
    res.lat_p50_ms = percentile(lat, 50);
    res.lat_p95_ms = percentile(lat, 95);
    res.lat_p99_ms = percentile(lat, 99);
    const std::vector<double> age = swarm.take_ages();
    res.age_p50_ms = percentile(age, 50);
    res.age_p95_ms = percentile(age, 95);
    res.age_p99_ms = percentile(age, 99);
    res.failed = swarm.failed();
    res.disconnected = swarm.disconnected();
    res.skipper_mismatches = swarm.skipper_mismatches();
    res.unmatched_frames = swarm.unmatched_frames();
    if (child_gone)
        res.error = "the reflector exited during the run (" + child.exit_description() + "; log " +
                    log_path + ")";
    else if (!swarm.first_error().empty())
        res.error = swarm.first_error();
    else if (u1.disconnects > 0)
        res.error = "upstream connection dropped: " + upstream.last_error();

    swarm.close_all();
    child.stop(3s);
    upstream.stop();
    // A log nobody asked for is kept only when something went wrong.
    std::error_code ignored;
    if (o.child_log.empty() && res.error.empty() && !direct)
        std::filesystem::remove(log_path, ignored);

    if (o.json) std::printf("%s\n", to_json(res).c_str());
    if (o.markdown_header) std::printf("%s\n", markdown_header().c_str());
    if (o.markdown) std::printf("%s\n", markdown_row(res).c_str());
    if (!o.json && !o.markdown) std::printf("%s", summary(res).c_str());
    std::fflush(stdout);
    return res.viewers_ready > 0 && !child_gone ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
    Options o;
    CLI::App app{"fanout: fan-out load test of an RFB reflector (rfbcast or x11vnc -reflect)"};
    app.add_option("--reflector", o.reflector,
                   "rfbcast, x11vnc, or none (viewers watch the upstream directly: the tool's "
                   "own ceiling)")
        ->check(CLI::IsMember({"rfbcast", "x11vnc", "none"}));
    app.add_option("--rfbcast", o.rfbcast_path, "rfbcast binary (default: ../rfbcast from here)");
    app.add_option("--x11vnc", o.x11vnc_path, "x11vnc binary");
    app.add_option("--reflector-arg", o.reflector_args,
                   "extra argument for the reflector, one per use; a value that starts with '-' "
                   "needs '=', e.g. --reflector-arg=--viewer-stall-timeout --reflector-arg=5 "
                   "(rfbcast closes viewers that make no progress for 5 s; use with --stall)")
        ->allow_extra_args(false);
    app.add_option("--viewers", o.viewers, "viewers to connect")->check(CLI::Range(1, 20000));
    app.add_option("--probes", o.probes, "viewers that decode fully and measure latency")
        ->check(CLI::Range(0, 64));
    app.add_option("--encoding", o.encoding, "what viewers ask for: zrle, raw, hextile, tight");
    app.add_option("--quality", o.quality, "JPEG quality level 0-9 viewers ask for (Tight)")
        ->check(CLI::Range(-1, 9));
    app.add_option("--upstream-encoding", o.upstream_encoding,
                   "raw, hextile, zrle or auto (the reflector's first choice)");
    app.add_flag("--no-copyrect", o.no_copyrect, "upstream scrolls without CopyRect");
    app.add_option("--fps", o.fps, "upstream frame rate")->check(CLI::Range(0.5, 240.0));
    app.add_option("--seconds", o.seconds, "measured window")->check(CLI::Range(1.0, 3600.0));
    app.add_option("--warmup", o.warmup, "seconds of updates before the window")
        ->check(CLI::Range(0.0, 600.0));
    app.add_option("--settle", o.settle, "seconds before each memory reading")
        ->check(CLI::Range(0.0, 60.0));
    app.add_option("--slow", o.slow,
                   "K@RATE: K of the viewers read at RATE (e.g. 3@256kbit) and decode like "
                   "probes; their frame rate, backlog age and JPEG quality are reported apart");
    app.add_option("--stall", o.stall,
                   "K extra viewers that stop reading (socket left open) when the window opens; "
                   "reports whether and when the reflector closes them")
        ->check(CLI::Range(0, 1000));
    app.add_option("--width", o.width, "upstream width")->check(CLI::Range(640, 4096));
    app.add_option("--height", o.height, "upstream height")->check(CLI::Range(480, 4096));
    app.add_option("--child-log", o.child_log, "where the reflector's output goes");
    app.add_option("--timeout", o.timeout, "hard limit in seconds for the whole run");
    app.add_flag("--json", o.json, "print one JSON object");
    app.add_flag("--markdown", o.markdown, "print a markdown table row");
    app.add_flag("--markdown-header", o.markdown_header, "print the markdown table header too");
    bool header_only = false;
    app.add_flag("--print-header", header_only, "print the markdown table header and exit");
    CLI11_PARSE(app, argc, argv);
    if (header_only) {
        std::printf("%s\n", markdown_header().c_str());
        return 0;
    }

    signal(SIGPIPE, SIG_IGN);
    // The last line of defence for "every loop bounded in time": SIGALRM ends the process, and
    // the reflector dies with it (PDEATHSIG).
    const double budget = o.seconds + o.warmup + 2 * o.settle + 90 + 0.03 * (o.viewers + o.stall);
    alarm(o.timeout > 0 ? o.timeout : static_cast<unsigned>(budget));
    return run(o);
}
