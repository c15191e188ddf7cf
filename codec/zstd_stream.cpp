#include "codec/zstd_stream.h"

#include <zstd.h>

namespace rfb {

ZstdStream::ZstdStream() = default;

ZstdStream::~ZstdStream() {
    ZSTD_freeDCtx(dctx_);
}

void ZstdStream::reset() {
    if (dctx_) ZSTD_DCtx_reset(dctx_, ZSTD_reset_session_only);
    in_ = nullptr;
    in_size_ = in_pos_ = 0;
    out_full_ = false;
    broken_ = false;
}

void ZstdStream::abandon() {
    in_ = nullptr;
    in_size_ = in_pos_ = 0;
    broken_ = true;
}

bool ZstdStream::fail(std::string& error, std::string why) {
    abandon();
    error = std::move(why);
    return false;
}

bool ZstdStream::ensure_ready(std::string& error) {
    if (ready_) return true;
    if (!dctx_) dctx_ = ZSTD_createDCtx();
    if (!dctx_ || ZSTD_isError(ZSTD_DCtx_setParameter(dctx_, ZSTD_d_windowLogMax, kMaxWindowLog)))
        return fail(error, "cannot initialise zstd");
    ready_ = true;
    return true;
}

bool ZstdStream::begin(std::span<const uint8_t> input, std::string& error) {
    if (broken_) return fail(error, "zstd stream broken by an earlier rectangle");
    if (!ensure_ready(error)) return false;
    in_ = input.data();
    in_size_ = input.size();
    in_pos_ = 0;
    out_full_ = false;
    return true;
}

bool ZstdStream::step(uint8_t* out, size_t cap, size_t& produced, bool& progressed,
                      std::string& error) {
    ZSTD_inBuffer in{in_, in_size_, in_pos_};
    ZSTD_outBuffer ob{out, cap, 0};
    const size_t rc = ZSTD_decompressStream(dctx_, &ob, &in);
    if (ZSTD_isError(rc))
        return fail(error, std::string("zstd data is corrupt (") + ZSTD_getErrorName(rc) + ")");
    progressed = in.pos != in_pos_ || ob.pos != 0;
    out_full_ = cap > 0 && ob.pos == cap;
    in_pos_ = in.pos;
    produced = ob.pos;
    return true;
}

bool ZstdStream::read_some(std::span<uint8_t> out, size_t& produced, std::string& error) {
    produced = 0;
    if (!ready_ || broken_) return fail(error, "zstd stream not started");
    // A call may end at a frame boundary without progress (the stream only then notices that
    // the frame is over), so give up only after two fruitless calls in a row.
    int idle = 0;
    while (produced < out.size() && idle < 2) {
        size_t got = 0;
        bool progressed = false;
        if (!step(out.data() + produced, out.size() - produced, got, progressed, error))
            return false;
        produced += got;
        idle = progressed ? 0 : idle + 1;
    }
    return true;
}

bool ZstdStream::read_exact(std::span<uint8_t> out, std::string& error) {
    size_t produced = 0;
    if (!read_some(out, produced, error)) return false;
    if (produced < out.size()) return fail(error, "zstd data ends before the rectangle does");
    return true;
}

bool ZstdStream::finish(std::string& error) {
    if (!ready_ || broken_) return fail(error, "zstd stream not started");
    // The rest may hold a frame's end, a skippable frame or the start of the next frame: all
    // fine as long as it yields no pixels.
    uint8_t probe[64];
    int idle = 0;
    while (in_pos_ < in_size_ && idle < 2) {
        size_t got = 0;
        bool progressed = false;
        if (!step(probe, sizeof probe, got, progressed, error)) return false;
        if (got > 0) return fail(error, "zstd data decompresses to more than the rectangle needs");
        idle = progressed ? 0 : idle + 1;
    }
    if (in_pos_ < in_size_) return fail(error, "bytes left in the zstd data");
    // When the last call filled its output, zstd may hold more decoded bytes back. Asking only
    // then matters: zstd counts calls without progress and fails after 16 in a row.
    if (out_full_) {
        size_t got = 0;
        bool progressed = false;
        if (!step(probe, sizeof probe, got, progressed, error)) return false;
        if (got > 0) return fail(error, "zstd data decompresses to more than the rectangle needs");
    }
    in_ = nullptr;
    in_size_ = in_pos_ = 0;
    return true;
}

}  // namespace rfb
