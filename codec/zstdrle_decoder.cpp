#include "codec/zstdrle_decoder.h"

#include <algorithm>

#include "codec/byte_reader.h"
#include "codec/decode_support.h"
#include "codec/rle_tile_reader.h"

namespace rfb {

namespace {
constexpr size_t kChunk = 32 * 1024;
}  // namespace

bool ZstdrleDecoder::top_up(std::string& error) {
    if (head_ > 0) {
        buf_.erase(buf_.begin(), buf_.begin() + static_cast<std::ptrdiff_t>(head_));
        head_ = 0;
    }
    const size_t old = buf_.size();
    buf_.resize(old + kChunk);
    size_t produced = 0;
    const bool ok = stream_.read_some(std::span(buf_.data() + old, kChunk), produced, error);
    buf_.resize(old + produced);
    if (produced < kChunk) drained_ = true;  // the rectangle's input is used up
    return ok;
}

DecodeResult ZstdrleDecoder::decode(const Rect& r, std::span<const uint8_t> data, DecodeTarget& t) {
    if (!decode::target_ok(r, t))
        return DecodeResult::fail("zstdrle: rectangle or pixel format invalid");
    ByteReader in(data);
    uint32_t length = 0;
    if (!in.u32(length)) return DecodeResult::need_more();
    if (length > kMaxCompressedLength)
        return DecodeResult::fail("zstdrle: compressed length too large");
    std::span<const uint8_t> payload;
    if (!in.bytes(length, payload)) return DecodeResult::need_more();

    std::string error;
    auto fail = [&](const std::string& why) {
        stream_.abandon();
        buf_.clear();
        head_ = 0;
        return DecodeResult::fail("zstdrle: " + why);
    };
    if (!stream_.begin(payload, error)) return fail(error);
    buf_.clear();
    head_ = 0;
    drained_ = false;

    const CPixelReader cpx(t.pixels);
    RlePalette palette;  // ZRLE tiles never reuse palettes; the reader needs somewhere to put them
    const size_t stride = t.fb.width();
    for (uint32_t ty = 0; ty < r.h; ty += kZrleTileSize) {
        const uint32_t th = std::min(kZrleTileSize, r.h - ty);
        for (uint32_t tx = 0; tx < r.w; tx += kZrleTileSize) {
            const uint32_t tw = std::min(kZrleTileSize, r.w - tx);
            uint32_t* out = t.fb.row(r.y + ty) + r.x + tx;
            for (;;) {
                if (buf_.size() - head_ < kZrleTileBudget && !drained_ && !top_up(error))
                    return fail(error);
                ByteReader tile(std::span(buf_.data() + head_, buf_.size() - head_));
                const TileResult res =
                    read_rle_tile(tile, tw, th, cpx, RleVariant::kZrle, palette, out, stride);
                if (res.status == TileStatus::kOk) {
                    head_ += tile.position();
                    break;
                }
                if (res.status == TileStatus::kError) return fail(res.error);
                // Incomplete although the budget was met: decompress more, or give up.
                if (drained_) return fail("zstd data ends before the tiles do");
                if (!top_up(error)) return fail(error);
            }
        }
    }
    if (head_ != buf_.size()) return fail("zstd data longer than the tiles");
    if (!stream_.finish(error)) return fail(error);
    buf_.clear();
    head_ = 0;
    return DecodeResult::done(in.position());
}

}  // namespace rfb
