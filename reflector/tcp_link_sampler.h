#pragma once
#include <cstdint>

namespace rfbcast {

// What the kernel knows about one TCP connection's sending side (TCP_INFO), in the units pacing
// uses. Reading it is a getsockopt, not I/O: it stays off the io_uring path.
struct TcpLinkSample {
    uint64_t bytes_acked = 0;    // by the peer, since the connection started
    uint64_t delivery_rate = 0;  // bytes/s, the kernel's latest delivery-rate sample
    bool app_limited = false;    // that sample was limited by us, not by the link
    uint32_t rtt_us = 0, min_rtt_us = 0;
    uint32_t notsent_bytes = 0;  // queued in the socket, not yet sent
    uint32_t unacked_segments = 0;
    // The receive window the peer advertises: it shrinks by what the peer's kernel holds that
    // its application has not read (0 when the kernel does not say).
    uint32_t peer_window = 0;
};

// False (sample untouched) when the socket is not TCP or the kernel refuses.
bool sample_tcp_link(int fd, TcpLinkSample& out);

// TCP_NOTSENT_LOWAT: the socket reports writable only while less than `bytes` wait unsent, so
// what an application writes next is not stuck behind a deep queue of older data.
bool set_notsent_lowat(int fd, uint32_t bytes);

}  // namespace rfbcast
