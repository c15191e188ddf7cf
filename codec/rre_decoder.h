#pragma once
#include <cstdint>
#include <span>

#include "codec/decoder.h"
#include "codec/rfb_constants.h"

namespace rfb {

// RRE and CoRRE share one body layout: u32 count, background pixel, then `count` subrectangles
// of pixel + x, y, w, h, where the coordinates are u16 (RRE) or u8 (CoRRE).
enum class RreLayout { kRre, kCoRre };

// Decodes a whole RRE/CoRRE body at once: kNeedMore (touching nothing) until every subrectangle
// has arrived, then checks them all before drawing any.
DecodeResult decode_rre_body(const Rect& r, std::span<const uint8_t> data, DecodeTarget& t,
                             RreLayout layout);

// RRE (2).
class RreDecoder final : public RectDecoder {
  public:
    int32_t encoding() const override { return encoding::kRRE; }
    DecodeResult decode(const Rect& r, std::span<const uint8_t> data, DecodeTarget& t) override {
        return decode_rre_body(r, data, t, RreLayout::kRre);
    }
};

}  // namespace rfb
