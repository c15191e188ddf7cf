#include "reflector/ops_http_connection.h"

#include "codec/http_response.h"
#include "reflector/log.h"

namespace rfbcast {
namespace {

std::span<const uint8_t> as_bytes(const std::string& s) {
    return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

}  // namespace

Connection::Limits ops_connection_limits() {
    Connection::Limits limits;
    limits.rx_chunk = 4 * 1024;
    limits.rx_cap = 16 * 1024;
    // One answer at a time; a /metrics page is far below this even with many sessions.
    limits.tx_cap = 32 * 1024 * 1024;
    return limits;
}

OpsHttpConnection::OpsHttpConnection(EventLoop& loop, Connection* conn, Route route,
                                     Clock::duration deadline,
                                     std::function<void(OpsHttpConnection*)> done)
    : loop_(loop),
      conn_(conn),
      route_(std::move(route)),
      deadline_after_(deadline),
      done_(std::move(done)),
      parser_(std::make_unique<rfb::HttpRequestParser>()) {}

OpsHttpConnection::~OpsHttpConnection() {
    if (deadline_) loop_.cancel_timer(deadline_);
    if (conn_) conn_->close();
}

void OpsHttpConnection::start() {
    conn_->set_owner(this);
    arm_deadline();
    conn_->start();
}

void OpsHttpConnection::arm_deadline() {
    if (deadline_) loop_.cancel_timer(deadline_);
    deadline_ = loop_.add_timer(deadline_after_, [this] {
        deadline_ = 0;
        if (finished_ || !conn_) return;
        // Half a request is worth telling why; an idle keep-alive connection just ends.
        if (parser_->head_size() > 0 && !awaiting_drain_) {
            fail(408, "no complete request in time");
            return;
        }
        LOG_DEBUG("ops-closed", "peer=%s reason=\"idle\"", conn_->peer().c_str());
        finish(false);
    });
}

void OpsHttpConnection::on_data(Connection&) {
    process();
}

void OpsHttpConnection::on_sent(Connection& conn) {
    if (!awaiting_drain_ || conn.queued_bytes() > 0) return;
    awaiting_drain_ = false;
    process();
}

void OpsHttpConnection::on_closed(Connection&, const std::string& reason) {
    LOG_DEBUG("ops-closed", "peer=%s reason=\"%s\"", conn_ ? conn_->peer().c_str() : "?",
              reason.c_str());
    conn_ = nullptr;
    finish(false);
}

void OpsHttpConnection::process() {
    while (!finished_ && conn_ && !awaiting_drain_ && !conn_->rx().empty()) {
        const rfb::HttpParseResult& r = parser_->feed(conn_->rx());
        if (r.status == rfb::HttpParseResult::kNeedMore) {
            // The parser keeps what it needs of an unfinished line.
            conn_->consume(conn_->rx().size());
            return;
        }
        if (r.status == rfb::HttpParseResult::kError) {
            fail(r.http_status, r.error);
            return;
        }
        conn_->consume(r.consumed);
        const rfb::HttpRequest request = parser_->request();
        parser_ = std::make_unique<rfb::HttpRequestParser>();
        handle(request);
    }
}

void OpsHttpConnection::handle(const rfb::HttpRequest& request) {
    const OpsReply reply = route_(request);
    const bool keep_alive = request.keep_alive();
    rfb::HttpResponseHead head;
    head.status = reply.status;
    head.content_type = reply.content_type;
    head.content_length = reply.body.size();
    head.connection = keep_alive ? "keep-alive" : "close";
    std::string text;
    if (!rfb::append_http_response_head(head, text)) {
        fail(500, "response head refused");
        return;
    }
    if (!request.head_only()) text += reply.body;
    conn_->send(make_shared_bytes(std::vector<uint8_t>(text.begin(), text.end())));
    if (!keep_alive) {
        finish(true);
        return;
    }
    awaiting_drain_ = true;
    arm_deadline();
}

void OpsHttpConnection::fail(int status, const std::string& log_reason) {
    LOG_INFO("ops-refused", "peer=%s status=%d reason=\"%s\"", conn_ ? conn_->peer().c_str() : "?",
             status, log_reason.c_str());
    if (conn_) conn_->send_copy(as_bytes(rfb::http_error_response(status)));
    finish(true);
}

void OpsHttpConnection::finish(bool send_first) {
    if (finished_) return;
    finished_ = true;
    if (deadline_) loop_.cancel_timer(deadline_);
    deadline_ = 0;
    release_connection(conn_, send_first);
    done_(this);
}

}  // namespace rfbcast
