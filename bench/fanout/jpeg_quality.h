#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <span>

// Which quality (1..100) a JPEG was compressed at, read back from its luminance quantisation
// table. libjpeg (and so TurboJPEG, and every VNC server that uses it) builds that table from the
// JPEG Annex K luminance table scaled by the quality: scale = 5000/q below 50, 200-2q from 50,
// entry = (base*scale + 50)/100 clamped to 1..255 (1..32767 for 16-bit tables). Inverting that
// lets a viewer see the quality a reflector chose for it without any help from the reflector.
namespace fanout {

struct JpegQuality {
    int quality = 0;     // 1..100: the libjpeg quality whose table is closest
    bool exact = false;  // the table is exactly libjpeg's for that quality
};

// The quality whose libjpeg luminance table is nearest `zigzag` (64 entries in the order a DQT
// segment stores them), by the sum of absolute differences; among equals the lowest quality.
// `max_value` is 255 for 8-bit tables and 32767 for 16-bit ones.
JpegQuality quality_for_luma_table(const std::array<uint16_t, 64>& zigzag, uint16_t max_value);

// Walks the markers of a JPEG stream (SOI, then segments up to the first SOS) and estimates the
// quality from the luminance table: the table the first component of the frame header uses, or
// table 0 when there is no frame header before SOS. Nothing when the stream is malformed or
// truncated before that table and the frame header, or has no such table.
std::optional<JpegQuality> estimate_jpeg_quality(std::span<const uint8_t> jpeg);

}  // namespace fanout
