#pragma once
#include <cstdint>
#include <optional>

#include "codec/framebuffer.h"
#include "codec/rect.h"

// The frame marker: a small block of the upstream picture whose pixels spell the frame number,
// so that any viewer, after any reflector and any (even mildly lossy) encoding, can tell which
// upstream frame it is showing. Row 0 holds the 32 bits (MSB first) as black/white 8x8 cells,
// row 1 the same bits inverted; a read whose rows disagree is rejected. Cells are aligned to
// 8 pixels so that JPEG's 8x8 blocks never straddle two cells.
namespace fanout {

inline constexpr uint32_t kMarkerCell = 8;
inline constexpr uint32_t kMarkerBits = 32;
inline constexpr uint32_t kMarkerWidth = kMarkerCell * kMarkerBits;
inline constexpr uint32_t kMarkerHeight = kMarkerCell * 2;

inline rfb::Rect marker_rect(uint32_t x, uint32_t y) {
    return rfb::Rect{x, y, kMarkerWidth, kMarkerHeight};
}

// False when the marker does not fit the framebuffer at (x, y).
bool draw_marker(rfb::Framebuffer& fb, uint32_t x, uint32_t y, uint32_t frame);

// The frame number, or nothing when the marker is not there, does not fit, or is inconsistent.
std::optional<uint32_t> read_marker(const rfb::Framebuffer& fb, uint32_t x, uint32_t y);

}  // namespace fanout
