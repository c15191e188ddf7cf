#include "codec/zstd_encoder.h"

#include <algorithm>
#include <span>

namespace rfb {

namespace {
// Rows are converted and compressed in pieces of about this size (at least one row).
constexpr size_t kZstdChunkBytes = 64 * 1024;
}  // namespace

bool ZstdEncoder::encode(const Framebuffer& fb, const Rect& r, const PixelWriter& px,
                         const EncodeTuning& tuning, std::vector<uint8_t>& out) {
    const size_t bpp = px.bytes_per_pixel();
    if (!fb.contains(r) || (bpp != 1 && bpp != 2 && bpp != 4)) return false;
    // fits_in() bounds w and h by the framebuffer (at most 16384 each): no overflow.
    const size_t row_bytes = size_t{r.w} * bpp;
    if (!writer_.begin(zstd_level(tuning), uint64_t{row_bytes} * r.h)) return false;
    const size_t start = out.size();
    bool ok = true;
    if (!r.empty()) {
        const size_t chunk_rows = std::clamp<size_t>(kZstdChunkBytes / row_bytes, 1, r.h);
        rows_.resize(chunk_rows * row_bytes);
        for (uint32_t y = 0; y < r.h && ok;) {
            const uint32_t n = static_cast<uint32_t>(std::min<size_t>(chunk_rows, r.h - y));
            for (uint32_t i = 0; i < n; ++i)
                px.write_row(fb.row(r.y + y + i) + r.x, r.w, rows_.data() + i * row_bytes);
            ok = writer_.add(std::span(rows_.data(), n * row_bytes), out);
            y += n;
        }
    }
    if (ok) ok = writer_.finish({}, out);
    if (!ok) out.resize(start);
    return ok;
}

}  // namespace rfb
