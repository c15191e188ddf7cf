#pragma once
#include <cstdint>
#include <vector>

#include "codec/decoder.h"
#include "codec/rfb_constants.h"
#include "codec/rle_tile_reader.h"

namespace rfb {

// TRLE (15): 16x16 tiles of the RLE tile body (rle_tile_reader.h), uncompressed, where a tile may
// reuse the previous tile's palette (subencodings 127 and 129).
//
// Streams by tile row like Hextile: a row of tiles is decoded into scratch and committed (pixels
// and palette) only once all of it has arrived, so kNeedMore never has side effects.
class TrleDecoder final : public RectDecoder {
  public:
    int32_t encoding() const override { return encoding::kTRLE; }
    DecodeResult decode(const Rect& r, std::span<const uint8_t> data, DecodeTarget& t) override;
    void reset() override;

  private:
    bool active_ = false;
    Rect rect_{};
    uint32_t rows_done_ = 0;
    RlePalette palette_;             // as of the end of the last committed tile row
    std::vector<uint32_t> scratch_;  // one tile row, stride rect_.w
};

}  // namespace rfb
