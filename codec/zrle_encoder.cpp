#include "codec/zrle_encoder.h"

#include <algorithm>
#include <cstring>
#include <limits>

namespace rfb {

ZrleCPixel zrle_cpixel(const PixelFormat& pf) {
    const size_t bpp = pf.bytes_per_pixel();
    if (bpp != 4 || !pf.true_colour || pf.depth > 24) return ZrleCPixel{bpp, 0};
    // 64-bit so that a nonsense shift cannot overflow; such formats simply do not fit.
    const uint64_t used = (uint64_t{pf.red_max} << pf.red_shift) |
                          (uint64_t{pf.green_max} << pf.green_shift) |
                          (uint64_t{pf.blue_max} << pf.blue_shift);
    const bool fits_low = used < (uint64_t{1} << 24);
    const bool fits_high = (used & 0xff) == 0 && used <= 0xffffffffu;
    if (!fits_low && !fits_high) return ZrleCPixel{4, 0};
    // Stored little-endian, the low three bytes come first; stored big-endian, they come last.
    // The spec prefers the low bytes when both would do.
    const bool low_bytes_first = !pf.big_endian;
    const size_t offset = fits_low == low_bytes_first ? 0 : 1;
    return ZrleCPixel{3, offset};
}

void ZrleEncoder::Palette::clear() {
    index_.fill(0xff);
    size_ = 0;
}

int ZrleEncoder::Palette::lookup(uint32_t v) const {
    for (size_t s = slot(v);; s = (s + 1) & 0xff) {
        if (index_[s] == 0xff) return -1;
        if (keys_[s] == v) return index_[s];
    }
}

int ZrleEncoder::Palette::index_of(uint32_t v) {
    // At most 127 of 256 slots are ever used, so probing always reaches an empty slot.
    size_t s = slot(v);
    for (; index_[s] != 0xff; s = (s + 1) & 0xff)
        if (keys_[s] == v) return index_[s];
    if (size_ == kMaxSize) return -1;
    keys_[s] = v;
    index_[s] = static_cast<uint8_t>(size_);
    colours_[size_] = v;
    return static_cast<int>(size_++);
}

ZrleEncoder::~ZrleEncoder() {
    if (zs_ready_) deflateEnd(&zs_);
}

bool ZrleEncoder::start_stream(int level) {
    if (zs_ready_ && zs_level_ == level) {
        if (deflateReset(&zs_) == Z_OK) return true;
    }
    if (zs_ready_) deflateEnd(&zs_);
    zs_ready_ = false;
    zs_ = z_stream{};
    // Raw deflate (negative window bits): no zlib header or Adler-32 of our own, because each
    // viewer's stream has exactly one header, written by rect_framing, and never ends.
    if (deflateInit2(&zs_, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) return false;
    zs_ready_ = true;
    zs_level_ = level;
    return true;
}

bool ZrleEncoder::deflate_into(const uint8_t* data, size_t len, int flush,
                               std::vector<uint8_t>& out) {
    if (len > std::numeric_limits<uInt>::max()) return false;
    zs_.next_in = const_cast<Bytef*>(data);
    zs_.avail_in = static_cast<uInt>(len);
    do {
        zs_.next_out = zbuf_.data();
        zs_.avail_out = static_cast<uInt>(zbuf_.size());
        const int rc = deflate(&zs_, flush);
        out.insert(out.end(), zbuf_.data(), zbuf_.data() + (zbuf_.size() - zs_.avail_out));
        if (rc != Z_OK && rc != Z_BUF_ERROR) return false;
    } while (zs_.avail_out == 0);
    return zs_.avail_in == 0;
}

void ZrleEncoder::put_cpixel(uint32_t packed, const PixelWriter& px, const ZrleCPixel& cp) {
    uint8_t b[4];
    px.store(packed, b);
    tile_bytes_.insert(tile_bytes_.end(), b + cp.offset, b + cp.offset + cp.size);
}

namespace {

size_t run_length_bytes(size_t len) {
    return (len - 1) / 255 + 1;
}

void put_run_length(size_t len, std::vector<uint8_t>& out) {
    size_t rest = len - 1;
    for (; rest >= 255; rest -= 255)
        out.push_back(255);
    out.push_back(static_cast<uint8_t>(rest));
}

enum class TileMode { kPacked, kPaletteRle, kPlainRle, kRaw };

}  // namespace

void ZrleEncoder::encode_tile(uint32_t tw, uint32_t th, const PixelWriter& px,
                              const ZrleCPixel& cp) {
    tile_bytes_.clear();
    const size_t n = size_t{tw} * th;
    const size_t cpb = cp.size;

    // One pass over the runs (which continue from row to row) sizes both RLE forms and
    // collects the palette.
    palette_.clear();
    bool palette_full = false;
    size_t plain_rle = 1, palette_runs = 0;
    for (size_t i = 0; i < n;) {
        const uint32_t v = tile_[i];
        size_t j = i + 1;
        while (j < n && tile_[j] == v)
            ++j;
        const size_t len = j - i;
        plain_rle += cpb + run_length_bytes(len);
        palette_runs += len == 1 ? 1 : 1 + run_length_bytes(len);
        if (!palette_full && palette_.index_of(v) < 0) palette_full = true;
        i = j;
    }
    const size_t colours = palette_.size();

    if (!palette_full && colours == 1) {
        tile_bytes_.push_back(1);
        put_cpixel(palette_.colour(0), px, cp);
        return;
    }

    constexpr size_t kNone = std::numeric_limits<size_t>::max();
    const size_t palette_bytes = colours * cpb;
    const unsigned bits = colours <= 2 ? 1 : colours <= 4 ? 2 : 4;
    const size_t packed = !palette_full && colours <= 16
                              ? 1 + palette_bytes + (size_t{tw} * bits + 7) / 8 * th
                              : kNone;
    const size_t palette_rle = !palette_full ? 1 + palette_bytes + palette_runs : kNone;
    const size_t raw = 1 + n * cpb;
    // Candidates in order of preference on a tie: cheaper to decode first.
    TileMode mode = TileMode::kPacked;
    size_t best = packed;
    if (palette_rle < best) mode = TileMode::kPaletteRle, best = palette_rle;
    if (plain_rle < best) mode = TileMode::kPlainRle, best = plain_rle;
    if (raw < best) mode = TileMode::kRaw, best = raw;
    tile_bytes_.reserve(best);

    switch (mode) {
        case TileMode::kRaw: {
            tile_bytes_.resize(1 + n * cpb);
            tile_bytes_[0] = 0;
            uint8_t* dst = tile_bytes_.data() + 1;
            uint8_t b[4];
            for (size_t i = 0; i < n; ++i, dst += cpb) {
                px.store(tile_[i], b);
                std::memcpy(dst, b + cp.offset, cpb);
            }
            break;
        }
        case TileMode::kPacked: {
            tile_bytes_.push_back(static_cast<uint8_t>(colours));
            for (size_t c = 0; c < colours; ++c)
                put_cpixel(palette_.colour(c), px, cp);
            for (uint32_t y = 0; y < th; ++y) {
                unsigned acc = 0, filled = 0;
                for (uint32_t x = 0; x < tw; ++x) {
                    acc = (acc << bits) | static_cast<unsigned>(palette_.lookup(tile_[y * tw + x]));
                    filled += bits;
                    if (filled == 8) {
                        tile_bytes_.push_back(static_cast<uint8_t>(acc));
                        acc = 0;
                        filled = 0;
                    }
                }
                // Rows start on a byte boundary; the leftmost pixel is in the top bits.
                if (filled) tile_bytes_.push_back(static_cast<uint8_t>(acc << (8 - filled)));
            }
            break;
        }
        case TileMode::kPlainRle:
        case TileMode::kPaletteRle: {
            const bool use_palette = mode == TileMode::kPaletteRle;
            tile_bytes_.push_back(static_cast<uint8_t>(128 + (use_palette ? colours : 0)));
            if (use_palette)
                for (size_t c = 0; c < colours; ++c)
                    put_cpixel(palette_.colour(c), px, cp);
            for (size_t i = 0; i < n;) {
                const uint32_t v = tile_[i];
                size_t j = i + 1;
                while (j < n && tile_[j] == v)
                    ++j;
                const size_t len = j - i;
                if (!use_palette) {
                    put_cpixel(v, px, cp);
                    put_run_length(len, tile_bytes_);
                } else if (len == 1) {
                    tile_bytes_.push_back(static_cast<uint8_t>(palette_.lookup(v)));
                } else {
                    tile_bytes_.push_back(static_cast<uint8_t>(128 + palette_.lookup(v)));
                    put_run_length(len, tile_bytes_);
                }
                i = j;
            }
            break;
        }
    }
}

bool ZrleEncoder::encode_tiles(const Framebuffer& fb, const Rect& r, const PixelWriter& px,
                               const TileSink& sink) {
    const size_t bpp = px.bytes_per_pixel();
    if (!fb.contains(r) || (bpp != 1 && bpp != 2 && bpp != 4)) return false;
    const ZrleCPixel cp = zrle_cpixel(px.format());
    for (uint32_t ty = 0; ty < r.h; ty += kTileSize) {
        const uint32_t th = std::min(kTileSize, r.h - ty);
        for (uint32_t tx = 0; tx < r.w; tx += kTileSize) {
            const uint32_t tw = std::min(kTileSize, r.w - tx);
            for (uint32_t y = 0; y < th; ++y) {
                const uint32_t* src = fb.row(r.y + ty + y) + r.x + tx;
                for (uint32_t x = 0; x < tw; ++x)
                    tile_[y * tw + x] = px.pack(src[x]);
            }
            encode_tile(tw, th, px, cp);
            if (!sink(tile_bytes_)) return false;
        }
    }
    return true;
}

bool ZrleEncoder::encode(const Framebuffer& fb, const Rect& r, const PixelWriter& px,
                         const EncodeTuning& tuning, std::vector<uint8_t>& out) {
    const size_t bpp = px.bytes_per_pixel();
    if (!fb.contains(r) || (bpp != 1 && bpp != 2 && bpp != 4)) return false;
    const int level =
        tuning.compress >= 0 && tuning.compress <= 9 ? tuning.compress : kDefaultLevel;
    if (!start_stream(level)) return false;
    const ZrleCPixel cp = zrle_cpixel(px.format());
    const size_t start = out.size();
    bool ok = true;
    for (uint32_t ty = 0; ty < r.h && ok; ty += kTileSize) {
        const uint32_t th = std::min(kTileSize, r.h - ty);
        for (uint32_t tx = 0; tx < r.w && ok; tx += kTileSize) {
            const uint32_t tw = std::min(kTileSize, r.w - tx);
            for (uint32_t y = 0; y < th; ++y) {
                const uint32_t* src = fb.row(r.y + ty + y) + r.x + tx;
                for (uint32_t x = 0; x < tw; ++x)
                    tile_[y * tw + x] = px.pack(src[x]);
            }
            encode_tile(tw, th, px, cp);
            ok = deflate_into(tile_bytes_.data(), tile_bytes_.size(), Z_NO_FLUSH, out);
        }
    }
    // The full flush ends the body on a byte boundary and lets the next body start afresh.
    if (ok) ok = deflate_into(nullptr, 0, Z_FULL_FLUSH, out);
    if (!ok) {
        out.resize(start);
        deflateEnd(&zs_);
        zs_ready_ = false;
    }
    return ok;
}

}  // namespace rfb
