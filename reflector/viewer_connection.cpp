#include "reflector/viewer_connection.h"

#include <algorithm>

#include "codec/byte_writer.h"
#include "codec/colour_map.h"
#include "codec/encoder.h"
#include "codec/rfb_constants.h"
#include "codec/server_messages.h"
#include "codec/tile_grid.h"
#include "metrics/metrics.h"
#include "reflector/log.h"
#include "reflector/metric_labels.h"
#include "reflector/session.h"
#include "reflector/tcp_link_sampler.h"

namespace rfbcast {

namespace {

constexpr size_t kMaxRectsPerUpdate = 65534;
// Payloads of rfbcast's own fences: the first one, which tells the viewer fences are supported,
// and the one after each continuous update, whose answer acknowledges it.
constexpr uint8_t kFenceHello = 'h';
constexpr uint8_t kFenceUpdate = 'u';

const char* access_name(rfb::AccessLevel a) {
    switch (a) {
        case rfb::AccessLevel::kFull:
            return "full";
        case rfb::AccessLevel::kViewOnly:
            return "view-only";
        default:
            return "none";
    }
}

bool is_sendable_encoding(int32_t e) {
    // Pseudo-encodings are negative; everything rfbcast can encode has an encoder.
    return e >= 0 && e != rfb::encoding::kCopyRect && rfb::make_encoder(e) != nullptr;
}

// Only what the chosen encoder reads belongs in the profile: viewers that differ in a setting
// their encoding ignores still share encodes.
rfb::EncodeTuning tuning_for(int32_t encoding, const rfb::EncodeTuning& asked) {
    namespace enc = rfb::encoding;
    rfb::EncodeTuning t;
    switch (encoding) {
        case enc::kTight:
        case enc::kTightZstd:
            t = asked;
            break;
        case enc::kZRLE:
        case enc::kZlib:
        case enc::kZstd:
        case enc::kZSTDRLE:
            t.compress = asked.compress;
            break;
        default:
            break;
    }
    return t;
}

}  // namespace

Connection::Limits viewer_connection_limits() {
    Connection::Limits limits;
    limits.rx_chunk = 16 * 1024;
    // Until it belongs to a session: what a handshake needs, with room; the session then
    // sizes it for its cut-text limit (PeerLimits::viewer_rx_cap).
    limits.rx_cap = 512 * 1024;
    return limits;
}

rfb::ServerHandshakeConfig viewer_handshake_config(const SessionOptions& o,
                                                   const std::array<uint8_t, 16>& challenge) {
    rfb::ServerHandshakeConfig c;
    c.full_password = o.full_password;
    c.viewonly_password = o.viewonly_password;
    c.none_access = o.view_only_default ? rfb::AccessLevel::kViewOnly : rfb::AccessLevel::kFull;
    c.challenge = challenge;
    if (o.security) apply_viewer_security(*o.security, c);
    return c;
}

ViewerConnection::ViewerConnection(Session& session, Connection* conn, uint64_t id,
                                   const std::array<uint8_t, 16>& challenge)
    : session_(session),
      conn_(conn),
      id_(id),
      peer_(conn->peer()),
      handshake_(viewer_handshake_config(session.options(), challenge)),
      parser_(session.options().peer_limits.viewer_parser()),
      format_(rfb::PixelFormat::canonical()) {
    conn_->set_owner(this);
    conn_->set_rx_cap(session.options().peer_limits.viewer_rx_cap());
    pacer_.set_options(session.options().pacing);
}

ViewerConnection::ViewerConnection(Session& session, Connection* conn, uint64_t id,
                                   rfb::ServerHandshake finished)
    : session_(session),
      conn_(conn),
      id_(id),
      peer_(conn->peer()),
      handshake_(std::move(finished)),
      parser_(session.options().peer_limits.viewer_parser()),
      format_(rfb::PixelFormat::canonical()) {
    conn_->set_owner(this);
    conn_->set_rx_cap(session.options().peer_limits.viewer_rx_cap());
    pacer_.set_options(session.options().pacing);
}

ViewerConnection::~ViewerConnection() {
    cancel_timers();
    if (conn_) conn_->close();
}

const std::string& ViewerConnection::peer() const {
    return peer_;
}

void ViewerConnection::cancel_timers() {
    EventLoop& loop = session_.loop();
    for (EventLoop::TimerId* t : {&wait_timer_, &pace_timer_, &refresh_timer_}) {
        if (*t) loop.cancel_timer(*t);
        *t = 0;
    }
}

void ViewerConnection::start() {
    conn_->set_traffic_meter(session_.metrics_handle(), metrics::Side::kViewer);
    // The kernel holds little unsent: the next update leaves right after what is on the wire.
    set_notsent_lowat(conn_->fd(), static_cast<uint32_t>(session_.options().pacing.notsent_lowat));
    if (handshake_.access() != rfb::AccessLevel::kNone) {
        // Authenticated before its session was known; what it sent after ClientInit is
        // already buffered.
        after_handshake();
        if (state_ == State::kNormal && conn_ && !conn_->rx().empty()) handle_messages();
        return;
    }
    std::vector<uint8_t> out;
    handshake_.start(out);
    conn_->send_copy(out);
    conn_->start();
    // Counted from the connection, not from us: a repeater viewer has already spent part of
    // its time naming its ID.
    const Clock::duration deadline = session_.options().peer_limits.handshake_timeout;
    const Clock::duration left = conn_->created_at() + deadline - session_.loop().now();
    wait_timer_ =
        session_.loop().add_timer(std::max(left, Clock::duration::zero()), [this, deadline] {
            wait_timer_ = 0;
            if (state_ != State::kHandshake) return;
            session_.process_metrics().limit(metrics::Limit::kHandshakeDeadline);
            session_.process_metrics().refused(metrics::RefuseReason::kHandshakeTimeout);
            const auto s = std::chrono::duration_cast<std::chrono::seconds>(deadline).count();
            close("handshake not finished within " + std::to_string(s) + " s");
        });
}

void ViewerConnection::close(const std::string& reason) {
    if (!teardown(reason)) return;
    session_.remove_viewer(this);
}

void ViewerConnection::shutdown(const std::string& reason) {
    teardown(reason);
}

void ViewerConnection::drain(const std::string& reason) {
    if (state_ == State::kClosed) return;
    drain_reason_ = reason;
    // What is queued (the current update) still goes out before the connection closes.
    if (state_ != State::kNormal || !building_.update) close(reason);
}

bool ViewerConnection::teardown(const std::string& reason) {
    if (state_ == State::kClosed) return false;
    const bool was_active = state_ == State::kNormal;
    state_ = State::kClosed;
    cancel_timers();
    building_.update.reset();
    if (conn_) {
        if (hard_close_)
            conn_->close();  // it takes nothing: what is queued would only wait
        else
            conn_->close_when_sent();  // a handshake failure reason still reaches the viewer
        conn_ = nullptr;
    }
    if (was_active) session_.metrics().viewer_removed();
    // One line per connection event: session, peer, security type (once chosen) and reason.
    const std::string security =
        handshake_.security_type() != 0 ? viewer_security_name(handshake_) : "-";
    LOG_INFO(was_active ? "viewer-disconnected" : "viewer-refused",
             "session=%s viewer=%llu peer=%s security=%s reason=\"%s\"",
             session_.options().name.c_str(), static_cast<unsigned long long>(id_), peer_.c_str(),
             security.c_str(), reason.c_str());
    return true;
}

void ViewerConnection::on_closed(Connection&, const std::string& reason) {
    conn_ = nullptr;
    close(reason);
}

void ViewerConnection::on_data(Connection&) {
    if (state_ == State::kHandshake) handle_handshake();
    if (state_ == State::kNormal) handle_messages();
}

void ViewerConnection::on_sent(Connection&) {
    try_send();
}

void ViewerConnection::handle_handshake() {
    std::vector<uint8_t> held;
    const rfb::HandshakeStep step = drive_viewer_handshake(
        handshake_, *conn_, session_.options().security.get(), held,
        [this, alive = std::weak_ptr<int>(alive_)](rfb::AccessLevel verdict) {
            if (alive.expired() || state_ != State::kHandshake || !conn_) return;
            handshake_.set_plain_result(verdict);
            handle_handshake();
        });
    if (step.status == rfb::HandshakeStep::kFailed) {
        if (handshake_.auth_failed())
            session_.process_metrics().refused(metrics::RefuseReason::kAuthFailed);
        else
            session_.process_metrics().protocol_error(metrics::Side::kViewer,
                                                      metrics::ErrorKind::kHandshake);
    }
    if (step.status == rfb::HandshakeStep::kFailed && !held.empty()) {
        // A wrong password is answered only after a pause, and nothing more is read meanwhile.
        state_ = State::kFailing;
        if (wait_timer_) session_.loop().cancel_timer(wait_timer_);
        wait_timer_ = session_.loop().add_timer(
            kAuthFailureDelay, [this, held = std::move(held), why = step.error] {
                wait_timer_ = 0;
                if (conn_) conn_->send_copy(held);
                state_ = State::kHandshake;  // so that close() tears down and logs as usual
                close("handshake failed: " + why);
            });
        return;
    }
    if (step.status == rfb::HandshakeStep::kFailed) {
        close("handshake failed: " + step.error);
        return;
    }
    if (step.status != rfb::HandshakeStep::kDone) return;
    after_handshake();
}

void ViewerConnection::after_handshake() {
    preauth_.release();
    access_ = handshake_.access();
    if (wait_timer_) {
        session_.loop().cancel_timer(wait_timer_);
        wait_timer_ = 0;
    }
    if (session_.has_frame()) {
        finish_init();
        return;
    }
    // Nothing to show yet: ServerInit needs the desktop size, so wait for the first frame.
    state_ = State::kWaitingForFrame;
    wait_timer_ = session_.loop().add_timer(session_.options().first_frame_wait, [this] {
        wait_timer_ = 0;
        if (state_ == State::kWaitingForFrame) close("upstream has not delivered a frame yet");
    });
}

void ViewerConnection::finish_init() {
    const rfb::Framebuffer& fb = session_.framebuffer();
    width_ = fb.width();
    height_ = fb.height();
    size_generation_ = session_.size_generation();
    name_generation_ = session_.name_generation();
    set_pixel_format(rfb::PixelFormat::canonical());
    set_encodings({});
    dirty_.resize(session_.tiles().count());
    dirty_.set_all();
    std::vector<uint8_t> out;
    rfb::ByteWriter w(out);
    rfb::write_server_init(w, static_cast<uint16_t>(width_), static_cast<uint16_t>(height_),
                           format_, session_.desktop_name());
    conn_->send_copy(out);
    state_ = State::kNormal;
    session_.metrics().viewer_added();
    last_generation_sent_ = session_.generation();
    LOG_INFO(
        "viewer-connected", "session=%s viewer=%llu peer=%s rfb=3.%d security=%s access=%s%s%s",
        session_.options().name.c_str(), static_cast<unsigned long long>(id_), peer_.c_str(),
        handshake_.minor_version(), viewer_security_name(handshake_).c_str(), access_name(access_),
        handshake_.username().empty() ? "" : " user=", handshake_.username().c_str());
}

void ViewerConnection::handle_messages() {
    while (state_ == State::kNormal && conn_) {
        const rfb::ClientParse p = parser_.parse(conn_->rx());
        if (p.status == rfb::ClientParse::kNeedMore) return;
        if (p.status == rfb::ClientParse::kError) {
            count_stream_error(session_.process_metrics(), metrics::Side::kViewer, p.limit, false);
            close("protocol error: " + p.error);
            return;
        }
        conn_->consume(p.consumed);
        handle(p.message);
    }
}

void ViewerConnection::set_pixel_format(const rfb::PixelFormat& pf) {
    // A colour-map viewer gets rfbcast's fixed BGR233 map before any pixel in its format.
    if (!pf.true_colour && conn_ && state_ == State::kNormal)
        conn_->send_copy(rfb::bgr233_colour_map_message());
    format_ = pf;
    writer_ = std::make_unique<rfb::PixelWriter>(pf);
    ++format_generation_;
    configure_levels();
}

void ViewerConnection::set_encodings(const std::vector<int32_t>& encodings) {
    namespace enc = rfb::encoding;
    preferred_encoding_ = enc::kRaw;
    bool chosen = false;
    supports_copyrect_ = supports_desktop_size_ = supports_ext_desktop_size_ = false;
    supports_cursor_ = supports_desktop_name_ = supports_last_rect_ = false;
    supports_cursor_alpha_ = false;
    supports_qemu_keys_ = false;
    supports_tight_ = supports_fence_ = supports_continuous_ = false;
    tuning_ = rfb::EncodeTuning{};
    for (int32_t e : encodings) {
        if (!chosen && is_sendable_encoding(e)) {
            preferred_encoding_ = e;
            chosen = true;
        }
        if (e == enc::kCopyRect) supports_copyrect_ = true;
        if (e == enc::kDesktopSize) supports_desktop_size_ = true;
        if (e == enc::kExtendedDesktopSize) supports_ext_desktop_size_ = true;
        if (e == enc::kCursor) supports_cursor_ = true;
        if (e == enc::kCursorWithAlpha) supports_cursor_alpha_ = true;
        if (e == enc::kDesktopName) supports_desktop_name_ = true;
        if (e == enc::kLastRect) supports_last_rect_ = true;
        if (e == enc::kQemuExtendedKeyEvent) supports_qemu_keys_ = true;
        if (e == enc::kTight) supports_tight_ = true;
        if (e == enc::kFence) supports_fence_ = true;
        if (e == enc::kContinuousUpdates) supports_continuous_ = true;
        if (e >= enc::kJpegQuality0 && e <= enc::kJpegQuality9)
            tuning_.quality = e - enc::kJpegQuality0;
        if (e >= enc::kCompressLevel0 && e <= enc::kCompressLevel9)
            tuning_.compress = e - enc::kCompressLevel0;
        if (e >= enc::kJpegFineQuality0 && e <= enc::kJpegFineQuality100)
            tuning_.fine_quality = e - enc::kJpegFineQuality0;
        if (e >= enc::kJpegSubsamp1X && e <= enc::kJpegSubsamp16X)
            tuning_.subsampling = e - enc::kJpegSubsamp1X;
    }
    if (log_enabled(LogLevel::kDebug)) {
        std::string list;
        for (int32_t e : encodings)
            list += std::to_string(e) + ",";
        LOG_DEBUG("viewer-encodings", "viewer=%llu chosen=%s list=%s",
                  static_cast<unsigned long long>(id_), rfb::encoding::name(preferred_encoding_),
                  list.c_str());
    }
    ++format_generation_;
    configure_levels();
    if (!conn_ || state_ != State::kNormal) return;
    // Each extension is announced the first time a viewer asks for it (rfbproto.rst): an
    // EndOfContinuousUpdates, and a fence (its answer is ignored).
    std::vector<uint8_t> out;
    rfb::ByteWriter w(out);
    if (supports_continuous_ && !continuous_announced_) {
        rfb::write_end_of_continuous_updates(w);
        continuous_announced_ = true;
    }
    if (supports_fence_ && !fence_announced_) {
        const uint8_t hello[] = {kFenceHello};
        rfb::write_server_fence(w, rfb::fence_flags::kRequest, hello);
        fence_announced_ = true;
    }
    if (!out.empty()) conn_->send_copy(out);
}

// The quality steps this viewer may be sent, each with its profile: [0] lossless in the
// viewer's preferred encoding, then Tight JPEG steps when it takes Tight and allowed JPEG.
void ViewerConnection::configure_levels() {
    namespace enc = rfb::encoding;
    const SessionOptions& o = session_.options();
    int lossy_encoding = 0;
    if (preferred_encoding_ == enc::kTight || preferred_encoding_ == enc::kTightZstd)
        lossy_encoding = preferred_encoding_;
    else if (supports_tight_)
        lossy_encoding = enc::kTight;
    int asked = tuning_.quality;
    if (tuning_.fine_quality >= 0) asked = std::min(9, tuning_.fine_quality / 10);
    if (lossy_encoding == 0) asked = -1;
    ladder_.configure(asked, o.min_quality, o.max_quality);
    ladder_.set_top(o.lossless_when_fast ? 0 : 1);
    levels_.clear();
    for (size_t i = 0; i < ladder_.levels(); ++i) {
        const int q = ladder_.quality(i);
        rfb::EncodeTuning t = tuning_;
        t.quality = q;
        // The viewer's own fine-grained quality stays on the step it asked for; the steps
        // below are the coarse, shared ones.
        if (q != asked || tuning_.fine_quality < 0) t.fine_quality = -1;
        LevelProfile lp;
        lp.profile.encoding = q == QualityLadder::kLossless ? preferred_encoding_ : lossy_encoding;
        lp.profile.tuning = tuning_for(lp.profile.encoding, t);
        lp.profile.format = format_;
        lp.id = lp.profile.id();
        levels_.push_back(lp);
    }
    profile_ = levels_[ladder_.current()].profile;
    profile_id_ = levels_[ladder_.current()].id;
}

void ViewerConnection::handle(const rfb::ClientMessage& m) {
    const bool full = access_ == rfb::AccessLevel::kFull;
    if (auto* spf = std::get_if<rfb::SetPixelFormatMsg>(&m)) {
        set_pixel_format(spf->format);
    } else if (auto* se = std::get_if<rfb::SetEncodingsMsg>(&m)) {
        set_encodings(se->encodings);
    } else if (auto* req = std::get_if<rfb::UpdateRequestMsg>(&m)) {
        // Continuous updates cover incremental requests (rfbproto.rst); a request-driven
        // viewer's request is its acknowledgement of the update before it.
        if (continuous_ && req->incremental) return;
        // (The path's min RTT is refreshed once a second by check_progress: no syscall here.)
        if (!continuous_)
            pacer_.on_acknowledged(session_.loop().now(), std::chrono::microseconds(min_rtt_us_));
        update_requested_ = true;
        if (!req->incremental) {
            const rfb::Rect area = req->area.intersect(rfb::Rect{0, 0, width_, height_});
            if (dirty_.size() == session_.tiles().count()) session_.tiles().mark(area, dirty_);
            // A full request also re-sends the cursor shape.
            cursor_generation_ = 0;
        }
        try_send();
    } else if (auto* key = std::get_if<rfb::KeyEventMsg>(&m)) {
        session_.input_key(id_, full, key->down, key->keysym, 0);
    } else if (auto* qkey = std::get_if<rfb::QemuKeyEventMsg>(&m)) {
        session_.input_key(id_, full, qkey->down, qkey->keysym, qkey->keycode);
    } else if (auto* ptr = std::get_if<rfb::PointerEventMsg>(&m)) {
        session_.input_pointer(id_, full, ptr->buttons, ptr->x, ptr->y);
    } else if (auto* cut = std::get_if<rfb::ClientCutTextMsg>(&m)) {
        if (!cut->extended) session_.input_cut_text(id_, full, cut->latin1);
    } else if (auto* fence = std::get_if<rfb::ClientFenceMsg>(&m)) {
        handle_fence(*fence);
    } else if (auto* cu = std::get_if<rfb::EnableContinuousUpdatesMsg>(&m)) {
        handle_continuous(*cu);
    }
    // SetDesktopSize: rfbcast offers no viewer-side resizing (the upstream owns the size).
}

void ViewerConnection::handle_fence(const rfb::ClientFenceMsg& f) {
    if (f.flags & rfb::fence_flags::kRequest) {
        // Messages are handled strictly in order, so every ordering flag is already honoured:
        // answer at once with the flags understood and the same payload.
        std::vector<uint8_t> out;
        rfb::ByteWriter w(out);
        rfb::write_server_fence(w, f.flags & rfb::fence_flags::kKnown, f.payload);
        conn_->send_copy(out);
        return;
    }
    if (f.payload.size() == 1 && f.payload[0] == kFenceUpdate) {
        pacer_.on_acknowledged(session_.loop().now(), std::chrono::microseconds(min_rtt_us_));
        try_send();
    }
}

void ViewerConnection::handle_continuous(const rfb::EnableContinuousUpdatesMsg& m) {
    if (!supports_continuous_) return;  // not announced to this viewer: ignore, as for others
    if (m.enable) {
        if (!continuous_) pacer_.forget_unacknowledged();
        continuous_ = true;
        continuous_area_ = m.area.intersect(rfb::Rect{0, 0, width_, height_});
        try_send();
        return;
    }
    continuous_ = false;
    std::vector<uint8_t> out;
    rfb::ByteWriter w(out);
    rfb::write_end_of_continuous_updates(w);
    conn_->send_copy(out);
}

void ViewerConnection::on_resize() {
    dirty_.resize(session_.tiles().count());
    dirty_.set_all();
}

size_t ViewerConnection::unsent_bytes() {
    size_t n = conn_ ? conn_->queued_bytes() : 0;
    TcpLinkSample tcp;
    if (conn_ && sample_tcp_link(conn_->fd(), tcp)) n += tcp.notsent_bytes;
    return n;
}

// Whether this viewer's pace allows an update now; if not, arranges to be woken when it may.
bool ViewerConnection::can_send_now() {
    if (state_ != State::kNormal || !conn_ || !wants_update() || building_.update ||
        !drain_reason_.empty())
        return false;
    const PacingOptions& po = session_.options().pacing;
    // Request-driven viewers acknowledge by asking again; continuous ones by fence, if they can.
    const size_t limit = !continuous_ ? 1 : supports_fence_ ? po.max_unacknowledged : SIZE_MAX;
    // A request-driven viewer asked again only after taking the last update: the kernel holds
    // nothing of it, so TCP_INFO (a syscall per viewer per frame) is only asked of the others.
    const size_t unsent = continuous_ ? unsent_bytes() : conn_->queued_bytes();
    pacer_.set_rate_cap(session_.viewer_rate_cap());
    const Clock::time_point now = session_.loop().now();
    switch (pacer_.gate(now, unsent, limit)) {
        case ViewerPacer::Gate::kGo:
            return true;
        case ViewerPacer::Gate::kAcknowledgement:
            return false;  // the request or fence answer wakes us
        case ViewerPacer::Gate::kDrain:
            // Ours drains into the kernel (on_sent), the kernel's onto the wire (on_writable).
            if (conn_->queued_bytes() == 0) conn_->wait_writable();
            return false;
        case ViewerPacer::Gate::kTime:
            break;
    }
    const Clock::time_point at = pacer_.earliest(now);
    if (!pace_timer_ || pace_timer_at_ > at) {
        if (pace_timer_) session_.loop().cancel_timer(pace_timer_);
        pace_timer_at_ = at;
        pace_timer_ = session_.loop().add_timer(at - now, [this] {
            pace_timer_ = 0;
            try_send();
        });
    }
    return false;
}

// A copy can be replayed only by a viewer that sends right now (copies are not kept across
// updates), sees the whole desktop at its current size, and whose view of every source region is
// already what the session had before the copy: no source tile may be dirty for it.
bool ViewerConnection::can_replay(const FrameChange& change) {
    if (change.copies.empty() || !supports_copyrect_ || session_.in_update() || !can_send_now())
        return false;
    const rfb::Framebuffer& fb = session_.framebuffer();
    if (size_generation_ != session_.size_generation() || width_ != fb.width() ||
        height_ != fb.height() || !pending_copies_.empty())
        return false;
    return !change.copy_sources.intersects(dirty_);
}

void ViewerConnection::on_frame(const FrameChange& change) {
    if (dirty_.size() != change.changed.size()) {
        dirty_.resize(change.changed.size());
        dirty_.set_all();
    }
    if (can_replay(change)) {
        dirty_.merge(change.changed_after_replay);
        pending_copies_ = change.copies;
    } else {
        dirty_.merge(change.changed);
    }
    try_send();
    // Copies that could not go out with this update are not valid later: resend the tiles.
    if (!pending_copies_.empty()) {
        for (const CopyOp& c : pending_copies_)
            session_.tiles().mark(c.dst, dirty_);
        pending_copies_.clear();
    }
}

void ViewerConnection::send_message(const SharedBytes& msg) {
    if (state_ == State::kNormal && conn_) conn_->send(msg);
}

void ViewerConnection::try_send() {
    if (state_ == State::kWaitingForFrame && session_.has_frame() && !session_.in_update()) {
        if (wait_timer_) {
            session_.loop().cancel_timer(wait_timer_);
            wait_timer_ = 0;
        }
        finish_init();
        handle_messages();
    }
    if (state_ != State::kNormal || !conn_ || !wants_update()) return;
    if (session_.in_update() || !session_.has_frame()) return;
    if (!can_send_now()) return;
    build_update();
}

void ViewerConnection::on_writable(Connection&) {
    try_send();
}

void ViewerConnection::sample_metrics(Clock::time_point now) {
    if (state_ != State::kNormal || !conn_) return;
    metrics::SessionMetrics& sm = session_.metrics();
    const double rate = rate_estimate(now);
    if (rate > 0) sm.observe_viewer_bandwidth(rate);
    sm.observe_send_queue(conn_->queued_bytes());
}

void ViewerConnection::check_progress(Clock::time_point now) {
    if (state_ != State::kNormal || !conn_) return;
    size_t pending = conn_->queued_bytes();
    TcpLinkSample tcp;
    if (sample_tcp_link(conn_->fd(), tcp)) {
        pacer_.on_tcp_progress(now, tcp.bytes_acked);
        pending += tcp.notsent_bytes + (tcp.unacked_segments > 0 ? 1 : 0);
        min_rtt_us_ = tcp.min_rtt_us;
        // Continuous updates without fences acknowledge nothing: the kernel's delivery rate
        // is the only measure of the link there is.
        if (continuous_ && !supports_fence_)
            pacer_.on_tcp_rate(now, static_cast<double>(tcp.delivery_rate), tcp.app_limited);
        // A viewer that stopped reading shows as a receive window that shrank by what sits
        // unread in its kernel (TCP has acknowledged it, so it is not pending above); a window
        // that opens again means it read.
        if (tcp.peer_window > peer_window_) pacer_.on_progress(now);
        peer_window_ = tcp.peer_window;
        max_peer_window_ = std::max(max_peer_window_, tcp.peer_window);
        constexpr uint32_t kUnreadBytes = 64 * 1024;  // below this, not worth a verdict
        const uint32_t unread = max_peer_window_ - tcp.peer_window;
        if (unread >= kUnreadBytes) pending += unread;
    }
    const std::string why = pacer_.stalled(now, pending);
    if (why.empty()) return;
    ++session_.stats_for_viewers().viewers_stalled;
    hard_close_ = true;
    close(why);
}

void ViewerConnection::arm_refresh_timer() {
    if (refresh_timer_ || !lossy_.any()) return;
    if (session_.options().lossless_refresh_delay <= Clock::duration::zero()) return;
    const Clock::time_point now = session_.loop().now();
    const Clock::time_point at = session_.last_change() + session_.options().lossless_refresh_delay;
    const Clock::duration after = at > now ? at - now : std::chrono::milliseconds(1);
    refresh_timer_ = session_.loop().add_timer(after, [this] {
        refresh_timer_ = 0;
        if (!lossy_.any()) return;
        // Still: refresh now, or at the viewer's next request. Moving: look again later.
        if (screen_still(session_.loop().now()))
            try_send();
        else
            arm_refresh_timer();
    });
}

bool ViewerConnection::screen_still(Clock::time_point now) const {
    const Clock::duration delay = session_.options().lossless_refresh_delay;
    return delay > Clock::duration::zero() && now - session_.last_change() >= delay;
}

void ViewerConnection::sync_size() {
    const rfb::Framebuffer& fb = session_.framebuffer();
    size_generation_ = session_.size_generation();
    if (supports_ext_desktop_size_ || supports_desktop_size_) {
        width_ = fb.width();
        height_ = fb.height();
    }
    // A viewer that cannot be told keeps its size and is sent the part that fits.
    dirty_.resize(session_.tiles().count());
    dirty_.set_all();
}

void ViewerConnection::write_pseudo_rects(rfb::ByteWriter& w, size_t& count) {
    const bool resizing = size_generation_ != session_.size_generation();
    if (resizing) {
        sync_size();
        // Plain DesktopSize when the viewer takes it: libvncclient (0.9.14) ignores the size in
        // a server-initiated ExtendedDesktopSize, and rfbcast offers no client-side resizing,
        // the one thing the extended form adds.
        if (supports_desktop_size_) {
            rfb::write_desktop_size_rect(w, static_cast<uint16_t>(width_),
                                         static_cast<uint16_t>(height_));
            ++count;
        } else if (supports_ext_desktop_size_) {
            rfb::Screen s;
            s.w = static_cast<uint16_t>(width_);
            s.h = static_cast<uint16_t>(height_);
            const rfb::Screen screens[] = {s};
            rfb::write_extended_desktop_size_rect(w, 0, 0, static_cast<uint16_t>(width_),
                                                  static_cast<uint16_t>(height_), screens);
            ++count;
        }
    }
    if ((supports_cursor_ || supports_cursor_alpha_) &&
        cursor_generation_ != session_.cursor_generation() && session_.cursor().width > 0 &&
        session_.cursor().consistent()) {
        // Alpha shapes go as Cursor With Alpha to viewers that take it; everyone else gets the
        // classic shape with a mask dithered from the alpha (session cursors carry both).
        if (supports_cursor_alpha_)
            rfb::write_cursor_with_alpha_rect(w, session_.cursor());
        else
            rfb::write_cursor_rect(w, session_.cursor(), *writer_);
        cursor_generation_ = session_.cursor_generation();
        ++count;
    }
    // Tell a viewer it may send QEMU key events once the upstream has said it takes them.
    if (supports_qemu_keys_ && !qemu_keys_announced_ && session_.upstream_supports_qemu_keys()) {
        rfb::write_rect_header(w, rfb::Rect{}, rfb::encoding::kQemuExtendedKeyEvent);
        qemu_keys_announced_ = true;
        ++count;
    }
    if (supports_desktop_name_ && name_generation_ != session_.name_generation()) {
        rfb::write_desktop_name_rect(w, session_.desktop_name());
        name_generation_ = session_.name_generation();
        ++count;
    }
    // Copies first: the tiles that follow were encoded from the pixels after them.
    for (const CopyOp& c : pending_copies_) {
        rfb::write_copyrect(w, c.dst, c.src_x, c.src_y);
        ++count;
    }
    pending_copies_.clear();
}

namespace {

// Everything the bytes of an update depend on besides the framebuffer's pixels (the session's
// content epoch covers those): viewers whose keys are equal would build identical updates.
std::string share_key(const SharedUpdate::Request& r, uint32_t width, uint32_t height) {
    std::string key;
    key.reserve(24 + r.head.size() + 4 * r.tiles.size());
    auto put = [&key](uint64_t v, int bytes) {
        for (int i = 0; i < bytes; ++i)
            key.push_back(static_cast<char>(v >> (8 * i)));
    };
    put(r.profile_id, 8);
    put((r.state_before.zrle_stream_started ? 1 : 0) | (r.state_before.zlib_stream_started ? 2 : 0),
        1);
    put(width, 4);
    put(height, 4);
    put(r.head.size(), 4);
    key.append(reinterpret_cast<const char*>(r.head.data()), r.head.size());
    for (const SharedUpdate::Tile& t : r.tiles)
        put(t.index, 4);
    return key;
}

}  // namespace

// Phase one of an update, at an upstream update boundary: everything but the tile bodies is
// decided now: the tiles (the dirty ones, or when the screen is still a lossless refresh of tiles
// sent as JPEG), the quality step for them, and whether a viewer in step with this one already
// started the same update (else it is started, each body from the cache or the encode pool). It
// goes out (finish_update) once the last body is back; meanwhile the viewer's dirty set keeps
// collecting newer changes for the next update.
bool ViewerConnection::build_update() {
    if (building_.update) return false;
    const rfb::Framebuffer& fb = session_.framebuffer();
    const rfb::TileGrid& grid = session_.tiles();
    const Clock::time_point now = session_.loop().now();
    SharedUpdate::Request req;
    req.head.reserve(256);
    rfb::ByteWriter w(req.head);
    rfb::write_update_header(w, 0);  // count patched when assembled
    write_pseudo_rects(w, req.head_rects);

    if (dirty_.size() != grid.count()) {
        dirty_.resize(grid.count());
        dirty_.set_all();
    }
    if (lossy_.size() != grid.count()) lossy_.resize(grid.count());
    // Only continuous updates asked (no request): they cover the viewer's chosen area.
    const bool area_only = continuous_ && !update_requested_;
    std::vector<size_t> tiles;
    dirty_.for_each([&](size_t i) {
        if (tiles.size() + req.head_rects >= kMaxRectsPerUpdate) return;
        if (area_only && grid.tile_rect(i).intersect(continuous_area_).empty()) return;
        tiles.push_back(i);
    });
    const rfb::Rect visible{0, 0, width_, height_};
    // What the link carries, and no more than the viewer's rate cap allows: a capped viewer gets
    // a lower quality step, not just fewer frames.
    auto estimate = pacer_.rate(now);
    const double cap = session_.viewer_rate_cap();
    if (cap > 0 && (estimate.rate <= 0 || estimate.rate > cap)) estimate = {cap, true};
    const double target = std::clamp(session_.frame_interval(),
                                     1.0 / std::max(1.0, session_.options().pacing.max_fps), 1.0);
    bool refresh = false;
    if (tiles.empty() && lossy_.any() && screen_still(now)) {
        refresh = true;
        lossy_.for_each([&](size_t i) {
            if (tiles.size() + req.head_rects < kMaxRectsPerUpdate) tiles.push_back(i);
        });
    }
    const size_t level =
        refresh ? 0 : ladder_.choose(now, tiles.size(), estimate.rate, estimate.exact, target);
    // Within what the link carries in half a second (a lower bound is safe here: it can only
    // make the update smaller); a lossless refresh too, a share at a time.
    if (estimate.rate > 0) fit_to_budget(tiles, level, estimate.rate);
    req.tiles.reserve(tiles.size());
    for (size_t i : tiles) {
        const rfb::Rect tile = grid.tile_rect(i);
        const rfb::Rect r = tile.intersect(visible);
        dirty_.reset(i);
        if (r.empty()) continue;
        const uint64_t hash = r == tile ? grid.hash(i) : rfb::TileGrid::hash_rect(fb, r);
        req.tiles.push_back(SharedUpdate::Tile{r, hash, static_cast<uint32_t>(i)});
    }
    if (req.head_rects == 0 && req.tiles.empty()) return false;
    profile_ = levels_[level].profile;
    profile_id_ = levels_[level].id;
    req.profile = profile_;
    req.profile_id = profile_id_;
    req.state_before = stream_state_;
    // A refresh, or an update that takes this viewer's link more than ~100 ms: a few ms of
    // encode queueing cannot matter to it, and must not delay viewers whose frames leave at once.
    if (refresh || (estimate.exact && estimate.rate > 0 &&
                    ladder_.predict(level, req.tiles.size()) > 0.1 * estimate.rate))
        req.priority = EncodePool::Priority::kBackground;

    SharedUpdateTable& table = session_.shared_updates();
    const uint64_t epoch = session_.content_epoch();
    std::string key = share_key(req, width_, height_);
    std::shared_ptr<SharedUpdate> update = table.find(epoch, key);
    if (!update) {
        update = SharedUpdate::start(session_.encoder(), fb, std::move(req));
        table.insert(epoch, std::move(key), update);
    }
    building_ = Building{update, size_generation_, format_generation_, level, refresh};
    const uint64_t seq = ++build_seq_;
    update->wait([this, alive = std::weak_ptr<int>(alive_), seq](const SharedUpdate::Outcome& o) {
        if (!alive.expired() && build_seq_ == seq) finish_update(o);
    });
    return true;
}

// Even at its lowest quality step an update may be more than a slow viewer's link drains in
// kUpdateBudget: then it takes only the tiles that fit, going round the screen from where the
// last partial update stopped, and the rest stay dirty for the next one. The viewer always
// shows recent pixels (never a backlog of whole frames), and every region gets its turn.
void ViewerConnection::fit_to_budget(std::vector<size_t>& tiles, size_t level, double rate) {
    constexpr double kUpdateBudget = 0.5;  // seconds of the viewer's rate
    // At least this much, so that on a link that got faster the update is big enough to show
    // it (DeliveryRateEstimator ignores quick small ones); 0.75 s at 256 kbit/s.
    constexpr double kMinBudgetBytes = 24 * 1024;
    const double per_tile = std::max(1.0, ladder_.predict(level, 1));
    const double budget = std::max(rate * kUpdateBudget, kMinBudgetBytes);
    const size_t fit = std::max<size_t>(1, static_cast<size_t>(budget / per_tile));
    if (tiles.size() <= fit) return;
    const auto first = std::lower_bound(tiles.begin(), tiles.end(), tile_cursor_);
    std::rotate(tiles.begin(), first, tiles.end());
    tiles.resize(fit);
    tile_cursor_ = tiles.back() + 1;
}

void ViewerConnection::abandon_update() {
    building_.update.reset();
    ++build_seq_;
    // What the dropped head carried is sent again: size, cursor, name, the QEMU key announce.
    size_generation_ = 0;
    cursor_generation_ = 0;
    name_generation_ = 0;
    qemu_keys_announced_ = false;
    dirty_.resize(session_.tiles().count());
    dirty_.set_all();
}

void ViewerConnection::finish_update(const SharedUpdate::Outcome& o) {
    // Keeps the update alive to the end of this call: it may be the last reference.
    const std::shared_ptr<SharedUpdate> update = std::move(building_.update);
    building_.update.reset();
    if (state_ != State::kNormal || !conn_) return;
    // The desktop was resized or the viewer changed its pixel format or encodings while the
    // bodies were being encoded: they no longer fit. Start over with everything.
    if (building_.size_generation != session_.size_generation() ||
        building_.format_generation != format_generation_) {
        if (!drain_reason_.empty()) {
            close(drain_reason_);
            return;
        }
        abandon_update();
        session_.loop().defer([this, alive = std::weak_ptr<int>(alive_)] {
            if (!alive.expired()) try_send();
        });
        return;
    }
    for (uint32_t i : o.refused)
        if (i < dirty_.size()) dirty_.set(i);  // the pool was full: next update
    if (!o.error.empty()) {
        close(o.error);
        return;
    }
    if (!o.message) {
        if (!drain_reason_.empty()) close(drain_reason_);
        return;
    }
    const Clock::time_point now = session_.loop().now();
    conn_->send(o.message);
    stream_state_ = o.state_after;
    update_requested_ = false;
    ++updates_sent_;
    metrics::SessionMetrics& sm = session_.metrics();
    sm.frame_sent();
    // Upstream frames this viewer never saw as such: merged into this one while it was busy.
    const uint64_t generation = session_.generation();
    if (generation > last_generation_sent_ + 1)
        sm.frames_skipped(generation - last_generation_sent_ - 1);
    last_generation_sent_ = std::max(last_generation_sent_, generation);
    // Request-driven viewers acknowledge with their next request; continuous ones with the
    // answer to this fence (without fences, TCP's progress is all there is).
    const bool acknowledged = !continuous_ || supports_fence_;
    pacer_.on_update_sent(now, o.message->size(), acknowledged);
    if (continuous_ && supports_fence_) {
        std::vector<uint8_t> out;
        rfb::ByteWriter w(out);
        const uint8_t payload[] = {kFenceUpdate};
        rfb::write_server_fence(w, rfb::fence_flags::kRequest | rfb::fence_flags::kBlockBefore,
                                payload);
        conn_->send_copy(out);
    }
    ladder_.observe(building_.level, o.message->size(), o.sent.size());
    if (lossy_.size() == session_.tiles().count()) {
        for (uint32_t i : o.sent)
            lossy_.reset(i);
        for (uint32_t i : o.lossy)
            lossy_.set(i);
    }
    if (building_.refresh) ++session_.stats_for_viewers().lossless_refreshes;
    arm_refresh_timer();
    LOG_DEBUG("viewer-update", "viewer=%llu rects=%zu bytes=%zu quality=%d%s",
              static_cast<unsigned long long>(id_), o.rects, o.message->size(),
              ladder_.quality(building_.level), building_.refresh ? " refresh" : "");
    if (!drain_reason_.empty()) close(drain_reason_);
}

}  // namespace rfbcast
