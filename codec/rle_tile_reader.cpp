#include "codec/rle_tile_reader.h"

#include <algorithm>

namespace rfb {

CPixelReader::CPixelReader(const PixelReader& px) : px_(px), bytes_(px.bytes_per_pixel()) {
    const PixelFormat& pf = px.format();
    if (!pf.true_colour || pf.bits_per_pixel != 32 || pf.depth > 24) return;
    // 8-bit channels at shifts 16/8/0 are already canonical once the bytes are assembled.
    direct_ = pf.red_max == 255 && pf.green_max == 255 && pf.blue_max == 255 &&
              pf.red_shift == 16 && pf.green_shift == 8 && pf.blue_shift == 0;
    // 64-bit so that a nonsense shift cannot overflow while we look at it.
    const uint64_t used = (uint64_t{pf.red_max} << pf.red_shift) |
                          (uint64_t{pf.green_max} << pf.green_shift) |
                          (uint64_t{pf.blue_max} << pf.blue_shift);
    if ((used & ~uint64_t{0xffffff}) == 0) {
        packing_ = Packing::kLow3;  // preferred when both fit, by the spec's convention
        bytes_ = 3;
    } else if ((used & ~uint64_t{0xffffff00}) == 0) {
        packing_ = Packing::kHigh3;
        bytes_ = 3;
    }
}

uint32_t CPixelReader::load(const uint8_t* p) const {
    // The three bytes are the pixel's low or high three bytes in the format's byte order.
    const bool be = px_.format().big_endian;
    uint32_t v = 0;
    switch (packing_) {
        case Packing::kWhole:
            return px_.load(p);
        case Packing::kLow3:
            v = be ? (uint32_t{p[0]} << 16 | uint32_t{p[1]} << 8 | p[2])
                   : (uint32_t{p[2]} << 16 | uint32_t{p[1]} << 8 | p[0]);
            break;
        case Packing::kHigh3:
            v = be ? (uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8)
                   : (uint32_t{p[2]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[0]} << 8);
            break;
    }
    return direct_ ? v & 0xffffffu : px_.unpack(v);
}

void CPixelReader::read_row(const uint8_t* src, size_t n, uint32_t* dst) const {
    if (packing_ == Packing::kWhole) {
        px_.read_row(src, n, dst);
        return;
    }
    for (size_t i = 0; i < n; ++i)
        dst[i] = load(src + i * 3);
}

namespace {

// Where the next run of a tile goes. Tracks x and the row pointer instead of dividing a pixel
// index by the tile width: runs of one pixel are common and a division each would dominate.
class RunWriter {
  public:
    RunWriter(uint32_t* out, size_t stride, uint32_t tw) : row_(out), stride_(stride), tw_(tw) {}

    // The caller has checked that `len` pixels remain in the tile.
    void put(uint32_t c, size_t len) {
        while (len > 0) {
            const size_t n = std::min<size_t>(len, tw_ - x_);
            if (n == 1) {
                row_[x_] = c;
            } else {
                std::fill_n(row_ + x_, n, c);
            }
            x_ += static_cast<uint32_t>(n);
            len -= n;
            if (x_ == tw_) {
                x_ = 0;
                row_ += stride_;
            }
        }
    }

  private:
    uint32_t* row_;
    size_t stride_;
    uint32_t tw_;
    uint32_t x_ = 0;
};

void fill_tile(uint32_t* out, size_t stride, uint32_t tw, uint32_t th, uint32_t c) {
    for (uint32_t y = 0; y < th; ++y)
        std::fill_n(out + y * stride, tw, c);
}

// Run length: 1 + the sum of its bytes, where every byte but the last is 255. Checked against
// what is left of the tile after every byte, so a stream of 255s fails early.
TileResult read_run_length(ByteReader& in, size_t remaining, size_t& len) {
    len = 1;
    for (;;) {
        uint8_t b = 0;
        if (!in.u8(b)) return {TileStatus::kNeedMore};
        len += b;
        if (len > remaining) return {TileStatus::kError, "run past the end of the tile"};
        if (b != 255) return {};
    }
}

bool read_palette(ByteReader& in, uint32_t n, const CPixelReader& cpx, RlePalette& palette) {
    std::span<const uint8_t> b;
    if (!in.bytes(n * cpx.bytes(), b)) return false;
    for (uint32_t i = 0; i < n; ++i)
        palette.colours[i] = cpx.load(b.data() + i * cpx.bytes());
    palette.size = n;
    return true;
}

TileResult read_packed(ByteReader& in, uint32_t tw, uint32_t th, const RlePalette& palette,
                       uint32_t* out, size_t stride) {
    const uint32_t n = palette.size;
    if (n == 1) {  // only through TRLE's reuse of a solid tile's colour: no index bits at all
        fill_tile(out, stride, tw, th, palette.colours[0]);
        return {};
    }
    const uint32_t bits = n <= 2 ? 1 : n <= 4 ? 2 : 4;
    const uint32_t mask = (1u << bits) - 1;
    const size_t row_bytes = (size_t{tw} * bits + 7) / 8;
    std::span<const uint8_t> b;
    if (!in.bytes(row_bytes * th, b)) return {TileStatus::kNeedMore};
    for (uint32_t y = 0; y < th; ++y) {
        const uint8_t* row = b.data() + y * row_bytes;
        uint32_t* dst = out + y * stride;
        for (uint32_t x = 0; x < tw; ++x) {
            const size_t bit = size_t{x} * bits;
            const uint32_t idx = (row[bit / 8] >> (8 - bits - bit % 8)) & mask;
            if (idx >= n) return {TileStatus::kError, "palette index out of range"};
            dst[x] = palette.colours[idx];
        }
    }
    return {};
}

TileResult read_plain_rle(ByteReader& in, uint32_t tw, uint32_t th, const CPixelReader& cpx,
                          uint32_t* out, size_t stride) {
    const size_t total = size_t{tw} * th;
    RunWriter w(out, stride, tw);
    for (size_t pos = 0; pos < total;) {
        std::span<const uint8_t> b;
        if (!in.bytes(cpx.bytes(), b)) return {TileStatus::kNeedMore};
        size_t len = 0;
        const TileResult run = read_run_length(in, total - pos, len);
        if (run.status != TileStatus::kOk) return run;
        w.put(cpx.load(b.data()), len);
        pos += len;
    }
    return {};
}

TileResult read_palette_rle(ByteReader& in, uint32_t tw, uint32_t th, const RlePalette& palette,
                            uint32_t* out, size_t stride) {
    const size_t total = size_t{tw} * th;
    RunWriter w(out, stride, tw);
    for (size_t pos = 0; pos < total;) {
        uint8_t b = 0;
        if (!in.u8(b)) return {TileStatus::kNeedMore};
        const uint32_t idx = b & 0x7fu;
        if (idx >= palette.size) return {TileStatus::kError, "palette index out of range"};
        size_t len = 1;
        if (b & 0x80) {
            const TileResult run = read_run_length(in, total - pos, len);
            if (run.status != TileStatus::kOk) return run;
        }
        w.put(palette.colours[idx], len);
        pos += len;
    }
    return {};
}

}  // namespace

TileResult read_rle_tile(ByteReader& in, uint32_t tw, uint32_t th, const CPixelReader& cpx,
                         RleVariant variant, RlePalette& palette, uint32_t* out, size_t stride) {
    uint8_t se = 0;
    if (!in.u8(se)) return {TileStatus::kNeedMore};
    const bool trle = variant == RleVariant::kTrle;
    const TileResult need_more{TileStatus::kNeedMore};

    if (se == 0) {
        std::span<const uint8_t> b;
        const size_t row_bytes = size_t{tw} * cpx.bytes();
        if (!in.bytes(row_bytes * th, b)) return need_more;
        for (uint32_t y = 0; y < th; ++y)
            cpx.read_row(b.data() + y * row_bytes, tw, out + y * stride);
        return {};
    }
    if (se == 1) {
        std::span<const uint8_t> b;
        if (!in.bytes(cpx.bytes(), b)) return need_more;
        palette.colours[0] = cpx.load(b.data());
        palette.size = 1;
        fill_tile(out, stride, tw, th, palette.colours[0]);
        return {};
    }
    if (se <= 16) {
        if (!read_palette(in, se, cpx, palette)) return need_more;
        return read_packed(in, tw, th, palette, out, stride);
    }
    if (se == 127 && trle) {
        if (palette.size == 0) return {TileStatus::kError, "palette reused before any was sent"};
        if (palette.size > 16) return {TileStatus::kError, "reused palette too large to pack"};
        return read_packed(in, tw, th, palette, out, stride);
    }
    if (se == 128) return read_plain_rle(in, tw, th, cpx, out, stride);
    if (se == 129 && trle) {
        if (palette.size == 0) return {TileStatus::kError, "palette reused before any was sent"};
        return read_palette_rle(in, tw, th, palette, out, stride);
    }
    if (se >= 130) {
        if (!read_palette(in, se - 128u, cpx, palette)) return need_more;
        return read_palette_rle(in, tw, th, palette, out, stride);
    }
    return {TileStatus::kError, "unused subencoding"};
}

}  // namespace rfb
