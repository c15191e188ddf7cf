// Encoder throughput (pixels/s) and output size (bytes per pixel) on generated screen content,
// encoded as the reflector does: 64x64 tiles, each into its own shareable body.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

#include "codec/encoder.h"
#include "codec/framebuffer.h"
#include "codec/pixel_converter.h"
#include "codec/pixel_format.h"
#include "codec/rfb_constants.h"

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

}  // namespace
