#pragma once
// Network namespaces for integration tests: a private namespace joined to the root namespace by
// a point-to-point link with its own /30, shaped (one-way delay, rate, buffer) per direction.
//
// Two ways to build the link, because kernels differ:
// - kKernel: a veth pair, shaped with tc: netem for delay (with its rate), tbf for rate alone.
// - kUserspace: a TUN device at each end and a thread in the test process that moves packets
//   between them, holding each one for the delay and pacing it at the rate (serialisation delay,
//   tail drop when the buffer is full), like netem on a router would. Used when delay is asked
//   for and the kernel has no sch_netem (CONFIG_NET_SCH_NETEM unset, as on this CI's kernel).
//   A qdisc on the sender's own host cannot stand in for it: TCP small queues would throttle the
//   sender while its packets sit in a delaying qdisc, and fq (which honours skb timestamps) is not
//   built here either.
//
// Everything is unique per fixture, so tests run in parallel: the namespace is named
// rfbcast-<pid>-<counter>, the /30 comes from 198.18.0.0/15 (RFC 2544's benchmarking range)
// under an flock'd lease, interfaces are rfbn<lease>h (root end) and rfbn<lease>n. Teardown
// (the destructor, so also after a failed ASSERT) kills what still runs inside, deletes the
// namespace and the root end; leftovers of a crashed test process are swept by the next one.
// Nothing outside the namespaces the tests create and their own root-side interface is touched.
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tests/integration/harness.h"

namespace itest {

struct LinkShape {
    milliseconds delay{0};   // one way
    uint64_t rate_bps = 0;   // 0: not limited
    size_t queue_bytes = 0;  // buffer in front of the bottleneck; 0: 100 ms at the rate, >= 12 KB
    bool shaped() const { return delay.count() > 0 || rate_bps > 0; }
};

enum class Shaper {
    kAuto,       // kKernel when the kernel can do the shapes asked for, else kUserspace
    kKernel,     // veth + tc; create() fails if the kernel lacks what the shapes need
    kUserspace,  // TUN pair + shaping thread
};
const char* shaper_name(Shaper s);

struct NetNsOptions {
    LinkShape to_ns;    // root namespace -> test namespace
    LinkShape from_ns;  // test namespace -> root namespace
    Shaper shaper = Shaper::kAuto;
};

// What this host can do, probed once per process in a throw-away namespace.
struct NetNsSupport {
    bool usable = false;  // root, CAP_NET_ADMIN, `ip netns` works
    std::string why_not;  // when !usable: the precise reason, for GTEST_SKIP
    bool veth = false;
    bool tbf = false;
    bool netem = false;
    bool tun = false;
    std::string detail;  // what failed for veth/tbf/netem/tun, one line each
};
const NetNsSupport& netns_support();

class UserspaceWire;

class NetNs {
  public:
    explicit NetNs(const TempDir& dir);
    ~NetNs();
    NetNs(const NetNs&) = delete;
    NetNs& operator=(const NetNs&) = delete;

    bool create(const NetNsOptions& opt, std::string* error);
    // Kills what runs inside, deletes the namespace and both link ends, frees the subnet.
    void destroy();

    const std::string& name() const { return name_; }
    const std::string& host_address() const { return host_addr_; }  // root end of the link
    const std::string& ns_address() const { return ns_addr_; }      // namespace end
    const std::string& host_interface() const { return host_if_; }
    const std::string& ns_interface() const { return ns_if_; }
    Shaper shaper() const { return shaper_; }  // kKernel or kUserspace once created
    std::string describe() const;

    // Starts argv inside the namespace (through `ip netns exec`), like Process::start.
    bool run_in(Process& proc, const std::vector<std::string>& argv, const std::string& stdout_path,
                const std::string& stderr_path, std::string* error,
                const std::string& stdin_path = "/dev/null");
    // Runs argv inside the namespace to completion; nullopt on timeout. Output in *output.
    std::optional<int> run_in_and_wait(const std::vector<std::string>& argv, std::string* output,
                                       milliseconds timeout = milliseconds(10000));
    // A socket that lives in the namespace (created from a thread that joined it), for servers
    // and clients run by the test process itself. -1 with errno set on failure.
    int socket_in(int domain, int type, int protocol = 0);

    // Cuts the link (`ip link set <root end> down`: nothing crosses in either direction, and
    // neither end's sockets hear about it, as when a home router restarts) or restores it.
    bool set_link_up(bool up, std::string* error);
    // `sysctl -w key=value` inside the namespace only (net.ipv4.tcp_* are per namespace), e.g. so
    // that a server in it gives up on a dead connection in seconds rather than minutes.
    bool set_sysctl(const std::string& key, const std::string& value, std::string* error);

    struct DirectionStats {
        uint64_t packets = 0, bytes = 0, dropped = 0;
    };
    // Userspace shaper counters (zero for kKernel): [0] to the namespace, [1] from it.
    DirectionStats stats(int direction) const;

  private:
    bool fail(std::string* error, const std::string& why);
    bool setup_veth(const NetNsOptions& opt, std::string* error);
    bool setup_tun(const NetNsOptions& opt, std::string* error);
    bool shape_with_tc(const std::string& netns, const std::string& dev, const LinkShape& shape,
                       std::string* error);

    const TempDir& dir_;
    std::string name_, host_addr_, ns_addr_, host_if_, ns_if_;
    Shaper shaper_ = Shaper::kAuto;
    int lease_index_ = -1;
    int lease_fd_ = -1;
    std::unique_ptr<UserspaceWire> wire_;
};

// ---------------------------------------------------------------------------------------------
// Measuring a link from the test process (bounded: every call has a deadline).

// Connects to address:port (IPv4); -1 on failure or timeout.
int connect_tcp_to(const std::string& address, int port, milliseconds timeout);
// Waits until address:port answers with an RFB greeting (or `owner` exits).
bool wait_for_rfb_greeting_at(const std::string& address, int port, milliseconds timeout,
                              Process* owner = nullptr);

struct Goodput {
    size_t bytes = 0;
    double seconds = 0;  // first byte to last byte at the receiver
    double bps() const { return seconds > 0 ? double(bytes) * 8.0 / seconds : 0.0; }
};
// Sends `bytes` over one TCP connection across the link (into the namespace when `to_ns`) and
// times it at the receiver. nullopt (with *error) when it did not finish within `timeout`.
std::optional<Goodput> measure_goodput(NetNs& ns, bool to_ns, size_t bytes, milliseconds timeout,
                                       std::string* error);
struct RoundTrips {
    // Scheduling noise on a busy test machine only ever adds to a sample: `min` is the link's
    // own round trip, `median` what a client typically sees.
    std::chrono::microseconds min{0}, median{0}, max{0};
};
// `rounds` one-byte TCP echoes from the root namespace to the namespace and back.
std::optional<RoundTrips> measure_rtt(NetNs& ns, int rounds, milliseconds timeout,
                                      std::string* error);

// ---------------------------------------------------------------------------------------------

// TigerVNC Xvnc inside a namespace, listening on the namespace end of its link (port 5900 there:
// the namespace is ours) on a leased display. X clients in the root namespace reach it through
// its socket in /tmp/.X11-unix.
class XvncInNs {
  public:
    XvncInNs(const TempDir& dir, NetNs& ns, XvncOptions opt = {});
    bool start(std::string* error);
    void stop() { proc_.stop(); }
    const std::string& address() const { return ns_.ns_address(); }
    int port() const { return 5900; }
    std::string display_name() const { return ":" + std::to_string(lease_.number()); }
    Process& process() { return proc_; }
    std::string log_tail() const { return file_tail(log_); }

  private:
    const TempDir& dir_;
    NetNs& ns_;
    XvncOptions opt_;
    DisplayLease lease_;
    Process proc_;
    std::string log_, vncauth_file_;
};

}  // namespace itest
