// Pixel conversion throughput (Mpixel/s): PixelReader::read_row (wire -> canonical, what every
// decoder runs) and PixelWriter::write_row (canonical -> a viewer's format, what every encoder
// runs), each against its one-pixel-at-a-time reference path. Rows are 1920 pixels of noise, 64
// rows per iteration, so the data stays in L2 as a decoder's tile would.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <string>
#include <vector>

#include "codec/pixel_converter.h"
#include "codec/pixel_format.h"

namespace {

using namespace rfb;

constexpr size_t kWidth = 1920, kRows = 64;

struct Lcg {
    uint32_t s = 12345;
    uint32_t next() {
        s = s * 1103515245u + 12345u;
        return s >> 8;
    }
};

PixelFormat with(PixelFormat pf, bool big_endian) {
    pf.big_endian = big_endian;
    return pf;
}

PixelFormat bgrx() {
    PixelFormat pf = PixelFormat::canonical();
    pf.red_shift = 0;
    pf.blue_shift = 16;
    return pf;
}

PixelFormat rgb555() {
    PixelFormat pf = PixelFormat::rgb565();
    pf.depth = 15;
    pf.green_max = 31;
    pf.red_shift = 10;
    return pf;
}

PixelFormat colour_map8() {
    PixelFormat pf = PixelFormat::bgr233();
    pf.true_colour = false;
    return pf;
}

void set_rate(benchmark::State& state) {
    const double pixels = double(kWidth) * kRows * double(state.iterations());
    state.counters["Mpx"] = benchmark::Counter(pixels / 1e6, benchmark::Counter::kIsRate);
}

void BM_Read(benchmark::State& state, PixelFormat pf, bool reference) {
    const PixelReader r(pf);
    std::vector<uint8_t> wire(kWidth * kRows * r.bytes_per_pixel());
    Lcg g;
    for (auto& b : wire)
        b = static_cast<uint8_t>(g.next());
    std::vector<uint32_t> out(kWidth * kRows);
    const size_t stride = kWidth * r.bytes_per_pixel();
    for (auto _ : state) {
        for (size_t y = 0; y < kRows; ++y) {
            if (reference)
                r.read_row_reference(wire.data() + y * stride, kWidth, out.data() + y * kWidth);
            else
                r.read_row(wire.data() + y * stride, kWidth, out.data() + y * kWidth);
        }
        benchmark::DoNotOptimize(out.data());
        benchmark::ClobberMemory();
    }
    set_rate(state);
}

void BM_Write(benchmark::State& state, PixelFormat pf, bool reference) {
    const PixelWriter w(pf);
    std::vector<uint32_t> px(kWidth * kRows);
    Lcg g;
    for (auto& p : px)
        p = g.next() & 0xffffff;
    std::vector<uint8_t> out(px.size() * w.bytes_per_pixel());
    const size_t stride = kWidth * w.bytes_per_pixel();
    for (auto _ : state) {
        for (size_t y = 0; y < kRows; ++y) {
            if (reference)
                w.write_row_reference(px.data() + y * kWidth, kWidth, out.data() + y * stride);
            else
                w.write_row(px.data() + y * kWidth, kWidth, out.data() + y * stride);
        }
        benchmark::DoNotOptimize(out.data());
        benchmark::ClobberMemory();
    }
    set_rate(state);
}

// Tight's TPIXELs (3 bytes R, G, B) -> canonical.
void BM_Rgb24(benchmark::State& state) {
    std::vector<uint8_t> wire(kWidth * kRows * 3);
    Lcg g;
    for (auto& b : wire)
        b = static_cast<uint8_t>(g.next());
    std::vector<uint32_t> out(kWidth * kRows);
    for (auto _ : state) {
        for (size_t y = 0; y < kRows; ++y)
            rgb24_to_canonical(wire.data() + y * kWidth * 3, kWidth, out.data() + y * kWidth);
        benchmark::DoNotOptimize(out.data());
        benchmark::ClobberMemory();
    }
    set_rate(state);
}

void register_all() {
    const struct {
        const char* name;
        PixelFormat pf;
    } formats[] = {
        {"canonical", PixelFormat::canonical()},
        {"canonical_be", with(PixelFormat::canonical(), true)},
        {"bgrx", bgrx()},
        {"rgb565", PixelFormat::rgb565()},
        {"rgb565_be", with(PixelFormat::rgb565(), true)},
        {"rgb555", rgb555()},
        {"bgr233", PixelFormat::bgr233()},
        {"colour_map8", colour_map8()},
    };
    for (const auto& f : formats)
        for (bool reference : {false, true}) {
            const std::string suffix = std::string(f.name) + (reference ? "/reference" : "/fast");
            benchmark::RegisterBenchmark(("read/" + suffix).c_str(), BM_Read, f.pf, reference);
            benchmark::RegisterBenchmark(("write/" + suffix).c_str(), BM_Write, f.pf, reference);
        }
    benchmark::RegisterBenchmark("read/tpixel_rgb24/fast", BM_Rgb24);
}

const int registered = (register_all(), 0);

}  // namespace
