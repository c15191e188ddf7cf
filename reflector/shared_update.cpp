#include "reflector/shared_update.h"

#include "codec/byte_writer.h"
#include "codec/rfb_constants.h"
#include "reflector/log.h"

namespace rfbcast {

namespace {

// Tight's compression-control byte says JPEG with 0x9 in its high nibble (rfbproto.rst, Tight).
bool is_jpeg(int32_t encoding, const std::vector<uint8_t>& body) {
    return (encoding == rfb::encoding::kTight || encoding == rfb::encoding::kTightZstd) &&
           !body.empty() && (body[0] >> 4) == 0x9;
}

}  // namespace

std::shared_ptr<SharedUpdate> SharedUpdate::start(TileEncodeService& encoder,
                                                  const rfb::Framebuffer& fb, Request request) {
    std::shared_ptr<SharedUpdate> u(new SharedUpdate(std::move(request)));
    const size_t n = u->request_.tiles.size();
    u->bodies_.resize(n);
    u->refused_.assign(n, false);
    // Counted up front so that a body arriving synchronously cannot finish the update early.
    u->waiting_ = n + 1;
    for (size_t i = 0; i < n; ++i) {
        const Tile& t = u->request_.tiles[i];
        rfb::SharedBytes body;
        // The callback keeps the update alive until its last body is back, even when every
        // viewer waiting for it has left meanwhile.
        const auto outcome = encoder.get(
            fb, t.rect, t.hash, u->request_.profile, u->request_.profile_id, body,
            [self = u, i](rfb::SharedBytes b) {
                self->bodies_[i] = std::move(b);
                if (--self->waiting_ == 0) self->assemble();
            },
            u->request_.priority);
        switch (outcome) {
            case TileEncodeService::Outcome::kReady:
                u->bodies_[i] = std::move(body);
                --u->waiting_;
                break;
            case TileEncodeService::Outcome::kRefused:
                u->refused_[i] = true;
                --u->waiting_;
                break;
            case TileEncodeService::Outcome::kPending:
                break;
        }
    }
    if (--u->waiting_ == 0) u->assemble();
    return u;
}

void SharedUpdate::wait(Waiter w) {
    if (ready_) {
        w(outcome_);
        return;
    }
    waiters_.push_back(std::move(w));
}

void SharedUpdate::assemble() {
    Request& r = request_;
    Outcome& o = outcome_;
    o.state_after = r.state_before;
    size_t total = r.head.size();
    for (const rfb::SharedBytes& b : bodies_)
        if (b) total += b->size() + 32;  // header, length, zlib header
    std::vector<uint8_t> msg = std::move(r.head);
    msg.reserve(total);
    rfb::ByteWriter w(msg);
    size_t count = r.head_rects;
    for (size_t i = 0; i < bodies_.size(); ++i) {
        const Tile& t = r.tiles[i];
        if (refused_[i]) {
            o.refused.push_back(t.index);
            continue;
        }
        const rfb::SharedBytes& body = bodies_[i];
        if (!body) {
            // Cannot happen for a tile inside the framebuffer; say so rather than hide it.
            LOG_WARN("encode-failed", "encoding=%s rect=%ux%u+%u+%u",
                     rfb::encoding::name(r.profile.encoding), t.rect.w, t.rect.h, t.rect.x,
                     t.rect.y);
            continue;
        }
        if (count >= 0xFFFF) {
            o.error = "too many rectangles in one update";
            break;
        }
        if (!rfb::write_rect_prefix(w, t.rect, r.profile.encoding, body->size(), o.state_after)) {
            o.error = "encoded rectangle too large to frame";
            break;
        }
        w.bytes(*body);
        ++count;
        o.sent.push_back(t.index);
        if (is_jpeg(r.profile.encoding, *body)) o.lossy.push_back(t.index);
    }
    bodies_.clear();
    bodies_.shrink_to_fit();
    r.tiles.clear();
    r.tiles.shrink_to_fit();
    if (o.error.empty() && count > 0 && msg.size() >= 4) {
        msg[2] = static_cast<uint8_t>(count >> 8);
        msg[3] = static_cast<uint8_t>(count);
        o.rects = count;
        o.message = rfb::make_shared_bytes(std::move(msg));
    }
    ready_ = true;
    // A waiter may start the next update of the same viewers: hand over a copy of the list.
    std::vector<Waiter> waiters = std::move(waiters_);
    waiters_.clear();
    for (Waiter& wt : waiters)
        wt(o);
}

}  // namespace rfbcast
