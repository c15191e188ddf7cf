#include "codec/raw_decoder.h"

#include <algorithm>

#include "codec/decode_support.h"

namespace rfb {

void RawDecoder::reset() {
    active_ = false;
    rect_ = Rect{};
    rows_done_ = 0;
}

DecodeResult RawDecoder::decode(const Rect& r, std::span<const uint8_t> data, DecodeTarget& t) {
    if (!decode::target_ok(r, t))
        return DecodeResult::fail("raw: rectangle or pixel format invalid");
    // A different rectangle means the caller moved on (new update, or reset without telling us).
    if (!active_ || rect_ != r) {
        active_ = true;
        rect_ = r;
        rows_done_ = 0;
    }
    if (r.empty()) {
        reset();
        return DecodeResult::done(0);
    }
    const size_t row_bytes = size_t{r.w} * t.pixels.bytes_per_pixel();
    const size_t rows = std::min<size_t>(data.size() / row_bytes, r.h - rows_done_);
    if (rows == 0) return DecodeResult::need_more();

    const uint8_t* src = data.data();
    for (size_t i = 0; i < rows; ++i, src += row_bytes)
        t.pixels.read_row(src, r.w, t.fb.row(r.y + rows_done_ + static_cast<uint32_t>(i)) + r.x);
    rows_done_ += static_cast<uint32_t>(rows);

    const size_t consumed = rows * row_bytes;
    if (rows_done_ == r.h) {
        reset();
        return DecodeResult::done(consumed);
    }
    return DecodeResult::progress(consumed);
}

}  // namespace rfb
