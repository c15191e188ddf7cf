#pragma once
#include <cstdint>
#include <vector>

#include "codec/encoder.h"
#include "codec/rfb_constants.h"

namespace rfb {

// Raw encoding (0): the rectangle's pixels in the viewer's format, row by row.
class RawEncoder final : public RectEncoder {
  public:
    int32_t encoding() const override { return encoding::kRaw; }
    bool encode(const Framebuffer& fb, const Rect& r, const PixelWriter& px,
                const EncodeTuning& tuning, std::vector<uint8_t>& out) override;
};

}  // namespace rfb
