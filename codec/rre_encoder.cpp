#include "codec/rre_encoder.h"

#include <algorithm>
#include <bit>
#include <span>

#include "codec/byte_writer.h"

namespace rfb {

namespace {
// Colour counting uses at most this many slots (512 KiB); once half are taken, colours not seen
// yet are no longer counted. The background is then the most common of the first 32768
// distinct colours, which only ever costs compactness, never correctness.
constexpr size_t kMaxSlots = size_t{1} << 16;
}  // namespace

uint32_t RreEncoder::background() const {
    const size_t n = px_.size();
    const size_t slots = std::min(kMaxSlots, std::bit_ceil(std::max<size_t>(2 * n, 16)));
    keys_.assign(slots, 0);
    counts_.assign(slots, 0);  // 0: empty slot
    const size_t mask = slots - 1;
    size_t used = 0;
    uint32_t best = px_.empty() ? 0 : px_[0], best_count = 0;
    for (uint32_t v : px_) {
        size_t s = (v * 2654435761u) & mask;
        while (counts_[s] != 0 && keys_[s] != v)
            s = (s + 1) & mask;
        if (counts_[s] == 0) {
            if (used >= slots / 2) continue;
            keys_[s] = v;
            ++used;
        }
        // The first colour to reach the highest count wins, so the choice is deterministic.
        if (++counts_[s] > best_count) best = v, best_count = counts_[s];
    }
    return best;
}

bool RreEncoder::encode(const Framebuffer& fb, const Rect& r, const PixelWriter& px,
                        const EncodeTuning& /*tuning*/, std::vector<uint8_t>& out) {
    const size_t bpp = px.bytes_per_pixel();
    if (!fb.contains(r) || (bpp != 1 && bpp != 2 && bpp != 4)) return false;
    w_ = r.w;
    h_ = r.h;
    px_.resize(r.area());
    for (uint32_t y = 0; y < h_; ++y) {
        const uint32_t* src = fb.row(r.y + y) + r.x;
        for (uint32_t x = 0; x < w_; ++x)
            px_[size_t{y} * w_ + x] = px.pack(src[x]);
    }
    const uint32_t bg = background();
    // Beyond this many subrectangles the body is larger than Raw.
    const size_t raw = raw_body_size(r, bpp);
    const size_t limit = raw < body_size(0, bpp) ? 0 : (raw - body_size(0, bpp)) / (bpp + 8);

    const size_t start = out.size();
    ByteWriter w(out);
    w.u32(0);  // the count, filled in at the end
    uint8_t b[4];
    px.store(bg, b);
    w.bytes(std::span(b, bpp));
    size_t count = 0;
    auto at = [&](uint32_t x, uint32_t y) -> uint32_t& { return px_[size_t{y} * w_ + x]; };
    for (uint32_t y = 0; y < h_; ++y) {
        for (uint32_t x = 0; x < w_; ++x) {
            const uint32_t c = at(x, y);
            if (c == bg) continue;
            if (refuse_costly_ && count == limit) {
                out.resize(start);
                return false;
            }
            auto row_is_c = [&](uint32_t x0, uint32_t y0, uint32_t len) {
                for (uint32_t i = 0; i < len; ++i)
                    if (at(x0 + i, y0) != c) return false;
                return true;
            };
            auto column_is_c = [&](uint32_t x0, uint32_t y0, uint32_t len) {
                for (uint32_t j = 0; j < len; ++j)
                    if (at(x0, y0 + j) != c) return false;
                return true;
            };
            // Widest first: the run along the row, then every row below that repeats it.
            uint32_t wa = 1, ha = 1;
            while (x + wa < w_ && at(x + wa, y) == c)
                ++wa;
            while (y + ha < h_ && row_is_c(x, y + ha, wa))
                ++ha;
            // Tallest first: the run down the column, then every column to its right.
            uint32_t hb = 1, wb = 1;
            while (y + hb < h_ && at(x, y + hb) == c)
                ++hb;
            while (x + wb < w_ && column_is_c(x + wb, y, hb))
                ++wb;
            const bool wide = uint64_t{wa} * ha >= uint64_t{wb} * hb;
            const uint32_t sw = wide ? wa : wb, sh = wide ? ha : hb;
            for (uint32_t j = 0; j < sh; ++j)
                std::fill_n(&at(x, y + j), sw, bg);
            px.store(c, b);
            w.bytes(std::span(b, bpp));
            // Coordinates are below the rectangle's size, which the caller's U16 header holds.
            w.u16(static_cast<uint16_t>(x));
            w.u16(static_cast<uint16_t>(y));
            w.u16(static_cast<uint16_t>(sw));
            w.u16(static_cast<uint16_t>(sh));
            ++count;
        }
    }
    // At most w * h <= 2^28 subrectangles: the count fits in 32 bits.
    for (int i = 0; i < 4; ++i)
        out[start + i] = static_cast<uint8_t>(count >> (24 - 8 * i));
    last_subrects_ = count;
    return true;
}

}  // namespace rfb
