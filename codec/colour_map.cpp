#include "codec/colour_map.h"

#include <bit>

#include "codec/byte_writer.h"
#include "codec/pixel_format.h"

namespace rfb {

namespace {

// A `bits`-bit value repeated across 16 bits, top bits first: 0 -> 0, max -> 0xffff.
uint16_t widen16(uint32_t v, int bits) {
    uint32_t out = 0;
    int filled = 0;
    while (filled < 16) {
        out = (out << bits) | v;
        filled += bits;
    }
    return static_cast<uint16_t>(out >> (filled - 16));
}

}  // namespace

std::array<ColourMapEntry, 256> bgr233_colour_map() {
    const PixelFormat pf = PixelFormat::bgr233();
    std::array<ColourMapEntry, 256> map{};
    for (uint32_t i = 0; i < map.size(); ++i) {
        map[i].r = widen16((i >> pf.red_shift) & pf.red_max, std::popcount(pf.red_max));
        map[i].g = widen16((i >> pf.green_shift) & pf.green_max, std::popcount(pf.green_max));
        map[i].b = widen16((i >> pf.blue_shift) & pf.blue_max, std::popcount(pf.blue_max));
    }
    return map;
}

std::vector<uint8_t> bgr233_colour_map_message() {
    const auto map = bgr233_colour_map();
    std::vector<uint8_t> out;
    out.reserve(6 + map.size() * 6);
    ByteWriter w(out);
    write_set_colour_map(w, 0, map);
    return out;
}

}  // namespace rfb
