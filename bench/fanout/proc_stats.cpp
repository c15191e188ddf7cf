#include "bench/fanout/proc_stats.h"

#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

namespace fanout {

bool process_cpu_seconds(pid_t pid, double& seconds) {
    double user = 0, system = 0;
    if (!process_cpu_seconds(pid, user, system)) return false;
    seconds = user + system;
    return true;
}

bool process_cpu_seconds(pid_t pid, double& user, double& system) {
    std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    if (!std::getline(f, line)) return false;
    // The command name (field 2) may hold spaces and parentheses: fields resume after the last ')'.
    const size_t close = line.rfind(')');
    if (close == std::string::npos) return false;
    std::istringstream rest(line.substr(close + 1));
    std::string field;
    unsigned long long utime = 0, stime = 0;
    // Fields 3..13 first, then utime (14) and stime (15).
    for (int i = 3; i <= 13; ++i)
        if (!(rest >> field)) return false;
    if (!(rest >> utime >> stime)) return false;
    const long hz = sysconf(_SC_CLK_TCK);
    const double tick = static_cast<double>(hz > 0 ? hz : 100);
    user = static_cast<double>(utime) / tick;
    system = static_cast<double>(stime) / tick;
    return true;
}

bool process_memory(pid_t pid, MemoryUse& out) {
    std::ifstream f("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    bool rss = false;
    while (std::getline(f, line)) {
        unsigned long long v = 0;
        if (std::sscanf(line.c_str(), "VmRSS: %llu kB", &v) == 1) {
            out.rss_kib = v;
            rss = true;
        } else if (std::sscanf(line.c_str(), "VmHWM: %llu kB", &v) == 1) {
            out.peak_kib = v;
        }
    }
    return rss;
}

double self_cpu_seconds() {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    const auto secs = [](const timeval& t) { return t.tv_sec + t.tv_usec / 1e6; };
    return secs(ru.ru_utime) + secs(ru.ru_stime);
}

double thread_cpu_seconds(clockid_t clock) {
    timespec ts{};
    if (clock_gettime(clock, &ts) != 0) return 0;
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

bool port_listening(uint16_t port) {
    constexpr unsigned kListen = 0x0A;
    for (const char* path : {"/proc/net/tcp", "/proc/net/tcp6"}) {
        std::ifstream f(path);
        std::string line;
        std::getline(f, line);  // header
        while (std::getline(f, line)) {
            // "  0: 0100007F:1F90 00000000:0000 0A ..."
            std::istringstream in(line);
            std::string slot, local, remote;
            unsigned state = 0;
            if (!(in >> slot >> local >> remote >> std::hex >> state)) continue;
            const size_t colon = local.rfind(':');
            if (colon == std::string::npos || state != kListen) continue;
            if (std::strtoul(local.c_str() + colon + 1, nullptr, 16) == port) return true;
        }
    }
    return false;
}

uint64_t raise_fd_limit(uint64_t want) {
    rlimit rl{};
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return 0;
    if (rl.rlim_cur < want) {
        rl.rlim_cur = rl.rlim_max == RLIM_INFINITY ? want : std::min<rlim_t>(want, rl.rlim_max);
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    return rl.rlim_cur;
}

}  // namespace fanout
