#pragma once
#include <cstdint>

#include "codec/decoder.h"
#include "codec/rfb_constants.h"

namespace rfb {

// CopyRect (1): u16 src-x, u16 src-y. The source area must lie inside the framebuffer; the copy
// is overlap-safe (scrolling copies a region onto itself shifted by a few rows).
class CopyRectDecoder final : public RectDecoder {
  public:
    int32_t encoding() const override { return encoding::kCopyRect; }
    DecodeResult decode(const Rect& r, std::span<const uint8_t> data, DecodeTarget& t) override;
};

}  // namespace rfb
