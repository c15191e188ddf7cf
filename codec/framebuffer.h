#pragma once
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "codec/rect.h"

namespace rfb {

// A canonical-pixel framebuffer (0x00RRGGBB per uint32_t, rows packed, stride == width).
// Every writer checks its rectangle against the current size; nothing here trusts a caller's
// coordinates, because they come from the network.
class Framebuffer {
  public:
    Framebuffer() = default;
    Framebuffer(uint32_t w, uint32_t h) { resize(w, h); }

    // Resizes and clears to black. Returns false (and keeps the old size) when either side is 0
    // or above limits::kMaxFramebufferDim.
    bool resize(uint32_t w, uint32_t h);

    uint32_t width() const { return w_; }
    uint32_t height() const { return h_; }
    Rect bounds() const { return Rect{0, 0, w_, h_}; }
    bool contains(const Rect& r) const { return r.fits_in(w_, h_); }

    uint32_t* row(uint32_t y) { return px_.data() + size_t{y} * w_; }
    const uint32_t* row(uint32_t y) const { return px_.data() + size_t{y} * w_; }
    uint32_t at(uint32_t x, uint32_t y) const { return px_[size_t{y} * w_ + x]; }
    std::span<const uint32_t> pixels() const { return px_; }
    std::span<uint32_t> pixels() { return px_; }

    // Each returns false, touching nothing, when the rectangle does not fit.
    bool fill(const Rect& r, uint32_t pixel);
    // Copies `src_w` x `src_h` canonical pixels (row stride `src_stride`) to r.
    bool put(const Rect& r, const uint32_t* src, size_t src_stride);
    // CopyRect semantics: copy the area at (sx, sy) of r's size to r; overlap-safe.
    bool copy_within(uint32_t sx, uint32_t sy, const Rect& r);
    // Copies r out into dst (stride r.w).
    bool get(const Rect& r, uint32_t* dst) const;

  private:
    uint32_t w_ = 0, h_ = 0;
    std::vector<uint32_t> px_;
};

}  // namespace rfb
