#pragma once
#include <functional>
#include <string>

#include "codec/rfb_constants.h"
#include "reflector/connection.h"

namespace rfbcast {

// A connection from a trusted proxy (HAProxy, a cloud load balancer): reads its PROXY protocol
// header (v1 or v2) within the handshake timeout, makes the client it names the connection's peer,
// and hands the connection on. A malformed or missing header closes the connection: from a trusted
// proxy, a connection without one is a misconfiguration, and guessing would put the proxy's own
// address into allow-lists and lockouts.
class ProxyIntake final : public ConnectionOwner {
  public:
    using Next = std::function<void(Connection*)>;
    using Finished = std::function<void(ProxyIntake*)>;

    ProxyIntake(EventLoop& loop, Connection* conn, Next next, Finished finished);
    ~ProxyIntake() override;
    ProxyIntake(const ProxyIntake&) = delete;
    ProxyIntake& operator=(const ProxyIntake&) = delete;

    // Before start(): the handshake timeout (10 s unless set); the header is part of it.
    void set_deadline(Clock::duration d) { deadline_after_accept_ = d; }
    void start();
    void on_data(Connection& c) override;
    void on_closed(Connection& c, const std::string& reason) override;

  private:
    void fail(const std::string& reason);

    EventLoop& loop_;
    Connection* conn_;
    Next next_;
    Finished finished_;
    EventLoop::TimerId deadline_ = 0;
    Clock::duration deadline_after_accept_ =
        std::chrono::seconds(rfb::limits::kDefaultHandshakeTimeoutSeconds);
    bool done_ = false;
};

}  // namespace rfbcast
