#pragma once
#include <algorithm>
#include <cstdint>

namespace rfb {

// A rectangle in framebuffer coordinates. Fields are 32-bit although the wire carries 16-bit
// values, so that x + w and y + h can never overflow while checking bounds.
struct Rect {
    uint32_t x = 0, y = 0, w = 0, h = 0;

    bool empty() const { return w == 0 || h == 0; }
    uint32_t right() const { return x + w; }
    uint32_t bottom() const { return y + h; }
    bool fits_in(uint32_t width, uint32_t height) const {
        return x <= width && y <= height && w <= width - x && h <= height - y;
    }
    bool contains(const Rect& o) const {
        return o.x >= x && o.y >= y && o.right() <= right() && o.bottom() <= bottom();
    }
    Rect intersect(const Rect& o) const {
        uint32_t l = std::max(x, o.x), t = std::max(y, o.y);
        uint32_t r = std::min(right(), o.right()), b = std::min(bottom(), o.bottom());
        if (r <= l || b <= t) return Rect{};
        return Rect{l, t, r - l, b - t};
    }
    uint64_t area() const { return uint64_t{w} * h; }
    bool operator==(const Rect&) const = default;
};

}  // namespace rfb
