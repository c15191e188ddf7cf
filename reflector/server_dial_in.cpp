#include "reflector/server_dial_in.h"

#include "reflector/log.h"

namespace rfbcast {

ServerDialIn::ServerDialIn(EventLoop& loop, DialInRouter& router, Connection* conn)
    : loop_(loop), router_(router), conn_(conn) {
    conn_->set_owner(this);
}

ServerDialIn::~ServerDialIn() {
    if (deadline_) loop_.cancel_timer(deadline_);
    if (conn_) conn_->close();
}

void ServerDialIn::start() {
    deadline_ = loop_.add_timer(kDeadline, [this] {
        deadline_ = 0;
        finish("no repeater ID within 10 s");
    });
    conn_->start();
}

void ServerDialIn::on_data(Connection&) {
    if (finished_ || !conn_) return;
    const std::span<const uint8_t> rx = conn_->rx();
    if (rx.size() < rfb::kRepeaterHeaderSize) return;
    rfb::RepeaterTarget target;
    std::string error;
    if (!rfb::parse_repeater_header(rx.first(rfb::kRepeaterHeaderSize), target, error)) {
        finish("invalid repeater header: " + error);
        return;
    }
    if (target.kind != rfb::RepeaterTarget::kId) {
        finish("a server must dial in with ID:<id>, not a host:port");
        return;
    }
    conn_->consume(rfb::kRepeaterHeaderSize);
    std::string refusal;
    Connection* c = conn_;
    conn_ = nullptr;
    finished_ = true;
    if (!router_.server_dialled_in(target, c, refusal)) {
        LOG_WARN("repeater-refused", "side=server peer=%s id=%s reason=\"%s\"", c->peer().c_str(),
                 target.id.c_str(), refusal.c_str());
        c->close();
    }
    router_.dial_in_finished(this);
}

void ServerDialIn::finish(const std::string& log_reason) {
    if (finished_) return;
    finished_ = true;
    LOG_WARN("repeater-refused", "side=server peer=%s reason=\"%s\"",
             conn_ ? conn_->peer().c_str() : "?", log_reason.c_str());
    if (conn_) {
        conn_->close();
        conn_ = nullptr;
    }
    router_.dial_in_finished(this);
}

void ServerDialIn::on_closed(Connection&, const std::string& reason) {
    conn_ = nullptr;
    if (finished_) return;
    finished_ = true;
    LOG_DEBUG("repeater-server-left", "reason=\"%s\"", reason.c_str());
    router_.dial_in_finished(this);
}

}  // namespace rfbcast
