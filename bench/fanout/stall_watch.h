#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

// Whether the reflector has closed a connection to a viewer that no longer reads. The viewer
// cannot simply read to find out: its receive buffer is full, so a FIN from the reflector sits
// behind data the reflector cannot send into a zero window and never arrives, and reading would
// end the stall. Two checks that need no read:
//  - this end: poll() for POLLRDHUP/POLLHUP/POLLERR — an RST (or a FIN that did get through);
//  - the reflector's end, from /proc/net/tcp (both ends of a loopback connection are listed):
//    once the reflector close()s its socket the kernel keeps it as an orphan (inode 0), in
//    FIN_WAIT1 while the unsent data waits for a window that never opens, and it disappears
//    after an RST or abort. Any of "not ESTABLISHED", "inode 0" and "no longer listed" means
//    the reflector has let go of the connection; an entry that is still ESTABLISHED with an
//    inode means a process still holds it.
namespace fanout {

inline constexpr unsigned kTcpEstablished = 0x01;

struct TcpEnd {
    unsigned state = 0;  // the kernel's TCP state number (/proc/net/tcp "st", hex)
    uint64_t inode = 0;  // 0: no process holds the socket (orphan, TIME_WAIT)
    uint16_t local_port = 0, remote_port = 0;
};

// One data line of /proc/net/tcp or tcp6, or nothing for the header or a malformed line.
std::optional<TcpEnd> parse_proc_net_tcp_line(std::string_view line);

// The sockets whose local port is `port` (the reflector's accepted connections when `port` is
// its listening port), by remote port; listening sockets are left out. When a remote port is
// listed twice (an old TIME_WAIT next to a live connection), the entry with an inode wins.
// False when neither file could be read.
bool sockets_on_port(uint16_t port, std::unordered_map<uint16_t, TcpEnd>& out);

// True when the kernel reports the peer gone on `fd` (RST, or FIN) without reading from it.
bool peer_hung_up(int fd);

struct StallVerdict {
    bool closed = false;
    std::string how;  // empty while open
};

// Combines both checks. `end` is the reflector's end of the connection, nullptr when
// /proc/net/tcp no longer lists it.
StallVerdict judge_stalled(bool hung_up, const TcpEnd* end);

// What became of one stalled viewer.
struct StallOutcome {
    bool stalled = false;  // it was connected when stall() came, and stopped
    bool closed = false;   // the reflector let go of the connection
    double after_s = 0;    // seconds from the stall to when that was first seen
    std::string how;       // how it was seen, or why it could not be watched
};

}  // namespace fanout
