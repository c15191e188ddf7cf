// The operations endpoint with real sockets on loopback: the event loop runs on the test thread,
// blocking clients (raw sockets and run_health_check) on a second one.
#include "reflector/ops_server.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "metrics/metrics.h"
#include "reflector/health_check_client.h"
#include "tests/unit/reflector/loopback_port.h"

namespace rfbcast {
namespace {

using namespace std::chrono_literals;

constexpr std::string_view kPlain = "text/plain; charset=utf-8";

bool iequal(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
        auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c; };
        if (lower(a[i]) != lower(b[i])) return false;
    }
    return true;
}

struct Response {
    int status = 0;
    std::string head;  // status line and fields, without the empty line
    std::string body;

    // The first field with this name, or "<none>".
    std::string header(std::string_view name) const {
        size_t pos = head.find("\r\n");
        while (pos != std::string::npos) {
            const size_t start = pos + 2;
            const size_t end = head.find("\r\n", start);
            const std::string line = head.substr(start, end - start);
            const size_t colon = line.find(':');
            if (colon != std::string::npos && iequal(line.substr(0, colon), name)) {
                size_t v = colon + 1;
                while (v < line.size() && line[v] == ' ')
                    ++v;
                return line.substr(v);
            }
            pos = end;
        }
        return "<none>";
    }
};

// A blocking loopback client; every read has a deadline.
class Client {
  public:
    explicit Client(uint16_t port) {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a.sin_port = htons(port);
        int one = 1;
        ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        timeval tv{5, 0};
        ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    }
    // With a small receive buffer (set before connecting), so that answers back up quickly.
    Client(uint16_t port, int rcvbuf) {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
        timeval tv{5, 0};
        ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a.sin_port = htons(port);
        connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    }
    ~Client() { close(); }
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;

    bool connected() const { return connected_; }
    void close() {
        if (fd_ >= 0) ::close(fd_);
        fd_ = -1;
    }
    // Closes with a reset instead of a FIN (SO_LINGER with a zero timeout).
    void reset() {
        linger l{1, 0};
        ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &l, sizeof l);
        close();
    }
    bool send(std::string_view s) {
        size_t sent = 0;
        while (sent < s.size()) {
            const ssize_t n = ::send(fd_, s.data() + sent, s.size() - sent, MSG_NOSIGNAL);
            if (n <= 0) return false;
            sent += static_cast<size_t>(n);
        }
        return true;
    }
    // One byte per segment (TCP_NODELAY, a pause between bytes).
    bool send_bytewise(std::string_view s) {
        for (char c : s) {
            if (!send(std::string_view(&c, 1))) return false;
            std::this_thread::sleep_for(1ms);
        }
        return true;
    }

    // The next response; nullopt on timeout, close or a malformed head. `head_only`: the request
    // was HEAD, so no body follows whatever Content-Length says.
    std::optional<Response> read_response(bool head_only = false, int timeout_ms = 5000) {
        const auto deadline =
            std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
        size_t end;
        while ((end = buf_.find("\r\n\r\n")) == std::string::npos)
            if (!fill(deadline)) return std::nullopt;
        Response r;
        r.head = buf_.substr(0, end);
        buf_.erase(0, end + 4);
        if (r.head.size() < 12 || r.head.compare(0, 9, "HTTP/1.1 ") != 0) return std::nullopt;
        r.status = std::stoi(r.head.substr(9, 3));
        const std::string length = r.header("Content-Length");
        if (length == "<none>" || length.empty() ||
            length.find_first_not_of("0123456789") != std::string::npos)
            return std::nullopt;
        const size_t n = std::stoul(length);
        if (head_only) return r;
        while (buf_.size() < n)
            if (!fill(deadline)) return std::nullopt;
        r.body = buf_.substr(0, n);
        buf_.erase(0, n);
        return r;
    }

    // Whether the server ends the connection (EOF or reset) within `timeout_ms`; what it sent
    // before that (beyond what was already read) goes to `rest`.
    bool closed_within(int timeout_ms, std::string* rest = nullptr, size_t* total = nullptr) {
        const auto deadline =
            std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
        size_t count = buf_.size();
        for (;;) {
            const bool got = fill(deadline);
            count += buf_.size();
            if (rest && rest->size() < 4096) rest->append(buf_);
            buf_.clear();
            if (!got) {
                if (total) *total = count;
                return eof_;
            }
        }
    }

  private:
    // One recv into buf_. False on timeout, or on EOF / error (eof_ set).
    bool fill(std::chrono::steady_clock::time_point deadline) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                              deadline - std::chrono::steady_clock::now())
                              .count();
        if (left <= 0) return false;
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(left)) <= 0) return false;
        char chunk[16384];
        const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
        if (n <= 0) {
            eof_ = true;
            return false;
        }
        buf_.append(chunk, static_cast<size_t>(n));
        return true;
    }

    int fd_ = -1;
    bool connected_ = false;
    bool eof_ = false;
    std::string buf_;
};

std::string get(std::string_view path, std::string_view extra_headers = "") {
    return "GET " + std::string(path) + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
           std::string(extra_headers) + "\r\n";
}

class OpsServerTest : public ::testing::Test {
  protected:
    void SetUp() override {
        std::string err;
        loop_ = EventLoop::create(256, &err);
        ASSERT_TRUE(loop_) << err;
    }
    void TearDown() override {
        server_.reset();
        // Let closed connections finish their teardown before the loop goes.
        if (loop_) loop_->run_until([] { return false; }, 50ms);
    }

    OpsHandlers handlers() {
        OpsHandlers h;
        h.render_metrics = [this] {
            ++renders_;
            return metrics_body_;
        };
        h.ready = [this] { return ready_.load(); };
        h.on_accepted = [this] { ++accepted_; };
        h.on_refused = [this] { ++refused_; };
        return h;
    }
    // Listen addresses refuse port 0 (a config naming it is a mistake), so take a port that was
    // free a moment ago, and another if someone else took it meanwhile.
    void start(OpsLimits limits = {}) { start_with(handlers(), limits); }
    void start_with(OpsHandlers h, OpsLimits limits = {}) {
        server_ = std::make_unique<OpsServer>(*loop_, std::move(h), limits);
        std::string err;
        for (int attempt = 0; attempt < 5; ++attempt) {
            const uint16_t want = test::free_loopback_port();
            if (server_->listen("127.0.0.1:" + std::to_string(want), err)) {
                port_ = server_->port();
                EXPECT_EQ(port_, want);
                return;
            }
        }
        FAIL() << err;
    }
    // Runs `client_side` on its own thread while the loop turns here.
    void run(const std::function<void()>& client_side) {
        std::atomic<bool> done{false};
        std::thread t([&] {
            client_side();
            done = true;
        });
        // The loop sleeps until I/O or a timer: a tick makes it see `done` soon.
        EventLoop::TimerId tick_id = 0;
        std::function<void()> tick = [&] { tick_id = loop_->add_timer(5ms, tick); };
        tick();
        loop_->run_until([&] { return done.load(); }, 30s);
        loop_->cancel_timer(tick_id);
        t.join();
    }

    std::unique_ptr<EventLoop> loop_;
    std::unique_ptr<OpsServer> server_;
    uint16_t port_ = 0;
    std::string metrics_body_ = "# TYPE x counter\nx 1\n";
    std::atomic<bool> ready_{true};
    std::atomic<int> renders_{0}, accepted_{0}, refused_{0};
};

TEST_F(OpsServerTest, PortIsTheBoundOneAndZeroWhenNotListening) {
    OpsServer idle(*loop_, OpsHandlers{});
    EXPECT_EQ(idle.port(), 0);
    ASSERT_NO_FATAL_FAILURE(start());
    EXPECT_NE(port_, 0);
    std::string err;
    OpsServer second(*loop_, OpsHandlers{});
    EXPECT_FALSE(second.listen("127.0.0.1:" + std::to_string(port_), err));
    EXPECT_NE(err.find("in use"), std::string::npos) << err;
    OpsServer bad(*loop_, OpsHandlers{});
    EXPECT_FALSE(bad.listen("not-an-address", err));
}

TEST_F(OpsServerTest, HealthzIsOkWithLengthAndNoStore) {
    ASSERT_NO_FATAL_FAILURE(start());
    run([&] {
        Client c(port_);
        ASSERT_TRUE(c.connected());
        ASSERT_TRUE(c.send(get("/healthz")));
        auto r = c.read_response();
        ASSERT_TRUE(r);
        EXPECT_EQ(r->status, 200);
        EXPECT_EQ(r->body, "ok\n");
        EXPECT_EQ(r->header("Content-Length"), "3");
        EXPECT_EQ(r->header("Content-Type"), kPlain);
        EXPECT_EQ(r->header("Cache-Control"), "no-store");
        EXPECT_EQ(r->header("Connection"), "keep-alive");
    });
    EXPECT_EQ(accepted_, 1);
    EXPECT_EQ(renders_, 0);
}

TEST_F(OpsServerTest, ReadyzFlipsTo503WhenDraining) {
    ASSERT_NO_FATAL_FAILURE(start());
    run([&] {
        Client c(port_);
        ASSERT_TRUE(c.send(get("/readyz")));
        auto r = c.read_response();
        ASSERT_TRUE(r);
        EXPECT_EQ(r->status, 200);
        EXPECT_EQ(r->body, "ready\n");
        EXPECT_EQ(r->header("Cache-Control"), "no-store");

        ready_ = false;
        ASSERT_TRUE(c.send(get("/readyz")));
        r = c.read_response();
        ASSERT_TRUE(r);
        EXPECT_EQ(r->status, 503);
        EXPECT_EQ(r->body, "draining\n");
        EXPECT_EQ(r->header("Content-Length"), "9");
        EXPECT_EQ(r->header("Cache-Control"), "no-store");

        // Draining does not make the process unhealthy.
        ASSERT_TRUE(c.send(get("/healthz")));
        r = c.read_response();
        ASSERT_TRUE(r);
        EXPECT_EQ(r->status, 200);
    });
}

TEST_F(OpsServerTest, HealthCheckClientSeesEachPath) {
    ASSERT_NO_FATAL_FAILURE(start());
    run([&] {
        const std::string at = "127.0.0.1:" + std::to_string(port_);
        EXPECT_EQ(run_health_check(at, "/healthz", 2000), 0);
        EXPECT_EQ(run_health_check(at, "/readyz", 2000), 0);
        EXPECT_EQ(run_health_check(at, "/metrics", 2000), 0);
        EXPECT_EQ(run_health_check(at, "/readyz?probe=k8s", 2000), 0);
        EXPECT_EQ(run_health_check(at, "/nothing", 2000), 1);
        EXPECT_EQ(run_health_check("0.0.0.0:" + std::to_string(port_), "/healthz", 2000), 0);
        ready_ = false;
        EXPECT_EQ(run_health_check(at, "/readyz", 2000), 1);
        EXPECT_EQ(run_health_check(at, "/healthz", 2000), 0);
    });
}

TEST_F(OpsServerTest, MetricsServesTheRenderedBody) {
    ASSERT_NO_FATAL_FAILURE(start());
    run([&] {
        Client c(port_);
        ASSERT_TRUE(c.send(get("/metrics")));
        auto r = c.read_response();
        ASSERT_TRUE(r);
        EXPECT_EQ(r->status, 200);
        EXPECT_EQ(r->header("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
        EXPECT_EQ(r->header("Cache-Control"), "no-store");
        EXPECT_EQ(r->body, "# TYPE x counter\nx 1\n");
        EXPECT_EQ(r->header("Content-Length"), "21");
    });
    EXPECT_EQ(renders_, 1);
}

TEST_F(OpsServerTest, MetricsFromARealRegistry) {
    metrics::Metrics m("7.7.7-test");
    OpsHandlers h;
    h.render_metrics = [&m] { return m.render(); };
    h.on_accepted = [&m] { m.accepted(metrics::Listener::kMetrics); };
    ASSERT_NO_FATAL_FAILURE(start_with(std::move(h)));
    run([&] {
        Client c(port_);
        ASSERT_TRUE(c.send(get("/metrics")));
        auto r = c.read_response();
        ASSERT_TRUE(r);
        EXPECT_EQ(r->status, 200);
        EXPECT_EQ(r->header("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
        EXPECT_EQ(r->header("Content-Length"), std::to_string(r->body.size()));
        const std::string body = "\n" + r->body;
        EXPECT_NE(body.find("\nrfbcast_build_info{version=\"7.7.7-test\"} 1\n"), std::string::npos)
            << r->body;
        // This very connection was counted before the page was rendered.
        EXPECT_NE(body.find("\nrfbcast_connections_accepted_total{listener=\"metrics\"} 1\n"),
                  std::string::npos);
        EXPECT_NE(body.find("\n# TYPE rfbcast_connections_accepted_total counter\n"),
                  std::string::npos);
    });
}

TEST_F(OpsServerTest, NoMetricsRendererMeans404) {
    OpsHandlers h;  // nothing: /metrics absent, always ready
    ASSERT_NO_FATAL_FAILURE(start_with(std::move(h)));
    run([&] {
        Client c(port_);
        ASSERT_TRUE(c.send(get("/metrics")));
        auto r = c.read_response();
        ASSERT_TRUE(r);
        EXPECT_EQ(r->status, 404);
        ASSERT_TRUE(c.send(get("/readyz")));
        r = c.read_response();
        ASSERT_TRUE(r);
        EXPECT_EQ(r->status, 200);
        EXPECT_EQ(r->body, "ready\n");
    });
}

TEST_F(OpsServerTest, HeadHasTheLengthButNoBody) {
    metrics_body_.assign(5001, 'm');
    metrics_body_.back() = '\n';
    ASSERT_NO_FATAL_FAILURE(start());
    run([&] {
        Client c(port_);
        ASSERT_TRUE(c.send("HEAD /metrics HTTP/1.1\r\nHost: h\r\n\r\n"));
        auto r = c.read_response(/*head_only=*/true);
        ASSERT_TRUE(r);
        EXPECT_EQ(r->status, 200);
        EXPECT_EQ(r->header("Content-Length"), "5001");
        EXPECT_EQ(r->header("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
        // Had a body followed, this would read its bytes as the next response.
        ASSERT_TRUE(c.send("HEAD /healthz HTTP/1.1\r\nHost: h\r\n\r\n"));
        r = c.read_response(true);
        ASSERT_TRUE(r);
        EXPECT_EQ(r->status, 200);
        EXPECT_EQ(r->header("Content-Length"), "3");
        ASSERT_TRUE(c.send(get("/healthz")));
        r = c.read_response();
        ASSERT_TRUE(r);
        EXPECT_EQ(r->status, 200);
        EXPECT_EQ(r->body, "ok\n");
    });
}

TEST_F(OpsServerTest, OtherPathsAre404AndKeepTheConnection) {
    ASSERT_NO_FATAL_FAILURE(start());
    run([&] {
        Client c(port_);
        for (const char* path : {"/", "/healthz/", "/HEALTHZ", "/metrics/x", "/readyz.html"}) {
            ASSERT_TRUE(c.send(get(path)));
            auto r = c.read_response();
            ASSERT_TRUE(r) << path;
            EXPECT_EQ(r->status, 404) << path;
            EXPECT_EQ(r->header("Cache-Control"), "no-store");
            EXPECT_EQ(r->header("Content-Length"), std::to_string(r->body.size()));
        }
        ASSERT_TRUE(c.send(get("/healthz")));
        auto r = c.read_response();
        ASSERT_TRUE(r);
        EXPECT_EQ(r->status, 200);
    });
}

TEST_F(OpsServerTest, QueryStringsAreIgnored) {
    ASSERT_NO_FATAL_FAILURE(start());
    run([&] {
        Client c(port_);
        ASSERT_TRUE(c.send(get("/readyz?verbose=1&x")));
        auto r = c.read_response();
        ASSERT_TRUE(r);
        EXPECT_EQ(r->status, 200);
        EXPECT_EQ(r->body, "ready\n");
        ASSERT_TRUE(c.send(get("/metrics?name[]=x")));
        r = c.read_response();
        ASSERT_TRUE(r);
        EXPECT_EQ(r->status, 200);
        EXPECT_EQ(r->body, metrics_body_);
    });
}

TEST_F(OpsServerTest, OtherMethodsAre405WithAllowAndClose) {
    ASSERT_NO_FATAL_FAILURE(start());
    run([&] {
        for (const char* method : {"POST", "PUT", "DELETE", "OPTIONS"}) {
            Client c(port_);
            ASSERT_TRUE(c.send(std::string(method) +
                               " /metrics HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n"));
            auto r = c.read_response();
            ASSERT_TRUE(r) << method;
            EXPECT_EQ(r->status, 405) << method;
            EXPECT_EQ(r->header("Allow"), "GET, HEAD");
            EXPECT_EQ(r->header("Connection"), "close");
            EXPECT_TRUE(c.closed_within(2000)) << method;
        }
        // A method HTTP does not define at all: the parser's 501, and the connection ends.
        Client c(port_);
        ASSERT_TRUE(c.send("BREW /metrics HTTP/1.1\r\nHost: h\r\n\r\n"));
        auto r = c.read_response();
        ASSERT_TRUE(r);
        EXPECT_EQ(r->status, 501);
        EXPECT_TRUE(c.closed_within(2000));
    });
    EXPECT_EQ(renders_, 0);
}

TEST_F(OpsServerTest, RequestBodiesAreRefusedAndClose) {
    ASSERT_NO_FATAL_FAILURE(start());
    run([&] {
        {
            Client c(port_);
            ASSERT_TRUE(
                c.send("GET /metrics HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\nabcd"));
            auto r = c.read_response();
            ASSERT_TRUE(r);
            EXPECT_EQ(r->status, 413);
            EXPECT_TRUE(c.closed_within(2000));
        }
        {
            Client c(port_);
            ASSERT_TRUE(c.send(
                "GET /metrics HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"));
            auto r = c.read_response();
            ASSERT_TRUE(r);
            EXPECT_EQ(r->status, 501);
            EXPECT_TRUE(c.closed_within(2000));
        }
        {
            Client c(port_);
            ASSERT_TRUE(c.send("GET /metrics HTTP/1.1\r\nHost: h\r\nContent-Length: x\r\n\r\n"));
            auto r = c.read_response();
            ASSERT_TRUE(r);
            EXPECT_EQ(r->status, 400);
            EXPECT_TRUE(c.closed_within(2000));
        }
        {
            // An explicit empty body is no body.
            Client c(port_);
            ASSERT_TRUE(c.send(get("/healthz", "Content-Length: 0\r\n")));
            auto r = c.read_response();
            ASSERT_TRUE(r);
            EXPECT_EQ(r->status, 200);
        }
    });
    EXPECT_EQ(renders_, 0);
}

TEST_F(OpsServerTest, MalformedRequestsAre400AndClose) {
    ASSERT_NO_FATAL_FAILURE(start());
    run([&] {
        for (const char* bad : {"GET /healthz\r\n\r\n", "GET /healthz HTTP/1.1\n\n",
                                "GET /healthz HTTP/1.1\r\n\r\n" /* no Host */,
                                "GET http://x/healthz HTTP/1.1\r\nHost: x\r\n\r\n"}) {
            Client c(port_);
            ASSERT_TRUE(c.send(bad));
            auto r = c.read_response();
            ASSERT_TRUE(r) << bad;
            EXPECT_EQ(r->status, 400) << bad;
            EXPECT_TRUE(c.closed_within(2000)) << bad;
        }
    });
}

TEST_F(OpsServerTest, KeepAliveServesSeveralRequestsOnOneSocket) {
    ASSERT_NO_FATAL_FAILURE(start());
    run([&] {
        Client c(port_);
        for (int i = 0; i < 5; ++i) {
            ASSERT_TRUE(c.send(get(i % 2 ? "/readyz" : "/healthz")));
            auto r = c.read_response();
            ASSERT_TRUE(r) << i;
            EXPECT_EQ(r->status, 200);
            EXPECT_EQ(r->body, i % 2 ? "ready\n" : "ok\n");
            EXPECT_EQ(r->header("Connection"), "keep-alive");
        }
    });
    EXPECT_EQ(accepted_, 1);
}

TEST_F(OpsServerTest, PipelinedRequestsAreAnsweredInOrder) {
    ASSERT_NO_FATAL_FAILURE(start());
    run([&] {
        Client c(port_);
        ASSERT_TRUE(c.send(get("/healthz") + get("/nope") +
                           "HEAD /readyz HTTP/1.1\r\nHost: h\r\n\r\n" + get("/metrics")));
        auto a = c.read_response();
        auto b = c.read_response();
        auto h = c.read_response(true);
        auto m = c.read_response();
        ASSERT_TRUE(a && b && h && m);
        EXPECT_EQ(a->status, 200);
        EXPECT_EQ(a->body, "ok\n");
        EXPECT_EQ(b->status, 404);
        EXPECT_EQ(h->status, 200);
        EXPECT_EQ(h->header("Content-Length"), "6");
        EXPECT_EQ(m->status, 200);
        EXPECT_EQ(m->body, metrics_body_);
    });
}

TEST_F(OpsServerTest, ConnectionCloseIsHonoured) {
    ASSERT_NO_FATAL_FAILURE(start());
    run([&] {
        {
            Client c(port_);
            ASSERT_TRUE(c.send(get("/healthz", "Connection: close\r\n")));
            auto r = c.read_response();
            ASSERT_TRUE(r);
            EXPECT_EQ(r->status, 200);
            EXPECT_EQ(r->body, "ok\n");
            EXPECT_EQ(r->header("Connection"), "close");
            std::string rest;
            EXPECT_TRUE(c.closed_within(2000, &rest));
            EXPECT_EQ(rest, "");
        }
        {
            // Case-insensitive, inside a list.
            Client c(port_);
            ASSERT_TRUE(c.send(get("/readyz", "Connection: TE, Close\r\n")));
            auto r = c.read_response();
            ASSERT_TRUE(r);
            EXPECT_EQ(r->header("Connection"), "close");
            EXPECT_TRUE(c.closed_within(2000));
        }
        {
            // HTTP/1.0 closes unless asked to keep the connection.
            Client c(port_);
            ASSERT_TRUE(c.send("GET /healthz HTTP/1.0\r\n\r\n"));
            auto r = c.read_response();
            ASSERT_TRUE(r);
            EXPECT_EQ(r->status, 200);
            EXPECT_EQ(r->header("Connection"), "close");
            EXPECT_TRUE(c.closed_within(2000));
        }
        {
            Client c(port_);
            ASSERT_TRUE(c.send("GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
            auto r = c.read_response();
            ASSERT_TRUE(r);
            EXPECT_EQ(r->header("Connection"), "keep-alive");
            ASSERT_TRUE(c.send("GET /readyz HTTP/1.0\r\n\r\n"));
            r = c.read_response();
            ASSERT_TRUE(r);
            EXPECT_EQ(r->body, "ready\n");
            EXPECT_TRUE(c.closed_within(2000));
        }
        {
            // Requests pipelined after a Connection: close are not answered.
            Client c(port_);
            ASSERT_TRUE(c.send(get("/healthz", "Connection: close\r\n") + get("/readyz")));
            auto r = c.read_response();
            ASSERT_TRUE(r);
            EXPECT_EQ(r->body, "ok\n");
            std::string rest;
            EXPECT_TRUE(c.closed_within(2000, &rest));
            EXPECT_EQ(rest, "");
        }
    });
}

TEST_F(OpsServerTest, RequestSplitByteByByte) {
    ASSERT_NO_FATAL_FAILURE(start());
    run([&] {
        Client c(port_);
        ASSERT_TRUE(c.send_bytewise(get("/healthz", "User-Agent: split\r\n")));
        auto r = c.read_response();
        ASSERT_TRUE(r);
        EXPECT_EQ(r->status, 200);
        EXPECT_EQ(r->body, "ok\n");
        // The parser starts afresh for the next request on the connection.
        ASSERT_TRUE(c.send_bytewise(get("/readyz?x=1")));
        r = c.read_response();
        ASSERT_TRUE(r);
        EXPECT_EQ(r->status, 200);
        EXPECT_EQ(r->body, "ready\n");
        // And an error split the same way is still found.
        ASSERT_TRUE(c.send_bytewise("PUT /x HTTP/1.1\r\n"));
        r = c.read_response();
        ASSERT_TRUE(r);
        EXPECT_EQ(r->status, 405);
        EXPECT_TRUE(c.closed_within(2000));
    });
}

TEST_F(OpsServerTest, OversizedHeadIs431AndCloses) {
    ASSERT_NO_FATAL_FAILURE(start());
    run([&] {
        {
            Client c(port_);
            // 8192 bytes of head is the parser's cap; one more header byte passes it.
            const std::string start = "GET /healthz HTTP/1.1\r\nHost: h\r\nX-Pad: ";
            const std::string pad(8192 - start.size() - 4 + 1, 'a');
            ASSERT_TRUE(c.send(start + pad + "\r\n\r\n"));
            auto r = c.read_response();
            ASSERT_TRUE(r);
            EXPECT_EQ(r->status, 431);
            EXPECT_EQ(r->header("Connection"), "close");
            EXPECT_TRUE(c.closed_within(2000));
        }
        {
            // Exactly at the cap is fine.
            Client c(port_);
            const std::string start = "GET /healthz HTTP/1.1\r\nHost: h\r\nX-Pad: ";
            const std::string pad(8192 - start.size() - 4, 'a');
            ASSERT_TRUE(c.send(start + pad + "\r\n\r\n"));
            auto r = c.read_response();
            ASSERT_TRUE(r);
            EXPECT_EQ(r->status, 200);
        }
        {
            Client c(port_);
            ASSERT_TRUE(c.send("GET /" + std::string(3000, 'p') + " HTTP/1.1\r\nHost: h\r\n\r\n"));
            auto r = c.read_response();
            ASSERT_TRUE(r);
            EXPECT_EQ(r->status, 414);
            EXPECT_TRUE(c.closed_within(2000));
        }
        {
            // Many small header lines: the line-count cap.
            Client c(port_);
            std::string many = "GET /healthz HTTP/1.1\r\nHost: h\r\n";
            for (int i = 0; i < 80; ++i)
                many += "X-" + std::to_string(i) + ": v\r\n";
            ASSERT_TRUE(c.send(many + "\r\n"));
            auto r = c.read_response();
            ASSERT_TRUE(r);
            EXPECT_EQ(r->status, 431);
            EXPECT_TRUE(c.closed_within(2000));
        }
    });
}

TEST_F(OpsServerTest, ConnectionsBeyondTheCapAreClosedAtOnce) {
    OpsLimits limits;
    limits.max_connections = 3;
    ASSERT_NO_FATAL_FAILURE(start(limits));
    run([&] {
        Client a(port_), b(port_), c(port_);
        for (Client* x : {&a, &b, &c}) {
            ASSERT_TRUE(x->send(get("/healthz")));
            auto r = x->read_response();
            ASSERT_TRUE(r);
            EXPECT_EQ(r->status, 200);
        }
        {
            Client over(port_);
            ASSERT_TRUE(over.connected());  // the kernel completes the handshake
            std::string rest;
            EXPECT_TRUE(over.closed_within(2000, &rest));
            EXPECT_EQ(rest, "");
        }
        // The open ones are undisturbed.
        ASSERT_TRUE(b.send(get("/readyz")));
        auto r = b.read_response();
        ASSERT_TRUE(r);
        EXPECT_EQ(r->body, "ready\n");
        // Once one leaves, a new client gets in (after the server noticed).
        a.close();
        bool served = false;
        for (int attempt = 0; attempt < 50 && !served; ++attempt) {
            Client d(port_);
            if (d.send(get("/healthz"))) {
                auto rd = d.read_response(false, 500);
                served = rd && rd->status == 200;
            }
            if (!served) std::this_thread::sleep_for(20ms);
        }
        EXPECT_TRUE(served);
    });
    EXPECT_GE(refused_, 1);
    EXPECT_EQ(accepted_, 4 + refused_);
}

TEST_F(OpsServerTest, IdleConnectionsMeetTheDeadline) {
    OpsLimits limits;
    limits.request_deadline = 300ms;
    ASSERT_NO_FATAL_FAILURE(start(limits));
    run([&] {
        {
            // Nothing sent: closed without a word.
            Client c(port_);
            const auto t0 = std::chrono::steady_clock::now();
            std::string rest;
            EXPECT_TRUE(c.closed_within(3000, &rest));
            const auto waited = std::chrono::steady_clock::now() - t0;
            EXPECT_EQ(rest, "");
            EXPECT_GE(waited, 250ms);
            EXPECT_LT(waited, 2500ms);
        }
        {
            // Half a request: 408, then closed.
            Client c(port_);
            ASSERT_TRUE(c.send("GET /healthz HTTP/1.1\r\nHo"));
            auto r = c.read_response(false, 3000);
            ASSERT_TRUE(r);
            EXPECT_EQ(r->status, 408);
            EXPECT_TRUE(c.closed_within(2000));
        }
        {
            // Idle after an answer: closed.
            Client c(port_);
            ASSERT_TRUE(c.send(get("/healthz")));
            ASSERT_TRUE(c.read_response());
            std::string rest;
            EXPECT_TRUE(c.closed_within(3000, &rest));
            EXPECT_EQ(rest, "");
        }
        {
            // The deadline is per request: a client asking more often than that stays.
            Client c(port_);
            for (int i = 0; i < 6; ++i) {
                ASSERT_TRUE(c.send(get("/healthz"))) << i;
                auto r = c.read_response();
                ASSERT_TRUE(r) << i;
                EXPECT_EQ(r->status, 200);
                std::this_thread::sleep_for(150ms);
            }
        }
    });
}

TEST_F(OpsServerTest, AClientLeavingMidRequestDoesNotDisturbAnother) {
    ASSERT_NO_FATAL_FAILURE(start());
    run([&] {
        Client steady(port_);
        ASSERT_TRUE(steady.send("GET /healthz HTTP/1.1\r\nHo"));
        {
            Client leaver(port_);
            ASSERT_TRUE(leaver.send("GET /metr"));
        }
        {
            // And one that resets instead of closing.
            Client resetter(port_);
            ASSERT_TRUE(resetter.send("GET /readyz HTTP/1.1\r\n"));
            resetter.reset();
        }
        ASSERT_TRUE(steady.send("st: h\r\n\r\n"));
        auto r = steady.read_response();
        ASSERT_TRUE(r);
        EXPECT_EQ(r->status, 200);
        EXPECT_EQ(r->body, "ok\n");
        Client fresh(port_);
        ASSERT_TRUE(fresh.send(get("/readyz")));
        r = fresh.read_response();
        ASSERT_TRUE(r);
        EXPECT_EQ(r->body, "ready\n");
    });
}

TEST_F(OpsServerTest, PipeliningWithoutReadingIsBounded) {
    // Large answers and a client that sends many requests but reads nothing: the server answers
    // one at a time, so the unread requests pile up in its capped input and the connection ends,
    // long before the (here 30 s) deadline and after only a few renders.
    metrics_body_ = std::string(1 << 20, 'm');
    OpsLimits limits;
    limits.request_deadline = 30s;
    ASSERT_NO_FATAL_FAILURE(start(limits));
    run([&] {
        Client c(port_, 4096);
        std::string flood;
        for (int i = 0; i < 2000; ++i)
            flood += get("/metrics");
        const auto t0 = std::chrono::steady_clock::now();
        c.send(flood);  // may fail part-way once the server has closed
        // Not reading for a while: only what fits in the socket buffers can have left.
        std::this_thread::sleep_for(1500ms);
        size_t total = 0;
        EXPECT_TRUE(c.closed_within(10000, nullptr, &total));
        EXPECT_LT(std::chrono::steady_clock::now() - t0, 10s);
        EXPECT_LT(total, size_t{16} << 20);
    });
    EXPECT_GE(renders_, 1);
    EXPECT_LE(renders_, 12);
}

TEST_F(OpsServerTest, CloseStopsListeningAndEndsConnections) {
    ASSERT_NO_FATAL_FAILURE(start());
    Client kept(port_);
    run([&] {
        ASSERT_TRUE(kept.send(get("/healthz")));
        auto r = kept.read_response();
        ASSERT_TRUE(r);
        EXPECT_EQ(r->status, 200);
    });
    const uint16_t old_port = port_;
    server_->close();
    EXPECT_EQ(server_->port(), 0);
    EXPECT_EQ(server_->connections(), 0u);
    run([&] {
        EXPECT_TRUE(kept.closed_within(2000));
        Client late(old_port);
        EXPECT_FALSE(late.connected());
    });
    // It can listen again afterwards.
    std::string err;
    ASSERT_TRUE(server_->listen("127.0.0.1:" + std::to_string(test::free_loopback_port()), err))
        << err;
    port_ = server_->port();
    run([&] {
        Client c(port_);
        ASSERT_TRUE(c.send(get("/healthz")));
        auto r = c.read_response();
        ASSERT_TRUE(r);
        EXPECT_EQ(r->status, 200);
    });
}

TEST_F(OpsServerTest, ListensOnIpv6Loopback) {
    server_ = std::make_unique<OpsServer>(*loop_, handlers());
    std::string err;
    if (!server_->listen("[::1]:" + std::to_string(test::free_loopback_port()), err))
        GTEST_SKIP() << "no IPv6 loopback here: " << err;
    port_ = server_->port();
    ASSERT_NE(port_, 0);
    run([&] {
        EXPECT_EQ(run_health_check("[::1]:" + std::to_string(port_), "/healthz", 2000), 0);
    });
}

}  // namespace
}  // namespace rfbcast
