#include "reflector/proxy_intake.h"

#include "codec/proxy_protocol.h"
#include "reflector/log.h"
#include "reflector/socket_address.h"

namespace rfbcast {

ProxyIntake::ProxyIntake(EventLoop& loop, Connection* conn, Next next, Finished finished)
    : loop_(loop), conn_(conn), next_(std::move(next)), finished_(std::move(finished)) {
    conn_->set_owner(this);
}

ProxyIntake::~ProxyIntake() {
    if (deadline_) loop_.cancel_timer(deadline_);
    if (conn_) conn_->close();
}

void ProxyIntake::start() {
    const Clock::duration left = conn_->created_at() + deadline_after_accept_ - loop_.now();
    deadline_ = loop_.add_timer(std::max(left, Clock::duration::zero()), [this] {
        deadline_ = 0;
        const auto s =
            std::chrono::duration_cast<std::chrono::seconds>(deadline_after_accept_).count();
        fail("no PROXY protocol header within " + std::to_string(s) + " s");
    });
    conn_->start();
}

void ProxyIntake::on_data(Connection&) {
    if (done_ || !conn_) return;
    const rfb::ProxyParseResult r = rfb::parse_proxy_header(conn_->rx());
    if (r.status == rfb::ProxyParseResult::kNeedMore) return;
    if (r.status == rfb::ProxyParseResult::kError) {
        fail("bad PROXY protocol header: " + r.error);
        return;
    }
    conn_->consume(r.consumed);
    if (r.header.kind == rfb::ProxyHeader::kProxied) {
        sockaddr_storage addr{};
        socklen_t len = 0;
        if (rfb::proxy_source_sockaddr(r.header, addr, len)) {
            LOG_DEBUG("proxied", "proxy=%s client=%s", conn_->peer().c_str(),
                      peer_name(addr).c_str());
            conn_->set_peer(peer_name(addr), addr);
        }
    }
    done_ = true;
    if (deadline_) loop_.cancel_timer(deadline_);
    deadline_ = 0;
    Connection* c = conn_;
    conn_ = nullptr;
    next_(c);
    finished_(this);
}

void ProxyIntake::fail(const std::string& reason) {
    if (done_) return;
    done_ = true;
    LOG_WARN("connection-refused", "peer=%s reason=\"%s\"", conn_ ? conn_->peer().c_str() : "?",
             reason.c_str());
    if (conn_) {
        conn_->close();
        conn_ = nullptr;
    }
    finished_(this);
}

void ProxyIntake::on_closed(Connection&, const std::string&) {
    conn_ = nullptr;
    if (done_) return;
    done_ = true;
    finished_(this);
}

}  // namespace rfbcast
