#include "codec/raw_encoder.h"

namespace rfb {

bool RawEncoder::encode(const Framebuffer& fb, const Rect& r, const PixelWriter& px,
                        const EncodeTuning& /*tuning*/, std::vector<uint8_t>& out) {
    const size_t bpp = px.bytes_per_pixel();
    if (!fb.contains(r) || (bpp != 1 && bpp != 2 && bpp != 4)) return false;
    if (r.empty()) return true;
    // fits_in() bounds w and h by the framebuffer (at most 16384 each), so this cannot overflow.
    const size_t row_bytes = size_t{r.w} * bpp;
    const size_t start = out.size();
    out.resize(start + row_bytes * r.h);
    uint8_t* dst = out.data() + start;
    for (uint32_t y = 0; y < r.h; ++y, dst += row_bytes)
        px.write_row(fb.row(r.y + y) + r.x, r.w, dst);
    return true;
}

}  // namespace rfb
