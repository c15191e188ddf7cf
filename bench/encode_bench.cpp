// Encoder throughput (pixels/s) and output size (bytes per pixel) on generated screen content,
// encoded as the reflector does: 64x64 tiles, each into its own shareable body.
#include <benchmark/benchmark.h>
#include <zlib.h>
#include <zstd.h>

#include <cstdint>
#include <iterator>
#include <memory>
#include <vector>

#include "codec/encoder.h"
#include "codec/framebuffer.h"
#include "codec/pixel_converter.h"
#include "codec/pixel_format.h"
#include "codec/rfb_constants.h"
#include "codec/tight_encoder.h"
#include "codec/tight_zstd_encoder.h"
#include "codec/zrle_encoder.h"
#include "codec/zstd_frame_writer.h"

namespace {

using rfb::Framebuffer;
using rfb::Rect;

constexpr uint32_t kW = 1024, kH = 512, kTile = 64;

struct Lcg {
    uint32_t s;
    uint32_t next() {
        s = s * 1664525u + 1013904223u;
        return s >> 8;
    }
};

enum Content { kText, kUi, kPhoto, kNoise };
const char* const kContentNames[] = {"text", "ui", "photo", "noise"};

// Black-on-white glyph strokes with a little grey anti-aliasing.
void fill_text(Framebuffer& fb) {
    Lcg g{1};
    fb.fill(fb.bounds(), 0xffffff);
    for (uint32_t y = 0; y + 16 <= kH; y += 16)
        for (uint32_t x = 0; x + 8 <= kW; x += 8) {
            if (g.next() % 6 == 0) continue;
            for (uint32_t k = 2; k < 13; ++k) {
                fb.row(y + k)[x + 1 + g.next() % 6] = 0x000000;
                if (g.next() % 3 == 0) fb.row(y + k)[x + 1 + g.next() % 6] = 0x9a9a9a;
            }
        }
}

// Flat panels, title bars and borders.
void fill_ui(Framebuffer& fb) {
    Lcg g{2};
    fb.fill(fb.bounds(), 0xdcdcdc);
    for (int i = 0; i < 40; ++i) {
        const uint32_t x = g.next() % kW, y = g.next() % kH;
        const Rect r = Rect{x, y, 20 + g.next() % 300, 10 + g.next() % 200}.intersect(fb.bounds());
        if (r.empty()) continue;
        fb.fill(r, g.next() & 0xffffff);
        fb.fill(Rect{r.x, r.y, r.w, 1}, 0x303030);
        fb.fill(Rect{r.x, r.y, 1, r.h}, 0x303030);
    }
}

// Smooth gradients with sensor-like noise: what photos and video frames look like.
void fill_photo(Framebuffer& fb) {
    Lcg g{3};
    for (uint32_t y = 0; y < kH; ++y)
        for (uint32_t x = 0; x < kW; ++x) {
            auto ch = [&](uint32_t base) { return (base + g.next() % 7) & 0xff; };
            fb.row(y)[x] = ch(x / 5) << 16 | ch(y / 3) << 8 | ch((x + y) / 8);
        }
}

void fill_noise(Framebuffer& fb) {
    Lcg g{4};
    for (uint32_t y = 0; y < kH; ++y)
        for (uint32_t x = 0; x < kW; ++x)
            fb.row(y)[x] = g.next() & 0xffffff;
}

const Framebuffer& content(int which) {
    static std::vector<Framebuffer> fbs = [] {
        std::vector<Framebuffer> v(4, Framebuffer(kW, kH));
        fill_text(v[kText]);
        fill_ui(v[kUi]);
        fill_photo(v[kPhoto]);
        fill_noise(v[kNoise]);
        return v;
    }();
    return fbs[which];
}

// Args: encoding, content, bits per pixel of the viewer (32 or 16).
void BM_Encode(benchmark::State& state) {
    const int32_t enc_id = static_cast<int32_t>(state.range(0));
    const Framebuffer& fb = content(static_cast<int>(state.range(1)));
    const rfb::PixelFormat pf =
        state.range(2) == 16 ? rfb::PixelFormat::rgb565() : rfb::PixelFormat::canonical();
    const rfb::PixelWriter px(pf);
    auto enc = rfb::make_encoder(enc_id);
    rfb::EncodeTuning tuning;
    std::vector<uint8_t> out;
    size_t bytes = 0;
    for (auto _ : state) {
        for (uint32_t y = 0; y < kH; y += kTile)
            for (uint32_t x = 0; x < kW; x += kTile) {
                out.clear();
                if (!enc->encode(fb, Rect{x, y, kTile, kTile}, px, tuning, out)) {
                    state.SkipWithError("encode failed");
                    return;
                }
                bytes += out.size();
            }
        benchmark::DoNotOptimize(out.data());
    }
    const double pixels = double(kW) * kH * double(state.iterations());
    state.SetItemsProcessed(static_cast<int64_t>(pixels));
    state.counters["out_bytes_per_px"] = double(bytes) / pixels;
    state.SetLabel(std::string(rfb::encoding::name(enc_id)) + "/" + kContentNames[state.range(1)] +
                   "/" + std::to_string(state.range(2)) + "bpp");
}

void encode_args(benchmark::internal::Benchmark* b) {
    for (int64_t enc : {rfb::encoding::kRaw, rfb::encoding::kHextile, rfb::encoding::kZRLE})
        for (int64_t c : {kText, kUi, kPhoto, kNoise})
            for (int64_t bpp : {32, 16})
                b->Args({enc, c, bpp});
}

BENCHMARK(BM_Encode)->Apply(encode_args)->Unit(benchmark::kMillisecond);

// ---- Zlib, RRE, Zstd (25) and ZSTDRLE (28): throughput, and what shareable bodies cost ------

void zenc_encode_args(benchmark::internal::Benchmark* b) {
    for (int64_t enc :
         {rfb::encoding::kZlib, rfb::encoding::kRRE, rfb::encoding::kZstd, rfb::encoding::kZSTDRLE})
        for (int64_t c : {kText, kUi, kPhoto, kNoise})
            for (int64_t bpp : {32, 16})
                b->Args({enc, c, bpp});
}

BENCHMARK(BM_Encode)->Apply(zenc_encode_args)->Unit(benchmark::kMillisecond);

// The non-shareable ideal: one compressor for the whole connection, flushed after each tile, as
// servers run Zlib and ZRLE (zlib, Z_SYNC_FLUSH) and UltraVNC runs Zstd and ZSTDRLE (one zstd
// frame, ZSTD_e_flush). Input is each tile's uncompressed body; returns all bytes sent.
class ContinuousStream {
  public:
    ContinuousStream(bool zstd, int zlib_level) : zstd_(zstd) {
        if (zstd_) {
            cs_ = ZSTD_createCStream();
            rfb::EncodeTuning t;
            t.compress = zlib_level;
            ZSTD_initCStream(cs_, rfb::zstd_level(t));
        } else {
            deflateInit(&zs_, zlib_level);
        }
    }
    ~ContinuousStream() {
        if (zstd_)
            ZSTD_freeCStream(cs_);
        else
            deflateEnd(&zs_);
    }
    ContinuousStream(const ContinuousStream&) = delete;
    ContinuousStream& operator=(const ContinuousStream&) = delete;

    size_t add_tile(const std::vector<uint8_t>& in) {
        buf_.resize(in.size() + in.size() / 8 + 1024);
        if (zstd_) {
            ZSTD_inBuffer ib{in.data(), in.size(), 0};
            size_t total = 0, rc = 0;
            do {
                ZSTD_outBuffer ob{buf_.data(), buf_.size(), 0};
                rc = ZSTD_compressStream2(cs_, &ob, &ib, ZSTD_e_flush);
                if (ZSTD_isError(rc)) return 0;
                total += ob.pos;
            } while (rc != 0);
            return total;
        }
        zs_.next_in = const_cast<Bytef*>(in.data());
        zs_.avail_in = static_cast<uInt>(in.size());
        size_t total = 0;
        do {
            zs_.next_out = buf_.data();
            zs_.avail_out = static_cast<uInt>(buf_.size());
            deflate(&zs_, Z_SYNC_FLUSH);
            total += buf_.size() - zs_.avail_out;
        } while (zs_.avail_out == 0);
        return total;
    }

  private:
    bool zstd_;
    z_stream zs_{};
    ZSTD_CStream* cs_ = nullptr;
    std::vector<uint8_t> buf_;
};

// Each tile's uncompressed body: Raw pixels (Zlib, Zstd) or ZRLE tile data (ZRLE, ZSTDRLE).
std::vector<std::vector<uint8_t>> uncompressed_tiles(int32_t enc, const Framebuffer& fb,
                                                     const rfb::PixelWriter& px) {
    std::vector<std::vector<uint8_t>> tiles;
    rfb::ZrleEncoder zrle;
    const bool rle = enc == rfb::encoding::kZRLE || enc == rfb::encoding::kZSTDRLE;
    for (uint32_t y = 0; y < kH; y += kTile)
        for (uint32_t x = 0; x < kW; x += kTile) {
            std::vector<uint8_t> t;
            if (rle) {
                zrle.encode_tiles(fb, Rect{x, y, kTile, kTile}, px, [&](auto s) {
                    t.insert(t.end(), s.begin(), s.end());
                    return true;
                });
            } else {
                t.resize(size_t{kTile} * kTile * px.bytes_per_pixel());
                for (uint32_t r = 0; r < kTile; ++r)
                    px.write_row(fb.row(y + r) + x, kTile,
                                 t.data() + size_t{r} * kTile * px.bytes_per_pixel());
            }
            tiles.push_back(std::move(t));
        }
    return tiles;
}

// Args: encoding, content, compression level (0..9, as a viewer asks), mode (0: the shareable
// encoder is timed, 1: the continuous stream is). Both report bytes per pixel and the cost of
// sharing: shared bytes / continuous bytes - 1.
void BM_SharingCost(benchmark::State& state) {
    const int32_t enc_id = static_cast<int32_t>(state.range(0));
    const Framebuffer& fb = content(static_cast<int>(state.range(1)));
    const int level = static_cast<int>(state.range(2));
    const bool time_continuous = state.range(3) == 1;
    const bool zstd = enc_id == rfb::encoding::kZstd || enc_id == rfb::encoding::kZSTDRLE;
    const rfb::PixelWriter px(rfb::PixelFormat::canonical());
    const auto tiles = uncompressed_tiles(enc_id, fb, px);
    auto enc = rfb::make_encoder(enc_id);
    rfb::EncodeTuning tuning;
    tuning.compress = level;

    // One frame each way, outside the timing: what one viewer would receive.
    // Zlib and ZRLE viewers also get the 2-byte zlib header once; lengths are the same both ways.
    size_t shared = zstd ? 0 : 2, continuous = 0;
    {
        std::vector<uint8_t> out;
        for (uint32_t y = 0; y < kH; y += kTile)
            for (uint32_t x = 0; x < kW; x += kTile) {
                out.clear();
                if (!enc->encode(fb, Rect{x, y, kTile, kTile}, px, tuning, out)) {
                    state.SkipWithError("encode failed");
                    return;
                }
                shared += out.size();
            }
        ContinuousStream stream(zstd, level);
        for (const auto& t : tiles)
            continuous += stream.add_tile(t);
    }

    for (auto _ : state) {
        if (time_continuous) {
            ContinuousStream stream(zstd, level);
            size_t n = 0;
            for (const auto& t : tiles)
                n += stream.add_tile(t);
            benchmark::DoNotOptimize(n);
        } else {
            std::vector<uint8_t> out;
            for (uint32_t y = 0; y < kH; y += kTile)
                for (uint32_t x = 0; x < kW; x += kTile) {
                    out.clear();
                    enc->encode(fb, Rect{x, y, kTile, kTile}, px, tuning, out);
                }
            benchmark::DoNotOptimize(out.data());
        }
    }
    const double frame_px = double(kW) * kH;
    state.SetItemsProcessed(static_cast<int64_t>(frame_px * double(state.iterations())));
    state.counters["shared_B_per_px"] = double(shared) / frame_px;
    state.counters["continuous_B_per_px"] = double(continuous) / frame_px;
    state.counters["sharing_cost_pct"] = 100.0 * (double(shared) / double(continuous) - 1.0);
    state.SetLabel(std::string(rfb::encoding::name(enc_id)) + "/" + kContentNames[state.range(1)] +
                   "/level" + std::to_string(level) +
                   (time_continuous ? "/continuous" : "/shared"));
}

void sharing_args(benchmark::internal::Benchmark* b) {
    for (int64_t enc : {rfb::encoding::kZlib, rfb::encoding::kZRLE, rfb::encoding::kZstd,
                        rfb::encoding::kZSTDRLE})
        for (int64_t c : {kText, kUi, kPhoto})
            for (int64_t level : {1, 6, 9})
                for (int64_t mode : {0, 1})
                    b->Args({enc, c, level, mode});
}

BENCHMARK(BM_SharingCost)->Apply(sharing_args)->Unit(benchmark::kMillisecond);

// ---- Tight (7) and TightZstd (26): throughput, sizes, and what resetting streams costs ------

struct TightVariant {
    const char* name;
    int32_t encoding;
    int quality;   // JPEG quality level; -1: not asked (lossless)
    int compress;  // -1: not asked (level 2)
    bool gradient;
};

const TightVariant kTightVariants[] = {
    {"tight", rfb::encoding::kTight, -1, -1, false},
    {"tight+q6", rfb::encoding::kTight, 6, -1, false},  // noVNC's defaults: quality 6, level 2
    {"tight+q9", rfb::encoding::kTight, 9, -1, false},
    {"tight+gradient", rfb::encoding::kTight, -1, -1, true},
    {"tight/level9", rfb::encoding::kTight, -1, 9, false},
    {"tightzstd", rfb::encoding::kTightZstd, -1, -1, false},
    {"tightzstd+q6", rfb::encoding::kTightZstd, 6, -1, false},
};

std::unique_ptr<rfb::RectEncoder> make_tight(const TightVariant& v) {
    rfb::TightEncoder::Options o;
    o.gradient = v.gradient;
    if (v.encoding == rfb::encoding::kTightZstd) return std::make_unique<rfb::TightZstdEncoder>(o);
    return std::make_unique<rfb::TightEncoder>(o);
}

size_t compact_size(size_t n) {
    return n < 128 ? 1 : n < 16384 ? 2 : 3;
}

// What one viewer would receive for the same tiles if Tight ran as servers run it: four streams
// per connection, never reset, each payload ended by a flush (zlib Z_SYNC_FLUSH; zstd one endless
// frame with ZSTD_e_flush, as UltraVNC does). Takes the shareable bodies apart, inflates each
// payload and recompresses it into the stream it names, at the level it was made with.
class ContinuousTight {
  public:
    ContinuousTight(bool zstd, int compress)
        : zstd_(zstd), levels_(rfb::tight_zlib_levels(compress)) {
        for (int s = 0; s < 4; ++s) {
            const int level = s == 1 ? levels_.mono : s == 2 ? levels_.indexed : levels_.raw;
            if (zstd_) {
                cs_[s] = ZSTD_createCStream();
                ZSTD_initCStream(cs_[s], rfb::TightZstdEncoder::zstd_level(level));
            } else {
                deflateInit(&zs_[s], level);
            }
        }
    }
    ~ContinuousTight() {
        for (int s = 0; s < 4; ++s)
            if (zstd_)
                ZSTD_freeCStream(cs_[s]);
            else
                deflateEnd(&zs_[s]);
    }
    ContinuousTight(const ContinuousTight&) = delete;
    ContinuousTight& operator=(const ContinuousTight&) = delete;

    // Bytes the body would take on a continuous connection; 0 when the body cannot be parsed.
    size_t add(const std::vector<uint8_t>& body, uint32_t w, uint32_t h, size_t tpixel) {
        const uint8_t method = body[0] >> 4;
        if (method >= 8) return body.size();  // Fill and JPEG use no stream
        size_t pos = 1, row = w * tpixel;
        if (method & 4) {
            const uint8_t filter = body[pos++];
            if (filter == 1) {
                const size_t colours = body[pos++] + 1u;
                pos += colours * tpixel;
                row = colours == 2 ? (w + 7) / 8 : w;
            }
        }
        const size_t data_size = row * h;
        if (data_size < 12) return body.size();
        size_t len = 0;
        for (int i = 0; i < 3; ++i) {
            const uint8_t b = body[pos++];
            len |= size_t{i == 2 ? b : uint8_t(b & 0x7f)} << (7 * i);
            if (i < 2 && !(b & 0x80)) break;
        }
        const uint8_t* payload = body.data() + pos;
        std::vector<uint8_t> data(data_size);
        if (zstd_) {
            if (ZSTD_decompress(data.data(), data.size(), payload, len) != data_size) return 0;
        } else {
            z_stream in{};
            inflateInit(&in);
            in.next_in = const_cast<Bytef*>(payload);
            in.avail_in = static_cast<uInt>(len);
            in.next_out = data.data();
            in.avail_out = static_cast<uInt>(data.size());
            inflate(&in, Z_SYNC_FLUSH);
            const bool ok = in.avail_out == 0;
            inflateEnd(&in);
            if (!ok) return 0;
        }
        const size_t c = compress(method & 3, data);
        return pos - compact_size(len) + compact_size(c) + c;
    }

  private:
    size_t compress(int s, const std::vector<uint8_t>& in) {
        buf_.resize(in.size() + in.size() / 8 + 1024);
        if (zstd_) {
            ZSTD_inBuffer ib{in.data(), in.size(), 0};
            size_t total = 0, rc = 0;
            do {
                ZSTD_outBuffer ob{buf_.data(), buf_.size(), 0};
                rc = ZSTD_compressStream2(cs_[s], &ob, &ib, ZSTD_e_flush);
                if (ZSTD_isError(rc)) return 0;
                total += ob.pos;
            } while (rc != 0);
            return total;
        }
        zs_[s].next_in = const_cast<Bytef*>(in.data());
        zs_[s].avail_in = static_cast<uInt>(in.size());
        size_t total = 0;
        do {
            zs_[s].next_out = buf_.data();
            zs_[s].avail_out = static_cast<uInt>(buf_.size());
            deflate(&zs_[s], Z_SYNC_FLUSH);
            total += buf_.size() - zs_[s].avail_out;
        } while (zs_[s].avail_out == 0);
        return total;
    }

    bool zstd_;
    rfb::TightZlibLevels levels_;
    z_stream zs_[4]{};
    ZSTD_CStream* cs_[4]{};
    std::vector<uint8_t> buf_;
};

// Args: variant (kTightVariants), content, bits per pixel of the viewer (32 or 16). Reports
// bytes per pixel, the share of tiles sent as JPEG, and (outside the timing) the bytes the same
// tiles would take on a continuous, never-reset connection: sharing_cost_pct is what resetting
// the stream in every rectangle costs.
void BM_EncodeTight(benchmark::State& state) {
    const TightVariant& v = kTightVariants[state.range(0)];
    const Framebuffer& fb = content(static_cast<int>(state.range(1)));
    const rfb::PixelFormat pf =
        state.range(2) == 16 ? rfb::PixelFormat::rgb565() : rfb::PixelFormat::canonical();
    const size_t tpixel = state.range(2) == 16 ? 2 : 3;
    const rfb::PixelWriter px(pf);
    auto enc = make_tight(v);
    rfb::EncodeTuning tuning;
    tuning.quality = v.quality;
    tuning.compress = v.compress;

    size_t shared = 0, continuous = 0, jpeg_tiles = 0, tiles = 0;
    {
        ContinuousTight stream(v.encoding == rfb::encoding::kTightZstd, v.compress);
        std::vector<uint8_t> out;
        for (uint32_t y = 0; y < kH; y += kTile)
            for (uint32_t x = 0; x < kW; x += kTile) {
                out.clear();
                if (!enc->encode(fb, Rect{x, y, kTile, kTile}, px, tuning, out)) {
                    state.SkipWithError("encode failed");
                    return;
                }
                shared += out.size();
                continuous += stream.add(out, kTile, kTile, tpixel);
                jpeg_tiles += (out[0] >> 4) == 9;
                ++tiles;
            }
    }

    std::vector<uint8_t> out;
    for (auto _ : state) {
        for (uint32_t y = 0; y < kH; y += kTile)
            for (uint32_t x = 0; x < kW; x += kTile) {
                out.clear();
                enc->encode(fb, Rect{x, y, kTile, kTile}, px, tuning, out);
            }
        benchmark::DoNotOptimize(out.data());
    }
    const double frame_px = double(kW) * kH;
    state.SetItemsProcessed(static_cast<int64_t>(frame_px * double(state.iterations())));
    state.counters["out_bytes_per_px"] = double(shared) / frame_px;
    state.counters["continuous_B_per_px"] = double(continuous) / frame_px;
    state.counters["sharing_cost_pct"] = 100.0 * (double(shared) / double(continuous) - 1.0);
    state.counters["jpeg_tiles_pct"] = 100.0 * double(jpeg_tiles) / double(tiles);
    state.SetLabel(std::string(v.name) + "/" + kContentNames[state.range(1)] + "/" +
                   std::to_string(state.range(2)) + "bpp");
}

void tight_args(benchmark::internal::Benchmark* b) {
    for (int64_t v = 0; v < int64_t(std::size(kTightVariants)); ++v)
        for (int64_t c : {kText, kUi, kPhoto, kNoise})
            for (int64_t bpp : {32, 16})
                b->Args({v, c, bpp});
}

BENCHMARK(BM_EncodeTight)->Apply(tight_args)->Unit(benchmark::kMillisecond);

}  // namespace
