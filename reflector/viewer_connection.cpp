#include "reflector/viewer_connection.h"

#include <algorithm>

#include "codec/byte_writer.h"
#include "codec/colour_map.h"
#include "codec/encoder.h"
#include "codec/rfb_constants.h"
#include "codec/server_messages.h"
#include "codec/tile_grid.h"
#include "reflector/log.h"
#include "reflector/session.h"

namespace rfbcast {

namespace {

constexpr auto kHandshakeDeadline = std::chrono::seconds(10);
constexpr size_t kMaxRectsPerUpdate = 65534;

rfb::ServerHandshakeConfig handshake_config(const SessionOptions& o,
                                            const std::array<uint8_t, 16>& challenge) {
    rfb::ServerHandshakeConfig c;
    c.full_password = o.full_password;
    c.viewonly_password = o.viewonly_password;
    c.challenge = challenge;
    return c;
}

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

ViewerConnection::ViewerConnection(Session& session, Connection* conn, uint64_t id,
                                   const std::array<uint8_t, 16>& challenge)
    : session_(session),
      conn_(conn),
      id_(id),
      peer_(conn->peer()),
      handshake_(handshake_config(session.options(), challenge)),
      format_(rfb::PixelFormat::canonical()) {
    conn_->set_owner(this);
}

ViewerConnection::~ViewerConnection() {
    if (wait_timer_) session_.loop().cancel_timer(wait_timer_);
    if (conn_) conn_->close();
}

const std::string& ViewerConnection::peer() const {
    return peer_;
}

void ViewerConnection::start() {
    std::vector<uint8_t> out;
    handshake_.start(out);
    conn_->send_copy(out);
    conn_->start();
    wait_timer_ = session_.loop().add_timer(kHandshakeDeadline, [this] {
        wait_timer_ = 0;
        if (state_ == State::kHandshake) close("handshake not finished within 10 s");
    });
}

void ViewerConnection::close(const std::string& reason) {
    if (!teardown(reason)) return;
    session_.remove_viewer(this);
}

void ViewerConnection::shutdown(const std::string& reason) {
    teardown(reason);
}

bool ViewerConnection::teardown(const std::string& reason) {
    if (state_ == State::kClosed) return false;
    const bool was_active = state_ == State::kNormal;
    state_ = State::kClosed;
    if (wait_timer_) {
        session_.loop().cancel_timer(wait_timer_);
        wait_timer_ = 0;
    }
    if (conn_) {
        conn_->close_when_sent();  // a handshake failure reason still reaches the viewer
        conn_ = nullptr;
    }
    LOG_INFO(was_active ? "viewer-disconnected" : "viewer-refused",
             "session=%s viewer=%llu peer=%s reason=\"%s\"", session_.options().name.c_str(),
             static_cast<unsigned long long>(id_), peer_.c_str(), reason.c_str());
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
    std::vector<uint8_t> out;
    const rfb::HandshakeStep step = handshake_.feed(conn_->rx(), out);
    conn_->consume(step.consumed);
    if (!out.empty()) conn_->send_copy(out);
    if (step.status == rfb::HandshakeStep::kFailed) {
        close("handshake failed: " + step.error);
        return;
    }
    if (step.status != rfb::HandshakeStep::kDone) return;
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
    LOG_INFO("viewer-connected", "session=%s viewer=%llu peer=%s rfb=3.%d access=%s",
             session_.options().name.c_str(), static_cast<unsigned long long>(id_), peer_.c_str(),
             handshake_.minor_version(), access_name(access_));
}

void ViewerConnection::handle_messages() {
    while (state_ == State::kNormal && conn_) {
        const rfb::ClientParse p = parser_.parse(conn_->rx());
        if (p.status == rfb::ClientParse::kNeedMore) return;
        if (p.status == rfb::ClientParse::kError) {
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
    profile_.format = pf;
    profile_id_ = profile_.id();
}

void ViewerConnection::set_encodings(const std::vector<int32_t>& encodings) {
    namespace enc = rfb::encoding;
    preferred_encoding_ = enc::kRaw;
    bool chosen = false;
    supports_copyrect_ = supports_desktop_size_ = supports_ext_desktop_size_ = false;
    supports_cursor_ = supports_desktop_name_ = supports_last_rect_ = false;
    supports_cursor_alpha_ = false;
    supports_qemu_keys_ = false;
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
    profile_.encoding = preferred_encoding_;
    profile_.tuning = tuning_for(preferred_encoding_, tuning_);
    profile_id_ = profile_.id();
}

void ViewerConnection::handle(const rfb::ClientMessage& m) {
    const bool full = access_ == rfb::AccessLevel::kFull;
    if (auto* spf = std::get_if<rfb::SetPixelFormatMsg>(&m)) {
        set_pixel_format(spf->format);
    } else if (auto* se = std::get_if<rfb::SetEncodingsMsg>(&m)) {
        set_encodings(se->encodings);
    } else if (auto* req = std::get_if<rfb::UpdateRequestMsg>(&m)) {
        update_requested_ = true;
        if (!req->incremental) {
            const rfb::Rect area = req->area.intersect(rfb::Rect{0, 0, width_, height_});
            if (dirty_.size() == session_.tiles().count()) session_.tiles().mark(area, dirty_);
            // A full request also re-sends the cursor shape.
            cursor_generation_ = 0;
        }
        try_send();
    } else if (auto* key = std::get_if<rfb::KeyEventMsg>(&m)) {
        if (full) session_.forward_key(key->down, key->keysym);
    } else if (auto* qkey = std::get_if<rfb::QemuKeyEventMsg>(&m)) {
        if (full) session_.forward_qemu_key(qkey->down, qkey->keysym, qkey->keycode);
    } else if (auto* ptr = std::get_if<rfb::PointerEventMsg>(&m)) {
        if (full) session_.forward_pointer(ptr->buttons, ptr->x, ptr->y);
    } else if (auto* cut = std::get_if<rfb::ClientCutTextMsg>(&m)) {
        if (full && !cut->extended) session_.forward_cut_text(cut->latin1);
    }
    // EnableContinuousUpdates, Fence and SetDesktopSize are only sent by viewers after the
    // server advertised them, which rfbcast does not do yet: ignore them.
}

void ViewerConnection::on_resize() {
    dirty_.resize(session_.tiles().count());
    dirty_.set_all();
}

bool ViewerConnection::can_send_now() const {
    return state_ == State::kNormal && conn_ && update_requested_ &&
           conn_->queued_bytes() < kSendBudget;
}

// A copy can be replayed only by a viewer that sends right now (copies are not kept across
// updates), sees the whole desktop at its current size, and whose view of every source region is
// already what the session had before the copy: no source tile may be dirty for it.
bool ViewerConnection::can_replay(const FrameChange& change) const {
    if (change.copies.empty() || !supports_copyrect_ || !can_send_now() || gather_.active)
        return false;
    const rfb::Framebuffer& fb = session_.framebuffer();
    if (size_generation_ != session_.size_generation() || width_ != fb.width() ||
        height_ != fb.height() || !pending_copies_.empty())
        return false;
    rfb::TileBitmap sources(session_.tiles().count());
    for (const CopyOp& c : change.copies)
        session_.tiles().mark(c.src(), sources);
    return !sources.intersects(dirty_);
}

void ViewerConnection::on_frame(const FrameChange& change) {
    if (dirty_.size() != change.changed.size()) {
        dirty_.resize(change.changed.size());
        dirty_.set_all();
    }
    if (can_replay(change)) {
        rfb::TileBitmap covered(change.changed.size());
        for (const CopyOp& c : change.copies)
            session_.tiles().mark_covered(c.dst, covered);
        covered.subtract(change.damaged_after_copies);
        rfb::TileBitmap rest = change.changed;
        rest.subtract(covered);
        dirty_.merge(rest);
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
    if (state_ != State::kNormal || !conn_ || !update_requested_) return;
    if (session_.in_update() || !session_.has_frame()) return;
    if (conn_->queued_bytes() >= kSendBudget) return;
    build_update();
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

// Phase one of an update, at an upstream update boundary: everything but the tile bodies is
// decided now, and each dirty tile's body is taken from the cache or asked of the encode pool.
// The update goes out (assemble_update) once the last body is back; meanwhile the viewer's
// dirty set keeps collecting newer changes for the next update.
bool ViewerConnection::build_update() {
    if (gather_.active) return false;
    const rfb::Framebuffer& fb = session_.framebuffer();
    const rfb::TileGrid& grid = session_.tiles();
    Gather& g = gather_;
    g.head.clear();
    g.head.reserve(1024);
    g.tiles.clear();
    g.waiting = 0;
    g.count = 0;
    rfb::ByteWriter w(g.head);
    rfb::write_update_header(w, 0);  // count patched when assembled
    write_pseudo_rects(w, g.count);
    g.size_generation = size_generation_;
    g.profile_id = profile_id_;

    if (dirty_.size() != grid.count()) {
        dirty_.resize(grid.count());
        dirty_.set_all();
    }
    std::vector<size_t> tiles;
    dirty_.for_each([&](size_t i) {
        if (tiles.size() + g.count < kMaxRectsPerUpdate) tiles.push_back(i);
    });
    const rfb::Rect visible{0, 0, width_, height_};
    const uint64_t seq = ++gather_seq_;
    std::weak_ptr<int> alive = alive_;
    for (size_t i : tiles) {
        const rfb::Rect tile = grid.tile_rect(i);
        const rfb::Rect r = tile.intersect(visible);
        dirty_.reset(i);
        if (r.empty()) continue;
        const uint64_t hash = r == tile ? grid.hash(i) : rfb::TileGrid::hash_rect(fb, r);
        const size_t slot = g.tiles.size();
        SharedBytes body;
        const auto outcome = session_.encoder().get(
            fb, r, hash, profile_, profile_id_, body, [this, alive, seq, slot](SharedBytes b) {
                if (alive.expired() || !gather_.active || gather_seq_ != seq) return;
                gather_.tiles[slot].body = std::move(b);
                if (--gather_.waiting == 0) assemble_update();
            });
        if (outcome == TileEncodeService::Outcome::kRefused) {
            dirty_.set(i);  // the pool is full: this tile waits for the next update
            continue;
        }
        g.tiles.push_back(GatherTile{r, std::move(body)});
        if (outcome == TileEncodeService::Outcome::kPending) ++g.waiting;
    }
    if (g.count == 0 && g.tiles.empty()) return false;
    g.active = true;
    if (g.waiting == 0) assemble_update();
    return true;
}

void ViewerConnection::abandon_update() {
    gather_.active = false;
    ++gather_seq_;
    // What the dropped head carried is sent again: size, cursor, name, the QEMU key announce.
    size_generation_ = 0;
    cursor_generation_ = 0;
    name_generation_ = 0;
    qemu_keys_announced_ = false;
    dirty_.resize(session_.tiles().count());
    dirty_.set_all();
}

void ViewerConnection::assemble_update() {
    Gather& g = gather_;
    g.active = false;
    if (state_ != State::kNormal || !conn_) return;
    // The desktop was resized or the viewer changed its pixel format while the bodies were
    // being encoded: they no longer fit. Start over with everything.
    if (g.size_generation != session_.size_generation() || g.profile_id != profile_id_) {
        abandon_update();
        session_.loop().defer([this, alive = std::weak_ptr<int>(alive_)] {
            if (!alive.expired()) try_send();
        });
        return;
    }
    std::vector<uint8_t>& head = g.head;
    rfb::ByteWriter w(head);
    struct Piece {
        SharedBytes body;  // null: a slice [begin, end) of `head`
        size_t begin, end;
    };
    std::vector<Piece> pieces;
    size_t seg_start = 0;
    size_t count = g.count;
    for (GatherTile& t : g.tiles) {
        if (!t.body) {
            // Cannot happen for a tile inside the framebuffer; say so rather than hide it.
            LOG_WARN("encode-failed", "session=%s viewer=%llu encoding=%s rect=%ux%u+%u+%u",
                     session_.options().name.c_str(), static_cast<unsigned long long>(id_),
                     rfb::encoding::name(profile_.encoding), t.rect.w, t.rect.h, t.rect.x,
                     t.rect.y);
            continue;
        }
        if (!rfb::write_rect_prefix(w, t.rect, profile_.encoding, t.body->size(), stream_state_)) {
            close("encoded rectangle too large to frame");
            return;
        }
        pieces.push_back(Piece{nullptr, seg_start, head.size()});
        pieces.push_back(Piece{std::move(t.body), 0, 0});
        seg_start = head.size();
        ++count;
    }
    g.tiles.clear();
    if (count == 0) return;
    head[2] = static_cast<uint8_t>(count >> 8);
    head[3] = static_cast<uint8_t>(count);
    if (seg_start < head.size()) pieces.push_back(Piece{nullptr, seg_start, head.size()});
    SharedBytes head_bytes = rfb::make_shared_bytes(std::move(head));
    head = {};
    for (Piece& p : pieces) {
        if (p.body)
            conn_->send(std::move(p.body));
        else
            conn_->send(head_bytes, p.begin, p.end - p.begin);
    }
    update_requested_ = false;
    ++updates_sent_;
    LOG_DEBUG("viewer-update", "viewer=%llu rects=%zu size=%ux%u",
              static_cast<unsigned long long>(id_), count, width_, height_);
}

}  // namespace rfbcast
