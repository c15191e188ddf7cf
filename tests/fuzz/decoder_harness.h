#pragma once
// One harness for every RectDecoder, played the way ServerMessageReader drives it: the body
// arrives in chunks, unconsumed bytes are offered again with the next chunk, and several
// rectangles follow each other on one decoder so per-connection zlib streams carry over.
//
// Input: 10 parameter bytes, then the rectangle bodies.
//   0     wire pixel format (fuzz_support.h wire_format)
//   1, 2  framebuffer width, height
//   3, 4  rectangle x, width (within the framebuffer; width 0 allowed)
//   5, 6  rectangle y, height
//   7     bit 0: reset() after each rectangle; bits 1-2: chunks - 1; bit 3: wide framebuffer
//   8, 9  where the chunks are cut
#include <xxhash.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "codec/decoder.h"
#include "codec/framebuffer.h"
#include "codec/pixel_converter.h"
#include "tests/fuzz/fuzz_support.h"

namespace rfb::fuzz {

inline constexpr size_t kDecoderParamBytes = 10;
// Enough for stream state to carry across rectangles, few enough to keep executions fast.
inline constexpr int kMaxRectsPerInput = 8;

inline uint32_t pattern_pixel(size_t i) {
    return static_cast<uint32_t>(i * 2654435761u) & 0xffffffu;
}

inline uint64_t fb_hash(const Framebuffer& fb) {
    const auto px = fb.pixels();
    return XXH3_64bits(px.data(), px.size_bytes());
}

inline void run_decoder(int32_t encoding, const uint8_t* data, size_t size) {
    if (size < kDecoderParamBytes) return;
    Params p(data, size);
    const PixelFormat pf = reader_safe(wire_format(p.u8()));
    const uint8_t bw = p.u8(), bh = p.u8(), bx = p.u8(), brw = p.u8(), by = p.u8(), brh = p.u8();
    const uint8_t flags = p.u8();
    const uint16_t seed = p.u16();

    // The wide shape reaches Tight's 2048-pixel row limit while keeping the area small.
    const bool wide = flags & 8;
    const uint32_t fw = wide ? 1 + (uint32_t{bw} * 9 + bh) % 2200 : 1 + bw % 96;
    const uint32_t fh = wide ? 1 + bh % 4 : 1 + bh % 96;
    Rect r;
    r.x = wide ? (uint32_t{bx} * 9) % fw : bx % fw;
    r.w = wide ? (uint32_t{brw} * 9) % (fw - r.x + 1) : brw % (fw - r.x + 1);
    r.y = by % fh;
    r.h = brh % (fh - r.y + 1);

    Framebuffer fb(fw, fh);
    auto px = fb.pixels();
    for (size_t i = 0; i < px.size(); ++i)
        px[i] = pattern_pixel(i);

    PixelReader reader(pf);
    DecodeTarget target{fb, reader};
    auto decoder = make_decoder(encoding);
    FUZZ_CHECK(decoder != nullptr);
    FUZZ_CHECK(decoder->encoding() == encoding);

    std::vector<uint8_t> pending;
    int rects = 0;
    bool stop = false;
    for (auto chunk : split(p.rest(), 1 + ((flags >> 1) & 3), seed)) {
        pending.insert(pending.end(), chunk.begin(), chunk.end());
        while (!stop && rects < kMaxRectsPerInput) {
            const uint64_t before = fb_hash(fb);
            const DecodeResult res = decoder->decode(r, pending, target);
            if (res.status == DecodeStatus::kNeedMore) {
                // decoder.h: nothing consumed, no state changed.
                FUZZ_CHECK(res.consumed == 0);
                FUZZ_CHECK(fb_hash(fb) == before);
                break;
            }
            if (res.status == DecodeStatus::kError) {
                if (verbose()) std::fprintf(stderr, "decode error: %s\n", res.error.c_str());
                FUZZ_CHECK(res.consumed == 0);
                FUZZ_CHECK(!res.error.empty());
                stop = true;
                break;
            }
            FUZZ_CHECK(res.error.empty());
            FUZZ_CHECK(res.consumed <= pending.size());
            pending.erase(pending.begin(), pending.begin() + static_cast<ptrdiff_t>(res.consumed));
            if (res.status == DecodeStatus::kProgress) {
                if (res.consumed == 0) break;  // the reader treats this as "need more" too
                continue;
            }
            ++rects;  // kDone
            if (flags & 1) decoder->reset();
        }
        if (stop || rects >= kMaxRectsPerInput) break;
    }

    if (verbose())
        std::fprintf(
            stderr, "%dx%d framebuffer, rect %u,%u %ux%u: %d rectangle(s) done, %zu byte(s) left\n",
            static_cast<int>(fw), static_cast<int>(fh), r.x, r.y, r.w, r.h, rects, pending.size());

    // A decoder may write only inside its rectangle, whatever the input.
    for (uint32_t y = 0; y < fh; ++y)
        for (uint32_t x = 0; x < fw; ++x)
            if (x < r.x || x >= r.right() || y < r.y || y >= r.bottom())
                FUZZ_CHECK(fb.at(x, y) == pattern_pixel(size_t{y} * fw + x));
}

}  // namespace rfb::fuzz
