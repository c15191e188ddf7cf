#include "codec/pixel_converter.h"

#include <bit>
#include <cstring>

namespace rfb {

namespace {

int channel_bits(uint16_t max) {
    return std::popcount(max);
}

// 8-bit channel value -> value with `bits` bits, rounded to nearest. This is Xvnc's own
// conversion (checked against Xvnc 1.12 grabs pixel for pixel), so a 16 bpp viewer sees the same
// values through rfbcast as it would connected directly.
uint32_t narrow(uint32_t v8, int bits) {
    const uint32_t max = (1u << bits) - 1;
    return (v8 * max + 128) / 255;
}

// `bits`-bit channel value -> 8 bits by bit replication (0 -> 0, max -> 255).
uint8_t widen_small(uint32_t v, int bits) {
    if (bits == 0) return 0;  // colour-map formats often carry zero maxes: nothing to widen
    if (bits >= 8) return static_cast<uint8_t>(v >> (bits - 8));
    uint32_t out = 0;
    int filled = 0;
    while (filled < 8) {
        out = (out << bits) | v;
        filled += bits;
    }
    return static_cast<uint8_t>(out >> (filled - 8));
}

}  // namespace

PixelWriter::PixelWriter(const PixelFormat& pf)
    : pf_(pf), bpp_(pf.bytes_per_pixel()), identity_(pf.is_canonical()) {
    const int rb = channel_bits(pf.red_max), gb = channel_bits(pf.green_max),
              bb = channel_bits(pf.blue_max);
    for (uint32_t v = 0; v < 256; ++v) {
        r_[v] = narrow(v, rb) << pf.red_shift;
        g_[v] = narrow(v, gb) << pf.green_shift;
        b_[v] = narrow(v, bb) << pf.blue_shift;
    }
}

void PixelWriter::store(uint32_t p, uint8_t* dst) const {
    switch (bpp_) {
        case 1:
            dst[0] = static_cast<uint8_t>(p);
            break;
        case 2:
            if (pf_.big_endian) {
                dst[0] = static_cast<uint8_t>(p >> 8);
                dst[1] = static_cast<uint8_t>(p);
            } else {
                dst[0] = static_cast<uint8_t>(p);
                dst[1] = static_cast<uint8_t>(p >> 8);
            }
            break;
        default:
            if (pf_.big_endian) {
                dst[0] = static_cast<uint8_t>(p >> 24);
                dst[1] = static_cast<uint8_t>(p >> 16);
                dst[2] = static_cast<uint8_t>(p >> 8);
                dst[3] = static_cast<uint8_t>(p);
            } else {
                dst[0] = static_cast<uint8_t>(p);
                dst[1] = static_cast<uint8_t>(p >> 8);
                dst[2] = static_cast<uint8_t>(p >> 16);
                dst[3] = static_cast<uint8_t>(p >> 24);
            }
    }
}

void PixelWriter::write_row(const uint32_t* src, size_t n, uint8_t* dst) const {
    if (identity_) {
        std::memcpy(dst, src, n * 4);
        return;
    }
    for (size_t i = 0; i < n; ++i)
        store(pack(src[i]), dst + i * bpp_);
}

PixelReader::PixelReader(const PixelFormat& pf)
    : pf_(pf), bpp_(pf.bytes_per_pixel()), identity_(pf.is_canonical()) {
    const int rb = channel_bits(pf.red_max), gb = channel_bits(pf.green_max),
              bb = channel_bits(pf.blue_max);
    for (uint32_t v = 0; v < 256; ++v) {
        r_[v] = widen_small(v & pf.red_max, rb);
        g_[v] = widen_small(v & pf.green_max, gb);
        b_[v] = widen_small(v & pf.blue_max, bb);
    }
    // Until the server sends a colour map, index i shows as grey level i.
    for (uint32_t i = 0; i < 256; ++i)
        map_[i] = (i << 16) | (i << 8) | i;
}

uint32_t PixelReader::load_raw(const uint8_t* s) const {
    switch (bpp_) {
        case 1:
            return s[0];
        case 2:
            return pf_.big_endian ? (uint32_t{s[0]} << 8) | s[1] : (uint32_t{s[1]} << 8) | s[0];
        default:
            return pf_.big_endian ? (uint32_t{s[0]} << 24) | (uint32_t{s[1]} << 16) |
                                        (uint32_t{s[2]} << 8) | s[3]
                                  : (uint32_t{s[3]} << 24) | (uint32_t{s[2]} << 16) |
                                        (uint32_t{s[1]} << 8) | s[0];
    }
}

uint32_t PixelReader::widen(uint32_t v, uint16_t max, const std::array<uint8_t, 256>& lut) const {
    if (max <= 255) return lut[v];
    return (v * 255u + max / 2u) / max;
}

uint32_t PixelReader::unpack(uint32_t p) const {
    if (!pf_.true_colour) return map_[p & 0xff];
    const uint32_t r = (p >> pf_.red_shift) & pf_.red_max;
    const uint32_t g = (p >> pf_.green_shift) & pf_.green_max;
    const uint32_t b = (p >> pf_.blue_shift) & pf_.blue_max;
    return (widen(r, pf_.red_max, r_) << 16) | (widen(g, pf_.green_max, g_) << 8) |
           widen(b, pf_.blue_max, b_);
}

void PixelReader::read_row(const uint8_t* src, size_t n, uint32_t* dst) const {
    if (identity_) {
        std::memcpy(dst, src, n * 4);
        // The padding byte of a canonical pixel is not part of the colour: keep hashes stable.
        for (size_t i = 0; i < n; ++i)
            dst[i] &= 0x00ffffffu;
        return;
    }
    for (size_t i = 0; i < n; ++i)
        dst[i] = load(src + i * bpp_);
}

void PixelReader::set_colour(uint32_t index, uint16_t r, uint16_t g, uint16_t b) {
    if (index >= map_.size()) return;
    map_[index] = (uint32_t(r >> 8) << 16) | (uint32_t(g >> 8) << 8) | uint32_t(b >> 8);
}

}  // namespace rfb
