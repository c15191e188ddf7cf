#include "codec/tight_encoder.h"

#include <zlib.h>

#include <algorithm>
#include <cstdlib>
#include <limits>
#include <utility>

#include "codec/tight_wire.h"

namespace rfb {

namespace {

// Stream per kind of data, as TigerVNC and libvncserver assign them. Every compressed payload
// resets its stream, so the choice only matters to viewers that keep per-stream statistics.
constexpr int kStreamRaw = 0, kStreamMono = 1, kStreamIndexed = 2, kStreamGradient = 3;
constexpr int kDefaultCompress = 2;  // TigerVNC's default compression level

constexpr TightJpegSettings kJpegLevels[10] = {
    {15, JpegSubsampling::k420}, {29, JpegSubsampling::k420}, {41, JpegSubsampling::k420},
    {42, JpegSubsampling::k422}, {62, JpegSubsampling::k422}, {77, JpegSubsampling::k422},
    {79, JpegSubsampling::k444}, {86, JpegSubsampling::k444}, {92, JpegSubsampling::k444},
    {100, JpegSubsampling::k444}};

constexpr TightZlibLevels kZlibLevels[10] = {{0, 0, 0}, {1, 1, 1}, {3, 3, 2}, {5, 5, 2}, {6, 7, 3},
                                             {7, 8, 4}, {7, 8, 5}, {8, 9, 6}, {9, 9, 7}, {9, 9, 9}};

void put_compact(size_t len, std::vector<uint8_t>& out) {
    out.push_back(static_cast<uint8_t>((len & 0x7f) | (len > 0x7f ? 0x80 : 0)));
    if (len <= 0x7f) return;
    out.push_back(static_cast<uint8_t>(((len >> 7) & 0x7f) | (len > 0x3fff ? 0x80 : 0)));
    if (len <= 0x3fff) return;
    out.push_back(static_cast<uint8_t>(len >> 14));
}

}  // namespace

bool tight_jpeg_settings(const EncodeTuning& t, TightJpegSettings& out) {
    const bool level = t.quality >= 0 && t.quality <= 9;
    const bool fine = t.fine_quality >= 0 && t.fine_quality <= 100;
    if (!level && !fine) return false;
    TightJpegSettings s = level ? kJpegLevels[t.quality] : TightJpegSettings{};
    if (fine) s.quality = std::max(1, t.fine_quality);
    switch (t.subsampling) {
        case kSubsampNone:
            s.subsampling = JpegSubsampling::k444;
            break;
        case kSubsamp2X:
            s.subsampling = JpegSubsampling::k422;
            break;
        case kSubsamp4X:
        case kSubsamp8X:
        case kSubsamp16X:
            s.subsampling = JpegSubsampling::k420;
            break;
        case kSubsampGray:
            s.subsampling = JpegSubsampling::kGray;
            break;
        default:
            break;
    }
    out = s;
    return true;
}

TightZlibLevels tight_zlib_levels(int compress) {
    return kZlibLevels[compress >= 0 && compress <= 9 ? compress : kDefaultCompress];
}

// How TPIXELs are written for the viewer's format, and the channels the gradient filter sees.
struct TightEncoder::TPixel {
    bool rgb = false;  // 3 bytes R, G, B
    size_t size = 0;
    uint32_t shift[3] = {0, 0, 0};
    uint32_t max[3] = {0, 0, 0};

    explicit TPixel(const PixelFormat& pf)
        : rgb(tight::tpixels_are_rgb(pf)),
          size(rgb ? 3 : pf.bytes_per_pixel()),
          shift{pf.red_shift, pf.green_shift, pf.blue_shift},
          max{pf.red_max, pf.green_max, pf.blue_max} {}
};

void TightEncoder::Palette::clear() {
    index_.fill(kEmpty);
    size_ = 0;
}

bool TightEncoder::Palette::add(uint32_t v, size_t n, size_t limit) {
    // At most 256 of 1024 slots are used, so probing always reaches a free slot.
    size_t s = slot(v);
    for (; index_[s] != kEmpty; s = (s + 1) & (kSlots - 1)) {
        if (keys_[s] == v) {
            counts_[index_[s]] += n;
            return true;
        }
    }
    if (size_ >= limit || size_ >= kPaletteLimit) return false;
    keys_[s] = v;
    index_[s] = static_cast<uint16_t>(size_);
    colours_[size_] = v;
    counts_[size_] = n;
    ++size_;
    return true;
}

int TightEncoder::Palette::index(uint32_t v) const {
    for (size_t s = slot(v); index_[s] != kEmpty; s = (s + 1) & (kSlots - 1))
        if (keys_[s] == v) return index_[s];
    return -1;
}

void TightEncoder::Palette::swap_first_two() {
    if (size_ < 2) return;
    std::swap(colours_[0], colours_[1]);
    std::swap(counts_[0], counts_[1]);
    for (size_t i = 0; i < 2; ++i)
        for (size_t s = slot(colours_[i]); index_[s] != kEmpty; s = (s + 1) & (kSlots - 1))
            if (keys_[s] == colours_[i]) {
                index_[s] = static_cast<uint16_t>(i);
                break;
            }
}

TightEncoder::TightEncoder(const Options& options) : options_(options) {}

TightEncoder::~TightEncoder() {
    if (zs_ready_) deflateEnd(zs_.get());
}

void TightEncoder::load_pixels(const Framebuffer& fb, const Rect& r, const PixelWriter& px) {
    packed_.resize(r.area());
    uint32_t* dst = packed_.data();
    const bool identity = px.format().is_canonical();
    for (uint32_t y = 0; y < r.h; ++y, dst += r.w) {
        const uint32_t* src = fb.row(r.y + y) + r.x;
        if (identity) {
            for (uint32_t x = 0; x < r.w; ++x)
                dst[x] = src[x] & 0x00ffffffu;
        } else {
            for (uint32_t x = 0; x < r.w; ++x)
                dst[x] = px.pack(src[x]);
        }
    }
}

bool TightEncoder::build_palette(size_t limit) {
    palette_.clear();
    const size_t n = packed_.size();
    for (size_t i = 0; i < n;) {
        const uint32_t v = packed_[i];
        size_t j = i + 1;
        while (j < n && packed_[j] == v)
            ++j;
        if (!palette_.add(v, j - i, limit)) return false;
        i = j;
    }
    return true;
}

void TightEncoder::put_tpixel(const TPixel& tp, uint32_t packed, std::vector<uint8_t>& out) const {
    if (tp.rgb) {
        for (int c = 0; c < 3; ++c)
            out.push_back(static_cast<uint8_t>(packed >> tp.shift[c]));
        return;
    }
    uint8_t b[4];
    px_->store(packed, b);
    out.insert(out.end(), b, b + tp.size);
}

bool TightEncoder::compress_payload(std::span<const uint8_t> data, int zlib_level,
                                    std::vector<uint8_t>& out) {
    if (data.size() > std::numeric_limits<uInt>::max() / 2) return false;
    if (!zs_) zs_ = std::make_unique<z_stream_s>();
    // A reset stream starts with a zlib header and an empty window, which is exactly what the
    // viewer's stream looks like after the reset bit in the compression-control byte.
    bool ready = zs_ready_ && deflateReset(zs_.get()) == Z_OK &&
                 (zs_level_ == zlib_level ||
                  deflateParams(zs_.get(), zlib_level, Z_DEFAULT_STRATEGY) == Z_OK);
    if (!ready) {
        if (zs_ready_) deflateEnd(zs_.get());
        zs_ready_ = false;
        *zs_ = z_stream_s{};
        if (deflateInit2(zs_.get(), zlib_level, Z_DEFLATED, 15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
            return false;
        zs_ready_ = true;
    }
    zs_level_ = zlib_level;

    z_stream_s& zs = *zs_;
    out.resize(deflateBound(&zs, static_cast<uLong>(data.size())) + 16);
    zs.next_in = const_cast<Bytef*>(data.data());
    zs.avail_in = static_cast<uInt>(data.size());
    zs.next_out = out.data();
    zs.avail_out = static_cast<uInt>(out.size());
    // Servers end each payload with a sync flush, so every viewer handles that ending.
    for (;;) {
        const int rc = deflate(&zs, Z_SYNC_FLUSH);
        if (rc != Z_OK && rc != Z_BUF_ERROR) {
            deflateEnd(&zs);
            zs_ready_ = false;
            return false;
        }
        if (zs.avail_out != 0) break;
        const size_t used = out.size();
        out.resize(used * 2);
        zs.next_out = out.data() + used;
        zs.avail_out = static_cast<uInt>(used);
    }
    const bool all_in = zs.avail_in == 0;
    out.resize(out.size() - zs.avail_out);
    zs.next_in = zs.next_out = nullptr;
    zs.avail_in = zs.avail_out = 0;
    return all_in;
}

bool TightEncoder::write_basic(uint8_t method, int stream, std::span<const uint8_t> head,
                               int zlib_level, std::vector<uint8_t>& out) {
    const uint8_t ctl = static_cast<uint8_t>((method | stream) << 4);
    if (data_.size() < kMinToCompress) {
        out.push_back(ctl);
        out.insert(out.end(), head.begin(), head.end());
        out.insert(out.end(), data_.begin(), data_.end());
        return true;
    }
    if (!compress_payload(data_, zlib_level, payload_)) return false;
    if (payload_.size() > kMaxCompactLength) return false;
    out.push_back(static_cast<uint8_t>(ctl | (1u << stream)));  // reset the stream first
    out.insert(out.end(), head.begin(), head.end());
    put_compact(payload_.size(), out);
    out.insert(out.end(), payload_.begin(), payload_.end());
    return true;
}

bool TightEncoder::encode_mono(const Rect& r, const TPixel& tp, int level,
                               std::vector<uint8_t>& out) {
    // The commoner colour is index 0, so most bits are 0 and compress to little.
    if (palette_.count(1) > palette_.count(0)) palette_.swap_first_two();
    const uint32_t bg = palette_.colour(0);
    const size_t row_bytes = (size_t{r.w} + 7) / 8;
    data_.assign(row_bytes * r.h, 0);
    const uint32_t* src = packed_.data();
    for (uint32_t y = 0; y < r.h; ++y) {
        uint8_t* row = data_.data() + y * row_bytes;
        for (uint32_t x = 0; x < r.w; ++x)
            if (src[x] != bg) row[x / 8] |= static_cast<uint8_t>(0x80u >> (x % 8));
        src += r.w;
    }
    head_.assign({tight::kFilterPalette, 1});
    put_tpixel(tp, palette_.colour(0), head_);
    put_tpixel(tp, palette_.colour(1), head_);
    return write_basic(tight::kExplicitFilter, kStreamMono, head_, level, out);
}

bool TightEncoder::encode_indexed(const TPixel& tp, int level, std::vector<uint8_t>& out) {
    const size_t n = packed_.size();
    data_.resize(n);
    uint32_t prev = packed_[0];
    uint8_t idx = static_cast<uint8_t>(palette_.index(prev));
    for (size_t i = 0; i < n; ++i) {
        if (packed_[i] != prev) {
            prev = packed_[i];
            idx = static_cast<uint8_t>(palette_.index(prev));
        }
        data_[i] = idx;
    }
    head_.assign({tight::kFilterPalette, static_cast<uint8_t>(palette_.size() - 1)});
    for (size_t i = 0; i < palette_.size(); ++i)
        put_tpixel(tp, palette_.colour(i), head_);
    return write_basic(tight::kExplicitFilter, kStreamIndexed, head_, level, out);
}

bool TightEncoder::encode_copy(const TPixel& tp, int level, std::vector<uint8_t>& out) {
    const size_t n = packed_.size();
    data_.resize(n * tp.size);
    uint8_t* dst = data_.data();
    if (tp.rgb) {
        for (size_t i = 0; i < n; ++i, dst += 3) {
            const uint32_t v = packed_[i];
            dst[0] = static_cast<uint8_t>(v >> tp.shift[0]);
            dst[1] = static_cast<uint8_t>(v >> tp.shift[1]);
            dst[2] = static_cast<uint8_t>(v >> tp.shift[2]);
        }
    } else {
        uint8_t b[4];
        for (size_t i = 0; i < n; ++i, dst += tp.size) {
            px_->store(packed_[i], b);
            std::copy(b, b + tp.size, dst);
        }
    }
    // No filter byte: the copy filter is what a Basic rectangle without one means.
    return write_basic(0, kStreamRaw, {}, level, out);
}

bool TightEncoder::gradient_data(const Rect& r, const TPixel& tp) {
    // rfbproto.rst: each channel is predicted from left + up - up-left (0 outside the
    // rectangle), clamped to 0..max, and sent as (value - prediction) mod (max + 1).
    const size_t w = r.w;
    gradient_rows_.assign(w * 6, 0);  // previous row, then this row
    int32_t* prev = gradient_rows_.data();
    int32_t* cur = prev + w * 3;
    data_.resize(packed_.size() * tp.size);
    uint8_t* dst = data_.data();
    uint64_t error = 0;  // sum of |value - prediction| in 8-bit units
    for (uint32_t y = 0; y < r.h; ++y) {
        const uint32_t* src = packed_.data() + size_t{y} * w;
        for (size_t x = 0; x < w; ++x) {
            uint32_t residual_pixel = 0;
            for (int c = 0; c < 3; ++c) {
                const int32_t max = static_cast<int32_t>(tp.max[c]);
                const int32_t v = static_cast<int32_t>((src[x] >> tp.shift[c]) & tp.max[c]);
                const int32_t left = x > 0 ? cur[(x - 1) * 3 + c] : 0;
                const int32_t up = prev[x * 3 + c];
                const int32_t up_left = x > 0 ? prev[(x - 1) * 3 + c] : 0;
                const int32_t predicted = std::clamp(left + up - up_left, 0, max);
                const int32_t diff = v - predicted;
                cur[x * 3 + c] = v;
                error += static_cast<uint64_t>(std::abs(diff)) * 255 / static_cast<uint32_t>(max);
                const uint32_t residual = static_cast<uint32_t>(diff) & tp.max[c];
                if (tp.rgb)
                    dst[c] = static_cast<uint8_t>(residual);
                else
                    residual_pixel |= residual << tp.shift[c];
            }
            if (!tp.rgb) {
                uint8_t b[4];
                px_->store(residual_pixel, b);
                std::copy(b, b + tp.size, dst);
            }
            dst += tp.size;
        }
        std::copy(cur, cur + w * 3, prev);
    }
    return error <= uint64_t{kGradientMaxMeanError} * packed_.size() * 3;
}

bool TightEncoder::encode_jpeg(const Framebuffer& fb, const Rect& r, const TightJpegSettings& js,
                               std::vector<uint8_t>& out) {
    payload_.clear();
    if (!jpeg_.compress(fb.row(r.y) + r.x, fb.width(), r.w, r.h, js.quality, js.subsampling,
                        payload_))
        return false;
    if (payload_.size() > kMaxCompactLength) return false;
    out.push_back(tight::kJpeg << 4);
    put_compact(payload_.size(), out);
    out.insert(out.end(), payload_.begin(), payload_.end());
    return true;
}

bool TightEncoder::encode(const Framebuffer& fb, const Rect& r, const PixelWriter& px,
                          const EncodeTuning& tuning, std::vector<uint8_t>& out) {
    const size_t bpp = px.bytes_per_pixel();
    if (!fb.contains(r) || (bpp != 1 && bpp != 2 && bpp != 4)) return false;
    if (r.w > kMaxWidth || r.area() > kMaxPixels) return false;
    const PixelFormat& pf = px.format();
    const TPixel tp(pf);
    px_ = &px;
    const size_t start = out.size();
    if (r.empty()) {  // nothing to draw; a Fill is the body every viewer parses most simply
        out.push_back(tight::kFill << 4);
        put_tpixel(tp, 0, out);
        return true;
    }
    load_pixels(fb, r, px);

    const int compress =
        tuning.compress >= 0 && tuning.compress <= 9 ? tuning.compress : kDefaultCompress;
    const TightZlibLevels levels = tight_zlib_levels(compress);
    TightJpegSettings js;
    // rfbproto.rst allows JPEG for 16 and 32 bpp; viewers decode it to RGB and convert.
    const bool jpeg = tight_jpeg_settings(tuning, js) && pf.true_colour && bpp >= 2;
    size_t limit =
        jpeg ? (compress <= 1 ? kJpegPaletteLimitFast : kJpegPaletteLimit) : kPaletteLimit;
    // At 8 bpp an index is as large as the pixel: only two colours (1 bit each) gain.
    if (bpp == 1) limit = 2;
    const bool few = build_palette(limit);

    bool ok;
    if (few && palette_.size() == 1) {
        out.push_back(tight::kFill << 4);
        put_tpixel(tp, palette_.colour(0), out);
        ok = true;
    } else if (few && palette_.size() == 2) {
        ok = encode_mono(r, tp, levels.mono, out);
    } else if (few) {
        ok = encode_indexed(tp, levels.indexed, out);
    } else if (jpeg) {
        ok = encode_jpeg(fb, r, js, out);
    } else if (options_.gradient && pf.true_colour && bpp >= 2 && gradient_data(r, tp)) {
        const uint8_t head[1] = {tight::kFilterGradient};
        ok = write_basic(tight::kExplicitFilter, kStreamGradient, head, levels.raw, out);
    } else {
        ok = encode_copy(tp, levels.raw, out);
    }
    if (!ok) out.resize(start);
    return ok;
}

}  // namespace rfb
