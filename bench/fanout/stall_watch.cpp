#include "bench/fanout/stall_watch.h"

#include <poll.h>
#include <sys/socket.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace fanout {
namespace {

constexpr unsigned kTcpListen = 0x0A;

// "0100007F:1F90" -> 0x1F90; nothing when there is no port or it does not fit 16 bits.
std::optional<uint16_t> port_of(const std::string& address) {
    const size_t colon = address.rfind(':');
    if (colon == std::string::npos || colon + 1 >= address.size()) return std::nullopt;
    char* end = nullptr;
    const unsigned long port = std::strtoul(address.c_str() + colon + 1, &end, 16);
    if (*end != '\0' || port > 0xFFFF) return std::nullopt;
    return static_cast<uint16_t>(port);
}

}  // namespace

std::optional<TcpEnd> parse_proc_net_tcp_line(std::string_view line) {
    // sl local rem st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode ...
    std::istringstream in{std::string(line)};
    std::string slot, local, remote, st, queues, timer, retransmits;
    uint64_t uid = 0, timeout = 0, inode = 0;
    if (!(in >> slot >> local >> remote >> st >> queues >> timer >> retransmits >> uid >> timeout >>
          inode))
        return std::nullopt;
    if (slot.empty() || slot.back() != ':') return std::nullopt;
    const auto lp = port_of(local), rp = port_of(remote);
    if (!lp || !rp) return std::nullopt;
    char* end = nullptr;
    const unsigned long state = std::strtoul(st.c_str(), &end, 16);
    if (*end != '\0' || st.empty() || state > 0xFF) return std::nullopt;
    return TcpEnd{static_cast<unsigned>(state), inode, *lp, *rp};
}

bool sockets_on_port(uint16_t port, std::unordered_map<uint16_t, TcpEnd>& out) {
    out.clear();
    bool read_any = false;
    for (const char* path : {"/proc/net/tcp", "/proc/net/tcp6"}) {
        std::ifstream f(path);
        if (!f) continue;
        read_any = true;
        std::string line;
        // One line per socket on the machine: bounded by what the kernel has.
        while (std::getline(f, line)) {
            const auto e = parse_proc_net_tcp_line(line);
            if (!e || e->local_port != port || e->state == kTcpListen) continue;
            auto [it, inserted] = out.try_emplace(e->remote_port, *e);
            if (!inserted && it->second.inode == 0) it->second = *e;
        }
    }
    return read_any;
}

bool peer_hung_up(int fd) {
    if (fd < 0) return true;
    pollfd p{fd, POLLRDHUP, 0};
    if (poll(&p, 1, 0) == 1 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR))) return true;
    int err = 0;
    socklen_t len = sizeof err;
    return getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err != 0;
}

StallVerdict judge_stalled(bool hung_up, const TcpEnd* end) {
    if (hung_up) return {true, "FIN/RST reached the viewer"};
    if (!end) return {true, "the reflector's socket is gone"};
    if (end->inode == 0 || end->state != kTcpEstablished) {
        char buf[96];
        std::snprintf(buf, sizeof buf, "the reflector closed its socket (TCP state %02X%s)",
                      end->state, end->inode == 0 ? ", orphaned" : "");
        return {true, buf};
    }
    return {};
}

}  // namespace fanout
