// Decoder throughput (Mpixel/s) on generated screen content. Bodies are produced once, outside
// the timed loop, then decoded as an upstream would send them: 64x64 rectangles, in order,
// through one decoder per encoding (so zlib streams continue from rectangle to rectangle).
#include <benchmark/benchmark.h>
#include <turbojpeg.h>
#include <zlib.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "codec/byte_writer.h"
#include "codec/decoder.h"
#include "codec/encoder.h"
#include "codec/framebuffer.h"
#include "codec/inflate_stream.h"
#include "codec/pixel_converter.h"
#include "codec/pixel_format.h"
#include "codec/rfb_constants.h"

namespace {

using namespace rfb;

constexpr uint32_t kW = 1024, kH = 512, kTile = 64;

// Rectangle shapes: 64x64 tiles, and full-width bands of 64K pixels (TigerVNC's largest Tight
// rectangle), where the decoders' row chunking matters.
struct Shape {
    uint32_t w, h;
};
constexpr Shape kTiles{kTile, kTile}, kBands{kW, 64};

struct Lcg {
    uint32_t s;
    uint32_t next() {
        s = s * 1103515245u + 12345u;
        return s >> 8;
    }
};

enum Content { kText, kUi, kPhoto };

Framebuffer make_content(Content c) {
    Framebuffer fb(kW, kH);
    Lcg g{static_cast<uint32_t>(c) + 7};
    if (c == kText) {  // dark glyph strokes on white, with some grey edges
        fb.fill(fb.bounds(), 0xffffff);
        for (uint32_t y = 0; y + 14 <= kH; y += 14)
            for (uint32_t x = 0; x + 7 <= kW; x += 7)
                for (uint32_t k = 2; k < 12 && g.next() % 5; ++k)
                    fb.row(y + k)[x + g.next() % 6] = g.next() % 4 ? 0x101010 : 0x8c8c8c;
    } else if (c == kUi) {  // flat panels with borders
        fb.fill(fb.bounds(), 0xe0e0e0);
        for (int i = 0; i < 50; ++i) {
            const Rect r =
                Rect{g.next() % kW, g.next() % kH, 16 + g.next() % 256, 8 + g.next() % 160}
                    .intersect(fb.bounds());
            if (r.empty()) continue;
            fb.fill(r, g.next() & 0xffffff);
            fb.fill(Rect{r.x, r.y, r.w, 1}, 0x404040);
        }
    } else {  // smooth gradients plus noise
        for (uint32_t y = 0; y < kH; ++y)
            for (uint32_t x = 0; x < kW; ++x) {
                const uint32_t n = g.next() % 24;
                fb.row(y)[x] = ((x / 4 + n) & 0xff) << 16 | ((y / 2 + n) & 0xff) << 8 |
                               ((x + y) / 6 + n) % 256;
            }
    }
    return fb;
}

std::vector<Rect> tiles(Shape s = kTiles) {
    std::vector<Rect> out;
    for (uint32_t y = 0; y < kH; y += s.h)
        for (uint32_t x = 0; x < kW; x += s.w)
            out.push_back(Rect{x, y, s.w, s.h});
    return out;
}

std::vector<uint8_t> wire_pixels(const Framebuffer& fb, const Rect& r, const PixelWriter& pw) {
    std::vector<uint8_t> out(r.area() * pw.bytes_per_pixel());
    std::vector<uint32_t> row(r.w);
    for (uint32_t y = 0; y < r.h; ++y) {
        fb.get(Rect{r.x, r.y + y, r.w, 1}, row.data());
        pw.write_row(row.data(), r.w, out.data() + size_t{y} * r.w * pw.bytes_per_pixel());
    }
    return out;
}

// A server-like deflate stream: one per connection, a sync flush after every rectangle.
class Deflater {
  public:
    explicit Deflater(int level, int window_bits = 15) {
        deflateInit2(&z_, level, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY);
    }
    ~Deflater() { deflateEnd(&z_); }
    std::vector<uint8_t> compress(const std::vector<uint8_t>& in) {
        std::vector<uint8_t> out(deflateBound(&z_, in.size()) + 64);
        z_.next_in = const_cast<Bytef*>(in.data());
        z_.avail_in = static_cast<uInt>(in.size());
        z_.next_out = out.data();
        z_.avail_out = static_cast<uInt>(out.size());
        deflate(&z_, Z_SYNC_FLUSH);
        out.resize(out.size() - z_.avail_out);
        return out;
    }

  private:
    z_stream z_{};
};

std::vector<uint8_t> inflate_raw(const std::vector<uint8_t>& in, size_t max_out) {
    z_stream z{};
    inflateInit2(&z, -15);
    std::vector<uint8_t> out(max_out);
    z.next_in = const_cast<Bytef*>(in.data());
    z.avail_in = static_cast<uInt>(in.size());
    z.next_out = out.data();
    z.avail_out = static_cast<uInt>(out.size());
    inflate(&z, Z_SYNC_FLUSH);
    out.resize(out.size() - z.avail_out);
    inflateEnd(&z);
    return out;
}

void compact_length(ByteWriter& w, size_t n) {
    w.u8(static_cast<uint8_t>((n & 0x7f) | (n >= 128 ? 0x80 : 0)));
    if (n >= 128) w.u8(static_cast<uint8_t>(((n >> 7) & 0x7f) | (n >= 16384 ? 0x80 : 0)));
    if (n >= 16384) w.u8(static_cast<uint8_t>(n >> 14));
}

// One body per rectangle of `shape`, in order, for `enc` in the wire format `pf`.
std::vector<std::vector<uint8_t>> make_bodies(int32_t enc, const Framebuffer& fb,
                                              const PixelFormat& pf, Shape shape = kTiles) {
    const PixelWriter pw(pf);
    std::vector<std::vector<uint8_t>> bodies;
    Deflater zlib(6);
    tjhandle jpeg = enc == encoding::kTight ? tjInitCompress() : nullptr;
    bool first = true;
    for (const Rect& r : tiles(shape)) {
        std::vector<uint8_t> body;
        ByteWriter w(body);
        if (enc == encoding::kRaw) {
            body = wire_pixels(fb, r, pw);
        } else if (enc == encoding::kHextile) {
            make_encoder(enc)->encode(fb, r, pw, EncodeTuning{}, body);
        } else if (enc == encoding::kZRLE) {
            // The encoder's shareable body is bare deflate blocks; frame it as a server would.
            std::vector<uint8_t> blocks;
            make_encoder(enc)->encode(fb, r, pw, EncodeTuning{}, blocks);
            w.u32(static_cast<uint32_t>(blocks.size() + (first ? 2 : 0)));
            if (first) w.u8(0x78), w.u8(0x01);
            w.bytes(blocks);
        } else if (enc == encoding::kTRLE) {
            // A ZRLE body of a 16x16 rectangle is exactly one TRLE tile, once inflated.
            for (uint32_t y = 0; y < r.h; y += 16)
                for (uint32_t x = 0; x < r.w; x += 16) {
                    std::vector<uint8_t> blocks;
                    make_encoder(encoding::kZRLE)
                        ->encode(fb, Rect{r.x + x, r.y + y, 16, 16}, pw, EncodeTuning{}, blocks);
                    w.bytes(inflate_raw(blocks, 16 * 16 * 5 + 1024));
                }
        } else if (enc == encoding::kZlib) {
            const auto z = zlib.compress(wire_pixels(fb, r, pw));
            w.u32(static_cast<uint32_t>(z.size()));
            w.bytes(z);
        } else if (enc == encoding::kTight && pf.bits_per_pixel == 32) {
            // Photo-like content as JPEG, the rest as Basic copy through stream 0.
            std::vector<uint32_t> px(r.area());
            fb.get(r, px.data());
            if (fb.at(0, 0) != 0xffffff && fb.at(0, 0) != 0xe0e0e0) {
                unsigned char* out = nullptr;
                unsigned long size = 0;
                tjCompress2(jpeg, reinterpret_cast<unsigned char*>(px.data()), int(r.w), 0,
                            int(r.h), TJPF_BGRX, &out, &size, TJSAMP_420, 80, 0);
                w.u8(0x90);
                compact_length(w, size);
                w.bytes(std::span<const uint8_t>(out, size));
                tjFree(out);
            } else {
                std::vector<uint8_t> rgb;
                for (uint32_t p : px)
                    rgb.insert(rgb.end(), {uint8_t(p >> 16), uint8_t(p >> 8), uint8_t(p)});
                const auto z = zlib.compress(rgb);
                w.u8(0x00);
                compact_length(w, z.size());
                w.bytes(z);
            }
        }
        first = false;
        bodies.push_back(std::move(body));
    }
    if (jpeg) tjDestroy(jpeg);
    return bodies;
}

void BM_Decode(benchmark::State& state, int32_t enc, Content content, PixelFormat pf, Shape shape) {
    const Framebuffer src = make_content(content);
    const auto bodies = make_bodies(enc, src, pf, shape);
    const auto rects = tiles(shape);
    Framebuffer fb(kW, kH);
    PixelReader px(pf);
    DecodeTarget t{fb, px};
    auto d = make_decoder(enc);
    size_t bytes = 0;
    for (const auto& b : bodies)
        bytes += b.size();
    for (auto _ : state) {
        d->reset();
        for (size_t i = 0; i < rects.size(); ++i) {
            const DecodeResult res = d->decode(rects[i], bodies[i], t);
            if (res.status != DecodeStatus::kDone) {
                state.SkipWithError(res.error.c_str());
                return;
            }
        }
        benchmark::DoNotOptimize(fb.pixels().data());
    }
    const double pixels = double(kW) * kH * double(state.iterations());
    state.counters["Mpx"] = benchmark::Counter(pixels / 1e6, benchmark::Counter::kIsRate);
    state.counters["wire_B/px"] = double(bytes) / (double(kW) * kH);
}

// The floor under the Zlib and Tight decoders: their compressed data only inflated (into one
// tile-sized buffer), no pixel conversion and no framebuffer. What a decoder adds on top is its
// own cost. `Stream` is the decoders' BulkInflateStream (ISA-L), or InflateStream (zlib) for
// comparison.
template <class Stream>
void inflate_payloads(benchmark::State& state,
                      const std::vector<std::span<const uint8_t>>& payloads, size_t tile_bytes) {
    std::vector<uint8_t> out(tile_bytes);
    Stream z;
    std::string error;
    for (auto _ : state) {
        z.reset();
        for (const auto& p : payloads) {
            if (!z.begin(p, error) || !z.read_exact(out, error) || !z.finish(error)) {
                state.SkipWithError(error.c_str());
                return;
            }
        }
        benchmark::DoNotOptimize(out.data());
    }
    const double pixels = double(kW) * kH * double(state.iterations());
    state.counters["Mpx"] = benchmark::Counter(pixels / 1e6, benchmark::Counter::kIsRate);
}

template <class Stream>
void BM_InflateOnly(benchmark::State& state, Content content, PixelFormat pf) {
    const Framebuffer src = make_content(content);
    const auto bodies = make_bodies(encoding::kZlib, src, pf);
    std::vector<std::span<const uint8_t>> payloads;
    for (const auto& b : bodies)
        payloads.push_back(std::span<const uint8_t>(b).subspan(4));  // after the u32 length
    inflate_payloads<Stream>(state, payloads, size_t{kTile} * kTile * pf.bytes_per_pixel());
}

// Tight's Basic copy rectangles (text and UI are all Basic here): TPIXELs.
template <class Stream>
void BM_InflateOnlyTight(benchmark::State& state, Content content) {
    const Framebuffer src = make_content(content);
    const auto bodies = make_bodies(encoding::kTight, src, PixelFormat::canonical());
    std::vector<std::span<const uint8_t>> payloads;
    for (const auto& b : bodies) {
        if (b.empty() || b[0] != 0x00) {  // JPEG: not a Basic rectangle
            state.SkipWithError("not a Basic copy rectangle");
            return;
        }
        size_t pos = 1;  // after the control byte, skip the compact length
        while (pos < b.size() && (b[pos] & 0x80) && pos < 3)
            ++pos;
        payloads.push_back(std::span<const uint8_t>(b).subspan(pos + 1));
    }
    inflate_payloads<Stream>(state, payloads, size_t{kTile} * kTile * 3);
}

void register_all() {
    const struct {
        const char* name;
        int32_t enc;
    } encs[] = {{"raw", encoding::kRaw},   {"hextile", encoding::kHextile},
                {"zlib", encoding::kZlib}, {"zrle", encoding::kZRLE},
                {"trle", encoding::kTRLE}, {"tight", encoding::kTight}};
    const struct {
        const char* name;
        Content c;
    } contents[] = {{"text", kText}, {"ui", kUi}, {"photo", kPhoto}};
    const struct {
        const char* name;
        PixelFormat pf;
    } formats[] = {{"rgb888", PixelFormat::canonical()}, {"rgb565", PixelFormat::rgb565()}};
    for (const auto& e : encs)
        for (const auto& f : formats) {
            if (e.enc == encoding::kTight && f.pf.bits_per_pixel != 32) continue;
            for (const auto& c : contents)
                benchmark::RegisterBenchmark(
                    (std::string("decode/") + e.name + "/" + c.name + "/" + f.name).c_str(),
                    BM_Decode, e.enc, c.c, f.pf, kTiles)
                    ->Unit(benchmark::kMillisecond);
        }
    // Bands only for the decoders that inflate whole rectangles a chunk of rows at a time.
    for (const auto& e : encs) {
        if (e.enc != encoding::kZlib && e.enc != encoding::kTight) continue;
        for (const auto& f : formats) {
            if (e.enc == encoding::kTight && f.pf.bits_per_pixel != 32) continue;
            for (const auto& c : contents)
                if (c.c != kPhoto)
                    benchmark::RegisterBenchmark(
                        (std::string("decode_band/") + e.name + "/" + c.name + "/" + f.name)
                            .c_str(),
                        BM_Decode, e.enc, c.c, f.pf, kBands)
                        ->Unit(benchmark::kMillisecond);
        }
    }
    // inflate_only: ISA-L, as the decoders run it; inflate_only_libz: zlib 1.2, for comparison.
    for (const bool isal : {true, false}) {
        const std::string prefix = isal ? "inflate_only/" : "inflate_only_libz/";
        for (const auto& f : formats)
            for (const auto& c : contents)
                benchmark::RegisterBenchmark(
                    (prefix + "zlib/" + c.name + "/" + f.name).c_str(),
                    isal ? BM_InflateOnly<BulkInflateStream> : BM_InflateOnly<InflateStream>, c.c,
                    f.pf)
                    ->Unit(benchmark::kMillisecond);
        for (const auto& c : contents)
            if (c.c != kPhoto)
                benchmark::RegisterBenchmark((prefix + "tight/" + c.name + "/rgb888").c_str(),
                                             isal ? BM_InflateOnlyTight<BulkInflateStream>
                                                  : BM_InflateOnlyTight<InflateStream>,
                                             c.c)
                    ->Unit(benchmark::kMillisecond);
    }
}

const int registered = (register_all(), 0);

}  // namespace
