#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "codec/encoder.h"
#include "codec/rfb_constants.h"

namespace rfb {

// Hextile encoding (5). Each 16x16 subtile becomes the cheapest of: solid background, background
// plus single-colour subrectangles, background plus coloured subrectangles, or raw pixels.
//
// Background and foreground are carried over between subtiles only where every decoder agrees on
// their value: never across a raw subtile, and the foreground never after a SubrectsColoured
// subtile (TigerVNC and libvncclient leave the last subrectangle colour in it, others do not).
// Output depends only on the rectangle's pixels, so it can be shared between viewers.
class HextileEncoder final : public RectEncoder {
  public:
    int32_t encoding() const override { return encoding::kHextile; }
    bool encode(const Framebuffer& fb, const Rect& r, const PixelWriter& px,
                const EncodeTuning& tuning, std::vector<uint8_t>& out) override;

    // Subencoding mask bits (rfbproto.rst, "Hextile Encoding").
    static constexpr uint8_t kRaw = 1;
    static constexpr uint8_t kBackgroundSpecified = 2;
    static constexpr uint8_t kForegroundSpecified = 4;
    static constexpr uint8_t kAnySubrects = 8;
    static constexpr uint8_t kSubrectsColoured = 16;
    static constexpr uint32_t kTileSize = 16;

  private:
    struct Subrect {
        uint32_t colour;
        uint8_t x, y, w, h;
    };
    // What the decoder remembers from the previous subtile of this rectangle.
    struct Carry {
        bool bg_valid = false, fg_valid = false;
        uint32_t bg = 0, fg = 0;
    };
    struct Tile {
        uint32_t w, h;
        size_t n;         // pixels
        size_t raw_cost;  // bytes as a raw subtile; anything else must be smaller
    };

    void encode_tile(uint32_t tw, uint32_t th, const PixelWriter& px, Carry& carry,
                     std::vector<uint8_t>& out);
    // Each writes the subtile and returns true only when its form is smaller than raw.
    bool try_two_colours(const Tile& t, uint32_t a, size_t na, uint32_t b, size_t nb,
                         const PixelWriter& px, Carry& carry, std::vector<uint8_t>& out);
    bool try_coloured(const Tile& t, const PixelWriter& px, Carry& carry,
                      std::vector<uint8_t>& out);
    // Covers every pixel that is not `bg` with subrectangles of one colour each. Returns false
    // as soon as more than `max_count` would be needed.
    bool find_subrects(uint32_t tw, uint32_t th, uint32_t bg, size_t max_count,
                       std::vector<Subrect>& rects);
    // Counts the colours of the subtile and finds the commonest. Returns false as soon as there
    // are more than `limit` distinct colours.
    bool count_colours(size_t n, size_t limit, uint32_t& commonest);

    std::array<uint32_t, kTileSize * kTileSize> tile_{};  // packed pixels in the viewer's format
    std::array<bool, kTileSize * kTileSize> covered_{};
    std::vector<Subrect> rects_, alt_rects_;
    // Open-addressed colour counts with twice as many slots as a subtile has pixels.
    std::array<uint32_t, 2 * kTileSize * kTileSize> keys_{};
    std::array<uint16_t, 2 * kTileSize * kTileSize> counts_{};
    std::vector<uint16_t> used_;  // occupied slots in order of first appearance
};

}  // namespace rfb
