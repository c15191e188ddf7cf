#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace rfb {

// A cursor shape as the Cursor pseudo-encoding (-239) carries it, with pixels already converted
// to canonical 0x00RRGGBB so that one image can be re-encoded for any viewer's pixel format.
//
// A Cursor With Alpha shape (-314) fills the same fields, so viewers without alpha support can be
// sent it as a classic cursor, and also keeps its alpha channel: `pixels` then hold the colours
// un-premultiplied and `mask` is derived from the alpha (codec/cursor_conversion.h).
struct CursorImage {
    uint16_t width = 0, height = 0, hot_x = 0, hot_y = 0;
    std::vector<uint32_t> pixels;  // width * height canonical pixels, row by row
    std::vector<uint8_t> mask;     // 1 bit per pixel, MSB = leftmost, rows padded to bytes
    std::vector<uint8_t> alpha;    // empty, or width * height straight alpha values (0..255)

    size_t mask_stride() const { return (size_t{width} + 7) / 8; }
    size_t mask_size() const { return mask_stride() * height; }
    bool has_alpha() const { return !alpha.empty(); }
    // True when the vectors have exactly the sizes width and height call for.
    bool consistent() const {
        const size_t npx = size_t{width} * height;
        return pixels.size() == npx && mask.size() == mask_size() &&
               (alpha.empty() || alpha.size() == npx);
    }
    bool operator==(const CursorImage&) const = default;
};

}  // namespace rfb
