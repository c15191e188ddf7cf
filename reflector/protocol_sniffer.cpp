#include "reflector/protocol_sniffer.h"

#include "codec/http_request.h"

namespace rfbcast {

std::optional<ProtocolSniffer::Verdict> sniff_first_bytes(std::span<const uint8_t> first) {
    // A TLS handshake record: HTTPS on this port (HttpConnection starts TLS on it).
    constexpr uint8_t kTlsHandshake = 0x16;
    if (!first.empty() && first[0] == kTlsHandshake) return ProtocolSniffer::Verdict::kWeb;
    switch (rfb::classify_first_bytes(first)) {
        case rfb::HttpPeek::kHttp:
            return ProtocolSniffer::Verdict::kWeb;
        case rfb::HttpPeek::kNotHttp:
            return ProtocolSniffer::Verdict::kRfb;
        case rfb::HttpPeek::kUndecided:
            break;
    }
    return std::nullopt;
}

ProtocolSniffer::ProtocolSniffer(EventLoop& loop, Connection* conn, Clock::duration wait, Next next,
                                 Finished finished)
    : loop_(loop),
      conn_(conn),
      wait_(wait),
      next_(std::move(next)),
      finished_(std::move(finished)) {
    conn_->set_owner(this);
}

ProtocolSniffer::~ProtocolSniffer() {
    if (timer_) loop_.cancel_timer(timer_);
    if (conn_) conn_->close();
}

void ProtocolSniffer::start() {
    // Silence until then is an RFB viewer waiting for our greeting; a few bytes of "GET " that
    // stop short are decided the same way (the RFB side refuses them).
    timer_ = loop_.add_timer(wait_, [this] {
        timer_ = 0;
        decide(Verdict::kRfb);
    });
    conn_->start();
}

void ProtocolSniffer::on_data(Connection&) {
    if (done_ || !conn_) return;
    if (const auto v = sniff_first_bytes(conn_->rx())) decide(*v);
}

void ProtocolSniffer::decide(Verdict v) {
    if (done_ || !conn_) return;
    done_ = true;
    if (timer_) loop_.cancel_timer(timer_);
    timer_ = 0;
    Connection* c = conn_;
    conn_ = nullptr;
    c->set_owner(nullptr);
    next_(c, v);
    finished_(this);
}

void ProtocolSniffer::on_closed(Connection&, const std::string&) {
    conn_ = nullptr;
    if (done_) return;
    done_ = true;
    finished_(this);
}

}  // namespace rfbcast
