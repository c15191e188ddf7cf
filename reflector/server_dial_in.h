#pragma once
#include <functional>
#include <string>

#include "codec/repeater_header.h"
#include "reflector/connection.h"

namespace rfbcast {

class ServerDialIn;

// What a server that dialled the repeater port is handed to (SessionRegistry).
class DialInRouter {
  public:
    virtual ~DialInRouter() = default;
    // The server named `target`: adopt its connection as a session's upstream and return true,
    // or return false with the reason (the connection is then closed).
    virtual bool server_dialled_in(const rfb::RepeaterTarget& target, Connection* conn,
                                   std::string& refusal) = 0;
    virtual void dial_in_finished(ServerDialIn* d) = 0;
};

// A server on the repeater port (UltraVNC repeater, server side): it sends the 250-byte
// "ID:nnnn" field and then speaks RFB as a server. Reads the field within kDeadline and hands
// the connection over; a server cannot be told a reason in RFB, so refusals are only logged.
class ServerDialIn final : public ConnectionOwner {
  public:
    static constexpr Clock::duration kDeadline = std::chrono::seconds(10);

    ServerDialIn(EventLoop& loop, DialInRouter& router, Connection* conn);
    ~ServerDialIn() override;
    ServerDialIn(const ServerDialIn&) = delete;
    ServerDialIn& operator=(const ServerDialIn&) = delete;

    void start();
    void on_data(Connection& c) override;
    void on_closed(Connection& c, const std::string& reason) override;

  private:
    void finish(const std::string& log_reason);

    EventLoop& loop_;
    DialInRouter& router_;
    Connection* conn_;
    EventLoop::TimerId deadline_ = 0;
    bool finished_ = false;
};

}  // namespace rfbcast
