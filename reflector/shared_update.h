#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "codec/encode_cache.h"
#include "codec/framebuffer.h"
#include "codec/rect.h"
#include "codec/rect_framing.h"
#include "codec/shared_bytes.h"
#include "reflector/tile_encode_service.h"

namespace rfbcast {

// One FramebufferUpdate message, put together once and sent to every viewer that needs exactly
// these bytes. Viewers in step (same profile, stream state, visible size, pseudo-rectangles and
// dirty tiles, at the same framebuffer content) would each build an identical update; building
// it once turns the per-viewer work of a frame into one send of one buffer. The bodies come
// from the TileEncodeService (cache or pool), so the update may finish later on the loop.
class SharedUpdate {
  public:
    struct Tile {
        rfb::Rect rect;      // clipped to what the viewer sees
        uint64_t hash = 0;   // content hash of exactly `rect`
        uint32_t index = 0;  // tile index in the session's grid
    };

    struct Outcome {
        rfb::SharedBytes message;  // the whole update; null when it carries no rectangle
        size_t rects = 0;
        rfb::ViewerStreamState state_after;
        // Tiles the encode pool refused (it was full): still dirty for every viewer of this
        // update.
        std::vector<uint32_t> refused;
        std::vector<uint32_t> sent;   // tiles in the message
        std::vector<uint32_t> lossy;  // of those, the ones sent as JPEG
        std::string error;            // set: the update could not be framed; close the viewer
    };
    using Waiter = std::function<void(const Outcome&)>;

    struct Request {
        std::vector<uint8_t> head;  // update header (count patched later), pseudo-rects, copies
        size_t head_rects = 0;
        std::vector<Tile> tiles;
        rfb::EncodeProfile profile;
        uint64_t profile_id = 0;
        rfb::ViewerStreamState state_before;
        // Encodes for a viewer whose link takes far longer than they do wait behind the others.
        EncodePool::Priority priority = EncodePool::Priority::kForeground;
    };

    // Asks for every body at once; the update is ready when the last one is back (at once when
    // all are cached). `fb` must be between upstream updates (DESIGN.md invariant).
    static std::shared_ptr<SharedUpdate> start(TileEncodeService& encoder,
                                               const rfb::Framebuffer& fb, Request request);

    bool ready() const { return ready_; }
    const Outcome& outcome() const { return outcome_; }
    // Runs `w` once the update is ready: now if it is, else later from the loop.
    void wait(Waiter w);
    // Bytes this update holds (its message once ready).
    size_t bytes() const { return outcome_.message ? outcome_.message->size() : 0; }

  private:
    explicit SharedUpdate(Request request) : request_(std::move(request)) {}
    void assemble();

    Request request_;
    std::vector<rfb::SharedBytes> bodies_;  // one per tile, in order
    std::vector<bool> refused_;
    size_t waiting_ = 0;
    bool ready_ = false;
    Outcome outcome_;
    std::vector<Waiter> waiters_;
};

}  // namespace rfbcast
