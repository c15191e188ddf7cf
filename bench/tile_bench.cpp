// Tile hashing and damage detection (issue 4): XXH3 over 64x64 tiles against memcpy of the same
// bytes, TileGrid::rehash of a whole 1080p frame, and scroll detection on a scrolled frame.
#include <benchmark/benchmark.h>
#include <xxhash.h>

#include <cstring>
#include <random>
#include <vector>

#include "codec/framebuffer.h"
#include "codec/scroll_detector.h"
#include "codec/tile_bitmap.h"
#include "codec/tile_grid.h"

namespace {

using rfb::Framebuffer;
using rfb::TileBitmap;
using rfb::TileGrid;

// Text-like rows, all different, so that scroll detection has something to find.
Framebuffer make_frame(uint32_t w, uint32_t h, uint32_t seed) {
    Framebuffer fb(w, h);
    std::mt19937 rng(seed);
    for (uint32_t y = 0; y < h; ++y) {
        const uint32_t line = rng();
        for (uint32_t x = 0; x < w; ++x)
            fb.row(y)[x] = ((x * 7 + line) % 11 < 4) ? 0x101010 : 0xf0f0f0 ^ (line & 0x0f0f0f);
    }
    return fb;
}

const Framebuffer& frame() {
    static const Framebuffer fb = make_frame(1920, 1080, 1);
    return fb;
}

// Baseline: copying every tile of the frame out row by row (what a snapshot costs).
void BM_TileMemcpy(benchmark::State& state) {
    const Framebuffer& fb = frame();
    std::vector<uint32_t> tile(64 * 64);
    for (auto _ : state) {
        for (uint32_t ty = 0; ty + 64 <= fb.height(); ty += 64)
            for (uint32_t tx = 0; tx + 64 <= fb.width(); tx += 64)
                for (uint32_t y = 0; y < 64; ++y)
                    std::memcpy(tile.data() + y * 64, fb.row(ty + y) + tx, 64 * 4);
        benchmark::DoNotOptimize(tile.data());
    }
    state.SetBytesProcessed(int64_t(state.iterations()) * (fb.width() / 64) * (fb.height() / 64) *
                            64 * 64 * 4);
}
BENCHMARK(BM_TileMemcpy)->Unit(benchmark::kMicrosecond);

// What TileGrid does: XXH3 streaming over the tile's 64 rows.
void BM_TileHashStreaming(benchmark::State& state) {
    const Framebuffer& fb = frame();
    XXH3_state_t* st = XXH3_createState();
    uint64_t sum = 0;
    for (auto _ : state) {
        for (uint32_t ty = 0; ty + 64 <= fb.height(); ty += 64)
            for (uint32_t tx = 0; tx + 64 <= fb.width(); tx += 64) {
                XXH3_64bits_reset_withSeed(st, (uint64_t{64} << 32) | 64);
                for (uint32_t y = 0; y < 64; ++y)
                    XXH3_64bits_update(st, fb.row(ty + y) + tx, 64 * 4);
                sum += XXH3_64bits_digest(st);
            }
        benchmark::DoNotOptimize(sum);
    }
    XXH3_freeState(st);
    state.SetBytesProcessed(int64_t(state.iterations()) * (fb.width() / 64) * (fb.height() / 64) *
                            64 * 64 * 4);
}
BENCHMARK(BM_TileHashStreaming)->Unit(benchmark::kMicrosecond);

// The alternative: gather the tile into 16 KiB, then one-shot XXH3.
void BM_TileHashGathered(benchmark::State& state) {
    const Framebuffer& fb = frame();
    std::vector<uint32_t> tile(64 * 64);
    uint64_t sum = 0;
    for (auto _ : state) {
        for (uint32_t ty = 0; ty + 64 <= fb.height(); ty += 64)
            for (uint32_t tx = 0; tx + 64 <= fb.width(); tx += 64) {
                for (uint32_t y = 0; y < 64; ++y)
                    std::memcpy(tile.data() + y * 64, fb.row(ty + y) + tx, 64 * 4);
                sum +=
                    XXH3_64bits_withSeed(tile.data(), tile.size() * 4, (uint64_t{64} << 32) | 64);
            }
        benchmark::DoNotOptimize(sum);
    }
    state.SetBytesProcessed(int64_t(state.iterations()) * (fb.width() / 64) * (fb.height() / 64) *
                            64 * 64 * 4);
}
BENCHMARK(BM_TileHashGathered)->Unit(benchmark::kMicrosecond);

// Damage detection at an update boundary: every tile of a 1080p frame damaged, re-hashed, and
// compared with the previous hashes (nothing changed: the common "server resent it" case).
void BM_RehashFullFrame(benchmark::State& state) {
    const Framebuffer& fb = frame();
    TileGrid grid;
    grid.reset(fb.width(), fb.height());
    grid.rehash_all(fb);
    TileBitmap damaged(grid.count()), changed(grid.count());
    damaged.set_all();
    for (auto _ : state) {
        changed.clear();
        grid.rehash(fb, damaged, changed);
        benchmark::DoNotOptimize(changed.count());
    }
    state.SetBytesProcessed(int64_t(state.iterations()) * fb.width() * fb.height() * 4);
    state.counters["frames/s"] =
        benchmark::Counter(double(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_RehashFullFrame)->Unit(benchmark::kMicrosecond);

// Scroll detection on a whole 1080p frame scrolled by 17 rows (hash every row of every tile
// column, vote, find the run), alternating between the two frames.
void BM_ScrollDetectFullFrame(benchmark::State& state) {
    Framebuffer a = make_frame(1920, 1080, 3);
    Framebuffer b = a;
    for (uint32_t y = 0; y + 17 < b.height(); ++y)
        std::memcpy(b.row(y), a.row(y + 17), b.width() * 4);
    TileGrid grid;
    grid.reset(a.width(), a.height());
    TileBitmap damaged(grid.count());
    damaged.set_all();
    rfb::ScrollDetector det;
    det.reset(a.width(), a.height());
    det.record(a, grid, damaged);
    bool flip = false;
    size_t found = 0;
    for (auto _ : state) {
        found += det.detect(flip ? a : b, grid, damaged).size();
        flip = !flip;
    }
    if (found == 0) state.SkipWithError("no scroll found");
    state.SetBytesProcessed(int64_t(state.iterations()) * a.width() * a.height() * 4);
    state.counters["frames/s"] =
        benchmark::Counter(double(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_ScrollDetectFullFrame)->Unit(benchmark::kMicrosecond);

}  // namespace
