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
    if (change.copies.empty() || !supports_copyrect_ || !can_send_now() || building_.update)
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
// decided now, and the update is taken from a viewer in step with this one or started (each
// body from the cache or the encode pool). It goes out (finish_update) once the last body is
// back; meanwhile the viewer's dirty set keeps collecting newer changes for the next update.
bool ViewerConnection::build_update() {
    if (building_.update) return false;
    const rfb::Framebuffer& fb = session_.framebuffer();
    const rfb::TileGrid& grid = session_.tiles();
    SharedUpdate::Request req;
    req.head.reserve(256);
    rfb::ByteWriter w(req.head);
    rfb::write_update_header(w, 0);  // count patched when assembled
    write_pseudo_rects(w, req.head_rects);

    if (dirty_.size() != grid.count()) {
        dirty_.resize(grid.count());
        dirty_.set_all();
    }
    std::vector<size_t> tiles;
    dirty_.for_each([&](size_t i) {
        if (tiles.size() + req.head_rects < kMaxRectsPerUpdate) tiles.push_back(i);
    });
    const rfb::Rect visible{0, 0, width_, height_};
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
    req.profile = profile_;
    req.profile_id = profile_id_;
    req.state_before = stream_state_;

    SharedUpdateTable& table = session_.shared_updates();
    const uint64_t epoch = session_.content_epoch();
    std::string key = share_key(req, width_, height_);
    std::shared_ptr<SharedUpdate> update = table.find(epoch, key);
    if (!update) {
        update = SharedUpdate::start(session_.encoder(), fb, std::move(req));
        table.insert(epoch, std::move(key), update);
    }
    building_ = Building{update, size_generation_, profile_id_};
    const uint64_t seq = ++build_seq_;
    update->wait([this, alive = std::weak_ptr<int>(alive_), seq](const SharedUpdate::Outcome& o) {
        if (!alive.expired() && build_seq_ == seq) finish_update(o);
    });
    return true;
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
    // The desktop was resized or the viewer changed its pixel format while the bodies were
    // being encoded: they no longer fit. Start over with everything.
    if (building_.size_generation != session_.size_generation() ||
        building_.profile_id != profile_id_) {
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
    if (!o.message) return;
    conn_->send(o.message);
    stream_state_ = o.state_after;
    update_requested_ = false;
    ++updates_sent_;
    LOG_DEBUG("viewer-update", "viewer=%llu rects=%zu bytes=%zu size=%ux%u",
              static_cast<unsigned long long>(id_), o.rects, o.message->size(), width_, height_);
}

}  // namespace rfbcast
