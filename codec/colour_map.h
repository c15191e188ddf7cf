#pragma once
#include <array>
#include <cstdint>
#include <vector>

#include "codec/server_messages.h"

// The colour map rfbcast gives viewers that ask for an 8 bpp colour-map pixel format (true-colour
// flag 0). rfbcast has no palette of its own to offer, so, like TigerVNC, it fixes the map to the
// BGR233 true-colour layout: index bits bbgggrrr, and PixelWriter writes such a viewer's pixels
// as those indices (codec/pixel_converter.h).
namespace rfb {

// Entry i: red i & 7, green (i >> 3) & 7, blue i >> 6, each widened to 16 bits by bit
// replication, so entry >> 8 is exactly what the true-colour BGR233 format widens to.
std::array<ColourMapEntry, 256> bgr233_colour_map();

// The whole SetColourMapEntries message for that map: first colour 0, 256 colours. Send it after
// a viewer's SetPixelFormat to such a format and before any pixels in it.
std::vector<uint8_t> bgr233_colour_map_message();

}  // namespace rfb
