#include "codec/hextile_decoder.h"

#include <algorithm>

#include "codec/byte_reader.h"
#include "codec/decode_support.h"

namespace rfb {

namespace {

constexpr uint8_t kRawTile = 1;
constexpr uint8_t kBackgroundSpecified = 2;
constexpr uint8_t kForegroundSpecified = 4;
constexpr uint8_t kAnySubrects = 8;
constexpr uint8_t kSubrectsColoured = 16;
constexpr uint8_t kKnownBits = 31;
constexpr uint32_t kHextileTile = 16;

enum class HextileTileStatus { kOk, kNeedMore, kError };

struct Colours {
    // Spec: the first non-raw tile must set the background. Servers that forget get black, as in
    // TigerVNC and noVNC, rather than a dropped connection.
    uint32_t bg = 0, fg = 0;
};

void fill_area(uint32_t* out, size_t stride, uint32_t x, uint32_t y, uint32_t w, uint32_t h,
               uint32_t pixel) {
    for (uint32_t row = y; row < y + h; ++row)
        std::fill_n(out + row * stride + x, w, pixel);
}

// Reads one tile from `in` and draws it at `out` (a tw x th window of a buffer with `stride`).
HextileTileStatus read_tile(ByteReader& in, uint32_t tw, uint32_t th, const PixelReader& px,
                            Colours& c, uint32_t* out, size_t stride, const char*& error) {
    const size_t bpp = px.bytes_per_pixel();
    uint8_t mask = 0;
    if (!in.u8(mask)) return HextileTileStatus::kNeedMore;
    // Bits 32 and 64 are ZlibHex's; in a Hextile rectangle they mean we are misreading the stream.
    if (mask & ~kKnownBits) {
        error = "hextile: unknown subencoding bits";
        return HextileTileStatus::kError;
    }
    std::span<const uint8_t> b;
    if (mask & kRawTile) {
        if (!in.bytes(size_t{tw} * th * bpp, b)) return HextileTileStatus::kNeedMore;
        for (uint32_t y = 0; y < th; ++y)
            px.read_row(b.data() + y * tw * bpp, tw, out + y * stride);
        return HextileTileStatus::kOk;
    }
    if (mask & kBackgroundSpecified) {
        if (!in.bytes(bpp, b)) return HextileTileStatus::kNeedMore;
        c.bg = px.load(b.data());
    }
    if (mask & kForegroundSpecified) {
        if (!in.bytes(bpp, b)) return HextileTileStatus::kNeedMore;
        c.fg = px.load(b.data());
    }
    uint8_t count = 0;
    size_t entry = 0;
    if (mask & kAnySubrects) {
        if (!in.u8(count)) return HextileTileStatus::kNeedMore;
        entry = (mask & kSubrectsColoured) ? bpp + 2 : 2;
        if (!in.bytes(count * entry, b)) return HextileTileStatus::kNeedMore;
    }
    fill_area(out, stride, 0, 0, tw, th, c.bg);
    for (size_t i = 0; i < count; ++i) {
        const uint8_t* p = b.data() + i * entry;
        const uint32_t pixel = (mask & kSubrectsColoured) ? px.load(p) : c.fg;
        const uint8_t xy = p[entry - 2], wh = p[entry - 1];
        const uint32_t sx = xy >> 4, sy = xy & 15u, sw = (wh >> 4) + 1u, sh = (wh & 15u) + 1u;
        if (sx + sw > tw || sy + sh > th) {
            error = "hextile: subrect outside tile";
            return HextileTileStatus::kError;
        }
        fill_area(out, stride, sx, sy, sw, sh, pixel);
    }
    return HextileTileStatus::kOk;
}

}  // namespace

void HextileDecoder::reset() {
    active_ = false;
    rect_ = Rect{};
    rows_done_ = 0;
    bg_ = fg_ = 0;
}

DecodeResult HextileDecoder::decode(const Rect& r, std::span<const uint8_t> data, DecodeTarget& t) {
    if (!decode::target_ok(r, t))
        return DecodeResult::fail("hextile: rectangle or pixel format invalid");
    if (!active_ || rect_ != r) {
        reset();
        active_ = true;
        rect_ = r;
    }
    if (r.empty()) {
        reset();
        return DecodeResult::done(0);
    }
    ByteReader in(data);
    size_t committed = 0;
    while (rows_done_ < r.h) {
        const uint32_t th = std::min(kHextileTile, r.h - rows_done_);
        scratch_.resize(size_t{r.w} * th);
        Colours c{bg_, fg_};
        HextileTileStatus st = HextileTileStatus::kOk;
        const char* error = "";
        for (uint32_t tx = 0; tx < r.w && st == HextileTileStatus::kOk; tx += kHextileTile) {
            st = read_tile(in, std::min(kHextileTile, r.w - tx), th, t.pixels, c,
                           scratch_.data() + tx, r.w, error);
        }
        if (st == HextileTileStatus::kNeedMore) break;
        if (st == HextileTileStatus::kError) {
            reset();
            return DecodeResult::fail(error);
        }
        t.fb.put(Rect{r.x, r.y + rows_done_, r.w, th}, scratch_.data(), r.w);
        bg_ = c.bg;
        fg_ = c.fg;
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
