#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "codec/encoder.h"
#include "codec/rfb_constants.h"

namespace rfb {

// RRE encoding (2): U32 subrectangle count, background PIXEL, then per subrectangle a PIXEL and
// U16 x, y, w, h relative to the rectangle (rfbproto.rst, "RRE Encoding"). Self-contained, so
// every body is shareable as it is.
//
// The background is the most common pixel value (in the viewer's format, where distinct
// canonical colours may coincide); the other pixels are covered greedily by one-colour
// subrectangles, each the larger of the widest-first and tallest-first rectangle at the first
// uncovered pixel in scan order.
//
// RRE has no raw fallback: noisy content explodes into one subrectangle per pixel, up to
// (bpp + 8) / bpp times the Raw size. By default encode() produces RRE anyway (a viewer that
// asked only for RRE must still get pixels). Built with `refuse_costly`, it instead returns
// false, leaving `out` as it was, as soon as the body would grow past the Raw body of the same
// rectangle, so that a caller can choose another encoding; raw_body_size() and body_size() let a
// caller apply its own rule to last_subrects().
class RreEncoder final : public RectEncoder {
  public:
    explicit RreEncoder(bool refuse_costly = false) : refuse_costly_(refuse_costly) {}

    int32_t encoding() const override { return encoding::kRRE; }
    bool encode(const Framebuffer& fb, const Rect& r, const PixelWriter& px,
                const EncodeTuning& tuning, std::vector<uint8_t>& out) override;

    // Subrectangles in the last body encode() produced.
    size_t last_subrects() const { return last_subrects_; }
    // Bytes of an RRE body with `subrects` subrectangles of `bpp`-byte pixels.
    static size_t body_size(size_t subrects, size_t bpp) { return 4 + bpp + subrects * (bpp + 8); }
    static size_t raw_body_size(const Rect& r, size_t bpp) { return size_t{r.w} * r.h * bpp; }

  private:
    uint32_t background() const;

    bool refuse_costly_;
    size_t last_subrects_ = 0;
    uint32_t w_ = 0, h_ = 0;
    std::vector<uint32_t> px_;  // packed pixels; covered ones are overwritten with the background
    // Open-addressed colour counts for choosing the background.
    mutable std::vector<uint32_t> keys_, counts_;
};

}  // namespace rfb
