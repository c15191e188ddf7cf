#include "reflector/health_check_client.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace rfbcast {
namespace {

// A one-connection HTTP server on loopback: accepts, reads the request head, then writes
// `chunks` (pausing between them) and closes. With no chunks it holds the connection open
// until the client goes away (or 5 s), to test the client's timeout.
class TinyServer {
  public:
    explicit TinyServer(std::vector<std::string> chunks, bool v6 = false)
        : chunks_(std::move(chunks)) {
        listen_fd_ = ::socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_storage ss{};
        socklen_t len = 0;
        if (v6) {
            auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
            a->sin6_family = AF_INET6;
            a->sin6_addr = in6addr_loopback;
            len = sizeof *a;
        } else {
            auto* a = reinterpret_cast<sockaddr_in*>(&ss);
            a->sin_family = AF_INET;
            a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            len = sizeof *a;
        }
        if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&ss), len) != 0 ||
            ::listen(listen_fd_, 4) != 0 ||
            ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
            return;
        }
        port_ = ntohs(v6 ? reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port
                         : reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
        thread_ = std::thread([this] { serve(); });
    }
    ~TinyServer() {
        if (thread_.joinable()) thread_.join();
        if (listen_fd_ >= 0) ::close(listen_fd_);
    }
    uint16_t port() const { return port_; }
    // Valid once the client has returned (the server thread then has read the request).
    std::string request() {
        if (thread_.joinable()) thread_.join();
        return request_;
    }

  private:
    static bool readable(int fd, int ms) {
        pollfd p{fd, POLLIN, 0};
        return ::poll(&p, 1, ms) > 0;
    }
    void serve() {
        if (!readable(listen_fd_, 5000)) return;
        const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd < 0) return;
        char buf[1024];
        while (request_.find("\r\n\r\n") == std::string::npos && readable(fd, 5000)) {
            const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
            if (n <= 0) break;
            request_.append(buf, static_cast<size_t>(n));
        }
        if (chunks_.empty()) {
            while (readable(fd, 5000) && ::recv(fd, buf, sizeof buf, 0) > 0) {
            }
        }
        for (size_t i = 0; i < chunks_.size(); ++i) {
            if (i > 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
            (void)::send(fd, chunks_[i].data(), chunks_[i].size(), MSG_NOSIGNAL);
        }
        ::close(fd);
    }

    std::vector<std::string> chunks_;
    int listen_fd_ = -1;
    uint16_t port_ = 0;
    std::string request_;
    std::thread thread_;
};

std::string at(uint16_t port) {
    return "127.0.0.1:" + std::to_string(port);
}

const char* const kOk = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n";

TEST(HealthCheckClient, OkIsZeroAndTheRequestIsAPlainGet) {
    TinyServer server({kOk});
    ASSERT_NE(server.port(), 0);
    EXPECT_EQ(run_health_check(at(server.port()), "/healthz", 2000), 0);
    const std::string req = server.request();
    EXPECT_TRUE(req.starts_with("GET /healthz HTTP/1.1\r\n")) << req;
    EXPECT_NE(req.find("\r\nHost: 127.0.0.1:" + std::to_string(server.port()) + "\r\n"),
              std::string::npos)
        << req;
    EXPECT_TRUE(req.ends_with("\r\n\r\n"));
}

TEST(HealthCheckClient, WildcardListenAddressesMeanLoopback) {
    TinyServer server({kOk});
    EXPECT_EQ(run_health_check("0.0.0.0:" + std::to_string(server.port()), "/healthz", 2000), 0);
    TinyServer bare({kOk});
    EXPECT_EQ(run_health_check(":" + std::to_string(bare.port()), "/healthz", 2000), 0);
}

TEST(HealthCheckClient, Ipv6WildcardMeansIpv6Loopback) {
    TinyServer server({kOk}, /*v6=*/true);
    if (server.port() == 0) GTEST_SKIP() << "no IPv6 loopback here";
    EXPECT_EQ(run_health_check("[::]:" + std::to_string(server.port()), "/healthz", 2000), 0);
    EXPECT_NE(server.request().find("\r\nHost: [::1]:"), std::string::npos);
}

TEST(HealthCheckClient, ResponseSplitAcrossWritesIsRead) {
    TinyServer server({"HTTP/1.1 2", "00 OK\r", "\nContent-Length: 0\r\n\r\n"});
    EXPECT_EQ(run_health_check(at(server.port()), "/healthz", 2000), 0);
}

TEST(HealthCheckClient, NonOkStatusIsOne) {
    TinyServer server({"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n"});
    EXPECT_EQ(run_health_check(at(server.port()), "/healthz", 2000), 1);
    TinyServer redirect({"HTTP/1.0 301 Moved\r\n\r\n"});
    EXPECT_EQ(run_health_check(at(redirect.port()), "/healthz", 2000), 1);
}

TEST(HealthCheckClient, GarbageOrNoResponseIsOne) {
    TinyServer garbage({"RFB 003.008\n"});
    EXPECT_EQ(run_health_check(at(garbage.port()), "/healthz", 2000), 1);
    TinyServer closes({""});
    EXPECT_EQ(run_health_check(at(closes.port()), "/healthz", 2000), 1);
    TinyServer binary({std::string("HTTP/1.1 200\x1b[2J\r\n", 18)});
    EXPECT_EQ(run_health_check(at(binary.port()), "/healthz", 2000), 1);
}

TEST(HealthCheckClient, SilentServerTimesOut) {
    TinyServer server({});
    const auto start = std::chrono::steady_clock::now();
    EXPECT_EQ(run_health_check(at(server.port()), "/healthz", 200), 1);
    const auto took = std::chrono::steady_clock::now() - start;
    EXPECT_GE(took, std::chrono::milliseconds(150));
    EXPECT_LT(took, std::chrono::seconds(3));
}

TEST(HealthCheckClient, NothingListeningIsOne) {
    // A port that was just free: bind, read it back, close.
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), len), 0);
    ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len), 0);
    ::close(fd);
    EXPECT_EQ(run_health_check(at(ntohs(a.sin_port)), "/healthz", 1000), 1);
}

TEST(HealthCheckClient, BadArgumentsAreOneWithoutConnecting) {
    EXPECT_EQ(run_health_check("nonsense", "/healthz", 1000), 1);
    EXPECT_EQ(run_health_check("127.0.0.1:0", "/healthz", 1000), 1);
    EXPECT_EQ(run_health_check("127.0.0.1:70000", "/healthz", 1000), 1);
    EXPECT_EQ(run_health_check("127.0.0.1:9", "healthz", 1000), 1);
    EXPECT_EQ(run_health_check("127.0.0.1:9", "/a b", 1000), 1);
    EXPECT_EQ(run_health_check("127.0.0.1:9", "/a\r\nX: y", 1000), 1);
    EXPECT_EQ(run_health_check("127.0.0.1:9", "", 1000), 1);
}

TEST(HealthCheckClient, ParsesStatusLines) {
    EXPECT_EQ(parse_http_status("HTTP/1.1 200 OK\r\n"), 200);
    EXPECT_EQ(parse_http_status("HTTP/1.0 404 Not Found\r\n"), 404);
    EXPECT_EQ(parse_http_status("HTTP/1.1 204\r\n"), 204);
    EXPECT_EQ(parse_http_status("HTTP/1.1 200"), 200);
    EXPECT_FALSE(parse_http_status("HTTP/1.1 20"));
    EXPECT_FALSE(parse_http_status("HTTP/2 200 OK\r\n"));
    EXPECT_FALSE(parse_http_status("HTTP/1.1 2x0 OK\r\n"));
    EXPECT_FALSE(parse_http_status("HTTP/1.1 2000 OK\r\n"));
    EXPECT_FALSE(parse_http_status("HTTP/1.1 099 Low\r\n"));
    EXPECT_FALSE(parse_http_status("http/1.1 200 OK\r\n"));
    EXPECT_FALSE(parse_http_status(""));
}

}  // namespace
}  // namespace rfbcast
