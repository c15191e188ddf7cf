#pragma once
#include <cstdint>
#include <vector>

#include "codec/encoder.h"
#include "codec/rfb_constants.h"
#include "codec/zstd_frame_writer.h"

namespace rfb {

// UltraVNC's Zstd encoding (25): laid out like Zlib (6), with zstd in place of zlib. On the
// wire: U32 length, then that many bytes of the connection's zstd stream, which decompress to
// exactly the rectangle's Raw body (UltraVNC vncEncodeZlib with m_use_zstd; viewer
// ClientConnection::ReadZlibRect(zstd = true), one ZSTD_DStream per connection).
//
// The body here is one complete zstd frame holding the Raw body, with its size in the frame
// header (zstd_frame_writer.h says why that is shareable); rect_framing.h adds the U32 length.
class ZstdEncoder final : public RectEncoder {
  public:
    int32_t encoding() const override { return encoding::kZstd; }
    // tuning.compress picks the zstd level (zstd_level()).
    bool encode(const Framebuffer& fb, const Rect& r, const PixelWriter& px,
                const EncodeTuning& tuning, std::vector<uint8_t>& out) override;

  private:
    ZstdFrameWriter writer_;
    std::vector<uint8_t> rows_;  // a few rows of wire pixels at a time
};

}  // namespace rfb
