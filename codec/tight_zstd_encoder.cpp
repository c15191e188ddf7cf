#include "codec/tight_zstd_encoder.h"

#include <zstd.h>

namespace rfb {

TightZstdEncoder::TightZstdEncoder(const Options& options) : TightEncoder(options) {}

TightZstdEncoder::~TightZstdEncoder() {
    ZSTD_freeCCtx(cctx_);
}

int TightZstdEncoder::zstd_level(int zlib_level) {
    if (zlib_level <= 0) return -1;
    return zlib_level > 9 ? 9 : zlib_level;
}

bool TightZstdEncoder::compress_payload(std::span<const uint8_t> data, int zlib_level,
                                        std::vector<uint8_t>& out) {
    if (!cctx_) cctx_ = ZSTD_createCCtx();
    if (!cctx_) return false;
    out.resize(ZSTD_compressBound(data.size()));
    // The one-shot call writes a single complete frame with the content size in its header, so
    // the viewer's window is no larger than the payload; no checksum, like UltraVNC's frames.
    const size_t n = ZSTD_compressCCtx(cctx_, out.data(), out.size(), data.data(), data.size(),
                                       zstd_level(zlib_level));
    if (ZSTD_isError(n)) {
        out.clear();
        return false;
    }
    out.resize(n);
    return true;
}

}  // namespace rfb
