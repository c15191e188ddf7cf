#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "codec/encoder.h"
#include "codec/rfb_constants.h"
#include "codec/zrle_encoder.h"
#include "codec/zstd_frame_writer.h"

namespace rfb {

// UltraVNC's ZSTDRLE encoding (28): ZRLE (16) with zstd in place of zlib. On the wire: U32
// length, then that many bytes of the connection's zstd stream, which decompress to the ZRLE
// tiles of the rectangle (UltraVNC vncEncodeZRLE with m_use_zstd and ZstdOutStream; viewer
// zrleDecode with ZstdInStream, one ZSTD_DStream per connection). Tiles, subencodings and
// CPIXELs are exactly ZRLE's.
//
// The body here is one complete zstd frame holding the tiles (zstd_frame_writer.h says why that
// is shareable); rect_framing.h adds the U32 length.
class ZstdrleEncoder final : public RectEncoder {
  public:
    int32_t encoding() const override { return encoding::kZSTDRLE; }
    // tuning.compress picks the zstd level (zstd_level()).
    bool encode(const Framebuffer& fb, const Rect& r, const PixelWriter& px,
                const EncodeTuning& tuning, std::vector<uint8_t>& out) override;

    // Tile data up to this size is compressed in one go, which puts its size in the frame
    // header and lets the viewer size its window to it; beyond, it is streamed in pieces.
    static constexpr size_t kOneShotBytes = 256 * 1024;

  private:
    ZrleEncoder tiles_;
    ZstdFrameWriter writer_;
    std::vector<uint8_t> pending_;  // tile data not yet given to the compressor
};

}  // namespace rfb
