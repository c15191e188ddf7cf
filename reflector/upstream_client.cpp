#include "reflector/upstream_client.h"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <iterator>
#include <random>

#include "codec/byte_writer.h"
#include "codec/client_messages.h"
#include "codec/decoder.h"
#include "codec/rfb_constants.h"
#include "metrics/metrics.h"
#include "reflector/log.h"
#include "reflector/metric_labels.h"
#include "reflector/random_bytes.h"
#include "reflector/session.h"

namespace rfbcast {

namespace {

// Cheapest to decode first: on loopback and LANs CPU, not bandwidth, is what runs out.
constexpr int32_t kEncodingPreference[] = {
    rfb::encoding::kZRLE, rfb::encoding::kHextile,  rfb::encoding::kTight,
    rfb::encoding::kZlib, rfb::encoding::kRRE,      rfb::encoding::kCoRRE,
    rfb::encoding::kTRLE, rfb::encoding::kCopyRect, rfb::encoding::kRaw};

// ContinuousUpdates needs Fence (TigerVNC refuses one without the other): the server then pushes
// updates without waiting for a request round trip, and paces itself with fences we answer.
constexpr int32_t kPseudoEncodings[] = {rfb::encoding::kDesktopSize,
                                        rfb::encoding::kExtendedDesktopSize,
                                        rfb::encoding::kLastRect,
                                        rfb::encoding::kCursorWithAlpha,
                                        rfb::encoding::kCursor,
                                        rfb::encoding::kXCursor,
                                        rfb::encoding::kDesktopName,
                                        rfb::encoding::kFence,
                                        rfb::encoding::kContinuousUpdates,
                                        rfb::encoding::kQemuExtendedKeyEvent};

}  // namespace

Connection::Limits upstream_connection_limits() {
    Connection::Limits limits;
    limits.rx_chunk = 256 * 1024;
    // Large enough for any one rectangle a sane server sends for a 16384x16384 desktop is
    // not; rectangles that must be buffered whole (Hextile, ZRLE) beyond this are refused.
    limits.rx_cap = 96 * 1024 * 1024;
    limits.tx_cap = 4 * 1024 * 1024;
    return limits;
}

namespace {

// Until measured, a server on this host is assumed local and any other one LAN.
LinkClass initial_link_class(const std::string& host) {
    const bool loopback = host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
    return loopback ? LinkClass::kLocal : LinkClass::kLan;
}

}  // namespace

UpstreamClient::UpstreamClient(Session& session, UpstreamOptions options)
    : session_(session),
      options_(std::move(options)),
      backoff_(options_.backoff_min),
      link_(LinkEstimatorConfig{}, initial_link_class(options_.host)),
      asked_for_(link_.link_class()) {}

UpstreamClient::~UpstreamClient() {
    if (timer_) session_.loop().cancel_timer(timer_);
    if (conn_) conn_->close();
}

std::string UpstreamClient::describe() const {
    if (options_.dial_in)
        return dialled_in_from_.empty() ? std::string("dial-in") : "dial-in:" + dialled_in_from_;
    return options_.host + ":" + std::to_string(options_.port);
}

void UpstreamClient::start() {
    stopped_ = false;
    if (options_.dial_in || state_ != State::kIdle || timer_) return;
    connect_now();
}

void UpstreamClient::stop() {
    if (stopped_) return;
    stopped_ = true;
    if (state_ != State::kIdle) fail("stopped: the session has no viewers");
    if (timer_) {
        session_.loop().cancel_timer(timer_);
        timer_ = 0;
    }
}

void UpstreamClient::adopt(Connection* c, const std::string& via) {
    if (conn_) {
        LOG_INFO("upstream-replaced", "session=%s upstream=%s by=%s via=%s",
                 session_.options().name.c_str(), describe().c_str(), c->peer().c_str(),
                 via.c_str());
        fail("replaced by a new connection from the server");
    }
    stopped_ = false;
    dialled_in_from_ = c->peer();
    set_keepalive(c->fd());
    conn_ = c;
    c->set_owner(this);
    c->set_traffic_meter(session_.metrics_handle(), metrics::Side::kUpstream);
    ++connects_;
    connect_started_ = session_.loop().now();
    LOG_INFO("upstream-dialled-in", "session=%s upstream=%s via=%s",
             session_.options().name.c_str(), describe().c_str(), via.c_str());
    timer_ = session_.loop().add_timer(options_.handshake_timeout, [this] {
        timer_ = 0;
        if (state_ == State::kHandshake) fail("no complete handshake within the timeout");
    });
    begin_handshake(*c);
    // The server speaks first, and its greeting may have come with the repeater header.
    if (!c->rx().empty()) on_data(*c);
}

void UpstreamClient::set_keepalive(int fd) {
    // A server that vanishes without a FIN (power cut, NAT timeout) must be noticed within
    // 30 s: keepalive probes after 10 s of silence, and a cap on unacknowledged data.
    int on = 1, idle = 10, interval = 5, count = 3;
    unsigned user_timeout_ms = 30000;
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on);
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof interval);
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &count, sizeof count);
    setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_timeout_ms, sizeof user_timeout_ms);
}

void UpstreamClient::connect_now() {
    timer_ = 0;
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    addrinfo* res = nullptr;
    const std::string port = std::to_string(options_.port);
    const int rc = getaddrinfo(options_.host.c_str(), port.c_str(), &hints, &res);
    if (rc != 0 || !res) {
        fail(std::string("cannot resolve upstream host: ") + gai_strerror(rc));
        return;
    }
    const int fd = ::socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        freeaddrinfo(res);
        fail(std::string("socket: ") + std::strerror(errno));
        return;
    }
    set_keepalive(fd);
    conn_ = new Connection(session_.loop(), fd, this, upstream_connection_limits(), describe());
    conn_->set_traffic_meter(session_.metrics_handle(), metrics::Side::kUpstream);
    state_ = State::kConnecting;
    ++connects_;
    connect_started_ = session_.loop().now();
    conn_->connect(res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    timer_ = session_.loop().add_timer(options_.handshake_timeout, [this] {
        timer_ = 0;
        if (state_ == State::kConnecting || state_ == State::kHandshake)
            fail("no complete handshake within the timeout");
    });
}

namespace {

const char* policy_name(rfb::TlsPolicy p) {
    switch (p) {
        case rfb::TlsPolicy::kOff:
            return "off";
        case rfb::TlsPolicy::kRequire:
            return "require";
        default:
            return "prefer";
    }
}

}  // namespace

void UpstreamClient::on_connected(Connection& c) {
    const Clock::time_point now = session_.loop().now();
    link_.add_rtt(now - connect_started_, now);  // the TCP handshake is one round trip
    begin_handshake(c);
    c.start();
}

void UpstreamClient::begin_handshake(Connection&) {
    state_ = State::kHandshake;
    rfb::ClientHandshakeConfig cfg;
    cfg.password = options_.password;
    cfg.username = options_.username;
    cfg.shared = true;
    cfg.tls = options_.tls;
    cfg.x509_verifiable = options_.tls_ca != nullptr;
    cfg.allow_plain_without_tls = options_.allow_plain_without_tls;
    cfg.avoid_vencrypt = avoid_vencrypt_;
    cfg.random = fill_random;
    cfg.max_framebuffer_dim = session_.options().peer_limits.max_framebuffer;
    handshake_ = std::make_unique<rfb::ClientHandshake>(std::move(cfg));
}

void UpstreamClient::on_data(Connection& c) {
    if (state_ == State::kHandshake) {
        // The server answers each handshake step at once: each answer is a round-trip sample.
        const Clock::time_point now = session_.loop().now();
        if (handshake_sent_at_) {
            link_.add_rtt(now - *handshake_sent_at_, now);
            handshake_sent_at_.reset();
        }
        std::vector<uint8_t> out;
        const rfb::HandshakeStep step = handshake_->feed(c.rx(), out);
        c.consume(step.consumed);
        if (!out.empty()) {
            c.send_copy(out);
            handshake_sent_at_ = now;
        }
        std::fill(out.begin(), out.end(), 0);  // may hold credentials
        if (step.status == rfb::HandshakeStep::kFailed) {
            if (handshake_->vencrypt_unusable() && options_.tls == rfb::TlsPolicy::kPrefer &&
                !avoid_vencrypt_) {
                avoid_vencrypt_ = true;
                LOG_WARN("upstream-vencrypt-unusable",
                         "session=%s upstream=%s note=\"next attempts use the server's other "
                         "security types\"",
                         session_.options().name.c_str(), describe().c_str());
            }
            session_.process_metrics().protocol_error(metrics::Side::kUpstream,
                                                      metrics::ErrorKind::kHandshake);
            fail("handshake failed: " + step.error);
            return;
        }
        if (const rfb::TlsKind kind = handshake_->tls_needed(); kind != rfb::TlsKind::kNone) {
            handshake_sent_at_.reset();  // the TLS handshake takes several round trips
            start_tls(c, kind);          // what follows arrives decrypted, in a later on_data
            return;
        }
        if (step.status != rfb::HandshakeStep::kDone) return;
        after_server_init();
    }
    if (state_ == State::kNormal && conn_) {
        const rfb::ServerReadResult r = reader_->feed(conn_->rx(), *this);
        if (conn_) conn_->consume(r.consumed);
        if (r.status == rfb::ServerReadResult::kError) {
            count_stream_error(session_.process_metrics(), metrics::Side::kUpstream, r.limit,
                               r.decoder);
            fail("protocol error: " + r.error);
        }
    }
}

bool UpstreamClient::start_tls(Connection& c, rfb::TlsKind kind) {
    std::string error;
    std::shared_ptr<const TlsCredentials> credentials;
    TlsSessionOptions so;
    if (kind == rfb::TlsKind::kX509) {
        credentials = options_.tls_ca;
        so.hostname = options_.tls_hostname.empty() ? options_.host : options_.tls_hostname;
    } else {
        if (!anon_credentials_)
            anon_credentials_ = TlsCredentials::create(
                TlsCredentialsConfig{TlsRole::kClient, TlsAuth::kAnonymous, {}, {}, {}}, &error);
        credentials = anon_credentials_;
    }
    std::unique_ptr<TlsSession> session =
        credentials ? TlsSession::create(credentials, so, &error) : nullptr;
    if (!session) {
        session_.process_metrics().protocol_error(metrics::Side::kUpstream,
                                                  metrics::ErrorKind::kTls);
        fail("cannot start TLS: " + (error.empty() ? std::string("no credentials") : error));
        return false;
    }
    LOG_DEBUG("upstream-tls-start", "session=%s upstream=%s security=%s verify=%s",
              session_.options().name.c_str(), describe().c_str(),
              handshake_->security_description().c_str(),
              kind == rfb::TlsKind::kX509 ? so.hostname.c_str() : "none (anonymous)");
    c.start_tls(std::move(session));
    std::vector<uint8_t> out;
    handshake_->tls_started(out);
    if (!out.empty()) c.send_copy(out);  // Plain's credentials: leave encrypted
    std::fill(out.begin(), out.end(), 0);
    return true;
}

void UpstreamClient::on_tls_ready(Connection& c) {
    const TlsSession* tls = c.tls();
    if (!tls) return;
    LOG_INFO(
        "upstream-tls", "session=%s upstream=%s tls=\"%s\" server=%s",
        session_.options().name.c_str(), describe().c_str(), tls->description().c_str(),
        tls->auth() == TlsAuth::kX509 ? "certificate-verified" : "anonymous (not authenticated)");
}

void UpstreamClient::after_server_init() {
    const rfb::ServerInitInfo& info = handshake_->server_init();
    rfb::Framebuffer& fb = session_.framebuffer_for_upstream();
    if (fb.width() != info.width || fb.height() != info.height) {
        if (!fb.resize(info.width, info.height)) {
            fail("server desktop size is out of range");
            return;
        }
        session_.resized(info.width, info.height);
    }
    if (timer_) {
        session_.loop().cancel_timer(timer_);
        timer_ = 0;
    }
    reader_ = std::make_unique<rfb::ServerMessageReader>(fb, info.format);
    reader_->set_limits(session_.options().peer_limits.upstream_reader());
    // Ask for canonical pixels: decoders then write straight into the framebuffer.
    send_message(rfb::SetPixelFormatMsg{rfb::PixelFormat::canonical()});
    reader_->set_wire_format(rfb::PixelFormat::canonical());
    send_message(rfb::SetEncodingsMsg{encodings_to_ask()});
    asked_for_ = link_.link_class();
    encodings_seen_.clear();
    continuous_ = false;
    qemu_keys_ = false;
    state_ = State::kNormal;
    session_.upstream_reset();
    session_.metrics().set_upstream_up(true);
    if (ever_up_) session_.metrics().upstream_reconnect();
    ever_up_ = true;
    backoff_ = options_.backoff_min;
    attempts_ = 0;
    LOG_INFO("upstream-connected",
             "session=%s upstream=%s rfb=3.%d security=%s tls-policy=%s size=%ux%u name=\"%s\" "
             "format=\"%s\"",
             session_.options().name.c_str(), describe().c_str(), handshake_->minor_version(),
             handshake_->security_description().c_str(), policy_name(options_.tls), info.width,
             info.height, info.name.c_str(), info.format.describe().c_str());
    if (!session_.has_frame() || session_.desktop_name() == session_.options().name)
        session_.set_desktop_name(info.name);
    request_update(false);
}

std::vector<int32_t> UpstreamClient::encodings_to_ask() const {
    std::vector<int32_t> list =
        options_.encodings.empty() ? preferred_encodings(link_.link_class()) : options_.encodings;
    // Keep pseudo-encodings (the link's quality and compression choice among them); drop what we
    // cannot decode.
    std::erase_if(list, [](int32_t e) { return e >= 0 && !rfb::make_decoder(e); });
    namespace enc = rfb::encoding;
    auto is_quality = [](int32_t e) { return e >= enc::kJpegQuality0 && e <= enc::kJpegQuality9; };
    auto is_compress = [](int32_t e) {
        return e >= enc::kCompressLevel0 && e <= enc::kCompressLevel9;
    };
    if (options_.quality >= 0) {
        std::erase_if(list, is_quality);
        list.push_back(enc::kJpegQuality0 + options_.quality);
    }
    if (options_.compress >= 0) {
        std::erase_if(list, is_compress);
        list.push_back(enc::kCompressLevel0 + options_.compress);
    }
    list.insert(list.end(), std::begin(kPseudoEncodings), std::end(kPseudoEncodings));
    return list;
}

// A new link class asks the server for the encodings that suit it (SetEncodings may be sent at
// any time); an explicit --upstream-encodings list is never second-guessed.
void UpstreamClient::after_link_sample() {
    if (state_ != State::kNormal || !options_.encodings.empty()) return;
    if (link_.link_class() == asked_for_) return;
    asked_for_ = link_.link_class();
    const auto rtt = link_.min_rtt();
    const auto bps = link_.throughput_bps();
    LOG_INFO("upstream-link", "session=%s upstream=%s class=%s min-rtt-us=%lld rate-mbps=%.1f",
             session_.options().name.c_str(), describe().c_str(), link_class_name(asked_for_),
             static_cast<long long>(rtt ? rtt->count() / 1000 : -1), bps ? *bps / 1e6 : -1.0);
    send_message(rfb::SetEncodingsMsg{encodings_to_ask()});
}

void UpstreamClient::send_message(const rfb::ClientMessage& m) {
    if (!conn_) return;
    std::vector<uint8_t> out;
    rfb::ByteWriter w(out);
    rfb::write_client_message(w, m);
    conn_->send_copy(out);
}

void UpstreamClient::request_update(bool incremental) {
    const rfb::Framebuffer& fb = session_.framebuffer();
    // An incremental request is answered only when the screen changes: no round-trip sample.
    if (!incremental) full_request_at_ = session_.loop().now();
    send_message(rfb::UpdateRequestMsg{incremental, rfb::Rect{0, 0, fb.width(), fb.height()}});
}

void UpstreamClient::send_key(bool down, uint32_t keysym) {
    if (state_ == State::kNormal) send_message(rfb::KeyEventMsg{down, keysym});
}

void UpstreamClient::send_pointer(uint8_t buttons, uint16_t x, uint16_t y) {
    if (state_ == State::kNormal) send_message(rfb::PointerEventMsg{buttons, x, y});
}

void UpstreamClient::send_cut_text(const std::string& latin1) {
    if (state_ == State::kNormal) {
        rfb::ClientCutTextMsg m;
        m.latin1 = latin1;
        send_message(m);
    }
}

void UpstreamClient::on_closed(Connection&, const std::string& reason) {
    conn_ = nullptr;
    fail(reason);
}

void UpstreamClient::fail(const std::string& reason) {
    const bool was_up = state_ == State::kNormal;
    last_error_ = reason;
    // The server may come back configured differently: give VeNCrypt another chance.
    if (was_up) avoid_vencrypt_ = false;
    if (was_up) session_.metrics().set_upstream_up(false);
    if (conn_) {
        conn_->close();
        conn_ = nullptr;
    }
    if (timer_) {
        session_.loop().cancel_timer(timer_);
        timer_ = 0;
    }
    // Publish whatever the interrupted update had already drawn, so viewers are not held.
    if (session_.in_update()) session_.end_update();
    reader_.reset();
    handshake_.reset();
    full_request_at_.reset();
    handshake_sent_at_.reset();
    state_ = State::kIdle;
    LOG_WARN(was_up ? "upstream-lost" : "upstream-connect-failed",
             "session=%s upstream=%s reason=\"%s\"", session_.options().name.c_str(),
             describe().c_str(), reason.c_str());
    if (!options_.dial_in && !stopped_) schedule_reconnect();
}

void UpstreamClient::schedule_reconnect() {
    static thread_local std::mt19937 rng{std::random_device{}()};
    // +-25 % jitter keeps a fleet of reflectors from reconnecting in lock-step.
    std::uniform_real_distribution<double> jitter(0.75, 1.25);
    const auto delay = std::chrono::duration_cast<Clock::duration>(backoff_ * jitter(rng));
    backoff_ = std::min(backoff_ * 2, options_.backoff_max);
    ++attempts_;
    timer_ = session_.loop().add_timer(delay, [this] { connect_now(); });
}

void UpstreamClient::on_update_begin() {
    session_.begin_update();
    const Clock::time_point now = session_.loop().now();
    if (full_request_at_) {
        link_.add_rtt(now - *full_request_at_, now);
        full_request_at_.reset();
    }
    update_begin_at_ = now;
    if (conn_) {
        update_rx_at_begin_ = conn_->bytes_received();
        update_waiting_ = conn_->rx().size();
    }
}
void UpstreamClient::on_damage(const rfb::Rect& r) {
    session_.damage(r);
}
void UpstreamClient::on_rect(const rfb::Rect&, int32_t encoding) {
    if (std::find(encodings_seen_.begin(), encodings_seen_.end(), encoding) !=
        encodings_seen_.end())
        return;
    encodings_seen_.push_back(encoding);
    LOG_INFO("upstream-encoding", "session=%s upstream=%s encoding=%s first-use",
             session_.options().name.c_str(), describe().c_str(), rfb::encoding::name(encoding));
}
void UpstreamClient::on_copy(const rfb::Rect& dst, uint32_t src_x, uint32_t src_y) {
    session_.copy(dst, src_x, src_y);
}
void UpstreamClient::on_update_end() {
    session_.end_update();
    if (conn_) {
        const Clock::time_point now = session_.loop().now();
        TransferSample t;
        const uint64_t arrived = conn_->bytes_received() - update_rx_at_begin_;
        const size_t left = conn_->rx().size();
        t.bytes = arrived + update_waiting_ > left ? arrived + update_waiting_ - left : 0;
        t.bytes_waiting = std::min<uint64_t>(update_waiting_, t.bytes);
        t.elapsed = now - update_begin_at_;
        // Bytes still queued after the update: we, not the link, set the pace.
        t.reader_limited = left > 0;
        if (link_.add_transfer(t, now)) after_link_sample();
    }
    // A resize clears the framebuffer: ask for all of it (also under continuous updates).
    if (full_refresh_needed_) {
        full_refresh_needed_ = false;
        request_update(false);
    } else if (!continuous_) {
        request_update(true);
    }
}
void UpstreamClient::on_resize(uint32_t w, uint32_t h) {
    session_.resized(w, h);
    full_refresh_needed_ = true;
    if (continuous_) send_message(rfb::EnableContinuousUpdatesMsg{true, rfb::Rect{0, 0, w, h}});
}
void UpstreamClient::on_fence(uint32_t flags, std::span<const uint8_t> payload) {
    if (!(flags & rfb::fence_flags::kRequest)) return;  // an answer to a fence we never send
    rfb::ClientFenceMsg reply;
    // Every flag is honoured: everything arrives and is handled in order, so BlockBefore and
    // BlockAfter hold by construction and SyncNext needs nothing more.
    reply.flags = flags & rfb::fence_flags::kKnown;
    reply.payload.assign(payload.begin(), payload.end());
    send_message(reply);
}
void UpstreamClient::on_end_of_continuous_updates() {
    if (!continuous_) {
        // The server's way of saying it supports them: turn them on for the whole desktop.
        const rfb::Framebuffer& fb = session_.framebuffer();
        send_message(rfb::EnableContinuousUpdatesMsg{true, fb.bounds()});
        continuous_ = true;
        LOG_INFO("upstream-continuous-updates", "session=%s upstream=%s",
                 session_.options().name.c_str(), describe().c_str());
    } else {
        // The server stopped them: go back to one outstanding request.
        continuous_ = false;
        request_update(true);
    }
}
void UpstreamClient::on_qemu_extended_key_events() {
    qemu_keys_ = true;
}
void UpstreamClient::send_qemu_key(bool down, uint32_t keysym, uint32_t keycode) {
    if (state_ != State::kNormal) return;
    if (qemu_keys_)
        send_message(rfb::QemuKeyEventMsg{down, keysym, keycode});
    else
        send_message(rfb::KeyEventMsg{down, keysym});
}
void UpstreamClient::on_cursor(const rfb::CursorImage& cursor) {
    session_.set_cursor(cursor);
}
void UpstreamClient::on_desktop_name(const std::string& name) {
    session_.set_desktop_name(name);
}
void UpstreamClient::on_bell() {
    session_.bell();
}
void UpstreamClient::on_cut_text(const std::string& latin1) {
    session_.server_cut_text(latin1);
}

}  // namespace rfbcast
