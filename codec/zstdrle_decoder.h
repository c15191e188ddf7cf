#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "codec/decoder.h"
#include "codec/rfb_constants.h"
#include "codec/zstd_stream.h"

namespace rfb {

// UltraVNC's ZSTDRLE (28): u32 length, then zstd data continuing the connection's one zstd
// stream (zstd_stream.h), which decompresses to ZRLE's 64x64 tiles (rle_tile_reader.h). As for
// ZRLE, the compressed body must be complete before anything happens; it is then decompressed a
// tile at a time, never more than one tile ahead, and must yield exactly what the tiles need.
class ZstdrleDecoder final : public RectDecoder {
  public:
    // Larger payloads are refused rather than buffered: no sane server sends them.
    static constexpr size_t kMaxCompressedLength = size_t{64} << 20;

    int32_t encoding() const override { return encoding::kZSTDRLE; }
    DecodeResult decode(const Rect& r, std::span<const uint8_t> data, DecodeTarget& t) override;
    void reset() override { stream_.reset(); }

  private:
    bool top_up(std::string& error);

    ZstdStream stream_;
    std::vector<uint8_t> buf_;  // decompressed, not yet parsed: [head_, buf_.size())
    size_t head_ = 0;
    bool drained_ = false;  // this rectangle's compressed bytes gave all they had
};

}  // namespace rfb
