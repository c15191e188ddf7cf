#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "codec/decoder.h"
#include "codec/inflate_stream.h"
#include "codec/rfb_constants.h"

namespace rfb {

// Zlib (6): u32 length, then that many bytes continuing the connection's one zlib stream, which
// inflate to exactly the rectangle's Raw body. The whole compressed body must be present before
// anything is inflated (kNeedMore until then), so the stream never sees half a rectangle.
class ZlibDecoder final : public RectDecoder {
  public:
    // Larger payloads are refused rather than buffered: no sane server sends them.
    static constexpr size_t kMaxCompressedLength = size_t{64} << 20;

    int32_t encoding() const override { return encoding::kZlib; }
    DecodeResult decode(const Rect& r, std::span<const uint8_t> data, DecodeTarget& t) override;
    void reset() override { stream_.reset(); }

  private:
    BulkInflateStream stream_;   // whole rectangles of pixels: ISA-L
    std::vector<uint8_t> rows_;  // a few rows of inflated wire pixels at a time
};

}  // namespace rfb
