#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "codec/framebuffer.h"
#include "codec/pixel_converter.h"
#include "codec/rect.h"

namespace rfb {

enum class DecodeStatus {
    kNeedMore,  // the body is incomplete: nothing consumed, no state changed; call again
    kProgress,  // `consumed` bytes were used and the rectangle continues (streaming decoders)
    kDone,      // the rectangle is finished after `consumed` bytes
    kError,     // malformed: the connection must be dropped; `error` says why
};

struct DecodeResult {
    DecodeStatus status = DecodeStatus::kNeedMore;
    size_t consumed = 0;
    std::string error;

    static DecodeResult need_more() { return {}; }
    static DecodeResult progress(size_t n) { return {DecodeStatus::kProgress, n, {}}; }
    static DecodeResult done(size_t n) { return {DecodeStatus::kDone, n, {}}; }
    static DecodeResult fail(std::string why) { return {DecodeStatus::kError, 0, std::move(why)}; }
};

// Where decoded pixels go: the session framebuffer, and how wire pixels become canonical ones.
struct DecodeTarget {
    Framebuffer& fb;
    const PixelReader& pixels;
};

// Decodes the body of one rectangle of one encoding (the 12-byte rectangle header has been read
// and the rectangle checked to lie inside the framebuffer). Decoders are pure: bytes in, pixels
// out, and every length, count and sub-rectangle is checked before anything is written.
// A decoder keeps only stream state that outlives a rectangle (zlib streams) and the progress
// of a streaming rectangle; reset() forgets both, for a new upstream connection.
class RectDecoder {
  public:
    virtual ~RectDecoder() = default;
    virtual int32_t encoding() const = 0;
    virtual DecodeResult decode(const Rect& r, std::span<const uint8_t> data, DecodeTarget& t) = 0;
    virtual void reset() {}
};

// A decoder for `encoding`, or nullptr when rfbcast cannot decode it.
std::unique_ptr<RectDecoder> make_decoder(int32_t encoding);

}  // namespace rfb
