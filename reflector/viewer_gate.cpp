#include "reflector/viewer_gate.h"

#include <algorithm>
#include <utility>

#include "reflector/log.h"

namespace rfbcast {

ViewerGate::ViewerGate(EventLoop& loop, ViewerRouter& router, Connection* conn, Mode mode,
                       std::vector<rfb::Credential> credentials, std::string refusal,
                       const std::array<uint8_t, 16>& challenge,
                       std::shared_ptr<const ViewerSecurity> security)
    : loop_(loop),
      router_(router),
      conn_(conn),
      mode_(mode),
      refusal_(std::move(refusal)),
      challenge_(challenge),
      security_(std::move(security)) {
    conn_->set_owner(this);
    if (mode_ == Mode::kPassword) {
        rfb::ServerHandshakeConfig c;
        c.credentials = std::move(credentials);
        c.challenge = challenge_;
        if (security_) apply_viewer_security(*security_, c);
        handshake_ = std::make_unique<rfb::ServerHandshake>(std::move(c));
    }
}

ViewerGate::~ViewerGate() {
    if (deadline_) loop_.cancel_timer(deadline_);
    if (conn_) conn_->close();
}

void ViewerGate::start() {
    const Clock::duration left = conn_->created_at() + deadline_after_accept_ - loop_.now();
    deadline_ = loop_.add_timer(std::max(left, Clock::duration::zero()), [this] {
        deadline_ = 0;
        const auto s =
            std::chrono::duration_cast<std::chrono::seconds>(deadline_after_accept_).count();
        if (!finished_) finish("no complete handshake within " + std::to_string(s) + " s");
    });
    if (mode_ == Mode::kRepeater) {
        conn_->send_copy(std::span<const uint8_t>(
            reinterpret_cast<const uint8_t*>(rfb::kRepeaterGreeting.data()),
            rfb::kRepeaterGreeting.size()));
        conn_->start();
        return;
    }
    if (mode_ == Mode::kRefuse) {
        refuse(refusal_);
        conn_->start();
        return;
    }
    std::vector<uint8_t> out;
    handshake_->start(out);
    conn_->send_copy(out);
    conn_->start();
}

void ViewerGate::on_data(Connection&) {
    if (finished_ || failing_ || !conn_) return;
    if (mode_ == Mode::kRepeater && !handshake_)
        read_repeater_header();
    else
        run_handshake();
}

void ViewerGate::read_repeater_header() {
    const std::span<const uint8_t> rx = conn_->rx();
    if (rx.size() < rfb::kRepeaterHeaderSize) return;
    rfb::RepeaterTarget target;
    std::string error;
    const bool ok = rfb::parse_repeater_header(rx.first(rfb::kRepeaterHeaderSize), target, error);
    conn_->consume(rfb::kRepeaterHeaderSize);
    if (!ok) {
        LOG_WARN("repeater-refused", "side=viewer peer=%s reason=\"invalid request: %s\"",
                 conn_->peer().c_str(), error.c_str());
        refuse("invalid repeater request: " + error);
        return;
    }
    std::string refusal;
    Session* session = router_.route_repeater(target, conn_->peer(), refusal);
    if (!session) {
        refuse(refusal);
        return;
    }
    Connection* c = conn_;
    conn_ = nullptr;
    finished_ = true;
    router_.attach_viewer(*session, c, std::nullopt, std::move(preauth_));
    router_.gate_finished(this);
}

// Sends the version a refused viewer expects, then its failure reason once it answers.
void ViewerGate::refuse(const std::string& reason) {
    refusal_ = reason;
    rfb::ServerHandshakeConfig c;
    c.refuse_reason = reason;
    handshake_ = std::make_unique<rfb::ServerHandshake>(std::move(c));
    mode_ = Mode::kRefuse;
    std::vector<uint8_t> out;
    handshake_->start(out);
    conn_->send_copy(out);
    if (!conn_->rx().empty()) run_handshake();
}

void ViewerGate::run_handshake() {
    std::vector<uint8_t> held;
    const rfb::HandshakeStep step = drive_viewer_handshake(
        *handshake_, *conn_, security_.get(), held,
        [this, alive = std::weak_ptr<int>(alive_)](rfb::AccessLevel verdict) {
            if (alive.expired() || finished_ || failing_ || !conn_) return;
            handshake_->set_plain_result(verdict);
            run_handshake();
        });
    if (step.status == rfb::HandshakeStep::kFailed && !held.empty()) {
        // A wrong password is answered only after a pause (see kAuthFailureDelay).
        failing_ = true;
        if (deadline_) loop_.cancel_timer(deadline_);
        deadline_ =
            loop_.add_timer(kAuthFailureDelay, [this, held = std::move(held), why = step.error] {
                deadline_ = 0;
                if (conn_) conn_->send_copy(held);
                finish(why);
            });
        return;
    }
    if (step.status == rfb::HandshakeStep::kFailed) {
        finish(step.error);
        return;
    }
    if (step.status != rfb::HandshakeStep::kDone) return;
    std::string refusal;
    Session* session = router_.route_password(handshake_->route(), refusal);
    if (!session) {
        // The session went away (a reload) while the viewer authenticated.
        finish("its session is gone: " + refusal);
        return;
    }
    Connection* c = conn_;
    conn_ = nullptr;
    finished_ = true;
    router_.attach_viewer(*session, c, std::move(*handshake_), std::move(preauth_));
    router_.gate_finished(this);
}

void ViewerGate::finish(const std::string& log_reason) {
    if (finished_) return;
    finished_ = true;
    // A refusal was logged, with its reason, by whoever decided it; here it has only been sent.
    if (mode_ == Mode::kRefuse)
        LOG_DEBUG("viewer-refusal-sent", "peer=%s", conn_ ? conn_->peer().c_str() : "?");
    else
        LOG_INFO("viewer-closed", "peer=%s reason=\"%s\"", conn_ ? conn_->peer().c_str() : "?",
                 log_reason.c_str());
    if (conn_) {
        conn_->close_when_sent();
        conn_ = nullptr;
    }
    router_.gate_finished(this);
}

void ViewerGate::on_closed(Connection&, const std::string& reason) {
    conn_ = nullptr;
    if (!finished_) {
        finished_ = true;
        LOG_DEBUG("viewer-left", "reason=\"%s\" stage=gate", reason.c_str());
        router_.gate_finished(this);
    }
}

}  // namespace rfbcast
