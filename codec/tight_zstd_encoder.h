#pragma once
#include <cstdint>
#include <span>
#include <vector>

#include "codec/rfb_constants.h"
#include "codec/tight_encoder.h"

struct ZSTD_CCtx_s;

namespace rfb {

// UltraVNC's TightZstd (26): Tight, byte for byte, except that the four per-connection zlib
// streams are zstd streams. UltraVNC's server (vncEncodeTight with UltraVncZ in zstd mode)
// compresses each payload into one endless frame per stream with ZSTD_e_flush; the viewer side
// of UltraVncZ keeps one ZSTD_DStream per stream object and calls ZSTD_decompressStream once per
// payload. Fill, JPEG and the under-12-bytes raw rule are unchanged.
//
// To make a body shareable, every payload here is one complete zstd frame (content size in the
// header, no checksum). A DStream that reaches the end of a frame starts the next frame with the
// next input, so complete frames decode in any viewer's stream, in any order or subset. The
// compression-control byte still sets the stream's reset bit, as for Tight. UltraVNC's servers
// never set reset bits and its viewer's zstd reset path (UltraVncZ::endInflateStream) frees the
// compressor, not the DStream, so the bit is probably ignored there; complete frames decode
// either way.
class TightZstdEncoder final : public TightEncoder {
  public:
    TightZstdEncoder() : TightZstdEncoder(Options{}) {}
    explicit TightZstdEncoder(const Options& options);
    ~TightZstdEncoder() override;

    int32_t encoding() const override { return encoding::kTightZstd; }

    // zstd level for the zlib level Tight's table picks: 1..9 as they are, 0 (store) as zstd's
    // fast level -1.
    static int zstd_level(int zlib_level);

  protected:
    bool compress_payload(std::span<const uint8_t> data, int zlib_level,
                          std::vector<uint8_t>& out) override;

  private:
    ZSTD_CCtx_s* cctx_ = nullptr;
};

}  // namespace rfb
