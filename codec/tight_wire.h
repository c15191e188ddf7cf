#pragma once
#include <cstddef>
#include <cstdint>

#include "codec/pixel_format.h"

// Tight's wire values (rfbproto.rst, Tight Encoding), shared by the decoder and the encoders so
// that both sides read the compression-control byte the same way.
namespace rfb::tight {

// Compression methods: the high nibble of the compression-control byte. 0..7 is Basic, whose
// low two bits pick the zlib stream.
inline constexpr uint8_t kFill = 0x8;
inline constexpr uint8_t kJpeg = 0x9;
// In a Basic method: a filter-id byte follows the control byte.
inline constexpr uint8_t kExplicitFilter = 0x4;

// Filter ids.
inline constexpr uint8_t kFilterCopy = 0;
inline constexpr uint8_t kFilterPalette = 1;
inline constexpr uint8_t kFilterGradient = 2;

// Basic data shorter than this is sent without zlib (and without a compact length).
inline constexpr size_t kMinToCompress = 12;

// A TPIXEL is three bytes R, G, B for 32 bpp true colour of depth 24 with 8-bit channels, and a
// whole PIXEL for every other format.
inline bool tpixels_are_rgb(const PixelFormat& pf) {
    return pf.true_colour && pf.bits_per_pixel == 32 && pf.depth == 24 && pf.red_max == 255 &&
           pf.green_max == 255 && pf.blue_max == 255;
}

}  // namespace rfb::tight
