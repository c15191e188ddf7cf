#include "codec/trle_decoder.h"

#include <algorithm>
#include <string>

#include "codec/byte_reader.h"
#include "codec/decode_support.h"

namespace rfb {

void TrleDecoder::reset() {
    active_ = false;
    rect_ = Rect{};
    rows_done_ = 0;
    palette_ = RlePalette{};
}

DecodeResult TrleDecoder::decode(const Rect& r, std::span<const uint8_t> data, DecodeTarget& t) {
    if (!decode::target_ok(r, t))
        return DecodeResult::fail("trle: rectangle or pixel format invalid");
    if (!active_ || rect_ != r) {
        reset();
        active_ = true;
        rect_ = r;
    }
    if (r.empty()) {
        reset();
        return DecodeResult::done(0);
    }
    const CPixelReader cpx(t.pixels);
    ByteReader in(data);
    size_t committed = 0;
    while (rows_done_ < r.h) {
        const uint32_t th = std::min(kTrleTileSize, r.h - rows_done_);
        scratch_.resize(size_t{r.w} * th);
        RlePalette palette = palette_;
        TileResult res;
        for (uint32_t tx = 0; tx < r.w && res.status == TileStatus::kOk; tx += kTrleTileSize) {
            res = read_rle_tile(in, std::min(kTrleTileSize, r.w - tx), th, cpx, RleVariant::kTrle,
                                palette, scratch_.data() + tx, r.w);
        }
        if (res.status == TileStatus::kNeedMore) break;
        if (res.status == TileStatus::kError) {
            reset();
            return DecodeResult::fail(std::string("trle: ") + res.error);
        }
        t.fb.put(Rect{r.x, r.y + rows_done_, r.w, th}, scratch_.data(), r.w);
        palette_ = palette;
        rows_done_ += th;
        committed = in.position();
    }
    if (rows_done_ == r.h) {
        reset();
        return DecodeResult::done(committed);
    }
    return committed == 0 ? DecodeResult::need_more() : DecodeResult::progress(committed);
}

}  // namespace rfb
