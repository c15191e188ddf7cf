#include "codec/tight_decoder.h"

#include <turbojpeg.h>

#include <algorithm>
#include <bit>
#include <string>

#include "codec/byte_reader.h"
#include "codec/decode_support.h"
#include "codec/tight_wire.h"

namespace rfb {

namespace {

// Filtered data is inflated this much at a time (at least a row): igzip moves its 32 KiB history
// after every call, so fewer, larger calls are faster (10-15 % on full-width text than 64 KiB).
constexpr size_t kInflateChunkBytes = 256 * 1024;

DecodeResult tight_error(const std::string& why) {
    return DecodeResult::fail("tight: " + why);
}

// TPIXEL: R, G, B bytes for 888 formats, else a PIXEL of the wire format.
struct TPixelReader {
    const PixelReader& px;
    bool rgb = tight::tpixels_are_rgb(px.format());
    size_t bytes = rgb ? 3 : px.bytes_per_pixel();

    uint32_t load(const uint8_t* p) const {
        return rgb ? (uint32_t{p[0]} << 16 | uint32_t{p[1]} << 8 | p[2]) : px.load(p);
    }
};

enum class Step { kOk, kNeedMore, kError };

// 1 to 3 bytes, 7 + 7 + 8 bits, least significant first.
Step read_compact(ByteReader& in, uint32_t& len) {
    uint8_t b = 0;
    if (!in.u8(b)) return Step::kNeedMore;
    len = b & 0x7fu;
    if (!(b & 0x80)) return Step::kOk;
    if (!in.u8(b)) return Step::kNeedMore;
    len |= uint32_t{b & 0x7fu} << 7;
    if (!(b & 0x80)) return Step::kOk;
    if (!in.u8(b)) return Step::kNeedMore;
    len |= uint32_t{b} << 14;
    return Step::kOk;
}

}  // namespace

// Everything a Basic rectangle needs once its body is known to be complete.
struct TightDecoder::Basic {
    int stream = 0;
    uint8_t filter = tight::kFilterCopy;
    uint32_t palette_size = 0;
    std::array<uint32_t, 256> palette{};  // canonical
    size_t row_bytes = 0;
    bool compressed = false;
    std::span<const uint8_t> data;  // raw filtered rows, or the zlib data
};

namespace {

// One row of palette indices -> canonical pixels. Indices are checked for the whole row at once
// (the table has 256 entries, so a bad index reads a harmless zero first); false when any was
// out of range.
bool palette_row(const uint8_t* src, uint32_t w, const std::array<uint32_t, 256>& palette,
                 uint32_t size, uint32_t* out) {
    const uint32_t* pal = palette.data();
    uint32_t bad = 0;
    if (size <= 2) {
        // 1 bit per pixel, most significant first; the padding bits of the last byte are unused.
        const uint32_t limit = size;  // index 1 is bad for a one-colour palette
        uint32_t x = 0;
        for (; x + 8 <= w; x += 8) {
            const uint32_t byte = src[x / 8];
            for (uint32_t k = 0; k < 8; ++k) {
                const uint32_t idx = (byte >> (7 - k)) & 1u;
                bad |= static_cast<uint32_t>(idx >= limit);
                out[x + k] = pal[idx];
            }
        }
        for (; x < w; ++x) {
            const uint32_t idx = (src[x / 8] >> (7 - x % 8)) & 1u;
            bad |= static_cast<uint32_t>(idx >= limit);
            out[x] = pal[idx];
        }
    } else {
        for (uint32_t x = 0; x < w; ++x) {
            const uint32_t idx = src[x];
            bad |= static_cast<uint32_t>(idx >= size);
            out[x] = pal[idx];
        }
    }
    return bad == 0;
}

}  // namespace

TightDecoder::~TightDecoder() {
    if (jpeg_) tjDestroy(static_cast<tjhandle>(jpeg_));
}

void TightDecoder::reset() {
    for (auto& s : streams_)
        s.reset();
}

DecodeResult TightDecoder::decode(const Rect& r, std::span<const uint8_t> data, DecodeTarget& t) {
    if (!decode::target_ok(r, t)) return tight_error("rectangle or pixel format invalid");
    const TPixelReader tpx{t.pixels};
    ByteReader in(data);
    uint8_t ctl = 0;
    if (!in.u8(ctl)) return DecodeResult::need_more();
    const uint8_t method = ctl >> 4;
    // Measure first: the reset bits and the streams must not be touched by a partial body.
    std::span<const uint8_t> payload;
    Basic basic;
    if (method == tight::kFill) {
        if (!in.bytes(tpx.bytes, payload)) return DecodeResult::need_more();
    } else if (method == tight::kJpeg) {
        if (r.w > kMaxWidth) return tight_error("rectangle wider than 2048");
        uint32_t len = 0;
        const Step s = read_compact(in, len);
        if (s != Step::kOk) return DecodeResult::need_more();
        if (!in.bytes(len, payload)) return DecodeResult::need_more();
    } else if (method > tight::kJpeg) {
        return tight_error("bad compression type");
    } else {
        if (r.w > kMaxWidth) return tight_error("rectangle wider than 2048");
        basic.stream = method & 3;
        if (method & tight::kExplicitFilter) {
            if (!in.u8(basic.filter)) return DecodeResult::need_more();
            if (basic.filter > tight::kFilterGradient) return tight_error("unknown filter");
        }
        if (basic.filter == tight::kFilterPalette) {
            uint8_t n = 0;
            std::span<const uint8_t> pal;
            if (!in.u8(n) || !in.bytes((n + 1u) * tpx.bytes, pal)) return DecodeResult::need_more();
            basic.palette_size = n + 1u;
            for (uint32_t i = 0; i < basic.palette_size; ++i)
                basic.palette[i] = tpx.load(pal.data() + i * tpx.bytes);
            basic.row_bytes = basic.palette_size <= 2 ? (size_t{r.w} + 7) / 8 : r.w;
        } else {
            if (basic.filter == tight::kFilterGradient &&
                (!t.pixels.format().true_colour || t.pixels.bytes_per_pixel() == 1))
                return tight_error("gradient filter needs 16 or 32 bpp true colour");
            basic.row_bytes = size_t{r.w} * tpx.bytes;
        }
        const size_t data_size = basic.row_bytes * r.h;  // at most 2048 * 4 * 16384
        basic.compressed = data_size >= tight::kMinToCompress;
        size_t len = data_size;
        if (basic.compressed) {
            uint32_t compact = 0;
            if (read_compact(in, compact) != Step::kOk) return DecodeResult::need_more();
            len = compact;
        }
        if (!in.bytes(len, basic.data)) return DecodeResult::need_more();
    }

    // The body is complete: now the reset bits take effect, even for Fill and JPEG.
    for (int i = 0; i < 4; ++i)
        if (ctl & (1u << i)) streams_[i].reset();

    DecodeResult res;
    if (method == tight::kFill) {
        t.fb.fill(r, tpx.load(payload.data()));
        res = DecodeResult::done(0);
    } else if (method == tight::kJpeg) {
        res = decode_jpeg(r, payload, t);
    } else {
        res = decode_basic(r, basic, t);
    }
    if (res.status == DecodeStatus::kDone) res.consumed = in.position();
    return res;
}

DecodeResult TightDecoder::decode_jpeg(const Rect& r, std::span<const uint8_t> jpeg,
                                       DecodeTarget& t) {
    if (!jpeg_) jpeg_ = tjInitDecompress();
    if (!jpeg_) return tight_error("cannot initialise JPEG decoder");
    auto* h = static_cast<tjhandle>(jpeg_);
    int w = 0, ht = 0, subsamp = 0, colorspace = 0;
    if (jpeg.empty() ||
        tjDecompressHeader3(h, jpeg.data(), jpeg.size(), &w, &ht, &subsamp, &colorspace) != 0)
        return tight_error("bad JPEG header");
    if (static_cast<uint32_t>(w) != r.w || static_cast<uint32_t>(ht) != r.h)
        return tight_error("JPEG size differs from the rectangle");
    // Canonical pixels are host-order 0x00RRGGBB words: B G R X in memory on little-endian hosts.
    const int format = std::endian::native == std::endian::little ? TJPF_BGRX : TJPF_XRGB;
    auto* dst = reinterpret_cast<unsigned char*>(t.fb.row(r.y) + r.x);
    const int pitch = static_cast<int>(t.fb.width() * 4);
    // Warnings (a slightly damaged but decodable JPEG) still produce pixels, as in TigerVNC.
    if (tjDecompress2(h, jpeg.data(), jpeg.size(), dst, w, pitch, ht, format, 0) != 0 &&
        tjGetErrorCode(h) != TJERR_WARNING)
        return tight_error(std::string("bad JPEG data (") + tjGetErrorStr2(h) + ")");
    for (uint32_t y = 0; y < r.h; ++y)
        clear_padding(t.fb.row(r.y + y) + r.x, r.w);  // the X byte is not colour
    return DecodeResult::done(0);
}

DecodeResult TightDecoder::decode_basic(const Rect& r, const Basic& b, DecodeTarget& t) {
    const TPixelReader tpx{t.pixels};
    const PixelFormat& pf = t.pixels.format();
    BulkInflateStream& zs = streams_[b.stream];
    std::string error;
    if (b.compressed && !zs.begin(b.data, error)) return tight_error(error);
    auto fail_stream = [&](const std::string& why) {
        if (b.compressed) zs.abandon();
        return tight_error(why);
    };
    if (r.empty()) {
        if (b.compressed && !zs.finish(error)) return tight_error(error);
        return DecodeResult::done(0);
    }

    // Gradient prediction works on channel values: R G B bytes for TPIXELs, else each channel of
    // the wire pixel with its own maximum.
    const bool gradient = b.filter == tight::kFilterGradient;
    const uint32_t shift[3] = {tpx.rgb ? 16u : pf.red_shift, tpx.rgb ? 8u : pf.green_shift,
                               tpx.rgb ? 0u : pf.blue_shift};
    const uint32_t max[3] = {tpx.rgb ? 255u : pf.red_max, tpx.rgb ? 255u : pf.green_max,
                             tpx.rgb ? 255u : pf.blue_max};
    if (gradient) gradient_.assign(size_t{r.w} * 6, 0);  // previous row, then this row

    const size_t chunk_rows = std::clamp<size_t>(kInflateChunkBytes / b.row_bytes, 1, r.h);
    // Grow only: shrinking and growing again would zero-fill the buffer per rectangle.
    if (b.compressed && rows_.size() < chunk_rows * b.row_bytes)
        rows_.resize(chunk_rows * b.row_bytes);
    for (uint32_t y0 = 0; y0 < r.h; y0 += static_cast<uint32_t>(chunk_rows)) {
        const uint32_t n = static_cast<uint32_t>(std::min<size_t>(chunk_rows, r.h - y0));
        const uint8_t* src = b.data.data() + size_t{y0} * b.row_bytes;
        if (b.compressed) {
            if (!zs.read_exact(std::span(rows_.data(), n * b.row_bytes), error))
                return tight_error(error);
            src = rows_.data();
        }
        if (b.filter == tight::kFilterCopy) {
            uint32_t* out = t.fb.row(r.y + y0) + r.x;
            if (tpx.rgb)
                rgb24_rows_to_canonical(src, b.row_bytes, r.w, n, out, t.fb.width());
            else
                t.pixels.read_rows(src, b.row_bytes, r.w, n, out, t.fb.width());
            continue;
        }
        for (uint32_t i = 0; i < n; ++i, src += b.row_bytes) {
            uint32_t* out = t.fb.row(r.y + y0 + i) + r.x;
            if (b.filter == tight::kFilterPalette) {
                if (!palette_row(src, r.w, b.palette, b.palette_size, out))
                    return fail_stream("palette index out of range");
            } else {
                int32_t* prev = gradient_.data();
                int32_t* cur = prev + size_t{r.w} * 3;
                for (uint32_t x = 0; x < r.w; ++x) {
                    const uint8_t* p = src + x * tpx.bytes;
                    const uint32_t diff = tpx.rgb
                                              ? (uint32_t{p[0]} << 16 | uint32_t{p[1]} << 8 | p[2])
                                              : t.pixels.load_raw(p);
                    uint32_t value = 0;
                    for (int c = 0; c < 3; ++c) {
                        const int32_t left = x > 0 ? cur[(x - 1) * 3 + c] : 0;
                        const int32_t up = prev[x * 3 + c];
                        const int32_t up_left = x > 0 ? prev[(x - 1) * 3 + c] : 0;
                        const int32_t predicted = std::clamp<int32_t>(left + up - up_left, 0,
                                                                      static_cast<int32_t>(max[c]));
                        const uint32_t v = (((diff >> shift[c]) & max[c]) + predicted) & max[c];
                        cur[x * 3 + c] = static_cast<int32_t>(v);
                        value |= v << shift[c];
                    }
                    out[x] = tpx.rgb ? value : t.pixels.unpack(value);
                }
                std::copy(cur, cur + size_t{r.w} * 3, prev);
            }
        }
    }
    if (b.compressed && !zs.finish(error)) return tight_error(error);
    return DecodeResult::done(0);
}

}  // namespace rfb
