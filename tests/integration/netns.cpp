#include "tests/integration/netns.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <functional>
#include <mutex>
#include <sstream>
#include <thread>

namespace itest {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::nanoseconds;

// 198.18.0.0/15: 32768 /30 subnets.
constexpr uint32_t kSubnetBase = (198u << 24) | (18u << 16);
constexpr int kSubnetCount = 32768;

std::atomic<unsigned> g_ns_counter{0};
std::atomic<unsigned> g_cmd_counter{0};

std::string first_executable(std::initializer_list<const char*> candidates, const char* fallback) {
    for (const char* c : candidates)
        if (::access(c, X_OK) == 0) return c;
    return fallback;
}

const std::string& ip_bin() {
    static const std::string p =
        first_executable({"/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"}, "ip");
    return p;
}

const std::string& tc_bin() {
    static const std::string p =
        first_executable({"/usr/sbin/tc", "/sbin/tc", "/usr/bin/tc", "/bin/tc"}, "tc");
    return p;
}

struct CmdResult {
    std::optional<int> status;
    std::string output;
    bool ok() const { return status && *status == 0; }
};

std::string join(const std::vector<std::string>& argv) {
    std::string s;
    for (const auto& a : argv)
        s += (s.empty() ? "" : " ") + a;
    return s;
}

// A 0700 directory of this process for command output: predictable names in /tmp itself
// would let anyone plant a symlink where root is about to write.
const std::string& private_dir() {
    static const std::string dir = [] {
        char tmpl[] = "/tmp/rfbcast-it-netns-XXXXXX";
        std::string d = ::mkdtemp(tmpl) ? tmpl : "";
        if (!d.empty()) {
            static std::string to_remove = d;
            std::atexit([] { ::rmdir(to_remove.c_str()); });
        }
        return d;
    }();
    return dir;
}

// Runs a command to completion with its output captured in a private file.
CmdResult run_cmd(const std::vector<std::string>& argv,
                  milliseconds timeout = milliseconds(10000)) {
    CmdResult r;
    if (private_dir().empty()) {
        r.output = std::string("mkdtemp: ") + std::strerror(errno);
        return r;
    }
    const std::string log = private_dir() + "/cmd-" + std::to_string(g_cmd_counter++) + ".log";
    ::unlink(log.c_str());
    Process p;
    std::string err;
    if (!p.start(argv, log, log, &err)) {
        r.output = err;
        return r;
    }
    r.status = p.wait_for(timeout);
    if (!r.status) p.stop();
    r.output = read_file(log);
    ::unlink(log.c_str());
    while (!r.output.empty() && (r.output.back() == '\n' || r.output.back() == ' '))
        r.output.pop_back();
    return r;
}

std::string cmd_failure(const std::vector<std::string>& argv, const CmdResult& r) {
    return "`" + join(argv) + "` " +
           (r.status ? "exited " + std::to_string(*r.status) : std::string("timed out")) + ": " +
           r.output;
}

bool run_ok(const std::vector<std::string>& argv, std::string* error) {
    CmdResult r = run_cmd(argv);
    if (r.ok()) return true;
    if (error) *error = cmd_failure(argv, r);
    return false;
}

std::string ipv4(uint32_t a) {
    in_addr in{htonl(a)};
    char buf[INET_ADDRSTRLEN];
    ::inet_ntop(AF_INET, &in, buf, sizeof buf);
    return buf;
}

// Runs fn on a thread that has joined the named namespace; sockets and TUN devices it creates
// stay in that namespace after the thread is gone.
bool in_netns(const std::string& name, const std::function<void()>& fn, std::string* error) {
    std::string err;
    std::thread t([&] {
        int fd = ::open(("/run/netns/" + name).c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            err = "open /run/netns/" + name + ": " + std::strerror(errno);
            return;
        }
        if (::setns(fd, CLONE_NEWNET) != 0) {
            err = std::string("setns: ") + std::strerror(errno);
            ::close(fd);
            return;
        }
        ::close(fd);
        fn();
    });
    t.join();
    if (!err.empty() && error) *error = err;
    return err.empty();
}

int open_tun(const std::string& ifname, std::string* error) {
    int fd = ::open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        if (error) *error = std::string("open /dev/net/tun: ") + std::strerror(errno);
        return -1;
    }
    ifreq ifr{};
    ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
    std::strncpy(ifr.ifr_name, ifname.c_str(), IFNAMSIZ - 1);
    if (::ioctl(fd, TUNSETIFF, &ifr) != 0) {
        if (error) *error = "TUNSETIFF " + ifname + ": " + std::strerror(errno);
        ::close(fd);
        return -1;
    }
    return fd;
}

bool interface_exists(const std::string& name) {
    return ::if_nametoindex(name.c_str()) != 0;
}

// True when any address of the root namespace falls inside [base, base + 4).
bool subnet_in_use(uint32_t base) {
    ifaddrs* list = nullptr;
    if (::getifaddrs(&list) != 0) return true;
    bool used = false;
    for (ifaddrs* a = list; a && !used; a = a->ifa_next) {
        if (!a->ifa_addr || a->ifa_addr->sa_family != AF_INET) continue;
        uint32_t v = ntohl(reinterpret_cast<sockaddr_in*>(a->ifa_addr)->sin_addr.s_addr);
        used = (v & ~3u) == base;
    }
    ::freeifaddrs(list);
    return used;
}

std::string lease_path(int index) {
    return "/tmp/rfbcast-it-netns-" + std::to_string(index) + ".lock";
}

// Namespaces named rfbcast-<pid>-<n> or rfbcast-probe-<pid> whose pid is gone were left by a
// test process that crashed: delete them (their root-side veth ends go with them).
void sweep_stale_namespaces() {
    DIR* d = ::opendir("/run/netns");
    if (!d) return;
    std::vector<std::string> stale;
    while (dirent* e = ::readdir(d)) {
        std::string n = e->d_name;
        std::string rest;
        if (n.rfind("rfbcast-probe-", 0) == 0)
            rest = n.substr(14);
        else if (n.rfind("rfbcast-", 0) == 0)
            rest = n.substr(8);
        else
            continue;
        char* end = nullptr;
        long pid = std::strtol(rest.c_str(), &end, 10);
        if (end == rest.c_str() || pid <= 0) continue;
        if (::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) stale.push_back(n);
    }
    ::closedir(d);
    for (const auto& n : stale)
        run_cmd({ip_bin(), "netns", "del", n});
}

ino_t netns_inode(const std::string& name) {
    struct stat st {};
    return ::stat(("/run/netns/" + name).c_str(), &st) == 0 ? st.st_ino : 0;
}

// True for a process inside the namespace with inode `ino`, or one still on its way in (an
// `ip netns exec <name>` that has not switched yet). Both can only be ours: the name is unique.
bool belongs_to(pid_t pid, ino_t ino, const std::string& name) {
    const std::string dir = "/proc/" + std::to_string(pid);
    struct stat st {};
    if (ino != 0 && ::stat((dir + "/ns/net").c_str(), &st) == 0 && st.st_ino == ino) return true;
    const std::string cmdline = read_file(dir + "/cmdline");
    const std::string want = std::string("netns") + '\0' + "exec" + '\0' + name + '\0';
    return cmdline.find(want) != std::string::npos;
}

// Kills whatever still runs inside a namespace we created, until a scan finds nothing.
void kill_processes_in(const std::string& name, ino_t ino) {
    for (int round = 0; round < 40; ++round) {
        bool any = false;
        if (DIR* d = ::opendir("/proc")) {
            while (dirent* e = ::readdir(d)) {
                char* end = nullptr;
                long pid = std::strtol(e->d_name, &end, 10);
                if (*end != '\0' || pid <= 1 || pid == ::getpid()) continue;
                if (belongs_to(static_cast<pid_t>(pid), ino, name)) {
                    ::kill(static_cast<pid_t>(pid), SIGKILL);
                    any = true;
                }
            }
            ::closedir(d);
        }
        if (!any && round > 0) return;
        std::this_thread::sleep_for(milliseconds(25));
    }
}

size_t default_queue(const LinkShape& s) {
    if (s.queue_bytes > 0) return s.queue_bytes;
    const double hundred_ms = static_cast<double>(s.rate_bps) / 8.0 * 0.1;
    return std::max<size_t>(12 * 1024, static_cast<size_t>(hundred_ms));
}

std::string bits(uint64_t bps) {
    return std::to_string(bps) + "bit";
}

}  // namespace

const char* shaper_name(Shaper s) {
    switch (s) {
        case Shaper::kAuto:
            return "auto";
        case Shaper::kKernel:
            return "kernel (veth + tc)";
        case Shaper::kUserspace:
            return "userspace (TUN pair + shaping thread)";
    }
    return "?";
}

// ---------------------------------------------------------------------------------------------
// The userspace link: reads IP packets from one TUN device and writes them to the other after
// the queueing, serialisation and propagation delay a real link of that shape would add.

class UserspaceWire {
  public:
    UserspaceWire(int host_fd, int ns_fd, const LinkShape& to_ns, const LinkShape& from_ns) {
        dirs_[0].in_fd = host_fd;
        dirs_[0].out_fd = ns_fd;
        dirs_[0].shape = to_ns;
        dirs_[1].in_fd = ns_fd;
        dirs_[1].out_fd = host_fd;
        dirs_[1].shape = from_ns;
        for (Direction& d : dirs_)
            d.queue_limit = default_queue(d.shape);
        host_fd_ = host_fd;
        ns_fd_ = ns_fd;
    }

    ~UserspaceWire() {
        if (thread_.joinable()) {
            uint64_t one = 1;
            ssize_t n = ::write(stop_fd_, &one, sizeof one);
            (void)n;
            thread_.join();
        }
        for (int fd : {stop_fd_, host_fd_, ns_fd_})
            if (fd >= 0) ::close(fd);
    }

    bool start(std::string* error) {
        stop_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (stop_fd_ < 0) {
            if (error) *error = std::string("eventfd: ") + std::strerror(errno);
            return false;
        }
        thread_ = std::thread([this] { run(); });
        return true;
    }

    NetNs::DirectionStats stats(int i) const {
        NetNs::DirectionStats s;
        if (i < 0 || i > 1) return s;
        s.packets = dirs_[i].packets.load();
        s.bytes = dirs_[i].bytes.load();
        s.dropped = dirs_[i].dropped.load();
        return s;
    }

  private:
    // A hard cap on what one direction may hold, whatever the shape: memory stays bounded
    // even with a long delay on an unlimited rate.
    static constexpr size_t kMaxHeldBytes = 64 * 1024 * 1024;
    static constexpr size_t kMaxPacket = 65536;

    struct Packet {
        Clock::time_point due;
        std::vector<uint8_t> data;
    };
    struct Direction {
        int in_fd = -1, out_fd = -1;
        LinkShape shape;
        size_t queue_limit = 0;
        std::deque<Packet> held;
        size_t held_bytes = 0;
        Clock::time_point link_free_at{};  // when the bottleneck has sent what it accepted
        std::atomic<uint64_t> packets{0}, bytes{0}, dropped{0};
    };

    static void admit(Direction& d, const uint8_t* data, size_t len, Clock::time_point now) {
        if (d.held_bytes + len > kMaxHeldBytes) {
            ++d.dropped;
            return;
        }
        const Clock::time_point start = std::max(now, d.link_free_at);
        if (d.shape.rate_bps > 0) {
            // Bytes still waiting for the bottleneck: the router's buffer. Tail drop when full.
            const double backlog = std::chrono::duration<double>(start - now).count() *
                                   static_cast<double>(d.shape.rate_bps) / 8.0;
            if (backlog + static_cast<double>(len) > static_cast<double>(d.queue_limit)) {
                ++d.dropped;
                return;
            }
            const double tx_ns =
                static_cast<double>(len) * 8e9 / static_cast<double>(d.shape.rate_bps);
            d.link_free_at = start + nanoseconds(static_cast<int64_t>(std::llround(tx_ns)));
        } else {
            d.link_free_at = start;
        }
        Packet p;
        p.due = d.link_free_at + d.shape.delay;
        p.data.assign(data, data + len);
        d.held_bytes += len;
        d.held.push_back(std::move(p));
    }

    static void deliver(Direction& d, Clock::time_point now) {
        while (!d.held.empty() && d.held.front().due <= now) {
            Packet& p = d.held.front();
            ssize_t n = ::write(d.out_fd, p.data.data(), p.data.size());
            if (n == static_cast<ssize_t>(p.data.size())) {
                ++d.packets;
                d.bytes += p.data.size();
            } else {
                ++d.dropped;  // the receiving stack refused it (queue full): a lost packet
            }
            d.held_bytes -= p.data.size();
            d.held.pop_front();
        }
    }

    void run() {
        // A link does not wait for the CPU: ahead of the test's other threads and children, the
        // shaper's wake-ups stay punctual on a loaded machine (best effort; needs CAP_SYS_NICE).
        ::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), -15);
        std::vector<uint8_t> buf(kMaxPacket);
        for (;;) {
            Clock::time_point now = Clock::now();
            std::optional<Clock::time_point> next;
            for (Direction& d : dirs_)
                if (!d.held.empty() && (!next || d.held.front().due < *next))
                    next = d.held.front().due;
            timespec ts{};
            timespec* timeout = nullptr;
            if (next) {
                const auto wait = std::max(nanoseconds::zero(),
                                           std::chrono::duration_cast<nanoseconds>(*next - now));
                ts.tv_sec = static_cast<time_t>(wait.count() / 1000000000);
                ts.tv_nsec = static_cast<long>(wait.count() % 1000000000);
                timeout = &ts;
            }
            pollfd fds[3] = {
                {dirs_[0].in_fd, POLLIN, 0}, {dirs_[1].in_fd, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
            int r = ::ppoll(fds, 3, timeout, nullptr);
            if (r < 0 && errno != EINTR) return;
            if (fds[2].revents) return;
            now = Clock::now();
            for (int i = 0; i < 2; ++i) {
                if (fds[i].revents & (POLLERR | POLLNVAL)) return;
                if (!(fds[i].revents & POLLIN)) continue;
                // Bounded per round so that delivery deadlines are not starved by a flood.
                for (int k = 0; k < 256; ++k) {
                    ssize_t n = ::read(dirs_[i].in_fd, buf.data(), buf.size());
                    if (n <= 0) break;
                    admit(dirs_[i], buf.data(), static_cast<size_t>(n), now);
                }
            }
            for (Direction& d : dirs_)
                deliver(d, Clock::now());
        }
    }

    Direction dirs_[2];
    int host_fd_ = -1, ns_fd_ = -1, stop_fd_ = -1;
    std::thread thread_;
};

// ---------------------------------------------------------------------------------------------

const NetNsSupport& netns_support() {
    static NetNsSupport s;
    static std::once_flag once;
    std::call_once(once, [] {
        if (::geteuid() != 0) {
            s.why_not = "not root (euid " + std::to_string(::geteuid()) +
                        "): network namespaces, veth and tc need CAP_NET_ADMIN and CAP_SYS_ADMIN";
            return;
        }
        sweep_stale_namespaces();
        const std::string probe = "rfbcast-probe-" + std::to_string(::getpid());
        CmdResult add = run_cmd({ip_bin(), "netns", "add", probe});
        if (!add.ok()) {
            s.why_not = "cannot create a network namespace: " +
                        cmd_failure({ip_bin(), "netns", "add", probe}, add);
            return;
        }
        s.usable = true;
        // Everything below happens inside the probe namespace only.
        const std::vector<std::string> veth = {ip_bin(), "-n",   probe,  "link", "add", "p0",
                                               "type",   "veth", "peer", "name", "p1"};
        CmdResult v = run_cmd(veth);
        s.veth = v.ok();
        if (!s.veth) s.detail += "veth: " + cmd_failure(veth, v) + "\n";
        if (s.veth) {
            run_cmd({ip_bin(), "-n", probe, "link", "set", "p0", "up"});
            const std::vector<std::string> netem = {tc_bin(), "-n",    probe, "qdisc",
                                                    "add",    "dev",   "p0",  "root",
                                                    "netem",  "delay", "1ms"};
            CmdResult n = run_cmd(netem);
            s.netem = n.ok();
            if (!s.netem) s.detail += "netem: " + cmd_failure(netem, n) + "\n";
            const std::vector<std::string> tbf = {tc_bin(), "-n",    probe,  "qdisc", "replace",
                                                  "dev",    "p0",    "root", "tbf",   "rate",
                                                  "1mbit",  "burst", "4500", "limit", "30000"};
            CmdResult t = run_cmd(tbf);
            s.tbf = t.ok();
            if (!s.tbf) s.detail += "tbf: " + cmd_failure(tbf, t) + "\n";
        }
        std::string err;
        int fd = -1;
        in_netns(
            probe, [&] { fd = open_tun("rfbprobe0", &err); }, &err);
        s.tun = fd >= 0;
        if (fd >= 0) ::close(fd);
        if (!s.tun) s.detail += "tun: " + err + "\n";
        run_cmd({ip_bin(), "netns", "del", probe});
    });
    return s;
}

// ---------------------------------------------------------------------------------------------

NetNs::NetNs(const TempDir& dir) : dir_(dir) {}

NetNs::~NetNs() {
    destroy();
}

bool NetNs::fail(std::string* error, const std::string& why) {
    if (error) *error = why;
    destroy();
    return false;
}

std::string NetNs::describe() const {
    return name_ + " [" + host_if_ + " " + host_addr_ + " <-> " + ns_if_ + " " + ns_addr_ + ", " +
           shaper_name(shaper_) + "]";
}

bool NetNs::create(const NetNsOptions& opt, std::string* error) {
    destroy();
    const NetNsSupport& sup = netns_support();
    if (!sup.usable) return fail(error, sup.why_not);
    sweep_stale_namespaces();

    const bool delay = opt.to_ns.delay.count() > 0 || opt.from_ns.delay.count() > 0;
    const bool rate = opt.to_ns.rate_bps > 0 || opt.from_ns.rate_bps > 0;
    Shaper s = opt.shaper;
    if (s == Shaper::kAuto) s = (!delay || sup.netem) ? Shaper::kKernel : Shaper::kUserspace;
    if (s == Shaper::kKernel) {
        if (!sup.veth) return fail(error, "no veth here: " + sup.detail);
        if (delay && !sup.netem)
            return fail(error, "delay on a kernel link needs sch_netem, which this kernel lacks: " +
                                   sup.detail);
        if (rate && !sup.tbf && !sup.netem)
            return fail(error, "neither tbf nor netem in this kernel: " + sup.detail);
    } else if (!sup.tun) {
        return fail(error, "no TUN devices here: " + sup.detail);
    }
    shaper_ = s;

    // A /30 nobody else holds: flock'd lease, and no address of the root namespace inside it.
    const int start = static_cast<int>(
        (static_cast<unsigned>(::getpid()) * 7919u + g_ns_counter.load() * 31u) % kSubnetCount);
    for (int i = 0; i < 512 && lease_index_ < 0; ++i) {
        const int index = (start + i) % kSubnetCount;
        const std::string path = lease_path(index);
        int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0666);
        if (fd < 0) continue;
        struct stat by_fd {
        }, by_path{};
        if (::flock(fd, LOCK_EX | LOCK_NB) != 0 || ::fstat(fd, &by_fd) != 0 ||
            ::stat(path.c_str(), &by_path) != 0 || by_fd.st_ino != by_path.st_ino) {
            ::close(fd);
            continue;
        }
        const uint32_t base = kSubnetBase + 4u * static_cast<uint32_t>(index);
        const std::string host_if = "rfbn" + std::to_string(index) + "h";
        // We hold the lease, so an interface of this name is a crashed run's leftover.
        if (interface_exists(host_if)) run_cmd({ip_bin(), "link", "del", host_if});
        if (subnet_in_use(base)) {
            ::unlink(path.c_str());
            ::close(fd);
            continue;
        }
        lease_index_ = index;
        lease_fd_ = fd;
        host_addr_ = ipv4(base + 1);
        ns_addr_ = ipv4(base + 2);
        host_if_ = host_if;
        ns_if_ = "rfbn" + std::to_string(index) + "n";
    }
    if (lease_index_ < 0) return fail(error, "no free /30 in 198.18.0.0/15");

    name_ = "rfbcast-" + std::to_string(::getpid()) + "-" + std::to_string(g_ns_counter++);
    std::string err;
    if (!run_ok({ip_bin(), "netns", "add", name_}, &err)) {
        name_.clear();
        return fail(error, err);
    }
    if (!run_ok({ip_bin(), "-n", name_, "link", "set", "lo", "up"}, &err)) return fail(error, err);
    const bool ok = shaper_ == Shaper::kKernel ? setup_veth(opt, &err) : setup_tun(opt, &err);
    if (!ok) return fail(error, err);
    return true;
}

bool NetNs::setup_veth(const NetNsOptions& opt, std::string* error) {
    const std::string host_cidr = host_addr_ + "/30", ns_cidr = ns_addr_ + "/30";
    return run_ok({ip_bin(), "link", "add", host_if_, "type", "veth", "peer", "name", ns_if_,
                   "netns", name_},
                  error) &&
           run_ok({ip_bin(), "addr", "add", host_cidr, "dev", host_if_}, error) &&
           run_ok({ip_bin(), "-n", name_, "addr", "add", ns_cidr, "dev", ns_if_}, error) &&
           shape_with_tc("", host_if_, opt.to_ns, error) &&
           shape_with_tc(name_, ns_if_, opt.from_ns, error) &&
           run_ok({ip_bin(), "link", "set", host_if_, "up"}, error) &&
           run_ok({ip_bin(), "-n", name_, "link", "set", ns_if_, "up"}, error);
}

bool NetNs::shape_with_tc(const std::string& netns, const std::string& dev, const LinkShape& shape,
                          std::string* error) {
    if (!shape.shaped()) return true;
    std::vector<std::string> argv = {tc_bin()};
    if (!netns.empty()) {
        argv.push_back("-n");
        argv.push_back(netns);
    }
    for (const char* a : {"qdisc", "replace", "dev"})
        argv.push_back(a);
    argv.push_back(dev);
    argv.push_back("root");
    const size_t queue = default_queue(shape);
    if (shape.delay.count() > 0) {
        // netem's limit counts packets: the byte budget in full-size frames, plus what is in
        // flight during the delay at the rate (netem holds delayed packets in the same queue).
        const double in_flight = shape.rate_bps > 0
                                     ? static_cast<double>(shape.rate_bps) / 8.0 *
                                           static_cast<double>(shape.delay.count()) / 1000.0
                                     : 1e6;
        const size_t packets = std::max<size_t>(
            64, static_cast<size_t>((static_cast<double>(queue) + in_flight) / 1514.0) + 16);
        for (const std::string& a : {std::string("netem"), std::string("delay"),
                                     std::to_string(shape.delay.count()) + "ms"})
            argv.push_back(a);
        if (shape.rate_bps > 0) {
            argv.push_back("rate");
            argv.push_back(bits(shape.rate_bps));
        }
        argv.push_back("limit");
        argv.push_back(std::to_string(packets));
    } else {
        // Burst: 10 ms at the rate, at least two full frames (tbf drops larger packets).
        const size_t burst = std::max<size_t>(
            3028, static_cast<size_t>(static_cast<double>(shape.rate_bps) / 800.0));
        for (const std::string& a :
             {std::string("tbf"), std::string("rate"), bits(shape.rate_bps), std::string("burst"),
              std::to_string(burst), std::string("limit"), std::to_string(queue + burst)})
            argv.push_back(a);
    }
    return run_ok(argv, error);
}

bool NetNs::setup_tun(const NetNsOptions& opt, std::string* error) {
    int host_fd = open_tun(host_if_, error);
    if (host_fd < 0) return false;
    int ns_fd = -1;
    std::string err;
    in_netns(
        name_, [&] { ns_fd = open_tun(ns_if_, &err); }, &err);
    if (ns_fd < 0) {
        ::close(host_fd);
        if (error) *error = err;
        return false;
    }
    wire_ = std::make_unique<UserspaceWire>(host_fd, ns_fd, opt.to_ns, opt.from_ns);
    if (!wire_->start(error)) return false;
    const std::string host_cidr = host_addr_ + "/30", ns_cidr = ns_addr_ + "/30";
    return run_ok({ip_bin(), "addr", "add", host_cidr, "dev", host_if_}, error) &&
           run_ok({ip_bin(), "-n", name_, "addr", "add", ns_cidr, "dev", ns_if_}, error) &&
           run_ok({ip_bin(), "link", "set", host_if_, "up"}, error) &&
           run_ok({ip_bin(), "-n", name_, "link", "set", ns_if_, "up"}, error);
}

void NetNs::destroy() {
    // The shaper goes first: closing its TUN descriptors removes both TUN devices.
    wire_.reset();
    if (!name_.empty()) {
        const ino_t ino = netns_inode(name_);
        kill_processes_in(name_, ino);
        run_cmd({ip_bin(), "netns", "del", name_});
        // Anything that slipped in while we looked (an exec half-way through) goes now.
        kill_processes_in(name_, ino);
        name_.clear();
    }
    if (!host_if_.empty()) {
        // The kernel dismantles a namespace asynchronously; its veth end in the root namespace
        // goes with it shortly. Delete it ourselves if it lingers.
        for (int i = 0; i < 40 && interface_exists(host_if_); ++i)
            std::this_thread::sleep_for(milliseconds(50));
        if (interface_exists(host_if_)) run_cmd({ip_bin(), "link", "del", host_if_});
    }
    if (lease_fd_ >= 0) {
        ::unlink(lease_path(lease_index_).c_str());
        ::close(lease_fd_);
    }
    lease_fd_ = -1;
    lease_index_ = -1;
    host_if_.clear();
    ns_if_.clear();
    host_addr_.clear();
    ns_addr_.clear();
    shaper_ = Shaper::kAuto;
}

bool NetNs::run_in(Process& proc, const std::vector<std::string>& argv,
                   const std::string& stdout_path, const std::string& stderr_path,
                   std::string* error, const std::string& stdin_path) {
    if (name_.empty()) {
        if (error) *error = "run_in before create()";
        return false;
    }
    std::vector<std::string> full = {ip_bin(), "netns", "exec", name_};
    full.insert(full.end(), argv.begin(), argv.end());
    return proc.start(full, stdout_path, stderr_path, error, stdin_path);
}

std::optional<int> NetNs::run_in_and_wait(const std::vector<std::string>& argv, std::string* output,
                                          milliseconds timeout) {
    std::vector<std::string> full = {ip_bin(), "netns", "exec", name_};
    full.insert(full.end(), argv.begin(), argv.end());
    CmdResult r = run_cmd(full, timeout);
    if (output) *output = r.output;
    return r.status;
}

int NetNs::socket_in(int domain, int type, int protocol) {
    int fd = -1, saved_errno = 0;
    std::string err;
    if (!in_netns(
            name_,
            [&] {
                fd = ::socket(domain, type | SOCK_CLOEXEC, protocol);
                saved_errno = errno;
            },
            &err)) {
        errno = ENOENT;
        return -1;
    }
    if (fd < 0) errno = saved_errno;
    return fd;
}

bool NetNs::set_link_up(bool up, std::string* error) {
    // Not fail(): that tears the namespace down.
    if (host_if_.empty()) {
        if (error) *error = "set_link_up before create()";
        return false;
    }
    return run_ok({ip_bin(), "link", "set", host_if_, up ? "up" : "down"}, error);
}

bool NetNs::set_sysctl(const std::string& key, const std::string& value, std::string* error) {
    if (name_.empty()) {
        if (error) *error = "set_sysctl before create()";
        return false;
    }
    return run_ok({ip_bin(), "netns", "exec", name_, "sysctl", "-q", "-w", key + "=" + value},
                  error);
}

NetNs::DirectionStats NetNs::stats(int direction) const {
    return wire_ ? wire_->stats(direction) : DirectionStats{};
}

// ---------------------------------------------------------------------------------------------

namespace {

sockaddr_in make_addr(const std::string& address, int port) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    ::inet_pton(AF_INET, address.c_str(), &a.sin_addr);
    return a;
}

// Connects an existing socket with a deadline; leaves it blocking.
bool connect_fd(int fd, const std::string& address, int port, milliseconds timeout) {
    sockaddr_in a = make_addr(address, port);
    int flags = ::fcntl(fd, F_GETFL);
    ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
    int r = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    if (r != 0 && errno == EINPROGRESS) {
        pollfd p{fd, POLLOUT, 0};
        if (::poll(&p, 1, static_cast<int>(timeout.count())) == 1) {
            int soerr = 0;
            socklen_t sl = sizeof soerr;
            ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
            r = soerr == 0 ? 0 : -1;
        }
    }
    ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
    return r == 0;
}

// A listening TCP socket bound to address:0 (in whatever namespace fd lives in); returns port.
int listen_on(int fd, const std::string& address) {
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a = make_addr(address, 0);
    socklen_t len = sizeof a;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd, 4) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0)
        return 0;
    return ntohs(a.sin_port);
}

int accept_within(int listen_fd, milliseconds timeout) {
    pollfd p{listen_fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) != 1) return -1;
    return ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
}

long ms_left(Clock::time_point deadline) {
    return std::max<long>(
        0, std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count());
}

struct Fd {
    int fd = -1;
    explicit Fd(int f = -1) : fd(f) {}
    ~Fd() {
        if (fd >= 0) ::close(fd);
    }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
};

}  // namespace

int connect_tcp_to(const std::string& address, int port, milliseconds timeout) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    if (!connect_fd(fd, address, port, timeout)) {
        ::close(fd);
        return -1;
    }
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

bool wait_for_rfb_greeting_at(const std::string& address, int port, milliseconds timeout,
                              Process* owner) {
    const auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
        if (owner && !owner->running()) return false;
        Fd c(connect_tcp_to(address, port, milliseconds(1000)));
        if (c.fd >= 0) {
            char buf[12];
            size_t got = 0;
            const auto until = Clock::now() + milliseconds(3000);
            while (got < sizeof buf) {
                pollfd p{c.fd, POLLIN, 0};
                if (::poll(&p, 1, static_cast<int>(ms_left(until))) != 1) break;
                ssize_t n = ::recv(c.fd, buf + got, sizeof buf - got, 0);
                if (n <= 0) break;
                got += static_cast<size_t>(n);
            }
            if (got == sizeof buf && std::memcmp(buf, "RFB ", 4) == 0) return true;
        }
        std::this_thread::sleep_for(milliseconds(100));
    }
    return false;
}

std::optional<Goodput> measure_goodput(NetNs& ns, bool to_ns, size_t bytes, milliseconds timeout,
                                       std::string* error) {
    auto fail = [&](const std::string& why) -> std::optional<Goodput> {
        if (error) *error = why;
        return std::nullopt;
    };
    const auto deadline = Clock::now() + timeout;
    // The receiver listens on its own end of the link; the sender dials across it.
    const std::string rx_addr = to_ns ? ns.ns_address() : ns.host_address();
    Fd listener(to_ns ? ns.socket_in(AF_INET, SOCK_STREAM)
                      : ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    Fd sender(to_ns ? ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)
                    : ns.socket_in(AF_INET, SOCK_STREAM));
    if (listener.fd < 0 || sender.fd < 0)
        return fail(std::string("socket: ") + std::strerror(errno));
    const int port = listen_on(listener.fd, rx_addr);
    if (port == 0) return fail("cannot listen on " + rx_addr + ": " + std::strerror(errno));
    if (!connect_fd(sender.fd, rx_addr, port, milliseconds(ms_left(deadline))))
        return fail("cannot connect to " + rx_addr + ":" + std::to_string(port));
    Fd receiver(accept_within(listener.fd, milliseconds(ms_left(deadline))));
    if (receiver.fd < 0) return fail("no connection to accept");

    std::atomic<bool> give_up{false};
    std::thread tx([&] {
        std::vector<uint8_t> chunk(64 * 1024, 0x5a);
        size_t sent = 0;
        while (sent < bytes && !give_up) {
            pollfd p{sender.fd, POLLOUT, 0};
            if (::poll(&p, 1, 100) != 1) continue;
            ssize_t n = ::send(sender.fd, chunk.data(), std::min(chunk.size(), bytes - sent),
                               MSG_NOSIGNAL | MSG_DONTWAIT);
            if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
            if (n <= 0) break;
            sent += static_cast<size_t>(n);
        }
    });
    std::vector<uint8_t> buf(256 * 1024);
    size_t got = 0;
    Clock::time_point first{}, last{};
    while (got < bytes) {
        pollfd p{receiver.fd, POLLIN, 0};
        const long left = ms_left(deadline);
        if (left <= 0 || ::poll(&p, 1, static_cast<int>(left)) != 1) break;
        ssize_t n = ::recv(receiver.fd, buf.data(), buf.size(), 0);
        if (n <= 0) break;
        if (got == 0) first = Clock::now();
        got += static_cast<size_t>(n);
        last = Clock::now();
    }
    give_up = true;
    tx.join();
    if (got < bytes)
        return fail("received " + std::to_string(got) + " of " + std::to_string(bytes) +
                    " bytes before the deadline");
    Goodput g;
    g.bytes = got;
    g.seconds = std::chrono::duration<double>(last - first).count();
    return g;
}

std::optional<RoundTrips> measure_rtt(NetNs& ns, int rounds, milliseconds timeout,
                                      std::string* error) {
    auto fail = [&](const std::string& why) -> std::optional<RoundTrips> {
        if (error) *error = why;
        return std::nullopt;
    };
    const auto deadline = Clock::now() + timeout;
    Fd listener(ns.socket_in(AF_INET, SOCK_STREAM));
    if (listener.fd < 0) return fail(std::string("socket in namespace: ") + std::strerror(errno));
    const int port = listen_on(listener.fd, ns.ns_address());
    if (port == 0) return fail("cannot listen in the namespace");
    Fd client(connect_tcp_to(ns.ns_address(), port, milliseconds(ms_left(deadline))));
    if (client.fd < 0) return fail("cannot connect across the link");
    Fd server(accept_within(listener.fd, milliseconds(ms_left(deadline))));
    if (server.fd < 0) return fail("no connection to accept");
    int one = 1;
    ::setsockopt(server.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);

    std::thread echo([&] {
        uint8_t b;
        for (;;) {
            pollfd p{server.fd, POLLIN, 0};
            if (::poll(&p, 1, static_cast<int>(ms_left(deadline))) != 1) return;
            if (::recv(server.fd, &b, 1, 0) != 1) return;
            if (::send(server.fd, &b, 1, MSG_NOSIGNAL) != 1) return;
        }
    });
    std::vector<std::chrono::microseconds> samples;
    for (int i = 0; i < rounds; ++i) {
        uint8_t b = static_cast<uint8_t>(i);
        const auto t0 = Clock::now();
        if (::send(client.fd, &b, 1, MSG_NOSIGNAL) != 1) break;
        pollfd p{client.fd, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(ms_left(deadline))) != 1) break;
        if (::recv(client.fd, &b, 1, 0) != 1) break;
        samples.push_back(std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t0));
    }
    ::shutdown(client.fd, SHUT_RDWR);
    echo.join();
    if (samples.size() != static_cast<size_t>(rounds))
        return fail("only " + std::to_string(samples.size()) + " of " + std::to_string(rounds) +
                    " echoes came back in time");
    if (samples.empty()) return fail("no rounds asked for");
    std::sort(samples.begin(), samples.end());
    return RoundTrips{samples.front(), samples[samples.size() / 2], samples.back()};
}

// ---------------------------------------------------------------------------------------------

XvncInNs::XvncInNs(const TempDir& dir, NetNs& ns, XvncOptions opt)
    : dir_(dir), ns_(ns), opt_(std::move(opt)) {}

bool XvncInNs::start(std::string* error) {
    if (!opt_.password.empty()) {
        vncauth_file_ = dir_.file("xvnc-ns-password.vncauth");
        if (!make_vncauth_file(dir_, opt_.password, vncauth_file_, error)) return false;
    }
    std::vector<int> tried;
    std::string last_error = "no attempt";
    for (int attempt = 0; attempt < 3; ++attempt) {
        if (!lease_.acquire(tried)) {
            last_error = "no free X display number";
            break;
        }
        tried.push_back(lease_.number());
        log_ = dir_.file("xvnc-ns-" + std::to_string(attempt) + ".log");
        std::vector<std::string> args = {
            "Xvnc",
            display_name(),
            "-geometry",
            std::to_string(opt_.width) + "x" + std::to_string(opt_.height),
            "-depth",
            "24",
            "-rfbport",
            std::to_string(port()),
            "-interface",
            address(),
            "-nolisten",
            "tcp",
            "-AlwaysShared",
            "-BlacklistThreshold",
            "100000",
            "-SecurityTypes",
            opt_.password.empty() ? "None" : "VncAuth"};
        if (!opt_.password.empty()) {
            args.push_back("-rfbauth");
            args.push_back(vncauth_file_);
        }
        std::string err;
        if (!ns_.run_in(proc_, args, log_, log_, &err)) {
            if (error) *error = err;
            return false;
        }
        if (wait_for_rfb_greeting_at(address(), port(), milliseconds(20000), &proc_)) {
            const std::string sock = "/tmp/.X11-unix/X" + std::to_string(lease_.number());
            for (int i = 0; i < 100 && ::access(sock.c_str(), F_OK) != 0; ++i)
                std::this_thread::sleep_for(milliseconds(50));
            if (::access(sock.c_str(), F_OK) == 0) return true;
            last_error = "Xvnc answers but " + sock + " never appeared";
        } else {
            last_error = "Xvnc did not come up in " + ns_.name() + " on " + address() + ":" +
                         std::to_string(port()) + "; log:\n" + file_tail(log_);
        }
        proc_.stop();
        lease_.release();
    }
    if (error) *error = last_error;
    return false;
}

}  // namespace itest
