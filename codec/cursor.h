#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace rfb {

// A cursor shape as the Cursor pseudo-encoding (-239) carries it, with pixels already converted
// to canonical 0x00RRGGBB so that one image can be re-encoded for any viewer's pixel format.
struct CursorImage {
    uint16_t width = 0, height = 0, hot_x = 0, hot_y = 0;
    std::vector<uint32_t> pixels;  // width * height canonical pixels, row by row
    std::vector<uint8_t> mask;     // 1 bit per pixel, MSB = leftmost, rows padded to bytes

    size_t mask_stride() const { return (size_t{width} + 7) / 8; }
    size_t mask_size() const { return mask_stride() * height; }
    // True when the vectors have exactly the sizes width and height call for.
    bool consistent() const {
        return pixels.size() == size_t{width} * height && mask.size() == mask_size();
    }
    bool operator==(const CursorImage&) const = default;
};

}  // namespace rfb
