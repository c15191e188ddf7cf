#pragma once
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <mutex>
#include <set>

namespace rfbcast::test {

// A loopback TCP port nothing listens on, for a test to bind later. The kernel may hand out a
// port it just freed again, so one test process never gets the same port twice (the
// integration harness's free_tcp_port does the same; a test asking for three ports in a row
// could otherwise get one of them twice).
inline uint16_t free_loopback_port() {
    static std::mutex mutex;
    static std::set<uint16_t> handed_out;
    const std::lock_guard<std::mutex> lock(mutex);
    for (int attempt = 0; attempt < 64; ++attempt) {
        const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) return 0;
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof a;
        uint16_t port = 0;
        if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
            ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
            port = ntohs(a.sin_port);
        ::close(fd);
        if (port != 0 && handed_out.insert(port).second) return port;
    }
    return 0;
}

}  // namespace rfbcast::test
