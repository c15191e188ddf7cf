#pragma once
// Generated screen content and viewer formats shared by the encoder tests.
#include <cstdint>
#include <vector>

#include "codec/framebuffer.h"
#include "codec/pixel_converter.h"
#include "codec/pixel_format.h"
#include "codec/rect.h"

namespace rfb::test {

// Small deterministic generator, so a failing case can be replayed from its seed.
struct Lcg {
    uint32_t s;
    uint32_t next() {
        s = s * 1664525u + 1013904223u;
        return s >> 8;
    }
    uint32_t below(uint32_t n) { return next() % n; }
};

inline void fill_noise(Framebuffer& fb, const Rect& r, uint32_t seed) {
    Lcg g{seed};
    for (uint32_t y = r.y; y < r.bottom(); ++y)
        for (uint32_t x = r.x; x < r.right(); ++x)
            fb.row(y)[x] = g.next() & 0xffffff;
}

// Pixels drawn at random from `colours` colours: exercises every palette size.
inline void fill_palette(Framebuffer& fb, const Rect& r, uint32_t seed, uint32_t colours) {
    Lcg g{seed};
    std::vector<uint32_t> pal(colours);
    for (auto& c : pal)
        c = g.next() & 0xffffff;
    for (uint32_t y = r.y; y < r.bottom(); ++y)
        for (uint32_t x = r.x; x < r.right(); ++x)
            fb.row(y)[x] = pal[g.below(colours)];
}

// White page with dark glyph-like strokes and the odd anti-aliased grey: what terminals and
// editors look like.
inline void fill_text(Framebuffer& fb, const Rect& r, uint32_t seed) {
    Lcg g{seed};
    fb.fill(r, 0xffffff);
    const uint32_t ink[] = {0x000000, 0x202020, 0x1030c0, 0x808080, 0xc0c0c0};
    for (uint32_t y = r.y; y + 12 <= r.bottom(); y += 14) {
        for (uint32_t x = r.x; x + 7 <= r.right(); x += 8) {
            if (g.below(5) == 0) continue;  // a space
            const uint32_t c = ink[g.below(3)];
            for (uint32_t k = 0; k < 10; ++k) {
                fb.row(y + 1 + k)[x + 1 + g.below(5)] = c;
                if (g.below(4) == 0) fb.row(y + 1 + k)[x + 1 + g.below(5)] = ink[3 + g.below(2)];
            }
            for (uint32_t k = 0; k < 5; ++k)
                fb.row(y + 6)[x + 1 + k] = c;
        }
    }
}

// Flat panels, borders and a button, the way toolkits draw.
inline void fill_ui(Framebuffer& fb, const Rect& r, uint32_t seed) {
    if (r.empty()) return;
    Lcg g{seed};
    fb.fill(r, 0xe8e8e8);
    for (int i = 0; i < 6; ++i) {
        const uint32_t x = r.x + g.below(r.w), y = r.y + g.below(r.h);
        const Rect panel = Rect{x, y, 1 + g.below(r.w), 1 + g.below(r.h)}.intersect(r);
        if (panel.empty()) continue;
        fb.fill(panel, g.next() & 0xffffff);
        fb.fill(Rect{panel.x, panel.y, panel.w, 1}, 0x404040);
    }
}

inline void fill_gradient(Framebuffer& fb, const Rect& r) {
    for (uint32_t y = r.y; y < r.bottom(); ++y)
        for (uint32_t x = r.x; x < r.right(); ++x)
            fb.row(y)[x] = ((x * 3) & 0xff) << 16 | ((y * 5) & 0xff) << 8 | ((x + y) & 0xff);
}

inline PixelFormat canonical_be() {
    PixelFormat pf = PixelFormat::canonical();
    pf.big_endian = true;
    return pf;
}

// 32 bpp with the colour in the top three bytes: ZRLE CPIXELs come from the high bytes.
inline PixelFormat high_bytes(bool big_endian) {
    PixelFormat pf = PixelFormat::canonical();
    pf.big_endian = big_endian;
    pf.red_shift = 24;
    pf.green_shift = 16;
    pf.blue_shift = 8;
    return pf;
}

// 32 bpp whose depth is 32: the spec gives it full 4-byte CPIXELs.
inline PixelFormat depth32() {
    PixelFormat pf = PixelFormat::canonical();
    pf.depth = 32;
    return pf;
}

inline std::vector<PixelFormat> viewer_formats() {
    return {PixelFormat::canonical(),
            canonical_be(),
            PixelFormat::rgb565(),
            PixelFormat::bgr233(),
            high_bytes(false),
            high_bytes(true),
            depth32()};
}

// The pixel value a viewer in `pf` must end up with for canonical pixel `c`.
inline uint32_t expected_packed(const PixelWriter& px, uint32_t c) {
    return px.pack(c);
}

// Reads one PIXEL of `size` bytes in the byte order of `pf`, independently of PixelReader.
inline uint32_t load_packed(const uint8_t* p, size_t size, bool big_endian) {
    uint32_t v = 0;
    for (size_t i = 0; i < size; ++i) {
        const size_t k = big_endian ? i : size - 1 - i;
        v = (v << 8) | p[k];
    }
    return v;
}

}  // namespace rfb::test
