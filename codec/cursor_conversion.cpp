#include "codec/cursor_conversion.h"

#include <algorithm>

namespace rfb {

uint8_t unpremultiply(uint8_t channel, uint8_t alpha) {
    if (alpha == 0) return 0;
    const uint32_t v = (uint32_t{channel} * 255u + alpha / 2u) / alpha;
    return static_cast<uint8_t>(std::min<uint32_t>(v, 255));
}

uint8_t premultiply(uint8_t channel, uint8_t alpha) {
    // c * a / 255 is never exactly halfway between two integers, so +127 rounds to nearest.
    return static_cast<uint8_t>((uint32_t{channel} * alpha + 127u) / 255u);
}

std::vector<uint8_t> mask_from_alpha(uint16_t width, uint16_t height,
                                     std::span<const uint8_t> alpha) {
    const size_t w = width, npx = size_t{width} * height;
    if (alpha.size() != npx) return {};
    const size_t stride = (w + 7) / 8;
    std::vector<uint8_t> mask(stride * height, 0);
    if (npx == 0) return mask;

    // Two rows of running values: the row being decided, and the error carried to the next.
    std::vector<int32_t> row(w), below(w, 0);
    for (size_t y = 0; y < height; ++y) {
        for (size_t x = 0; x < w; ++x) {
            row[x] = int32_t{alpha[y * w + x]} * 257 + below[x];  // 0..255 -> 0..65535
            below[x] = 0;
        }
        const bool last_row = y + 1 == height;
        const bool leftward = (y & 1) != 0;
        for (size_t i = 0; i < w; ++i) {
            const size_t x = leftward ? w - 1 - i : i;
            const bool shown = row[x] > 32767;
            const int32_t error = shown ? row[x] - 65535 : row[x];
            if (shown) mask[y * stride + x / 8] |= static_cast<uint8_t>(0x80u >> (x % 8));
            // The neighbour ahead in this row's direction, if there is one.
            const bool has_next = leftward ? x > 0 : x + 1 < w;
            const size_t next = leftward ? x - 1 : x + 1;
            if (has_next) row[next] += error * 7 / 16;
            if (!last_row) {
                if (has_next) below[next] += error * 3 / 16;
                below[x] += error * 5 / 16;
            }
        }
    }
    return mask;
}

bool cursor_from_premultiplied_rgba(uint16_t width, uint16_t height, uint16_t hot_x, uint16_t hot_y,
                                    std::span<const uint8_t> rgba, CursorImage& out) {
    const size_t npx = size_t{width} * height;
    if (rgba.size() != npx * kCursorAlphaBytesPerPixel) return false;
    CursorImage c;
    c.width = width;
    c.height = height;
    c.hot_x = hot_x;
    c.hot_y = hot_y;
    c.pixels.resize(npx);
    c.alpha.resize(npx);
    for (size_t i = 0; i < npx; ++i) {
        const uint8_t* p = rgba.data() + i * kCursorAlphaBytesPerPixel;
        const uint8_t a = p[3];
        c.pixels[i] = uint32_t{unpremultiply(p[0], a)} << 16 |
                      uint32_t{unpremultiply(p[1], a)} << 8 | unpremultiply(p[2], a);
        c.alpha[i] = a;
    }
    c.mask = mask_from_alpha(width, height, c.alpha);
    out = std::move(c);
    return true;
}

std::vector<uint8_t> premultiplied_rgba(const CursorImage& c) {
    if (!c.consistent()) return {};
    const size_t npx = c.pixels.size();
    std::vector<uint8_t> out(npx * kCursorAlphaBytesPerPixel);
    const size_t stride = c.mask_stride();
    for (size_t i = 0; i < npx; ++i) {
        uint8_t a;
        if (c.has_alpha()) {
            a = c.alpha[i];
        } else {
            const size_t x = i % c.width, y = i / c.width;
            a = (c.mask[y * stride + x / 8] >> (7 - x % 8)) & 1 ? 255 : 0;
        }
        const uint32_t px = c.pixels[i];
        uint8_t* o = out.data() + i * kCursorAlphaBytesPerPixel;
        o[0] = premultiply(static_cast<uint8_t>(px >> 16), a);
        o[1] = premultiply(static_cast<uint8_t>(px >> 8), a);
        o[2] = premultiply(static_cast<uint8_t>(px), a);
        o[3] = a;
    }
    return out;
}

}  // namespace rfb
