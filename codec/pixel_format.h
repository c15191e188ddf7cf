#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "codec/byte_reader.h"
#include "codec/byte_writer.h"

namespace rfb {

// The 16-byte PIXEL_FORMAT of the RFB protocol.
//
// The session framebuffer always holds "canonical" pixels: 32 bpp, depth 24, 0x00RRGGBB in a
// host-order uint32_t (red shift 16, green 8, blue 0). On x86 that is also what Xvnc sends by
// default, so the common upstream needs no conversion at all.
struct PixelFormat {
    uint8_t bits_per_pixel = 32;
    uint8_t depth = 24;
    bool big_endian = false;
    bool true_colour = true;
    uint16_t red_max = 255, green_max = 255, blue_max = 255;
    uint8_t red_shift = 16, green_shift = 8, blue_shift = 0;

    static PixelFormat canonical() { return PixelFormat{}; }
    // 16 bpp RGB565, little-endian: the usual "low colour" format of viewers.
    static PixelFormat rgb565();
    // 8 bpp BGR233 true colour, as TigerVNC's lowest colour level uses.
    static PixelFormat bgr233();

    size_t bytes_per_pixel() const { return bits_per_pixel / 8u; }
    // True when pixels in this format are byte-for-byte canonical pixels on this host.
    bool is_canonical() const;
    // A format we can convert to and from. Rejects what the spec forbids (bpp not 8/16/32,
    // depth 0 or above bpp, a max that is not 2^n-1, channels that overlap or do not fit) and,
    // when `allow_colour_map` is false, colour-map formats. `why` gets a readable reason.
    bool valid(std::string* why, bool allow_colour_map = false) const;

    void write(ByteWriter& w) const;
    // Reads 16 bytes (3 of them padding). Returns false when fewer than 16 are available.
    static bool read(ByteReader& r, PixelFormat& out);

    std::string describe() const;
    bool operator==(const PixelFormat&) const = default;
};

}  // namespace rfb
