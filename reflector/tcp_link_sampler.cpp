#include "reflector/tcp_link_sampler.h"

#include <linux/tcp.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstddef>

namespace rfbcast {

bool sample_tcp_link(int fd, TcpLinkSample& out) {
    tcp_info ti{};
    socklen_t len = sizeof ti;
    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0) return false;
    // Older kernels fill less of the struct: only read what they wrote.
    auto have = [len](size_t end) { return static_cast<size_t>(len) >= end; };
    out = TcpLinkSample{};
    out.rtt_us = ti.tcpi_rtt;
    out.unacked_segments = ti.tcpi_unacked;
    if (have(offsetof(tcp_info, tcpi_bytes_acked) + sizeof ti.tcpi_bytes_acked))
        out.bytes_acked = ti.tcpi_bytes_acked;
    if (have(offsetof(tcp_info, tcpi_min_rtt) + sizeof ti.tcpi_min_rtt))
        out.min_rtt_us = ti.tcpi_min_rtt;
    if (have(offsetof(tcp_info, tcpi_notsent_bytes) + sizeof ti.tcpi_notsent_bytes))
        out.notsent_bytes = ti.tcpi_notsent_bytes;
    if (have(offsetof(tcp_info, tcpi_snd_wnd) + sizeof ti.tcpi_snd_wnd))
        out.peer_window = ti.tcpi_snd_wnd;
    if (have(offsetof(tcp_info, tcpi_delivery_rate) + sizeof ti.tcpi_delivery_rate)) {
        out.delivery_rate = ti.tcpi_delivery_rate;
        out.app_limited = ti.tcpi_delivery_rate_app_limited != 0;
    }
    return true;
}

bool set_notsent_lowat(int fd, uint32_t bytes) {
    const int v = static_cast<int>(bytes);
    return setsockopt(fd, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &v, sizeof v) == 0;
}

}  // namespace rfbcast
