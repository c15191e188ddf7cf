#pragma once
#include <sys/types.h>

#include <cstdint>

// What /proc says about a process (the reflector under test, or this tool itself).
namespace fanout {

// utime + stime in seconds (/proc/PID/stat fields 14 and 15). False when the process is gone.
bool process_cpu_seconds(pid_t pid, double& seconds);
// The same, split: user (utime) and system (stime, where the kernel's socket work lands).
bool process_cpu_seconds(pid_t pid, double& user, double& system);

struct MemoryUse {
    uint64_t rss_kib = 0;   // VmRSS
    uint64_t peak_kib = 0;  // VmHWM: the high-water mark since the process started
};
bool process_memory(pid_t pid, MemoryUse& out);

// This process: user + system CPU of all its threads.
double self_cpu_seconds();
// One thread of this process, by its CPU-time clock (pthread_getcpuclockid).
double thread_cpu_seconds(clockid_t clock);

// True when something listens on 127.0.0.1:port or [::]:port (/proc/net/tcp, tcp6). Lets us
// wait for a child's port without connecting to it, which a reflector would count as a viewer.
bool port_listening(uint16_t port);

// Raises this process's soft RLIMIT_NOFILE to at least `want` (up to the hard limit); children
// inherit it. Returns the soft limit now in force.
uint64_t raise_fd_limit(uint64_t want);

}  // namespace fanout
