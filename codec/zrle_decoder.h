#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "codec/decoder.h"
#include "codec/inflate_stream.h"
#include "codec/rfb_constants.h"

namespace rfb {

// ZRLE (16): u32 length, then zlib data (one stream per connection) that inflates to 64x64 tiles
// of the RLE tile body (rle_tile_reader.h). The compressed body must be complete before anything
// happens (kNeedMore until then). It is then inflated a tile at a time, never more than one tile
// ahead, and must inflate to exactly what the tiles need: leftover output (a zlib bomb) or too
// little output is an error.
class ZrleDecoder final : public RectDecoder {
  public:
    // Larger payloads are refused rather than buffered: no sane server sends them.
    static constexpr size_t kMaxCompressedLength = size_t{64} << 20;

    int32_t encoding() const override { return encoding::kZRLE; }
    DecodeResult decode(const Rect& r, std::span<const uint8_t> data, DecodeTarget& t) override;
    void reset() override { stream_.reset(); }

  private:
    bool top_up(std::string& error);

    InflateStream stream_;
    std::vector<uint8_t> buf_;  // inflated, not yet parsed: [head_, tail_)
    size_t head_ = 0, tail_ = 0;
    bool drained_ = false;  // this rectangle's compressed bytes gave all they had
};

}  // namespace rfb
