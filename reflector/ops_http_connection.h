#pragma once
#include <functional>
#include <memory>
#include <string>

#include "codec/http_request.h"
#include "reflector/connection.h"
#include "reflector/event_loop.h"

namespace rfbcast {

// What the operations endpoint answers to one well-formed GET or HEAD.
struct OpsReply {
    int status = 200;
    std::string content_type;
    std::string body;
};

// One connection on the operations listener (/metrics, /healthz, /readyz): HTTP/1.1 with
// keep-alive, one request at a time. The next request is parsed only once the previous answer
// has left, so a client that pipelines without reading holds at most one answer in our queue
// and its unread requests in the capped input buffer (past that cap the connection closes).
// A complete request must arrive within `deadline` of the connection or of the last answer
// being queued. A malformed request gets the parser's error status and the connection closes;
// the request never reaches `route`.
class OpsHttpConnection final : public ConnectionOwner {
  public:
    using Route = std::function<OpsReply(const rfb::HttpRequest&)>;

    // `done` is called once the connection is gone; the caller destroys this object later,
    // outside its callbacks.
    OpsHttpConnection(EventLoop& loop, Connection* conn, Route route, Clock::duration deadline,
                      std::function<void(OpsHttpConnection*)> done);
    ~OpsHttpConnection() override;
    void start();

    void on_data(Connection& conn) override;
    void on_sent(Connection& conn) override;
    void on_closed(Connection& conn, const std::string& reason) override;

  private:
    void process();
    void handle(const rfb::HttpRequest& request);
    void fail(int status, const std::string& log_reason);
    void finish(bool send_first);
    void arm_deadline();

    EventLoop& loop_;
    Connection* conn_;
    Route route_;
    Clock::duration deadline_after_;
    std::function<void(OpsHttpConnection*)> done_;
    std::unique_ptr<rfb::HttpRequestParser> parser_;
    EventLoop::TimerId deadline_ = 0;
    bool awaiting_drain_ = false;  // an answer is still queued: pipelined bytes wait
    bool finished_ = false;
};

// The socket caps of an operations connection: a request head is at most 8 KiB and we read no
// body, so 16 KiB of unparsed input is a request plus some pipelining. Output is one answer.
Connection::Limits ops_connection_limits();

}  // namespace rfbcast
