#pragma once
#include <cstdint>
#include <vector>

#include "codec/decoder.h"
#include "codec/rfb_constants.h"

namespace rfb {

// Hextile (5): 16x16 tiles, each raw or background + optional subrectangles; background and
// foreground carry over from tile to tile within one rectangle.
//
// Streams by tile row: a row of tiles is decoded into scratch and written to the framebuffer only
// once all of it has arrived, so kNeedMore never leaves a half-drawn row or changed colours, and
// the caller never has to hold more than one tile row (at most 16 x 16384 raw pixels) of input.
class HextileDecoder final : public RectDecoder {
  public:
    int32_t encoding() const override { return encoding::kHextile; }
    DecodeResult decode(const Rect& r, std::span<const uint8_t> data, DecodeTarget& t) override;
    void reset() override;

  private:
    bool active_ = false;
    Rect rect_{};
    uint32_t rows_done_ = 0;  // pixel rows of the rectangle already written
    uint32_t bg_ = 0, fg_ = 0;
    std::vector<uint32_t> scratch_;  // one tile row, stride rect_.w
};

}  // namespace rfb
