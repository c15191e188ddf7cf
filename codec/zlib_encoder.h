#pragma once
#include <cstdint>
#include <vector>

#include "codec/encoder.h"
#include "codec/rfb_constants.h"
#include "codec/shareable_deflater.h"

namespace rfb {

// Zlib encoding (6): the rectangle's Raw body (pixels in the viewer's format, row by row),
// deflated. RFB keeps one zlib stream per connection for it; the body here is one shareable
// piece of such a stream (shareable_deflater.h), and rect_framing.h adds the U32 length and,
// on a viewer's first Zlib rectangle, the zlib header.
class ZlibEncoder final : public RectEncoder {
  public:
    int32_t encoding() const override { return encoding::kZlib; }
    // tuning.compress 0..9 is the zlib level; -1 (not asked) or anything else means 6.
    bool encode(const Framebuffer& fb, const Rect& r, const PixelWriter& px,
                const EncodeTuning& tuning, std::vector<uint8_t>& out) override;

    static constexpr int kDefaultLevel = 6;

  private:
    ShareableDeflater deflater_;
    std::vector<uint8_t> rows_;  // a few rows of wire pixels at a time
};

}  // namespace rfb
