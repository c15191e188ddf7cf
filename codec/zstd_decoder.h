#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "codec/decoder.h"
#include "codec/rfb_constants.h"
#include "codec/zstd_stream.h"

namespace rfb {

// UltraVNC's Zstd (25): u32 length, then that many bytes continuing the connection's one zstd
// stream (zstd_stream.h), which decompress to exactly the rectangle's Raw body. Like Zlib (6),
// the whole compressed body must be present before anything is decompressed.
class ZstdDecoder final : public RectDecoder {
  public:
    // Larger payloads are refused rather than buffered: no sane server sends them.
    static constexpr size_t kMaxCompressedLength = size_t{64} << 20;

    int32_t encoding() const override { return encoding::kZstd; }
    DecodeResult decode(const Rect& r, std::span<const uint8_t> data, DecodeTarget& t) override;
    void reset() override { stream_.reset(); }

  private:
    ZstdStream stream_;
    std::vector<uint8_t> rows_;  // a few rows of decompressed wire pixels at a time
};

}  // namespace rfb
