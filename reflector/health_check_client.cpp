#include "reflector/health_check_client.h"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>

#include "reflector/printable_text.h"
#include "reflector/socket_address.h"

namespace rfbcast {

namespace {

using Clock = std::chrono::steady_clock;

// A status line longer than this is not one our own HTTP server wrote.
constexpr size_t kMaxHead = 4096;

int report(const std::string& why) {
    std::fprintf(stderr, "rfbcast healthcheck: %s\n", why.c_str());
    return 1;
}

class Fd {
  public:
    explicit Fd(int fd) : fd_(fd) {}
    ~Fd() {
        if (fd_ >= 0) ::close(fd_);
    }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    int get() const { return fd_; }

  private:
    int fd_;
};

// Milliseconds left before `deadline` (0 once it has passed).
int remaining_ms(Clock::time_point deadline) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    return static_cast<int>(std::clamp<int64_t>(left, 0, INT32_MAX));
}

// Waits for `events` on `fd` until the deadline; false on timeout or error (`error` says which).
bool wait_for(int fd, short events, Clock::time_point deadline, std::string& error) {
    for (;;) {
        pollfd p{fd, events, 0};
        const int n = ::poll(&p, 1, remaining_ms(deadline));
        if (n > 0) return true;
        if (n == 0) {
            error = "timed out";
            return false;
        }
        if (errno != EINTR) {
            error = std::string("poll: ") + std::strerror(errno);
            return false;
        }
    }
}

// A connected non-blocking socket, or -1 with `error` set.
int connect_to(const addrinfo& ai, Clock::time_point deadline, std::string& error) {
    const int fd =
        ::socket(ai.ai_family, ai.ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai.ai_protocol);
    if (fd < 0) {
        error = std::string("socket: ") + std::strerror(errno);
        return -1;
    }
    if (::connect(fd, ai.ai_addr, ai.ai_addrlen) != 0) {
        if (errno != EINPROGRESS && errno != EINTR) {
            error = std::string("connect: ") + std::strerror(errno);
            ::close(fd);
            return -1;
        }
        if (!wait_for(fd, POLLOUT, deadline, error)) {
            error = "connect: " + error;
            ::close(fd);
            return -1;
        }
        int so_error = 0;
        socklen_t len = sizeof so_error;
        if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &len) != 0 || so_error != 0) {
            error = std::string("connect: ") + std::strerror(so_error != 0 ? so_error : errno);
            ::close(fd);
            return -1;
        }
    }
    return fd;
}

bool send_all(int fd, const std::string& data, Clock::time_point deadline, std::string& error) {
    size_t sent = 0;
    while (sent < data.size()) {
        const ssize_t n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
        if (n > 0) {
            sent += static_cast<size_t>(n);
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
            if (!wait_for(fd, POLLOUT, deadline, error)) return false;
        } else {
            error = std::string("send: ") + std::strerror(errno);
            return false;
        }
    }
    return true;
}

// Reads until the status line is complete (or the peer closes, or kMaxHead bytes).
bool read_head(int fd, std::string& head, Clock::time_point deadline, std::string& error) {
    std::array<char, 1024> buf;
    while (head.find("\r\n") == std::string::npos && head.size() < kMaxHead) {
        const ssize_t n = ::recv(fd, buf.data(), std::min(buf.size(), kMaxHead - head.size()), 0);
        if (n > 0) {
            head.append(buf.data(), static_cast<size_t>(n));
        } else if (n == 0) {
            return true;
        } else if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
            if (!wait_for(fd, POLLIN, deadline, error)) return false;
        } else {
            error = std::string("recv: ") + std::strerror(errno);
            return false;
        }
    }
    return true;
}

// A request target is sent verbatim, so nothing that could end or split the request line.
bool valid_path(const std::string& path) {
    if (path.empty() || path[0] != '/') return false;
    return std::none_of(path.begin(), path.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u <= 0x20 || u == 0x7f;
    });
}

// The peer's bytes go to a terminal: this much of them, as printable ASCII.
constexpr size_t kMaxEchoedBytes = 200;

}  // namespace

std::optional<int> parse_http_status(std::string_view head) {
    // "HTTP/1.x SSS" then a space (reason phrase, possibly empty) or the line end.
    if (head.size() < 12 || !head.starts_with("HTTP/1.") || head[7] < '0' || head[7] > '9' ||
        head[8] != ' ') {
        return std::nullopt;
    }
    int status = 0;
    for (size_t i = 9; i < 12; ++i) {
        if (head[i] < '0' || head[i] > '9') return std::nullopt;
        status = status * 10 + (head[i] - '0');
    }
    if (head.size() > 12 && head[12] != ' ' && head[12] != '\r') return std::nullopt;
    if (status < 100) return std::nullopt;
    return status;
}

int run_health_check(const std::string& host_port, const std::string& path, int timeout_ms) {
    const auto deadline = Clock::now() + std::chrono::milliseconds(std::max(timeout_ms, 1));
    std::string host, error;
    uint16_t port = 0;
    if (!split_host_port(host_port, host, port, error)) return report(error);
    if (!valid_path(path))
        return report("bad path '" + printable_ascii(path, kMaxEchoedBytes) +
                      "' (want /..., no spaces)");
    // A wildcard listen address is not somewhere to connect to: ask this host's loopback.
    if (host.empty() || host == "0.0.0.0" || host == "*") host = "127.0.0.1";
    if (host == "::") host = "::1";

    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    addrinfo* found = nullptr;
    const std::string port_text = std::to_string(port);
    if (const int rc = ::getaddrinfo(host.c_str(), port_text.c_str(), &hints, &found); rc != 0) {
        return report("cannot resolve '" + host + "': " + ::gai_strerror(rc));
    }
    int fd = -1;
    for (const addrinfo* ai = found; ai != nullptr && fd < 0; ai = ai->ai_next) {
        fd = connect_to(*ai, deadline, error);
    }
    ::freeaddrinfo(found);
    if (fd < 0) return report(host_port + ": " + error);
    const Fd sock(fd);

    const bool v6 = host.find(':') != std::string::npos;
    const std::string authority = (v6 ? "[" + host + "]" : host) + ":" + port_text;
    const std::string request = "GET " + path + " HTTP/1.1\r\nHost: " + authority +
                                "\r\nUser-Agent: rfbcast-healthcheck\r\nConnection: close\r\n\r\n";
    if (!send_all(sock.get(), request, deadline, error)) return report(authority + ": " + error);
    std::string head;
    if (!read_head(sock.get(), head, deadline, error)) return report(authority + ": " + error);
    const auto status = parse_http_status(head);
    if (!status) {
        return report(authority + path + ": " +
                      (head.empty() ? "no response" : "not an HTTP response"));
    }
    if (*status != 200) {
        const auto line_end = head.find("\r\n");
        return report(authority + path + ": " +
                      printable_ascii(std::string_view(head).substr(0, line_end), kMaxEchoedBytes));
    }
    return 0;
}

}  // namespace rfbcast
