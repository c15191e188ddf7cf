#include "codec/zrle_decoder.h"

#include <algorithm>
#include <cstring>

#include "codec/byte_reader.h"
#include "codec/decode_support.h"
#include "codec/rle_tile_reader.h"

namespace rfb {

namespace {
constexpr size_t kInflateChunk = 32 * 1024;
}  // namespace

bool ZrleDecoder::top_up(std::string& error) {
    if (head_ > 0) {
        std::memmove(buf_.data(), buf_.data() + head_, tail_ - head_);
        tail_ -= head_;
        head_ = 0;
    }
    // The buffer only grows (to a few chunks): resizing it per chunk zero-filled 32 KiB every
    // time, a third of ZRLE's decode instructions on text.
    if (buf_.size() < tail_ + kInflateChunk) buf_.resize(tail_ + kInflateChunk);
    size_t produced = 0;
    const bool ok =
        stream_.read_some(std::span(buf_.data() + tail_, kInflateChunk), produced, error);
    tail_ += produced;
    if (produced < kInflateChunk) drained_ = true;  // the rectangle's input is used up
    return ok;
}

DecodeResult ZrleDecoder::decode(const Rect& r, std::span<const uint8_t> data, DecodeTarget& t) {
    if (!decode::target_ok(r, t))
        return DecodeResult::fail("zrle: rectangle or pixel format invalid");
    ByteReader in(data);
    uint32_t length = 0;
    if (!in.u32(length)) return DecodeResult::need_more();
    if (length > kMaxCompressedLength)
        return DecodeResult::fail("zrle: compressed length too large");
    std::span<const uint8_t> payload;
    if (!in.bytes(length, payload)) return DecodeResult::need_more();

    std::string error;
    auto fail = [&](const std::string& why) {
        stream_.abandon();
        head_ = tail_ = 0;
        return DecodeResult::fail("zrle: " + why);
    };
    if (!stream_.begin(payload, error)) return fail(error);
    head_ = tail_ = 0;
    drained_ = false;

    const CPixelReader cpx(t.pixels);
    RlePalette palette;  // ZRLE never reuses palettes; the reader needs somewhere to put them
    const size_t stride = t.fb.width();
    for (uint32_t ty = 0; ty < r.h; ty += kZrleTileSize) {
        const uint32_t th = std::min(kZrleTileSize, r.h - ty);
        for (uint32_t tx = 0; tx < r.w; tx += kZrleTileSize) {
            const uint32_t tw = std::min(kZrleTileSize, r.w - tx);
            uint32_t* out = t.fb.row(r.y + ty) + r.x + tx;
            for (;;) {
                if (tail_ - head_ < kZrleTileBudget && !drained_ && !top_up(error))
                    return fail(error);
                ByteReader tile(std::span(buf_.data() + head_, tail_ - head_));
                const TileResult res =
                    read_rle_tile(tile, tw, th, cpx, RleVariant::kZrle, palette, out, stride);
                if (res.status == TileStatus::kOk) {
                    head_ += tile.position();
                    break;
                }
                if (res.status == TileStatus::kError) return fail(res.error);
                // Incomplete although the budget was met: inflate more, or give up if none comes.
                if (drained_) return fail("zlib data ends before the tiles do");
                if (!top_up(error)) return fail(error);
            }
        }
    }
    if (head_ != tail_) return fail("zlib data longer than the tiles");
    if (!stream_.finish(error)) return fail(error);
    head_ = tail_ = 0;
    return DecodeResult::done(in.position());
}

}  // namespace rfb
