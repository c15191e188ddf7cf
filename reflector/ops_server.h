#pragma once
#include <sys/socket.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "codec/http_request.h"
#include "reflector/event_loop.h"
#include "reflector/listener.h"
#include "reflector/ops_http_connection.h"

namespace rfbcast {

// What the operations endpoint asks the rest of rfbcast. Each is called on the loop thread;
// an empty function is allowed.
struct OpsHandlers {
    // The /metrics body, Prometheus text format 0.0.4. Empty: /metrics is 404.
    std::function<std::string()> render_metrics;
    // False once draining has started (/readyz turns 503). Empty: always ready.
    std::function<bool()> ready;
    // Every connection the listener accepted, before the connection cap is checked (for
    // rfbcast_connections_accepted_total{listener="metrics"}).
    std::function<void()> on_accepted;
    // A connection closed at once because OpsLimits::max_connections were open.
    std::function<void()> on_refused;
};

struct OpsLimits {
    size_t max_connections = 64;
    // A complete request must arrive within this of the connection or of the previous answer.
    Clock::duration request_deadline = std::chrono::seconds(10);
};

// The operations HTTP listener (--metrics-listen): /metrics, /healthz and /readyz on rfbcast's
// own event loop. /healthz answers "ok" whenever the loop turns (an answer at all is the proof);
// /readyz says whether viewers are being accepted. GET and HEAD only; query strings are ignored.
// Every answer carries Content-Length and Cache-Control: no-store.
class OpsServer {
  public:
    OpsServer(EventLoop& loop, OpsHandlers handlers, OpsLimits limits = {});
    ~OpsServer();
    OpsServer(const OpsServer&) = delete;
    OpsServer& operator=(const OpsServer&) = delete;

    // "127.0.0.1:9860", "[::1]:9860", "0.0.0.0:9860", ":9860" (parse_listen_address: port 0 is
    // refused, as for every listener).
    bool listen(const std::string& address, std::string& error);
    // The bound port; 0 when not listening.
    uint16_t port() const { return listener_ ? listener_->port() : 0; }
    // Stops listening and closes every connection. Call from the loop thread, not from inside
    // one of the handlers.
    void close();
    size_t connections() const { return conns_.size(); }

  private:
    void accept(int fd, const std::string& peer, const sockaddr_storage& address);
    OpsReply route(const rfb::HttpRequest& request) const;

    EventLoop& loop_;
    OpsHandlers handlers_;
    OpsLimits limits_;
    std::unique_ptr<Listener> listener_;
    std::vector<std::unique_ptr<OpsHttpConnection>> conns_;
    // Deferred removals of finished connections check it, so none runs after close().
    std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

}  // namespace rfbcast
