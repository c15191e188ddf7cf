#pragma once
// Shared by the fuzz targets: reading parameters from the front of the input, splitting the rest
// into chunks the way a socket would, the pixel formats a fuzz input may choose, and an
// invariant check that reports through abort() so libFuzzer keeps the reproducer.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <vector>

#include "codec/pixel_format.h"

// Unlike assert(), stays on in every build type: these checks are what the targets exist for.
#define FUZZ_CHECK(cond)                                                                 \
    do {                                                                                 \
        if (!(cond)) {                                                                   \
            std::fprintf(stderr, "fuzz invariant failed: %s (%s:%d)\n", #cond, __FILE__, \
                         __LINE__);                                                      \
            std::abort();                                                                \
        }                                                                                \
    } while (0)

namespace rfb::fuzz {

// RFBCAST_FUZZ_VERBOSE=1 makes the targets say how an input ended (how far a seed gets, why a
// reproducer fails); off while fuzzing.
inline bool verbose() {
    static const bool on = std::getenv("RFBCAST_FUZZ_VERBOSE") != nullptr;
    return on;
}

// Takes parameter bytes off the front of the input. A short input yields zeros rather than
// failing, so every input is usable and mutations of the parameters stay meaningful.
class Params {
  public:
    Params(const uint8_t* data, size_t size) : data_(data), size_(size) {}

    uint8_t u8() { return pos_ < size_ ? data_[pos_++] : 0; }
    uint16_t u16() {
        const uint16_t hi = u8();
        return static_cast<uint16_t>((hi << 8) | u8());
    }
    std::span<const uint8_t> bytes(size_t n) {
        n = std::min(n, size_ - pos_);
        std::span<const uint8_t> out(data_ + pos_, n);
        pos_ += n;
        return out;
    }
    std::span<const uint8_t> rest() const { return {data_ + pos_, size_ - pos_}; }

  private:
    const uint8_t* data_;
    size_t size_;
    size_t pos_ = 0;
};

// Splits `data` into `count` chunks at positions derived from `seed`, so one input exercises
// the "partial message, call again" paths at fuzzer-chosen boundaries (empty chunks included).
inline std::vector<std::span<const uint8_t>> split(std::span<const uint8_t> data, size_t count,
                                                   uint16_t seed) {
    std::vector<size_t> cuts;
    uint32_t state = seed * 2654435761u + 1;
    for (size_t i = 1; i < count; ++i) {
        state = state * 1103515245u + 12345u;
        cuts.push_back(data.empty() ? 0 : (state >> 8) % (data.size() + 1));
    }
    std::sort(cuts.begin(), cuts.end());
    std::vector<std::span<const uint8_t>> out;
    size_t from = 0;
    for (size_t c : cuts) {
        out.push_back(data.subspan(from, c - from));
        from = c;
    }
    out.push_back(data.subspan(from));
    return out;
}

// Wire formats a fuzz input may pick by index: every shape the decoders special-case
// (identity, byte order, 3-byte CPIXELs at either end, 16 and 8 bpp, colour map).
inline PixelFormat wire_format(uint8_t selector) {
    PixelFormat pf = PixelFormat::canonical();
    switch (selector % 9) {
        case 0:
            break;
        case 1:
            pf.big_endian = true;
            break;
        case 2:
            pf.red_shift = 0;
            pf.blue_shift = 16;
            break;
        case 3:
            pf = PixelFormat::rgb565();
            break;
        case 4:
            pf = PixelFormat::rgb565();
            pf.big_endian = true;
            break;
        case 5:
            pf = PixelFormat::bgr233();
            break;
        case 6:  // 8-bit colour map
            pf.bits_per_pixel = 8;
            pf.depth = 8;
            pf.true_colour = false;
            pf.red_max = pf.green_max = pf.blue_max = 0;
            pf.red_shift = pf.green_shift = pf.blue_shift = 0;
            break;
        case 7:  // RGB555
            pf.bits_per_pixel = 16;
            pf.depth = 15;
            pf.red_max = pf.green_max = pf.blue_max = 31;
            pf.red_shift = 10;
            pf.green_shift = 5;
            pf.blue_shift = 0;
            break;
        case 8:  // channels in the high three bytes
            pf.red_shift = 24;
            pf.green_shift = 16;
            pf.blue_shift = 8;
            break;
    }
    return pf;
}

// What a PixelReader may be built from: ServerMessageReader hands decoders a reader whose
// colour-map format has 255 maxes, and never builds one from an invalid format.
inline PixelFormat reader_safe(PixelFormat pf) {
    if (!pf.valid(nullptr, /*allow_colour_map=*/true)) return PixelFormat::canonical();
    if (!pf.true_colour) pf.red_max = pf.green_max = pf.blue_max = 255;
    return pf;
}

}  // namespace rfb::fuzz
