#include "codec/pixel_format.h"

#include <bit>
#include <cstdio>

namespace rfb {

PixelFormat PixelFormat::rgb565() {
    PixelFormat pf;
    pf.bits_per_pixel = 16;
    pf.depth = 16;
    pf.red_max = 31;
    pf.green_max = 63;
    pf.blue_max = 31;
    pf.red_shift = 11;
    pf.green_shift = 5;
    pf.blue_shift = 0;
    return pf;
}

PixelFormat PixelFormat::bgr233() {
    PixelFormat pf;
    pf.bits_per_pixel = 8;
    pf.depth = 8;
    pf.red_max = 7;
    pf.green_max = 7;
    pf.blue_max = 3;
    pf.red_shift = 0;
    pf.green_shift = 3;
    pf.blue_shift = 6;
    return pf;
}

bool PixelFormat::is_canonical() const {
    const bool host_big = std::endian::native == std::endian::big;
    return bits_per_pixel == 32 && true_colour && red_max == 255 && green_max == 255 &&
           blue_max == 255 && red_shift == 16 && green_shift == 8 && blue_shift == 0 &&
           big_endian == host_big;
}

namespace {
bool channel_ok(uint16_t max, uint8_t shift, uint8_t bpp) {
    if (max == 0) return false;
    if (((uint32_t{max} + 1) & max) != 0) return false;  // must be 2^n - 1
    const int bits = std::popcount(max);
    return shift + bits <= bpp;
}
}  // namespace

bool PixelFormat::valid(std::string* why, bool allow_colour_map) const {
    auto fail = [&](const char* m) {
        if (why) *why = m;
        return false;
    };
    if (bits_per_pixel != 8 && bits_per_pixel != 16 && bits_per_pixel != 32)
        return fail("bits-per-pixel must be 8, 16 or 32");
    if (depth == 0 || depth > bits_per_pixel) return fail("depth must be 1..bits-per-pixel");
    if (!true_colour) {
        if (!allow_colour_map) return fail("colour-map pixel formats are not supported here");
        if (bits_per_pixel != 8) return fail("colour-map formats must be 8 bits per pixel");
        return true;
    }
    if (!channel_ok(red_max, red_shift, bits_per_pixel) ||
        !channel_ok(green_max, green_shift, bits_per_pixel) ||
        !channel_ok(blue_max, blue_shift, bits_per_pixel))
        return fail("colour max must be 2^n-1 and shift+bits must fit in the pixel");
    const uint32_t r = uint32_t{red_max} << red_shift, g = uint32_t{green_max} << green_shift,
                   b = uint32_t{blue_max} << blue_shift;
    if ((r & g) || (r & b) || (g & b)) return fail("colour channels overlap");
    return true;
}

void PixelFormat::write(ByteWriter& w) const {
    w.u8(bits_per_pixel);
    w.u8(depth);
    w.u8(big_endian ? 1 : 0);
    w.u8(true_colour ? 1 : 0);
    w.u16(red_max);
    w.u16(green_max);
    w.u16(blue_max);
    w.u8(red_shift);
    w.u8(green_shift);
    w.u8(blue_shift);
    w.zeros(3);
}

bool PixelFormat::read(ByteReader& r, PixelFormat& out) {
    if (!r.has(16)) return false;
    uint8_t be = 0, tc = 0;
    r.u8(out.bits_per_pixel);
    r.u8(out.depth);
    r.u8(be);
    r.u8(tc);
    out.big_endian = be != 0;
    out.true_colour = tc != 0;
    r.u16(out.red_max);
    r.u16(out.green_max);
    r.u16(out.blue_max);
    r.u8(out.red_shift);
    r.u8(out.green_shift);
    r.u8(out.blue_shift);
    r.skip(3);
    return true;
}

std::string PixelFormat::describe() const {
    char buf[128];
    std::snprintf(buf, sizeof buf, "%ubpp depth %u %s %s max %u/%u/%u shift %u/%u/%u",
                  bits_per_pixel, depth, big_endian ? "BE" : "LE",
                  true_colour ? "true-colour" : "colour-map", red_max, green_max, blue_max,
                  red_shift, green_shift, blue_shift);
    return buf;
}

}  // namespace rfb
