#include "codec/hextile_decoder.h"

#include <gtest/gtest.h>

#include "decoder_test_support.h"

namespace rfb {
namespace {

using test::Bytes;

constexpr uint32_t kR = 0xff0000, kG = 0x00ff00, kB = 0x000080;
constexpr uint8_t kRaw = 1, kBg = 2, kFg = 4, kAny = 8, kColoured = 16;

test::DecodeCase hextile_case(PixelFormat pf, uint32_t fb_w, uint32_t fb_h, Rect r,
                              std::vector<uint8_t> body, bool streaming) {
    return {[] { return std::make_unique<HextileDecoder>(); },
            pf,
            fb_w,
            fb_h,
            r,
            std::move(body),
            streaming};
}

// 18x17: four tiles (16x16, 2x16, 16x1, 2x1) exercising every subencoding bit, colours carried
// from tile to tile, and edge tiles.
TEST(HextileDecoder, FourTilesWithCarriedColours) {
    const Rect r{1, 1, 18, 17};
    Bytes b;
    // Tile (0,0) 16x16: background B, foreground R, two subrects.
    b.u8(kBg | kFg | kAny).px32(kB).px32(kR).u8(2);
    b.u8(0x00).u8(0x10);  // x0 y0, w2 h1
    b.u8(0xff).u8(0x00);  // x15 y15, w1 h1
    // Tile (16,0) 2x16: background and foreground carried over; a full-height column at x=1.
    b.u8(kAny).u8(1).u8(0x10).u8(0x0f);
    // Tile (0,16) 16x1: raw.
    b.u8(kRaw);
    for (uint32_t i = 0; i < 16; ++i)
        b.px32(0x000100 * i + 5);
    // Tile (16,16) 2x1: background still B (a raw tile does not change it), one coloured subrect.
    b.u8(kAny | kColoured).u8(1).px32(kG).u8(0x10).u8(0x00);

    std::vector<uint32_t> want(18 * 17, kB);
    auto at = [&](uint32_t x, uint32_t y) -> uint32_t& { return want[y * 18 + x]; };
    at(0, 0) = at(1, 0) = kR;
    at(15, 15) = kR;
    for (uint32_t y = 0; y < 16; ++y)
        at(17, y) = kR;
    for (uint32_t i = 0; i < 16; ++i)
        at(i, 16) = 0x000100 * i + 5;
    at(17, 16) = kG;

    const auto c = hextile_case(PixelFormat::canonical(), 20, 19, r, b.v, true);
    test::expect_decodes_to(c, test::expected_fb(20, 19, r, want));
    test::expect_truncations_wait(c);
}

// Colours carry from one tile row to the next too, whichever way the body is split.
TEST(HextileDecoder, ColoursCarryAcrossTileRows) {
    const Rect r{0, 0, 16, 17};
    Bytes b;
    b.u8(kBg | kFg).px32(kB).px32(kR);   // row 0: solid B, foreground R (unused here)
    b.u8(kAny).u8(1).u8(0x00).u8(0x10);  // row 1 (16x1): B with an R subrect at x 0..1
    std::vector<uint32_t> want(16 * 17, kB);
    want[16 * 16] = want[16 * 16 + 1] = kR;
    const auto c = hextile_case(PixelFormat::canonical(), 16, 17, r, b.v, true);
    test::expect_decodes_to(c, want);
    test::expect_truncations_wait(c);
}

TEST(HextileDecoder, Rgb565) {
    const Rect r{1, 0, 2, 2};
    Bytes b;
    b.u8(kBg | kAny | kColoured).px16(0x001f).u8(1).px16(0xf800).u8(0x11).u8(0x00);
    const auto c = hextile_case(PixelFormat::rgb565(), 4, 3, r, b.v, false);
    test::expect_decodes_to(c, test::expected_fb(4, 3, r, {0x0000ff, 0x0000ff, 0x0000ff, kR}));
    test::expect_truncations_wait(c);  // one tile row: no prefix may touch anything
}

TEST(HextileDecoder, RawTiles565) {
    const Rect r{0, 0, 2, 1};
    Bytes b;
    b.u8(kRaw).px16(0x07e0).px16(0x8410);
    const auto c = hextile_case(PixelFormat::rgb565(), 2, 1, r, b.v, false);
    test::expect_decodes_to(c, {kG, 0x848284});
}

TEST(HextileDecoder, StreamsOneTileRowAtATime) {
    Framebuffer fb = test::filled_fb(16, 32, test::kSentinel);
    PixelReader px(PixelFormat::canonical());
    DecodeTarget t{fb, px};
    HextileDecoder d;
    const Rect r{0, 0, 16, 32};
    Bytes b;
    b.u8(kBg).px32(kR);  // tile row 0: solid red
    b.u8(0);             // tile row 1: background carried over, still red
    b.u8(kBg).px32(kG);  // never reached: the rectangle has two tile rows

    DecodeResult res = d.decode(r, std::span(b.v).first(5), t);
    EXPECT_EQ(res.status, DecodeStatus::kProgress);
    EXPECT_EQ(res.consumed, 5u);
    EXPECT_EQ(fb.at(15, 15), kR);
    EXPECT_EQ(fb.at(0, 16), test::kSentinel);

    res = d.decode(r, std::span(b.v).subspan(5), t);
    EXPECT_EQ(res.status, DecodeStatus::kDone);
    EXPECT_EQ(res.consumed, 1u);
    EXPECT_EQ(fb.at(15, 31), kR);
}

TEST(HextileDecoder, RejectsSubrectOutsideTile) {
    {
        Bytes b;  // full tile: x=15 with width 2
        b.u8(kBg | kFg | kAny).px32(kB).px32(kR).u8(1).u8(0xf0).u8(0x10);
        test::expect_rejected(
            hextile_case(PixelFormat::canonical(), 20, 20, Rect{2, 2, 16, 16}, b.v, false),
            "hextile: subrect outside tile");
    }
    {
        Bytes b;  // 3x3 edge tile: y=2 with height 2
        b.u8(kBg | kFg | kAny).px32(kB).px32(kR).u8(1).u8(0x02).u8(0x01);
        test::expect_rejected(
            hextile_case(PixelFormat::canonical(), 5, 5, Rect{1, 1, 3, 3}, b.v, false),
            "hextile: subrect outside tile");
    }
    {
        Bytes b;  // second tile row is bad: the first may be drawn, nothing outside the rect
        b.u8(kBg).px32(kB);
        b.u8(kAny | kColoured).u8(1).px32(kR).u8(0x00).u8(0x01);  // h 2 in a 1-row tile
        test::expect_rejected(
            hextile_case(PixelFormat::canonical(), 5, 20, Rect{1, 1, 3, 17}, b.v, true),
            "hextile: subrect outside tile");
    }
}

TEST(HextileDecoder, RejectsZlibHexBits) {
    Bytes b;
    b.u8(0x20 | kBg).px32(kB);
    test::expect_rejected(
        hextile_case(PixelFormat::canonical(), 4, 4, Rect{0, 0, 4, 4}, b.v, false),
        "hextile: unknown subencoding bits");
}

}  // namespace
}  // namespace rfb
