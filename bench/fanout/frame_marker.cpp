#include "bench/fanout/frame_marker.h"

namespace fanout {
namespace {

constexpr uint32_t kWhite = 0x00FFFFFF, kBlack = 0x00000000;

bool is_light(uint32_t px) {
    // Sum of channels against the midpoint: robust to lossy encodings and 16/8 bpp viewers.
    const uint32_t sum = ((px >> 16) & 0xff) + ((px >> 8) & 0xff) + (px & 0xff);
    return sum >= 3 * 128;
}

}  // namespace

bool draw_marker(rfb::Framebuffer& fb, uint32_t x, uint32_t y, uint32_t frame) {
    if (!fb.contains(marker_rect(x, y))) return false;
    for (uint32_t bit = 0; bit < kMarkerBits; ++bit) {
        const bool one = (frame >> (kMarkerBits - 1 - bit)) & 1u;
        const uint32_t cx = x + bit * kMarkerCell;
        fb.fill(rfb::Rect{cx, y, kMarkerCell, kMarkerCell}, one ? kWhite : kBlack);
        fb.fill(rfb::Rect{cx, y + kMarkerCell, kMarkerCell, kMarkerCell}, one ? kBlack : kWhite);
    }
    return true;
}

std::optional<uint32_t> read_marker(const rfb::Framebuffer& fb, uint32_t x, uint32_t y) {
    if (!fb.contains(marker_rect(x, y))) return std::nullopt;
    uint32_t frame = 0;
    const uint32_t mid = kMarkerCell / 2;
    for (uint32_t bit = 0; bit < kMarkerBits; ++bit) {
        const uint32_t cx = x + bit * kMarkerCell + mid;
        const bool one = is_light(fb.at(cx, y + mid));
        const bool inverse = is_light(fb.at(cx, y + kMarkerCell + mid));
        if (one == inverse) return std::nullopt;
        frame = (frame << 1) | (one ? 1u : 0u);
    }
    return frame;
}

}  // namespace fanout
