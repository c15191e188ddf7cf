#include "codec/framebuffer.h"

#include <algorithm>
#include <cstring>

#include "codec/rfb_constants.h"

namespace rfb {

bool Framebuffer::resize(uint32_t w, uint32_t h) {
    if (w == 0 || h == 0 || w > limits::kMaxFramebufferDim || h > limits::kMaxFramebufferDim)
        return false;
    w_ = w;
    h_ = h;
    px_.assign(size_t{w} * h, 0);
    return true;
}

bool Framebuffer::fill(const Rect& r, uint32_t pixel) {
    if (!contains(r)) return false;
    for (uint32_t y = r.y; y < r.bottom(); ++y)
        std::fill_n(row(y) + r.x, r.w, pixel);
    return true;
}

bool Framebuffer::put(const Rect& r, const uint32_t* src, size_t src_stride) {
    if (!contains(r)) return false;
    for (uint32_t y = 0; y < r.h; ++y)
        std::memcpy(row(r.y + y) + r.x, src + y * src_stride, size_t{r.w} * 4);
    return true;
}

bool Framebuffer::copy_within(uint32_t sx, uint32_t sy, const Rect& r) {
    if (!contains(r) || !Rect{sx, sy, r.w, r.h}.fits_in(w_, h_)) return false;
    // Walk rows away from the overlap so no source row is overwritten before it is read.
    if (sy < r.y) {
        for (uint32_t i = r.h; i-- > 0;)
            std::memmove(row(r.y + i) + r.x, row(sy + i) + sx, size_t{r.w} * 4);
    } else {
        for (uint32_t i = 0; i < r.h; ++i)
            std::memmove(row(r.y + i) + r.x, row(sy + i) + sx, size_t{r.w} * 4);
    }
    return true;
}

bool Framebuffer::get(const Rect& r, uint32_t* dst) const {
    if (!contains(r)) return false;
    for (uint32_t y = 0; y < r.h; ++y)
        std::memcpy(dst + size_t{y} * r.w, row(r.y + y) + r.x, size_t{r.w} * 4);
    return true;
}

}  // namespace rfb
