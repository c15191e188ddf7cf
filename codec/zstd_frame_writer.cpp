#include "codec/zstd_frame_writer.h"

#include <zstd.h>

namespace rfb {

int zstd_level(const EncodeTuning& tuning) {
    if (tuning.compress == 0) return -1;
    if (tuning.compress >= 1 && tuning.compress <= 9) return tuning.compress;
    return 3;
}

ZstdFrameWriter::ZstdFrameWriter() : cctx_(ZSTD_createCCtx()) {}

ZstdFrameWriter::~ZstdFrameWriter() {
    ZSTD_freeCCtx(cctx_);
}

bool ZstdFrameWriter::begin(int level, uint64_t content_size) {
    open_ = false;
    if (!cctx_) return false;
    // Parameters are reset too, so nothing of an earlier (possibly failed) frame carries over.
    if (ZSTD_isError(ZSTD_CCtx_reset(cctx_, ZSTD_reset_session_and_parameters))) return false;
    if (ZSTD_isError(ZSTD_CCtx_setParameter(cctx_, ZSTD_c_compressionLevel, level))) return false;
    // No checksum: the viewer's DStream would take it as input that produces no pixels, and
    // TCP (or TLS) already protects the bytes.
    if (ZSTD_isError(ZSTD_CCtx_setParameter(cctx_, ZSTD_c_checksumFlag, 0))) return false;
    if (content_size != kUnknownSize &&
        ZSTD_isError(ZSTD_CCtx_setPledgedSrcSize(cctx_, content_size)))
        return false;
    open_ = true;
    return true;
}

bool ZstdFrameWriter::run(std::span<const uint8_t> data, bool end, std::vector<uint8_t>& out) {
    if (!open_) return false;
    ZSTD_inBuffer in{data.data(), data.size(), 0};
    for (;;) {
        ZSTD_outBuffer ob{buf_.data(), buf_.size(), 0};
        const size_t rc = ZSTD_compressStream2(cctx_, &ob, &in, end ? ZSTD_e_end : ZSTD_e_continue);
        if (ZSTD_isError(rc)) {
            open_ = false;
            return false;
        }
        out.insert(out.end(), buf_.data(), buf_.data() + ob.pos);
        // e_end is done when nothing is left to flush; e_continue once the input is taken
        // (zstd may keep some of it buffered for the next call).
        if (end ? rc == 0 : in.pos == in.size && ob.pos < ob.size) break;
    }
    if (end) open_ = false;
    return true;
}

bool ZstdFrameWriter::add(std::span<const uint8_t> data, std::vector<uint8_t>& out) {
    return run(data, false, out);
}

bool ZstdFrameWriter::finish(std::span<const uint8_t> last, std::vector<uint8_t>& out) {
    return run(last, true, out);
}

}  // namespace rfb
