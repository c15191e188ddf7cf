#include "codec/hextile_encoder.h"

#include <algorithm>

namespace rfb {

namespace {

void put_pixel(const PixelWriter& px, uint32_t packed, std::vector<uint8_t>& out) {
    uint8_t b[4];
    px.store(packed, b);
    out.insert(out.end(), b, b + px.bytes_per_pixel());
}

// The most subrectangles that keep `fixed + count * per` strictly below `limit`, capped by the
// one-byte count field.
size_t subrect_budget(size_t limit, size_t fixed, size_t per) {
    if (limit <= fixed + per) return 0;
    return std::min<size_t>(255, (limit - fixed - 1) / per);
}

}  // namespace

bool HextileEncoder::encode(const Framebuffer& fb, const Rect& r, const PixelWriter& px,
                            const EncodeTuning& /*tuning*/, std::vector<uint8_t>& out) {
    const size_t bpp = px.bytes_per_pixel();
    if (!fb.contains(r) || (bpp != 1 && bpp != 2 && bpp != 4)) return false;
    if (r.empty()) return true;
    Carry carry;  // the spec starts every rectangle with nothing to carry over
    for (uint32_t ty = 0; ty < r.h; ty += kTileSize) {
        const uint32_t th = std::min(kTileSize, r.h - ty);
        for (uint32_t tx = 0; tx < r.w; tx += kTileSize) {
            const uint32_t tw = std::min(kTileSize, r.w - tx);
            for (uint32_t y = 0; y < th; ++y) {
                const uint32_t* src = fb.row(r.y + ty + y) + r.x + tx;
                for (uint32_t x = 0; x < tw; ++x)
                    tile_[y * tw + x] = px.pack(src[x]);
            }
            encode_tile(tw, th, px, carry, out);
        }
    }
    return true;
}

bool HextileEncoder::find_subrects(uint32_t tw, uint32_t th, uint32_t bg, size_t max_count,
                                   std::vector<Subrect>& rects) {
    rects.clear();
    std::fill_n(covered_.begin(), size_t{tw} * th, false);
    for (uint32_t y = 0; y < th; ++y) {
        for (uint32_t x = 0; x < tw; ++x) {
            const uint32_t i = y * tw + x;
            const uint32_t c = tile_[i];
            if (c == bg || covered_[i]) continue;
            // A subrectangle may run over pixels already covered as long as they have its
            // colour: painting a pixel its own colour twice is harmless and the shapes get bigger.
            uint32_t hw = 1, hh = 1;
            while (x + hw < tw && tile_[i + hw] == c)
                ++hw;
            for (; y + hh < th; ++hh) {
                const uint32_t* row = &tile_[(y + hh) * tw + x];
                if (!std::all_of(row, row + hw, [c](uint32_t v) { return v == c; })) break;
            }
            uint32_t vw = 1, vh = 1;
            while (y + vh < th && tile_[(y + vh) * tw + x] == c)
                ++vh;
            for (; x + vw < tw; ++vw) {
                bool same = true;
                for (uint32_t k = 0; k < vh && same; ++k)
                    same = tile_[(y + k) * tw + x + vw] == c;
                if (!same) break;
            }
            const bool horizontal = hw * hh >= vw * vh;
            const uint32_t w = horizontal ? hw : vw, h = horizontal ? hh : vh;
            if (rects.size() >= max_count) return false;
            rects.push_back(Subrect{c, static_cast<uint8_t>(x), static_cast<uint8_t>(y),
                                    static_cast<uint8_t>(w), static_cast<uint8_t>(h)});
            for (uint32_t k = 0; k < h; ++k)
                std::fill_n(covered_.begin() + (y + k) * tw + x, w, true);
        }
    }
    return true;
}

bool HextileEncoder::count_colours(size_t n, size_t limit, uint32_t& commonest) {
    for (uint16_t slot : used_)
        counts_[slot] = 0;
    used_.clear();
    for (size_t i = 0; i < n; ++i) {
        const uint32_t v = tile_[i];
        // At most 256 of the 512 slots are ever used, so probing always ends.
        size_t s = (v * 2654435761u) >> 23;
        while (counts_[s] != 0 && keys_[s] != v)
            s = (s + 1) & (keys_.size() - 1);
        if (counts_[s] == 0) {
            if (used_.size() == limit) return false;
            keys_[s] = v;
            used_.push_back(static_cast<uint16_t>(s));
        }
        ++counts_[s];
    }
    // Ties go to the colour seen first, so the choice depends on nothing but the pixels.
    uint16_t best = 0;
    for (uint16_t slot : used_) {
        if (counts_[slot] > best) {
            best = counts_[slot];
            commonest = keys_[slot];
        }
    }
    return true;
}

bool HextileEncoder::try_two_colours(const Tile& t, uint32_t a, size_t na, uint32_t b, size_t nb,
                                     const PixelWriter& px, Carry& carry,
                                     std::vector<uint8_t>& out) {
    const size_t bpp = px.bytes_per_pixel();
    auto colour_cost = [bpp](bool valid, uint32_t carried, uint32_t v) {
        return valid && carried == v ? size_t{0} : bpp;
    };
    // Try both ways round: the commoner colour as background first; the other way wins only
    // when strictly smaller (a carried colour can make it so).
    const uint32_t first_bg = na >= nb ? a : b, first_fg = na >= nb ? b : a;
    size_t best_cost = t.raw_cost;
    bool found = false;
    uint32_t bg = 0, fg = 0;
    for (int attempt = 0; attempt < 2; ++attempt) {
        const uint32_t try_bg = attempt == 0 ? first_bg : first_fg;
        const uint32_t try_fg = attempt == 0 ? first_fg : first_bg;
        const size_t fixed = 2 + colour_cost(carry.bg_valid, carry.bg, try_bg) +
                             colour_cost(carry.fg_valid, carry.fg, try_fg);
        std::vector<Subrect>& dst = attempt == 0 ? rects_ : alt_rects_;
        if (!find_subrects(t.w, t.h, try_bg, subrect_budget(best_cost, fixed, 2), dst)) continue;
        best_cost = fixed + 2 * dst.size();
        found = true;
        bg = try_bg;
        fg = try_fg;
        if (attempt == 1) rects_.swap(alt_rects_);
    }
    if (!found) return false;

    const bool bg_new = !(carry.bg_valid && carry.bg == bg);
    const bool fg_new = !(carry.fg_valid && carry.fg == fg);
    out.push_back(static_cast<uint8_t>(kAnySubrects | (bg_new ? kBackgroundSpecified : 0) |
                                       (fg_new ? kForegroundSpecified : 0)));
    if (bg_new) put_pixel(px, bg, out);
    if (fg_new) put_pixel(px, fg, out);
    out.push_back(static_cast<uint8_t>(rects_.size()));
    for (const Subrect& s : rects_) {
        out.push_back(static_cast<uint8_t>((s.x << 4) | s.y));
        out.push_back(static_cast<uint8_t>(((s.w - 1) << 4) | (s.h - 1)));
    }
    carry = Carry{true, true, bg, fg};
    return true;
}

bool HextileEncoder::try_coloured(const Tile& t, const PixelWriter& px, Carry& carry,
                                  std::vector<uint8_t>& out) {
    const size_t bpp = px.bytes_per_pixel();
    // Every colour but the background needs a subrectangle of its own, so a subtile with more
    // colours than the budget allows is raw: noise and photos stop here, cheaply.
    uint32_t bg = 0;
    if (!count_colours(t.n, subrect_budget(t.raw_cost, 2, bpp + 2) + 1, bg)) return false;
    const bool bg_new = !(carry.bg_valid && carry.bg == bg);
    const size_t fixed = 2 + (bg_new ? bpp : 0);
    if (!find_subrects(t.w, t.h, bg, subrect_budget(t.raw_cost, fixed, bpp + 2), rects_))
        return false;

    out.push_back(static_cast<uint8_t>(kAnySubrects | kSubrectsColoured |
                                       (bg_new ? kBackgroundSpecified : 0)));
    if (bg_new) put_pixel(px, bg, out);
    out.push_back(static_cast<uint8_t>(rects_.size()));
    for (const Subrect& s : rects_) {
        put_pixel(px, s.colour, out);
        out.push_back(static_cast<uint8_t>((s.x << 4) | s.y));
        out.push_back(static_cast<uint8_t>(((s.w - 1) << 4) | (s.h - 1)));
    }
    carry.bg = bg;
    carry.bg_valid = true;
    carry.fg_valid = false;  // decoders disagree on what coloured subrects leave in it
    return true;
}

void HextileEncoder::encode_tile(uint32_t tw, uint32_t th, const PixelWriter& px, Carry& carry,
                                 std::vector<uint8_t>& out) {
    const size_t bpp = px.bytes_per_pixel();
    const Tile t{tw, th, size_t{tw} * th, 1 + size_t{tw} * th * bpp};

    // Census of the first two colours; `more` once a third shows up.
    const uint32_t c0 = tile_[0];
    uint32_t c1 = 0;
    size_t n0 = 0, n1 = 0;
    bool more = false;
    for (size_t i = 0; i < t.n && !more; ++i) {
        const uint32_t v = tile_[i];
        if (v == c0) {
            ++n0;
        } else if (n1 == 0 || v == c1) {
            c1 = v;
            ++n1;
        } else {
            more = true;
        }
    }

    if (n1 == 0) {  // solid
        if (carry.bg_valid && carry.bg == c0) {
            out.push_back(0);
        } else {
            out.push_back(kBackgroundSpecified);
            put_pixel(px, c0, out);
            carry.bg = c0;
            carry.bg_valid = true;
        }
        return;
    }
    if (!more ? try_two_colours(t, c0, n0, c1, n1, px, carry, out)
              : try_coloured(t, px, carry, out))
        return;

    out.push_back(kRaw);
    const size_t start = out.size();
    out.resize(start + t.n * bpp);
    for (size_t i = 0; i < t.n; ++i)
        px.store(tile_[i], out.data() + start + i * bpp);
    carry = Carry{};  // decoders disagree on what a raw subtile leaves behind
}

}  // namespace rfb
