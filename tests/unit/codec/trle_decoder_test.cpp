#include "codec/trle_decoder.h"

#include <gtest/gtest.h>

#include "decoder_test_support.h"

namespace rfb {
namespace {

using test::Bytes;

constexpr uint32_t kR = 0xff0000, kG = 0x00ff00, kB = 0x0000ff, kW = 0xffffff, kK = 0;

Bytes& cpx(Bytes& b, uint32_t rgb) {
    return b.u8(rgb).u8(rgb >> 8).u8(rgb >> 16);
}

test::DecodeCase trle_case(uint32_t fb_w, uint32_t fb_h, Rect r, std::vector<uint8_t> body,
                           PixelFormat pf = PixelFormat::canonical()) {
    return {
        [] { return std::make_unique<TrleDecoder>(); }, pf, fb_w, fb_h, r, std::move(body), true};
}

// 18x17: tiles 16x16, 2x16, 16x1, 2x1; the second and fourth reuse the palette before them.
TEST(TrleDecoder, TilesAndPaletteReuse) {
    const Rect r{1, 1, 18, 17};
    Bytes b;
    b.u8(2);  // 16x16 packed, palette K W, each row 1010...
    cpx(b, kK);
    cpx(b, kW);
    for (int y = 0; y < 16; ++y)
        b.u8(0xaa).u8(0xaa);
    b.u8(127);  // 2x16 packed with the same palette: K W on every row
    for (int y = 0; y < 16; ++y)
        b.u8(0x40);
    b.u8(130);  // 16x1 palette RLE, palette R G: 8 R then 8 G
    cpx(b, kR);
    cpx(b, kG);
    b.u8(0x80).u8(7).u8(0x81).u8(7);
    b.u8(129).u8(0x01).u8(0x00);  // 2x1 palette RLE with R G again: G R

    std::vector<uint32_t> want(18 * 17);
    for (uint32_t y = 0; y < 16; ++y)
        for (uint32_t x = 0; x < 18; ++x)
            want[y * 18 + x] = (x % 2 == 0) ? kW : kK;
    for (uint32_t y = 0; y < 16; ++y) {
        want[y * 18 + 16] = kK;
        want[y * 18 + 17] = kW;
    }
    for (uint32_t x = 0; x < 16; ++x)
        want[16 * 18 + x] = x < 8 ? kR : kG;
    want[16 * 18 + 16] = kG;
    want[16 * 18 + 17] = kR;

    const auto c = trle_case(20, 19, r, b.v);
    test::expect_decodes_to(c, test::expected_fb(20, 19, r, want));
    test::expect_truncations_wait(c);
}

// Row 2's first tile reuses row 1's palette and its second tile brings a new one. Whenever row 2
// arrives in pieces it is re-read, and the reuse must still see row 1's palette.
TEST(TrleDecoder, PaletteIsRolledBackWhenATileRowIsIncomplete) {
    const Rect r{0, 0, 32, 17};
    Bytes b;
    b.u8(2);  // 16x16 packed R G: left half R, right half G
    cpx(b, kR);
    cpx(b, kG);
    for (int y = 0; y < 16; ++y)
        b.u8(0x00).u8(0xff);
    b.u8(128);  // 16x16 plain RLE: one black run of 256
    cpx(b, kK).u8(255).u8(0);
    b.u8(127).u8(0xff).u8(0x00);  // 16x1 packed, reused R G: 8 G then 8 R
    b.u8(130);                    // 16x1 palette RLE with a new palette B W: 16 W
    cpx(b, kB);
    cpx(b, kW);
    b.u8(0x81).u8(15);

    std::vector<uint32_t> want(32 * 17);
    for (uint32_t y = 0; y < 16; ++y)
        for (uint32_t x = 0; x < 32; ++x)
            want[y * 32 + x] = x < 8 ? kR : x < 16 ? kG : kK;
    for (uint32_t x = 0; x < 32; ++x)
        want[16 * 32 + x] = x < 8 ? kG : x < 16 ? kR : kW;
    const auto c = trle_case(32, 17, r, b.v);
    test::expect_decodes_to(c, want);
    test::expect_truncations_wait(c);
}

TEST(TrleDecoder, PackedReuseOfASolidTileIsSolid) {
    const Rect r{0, 0, 20, 2};
    Bytes b;
    cpx(b.u8(1), kB);
    b.u8(127);  // 4x2 tile: the "palette" is the solid colour, with no index bits at all
    test::expect_decodes_to(trle_case(20, 2, r, b.v), std::vector<uint32_t>(40, kB));
}

TEST(TrleDecoder, Rgb565) {
    const Rect r{0, 0, 3, 1};
    Bytes b;
    b.u8(128).px16(0x8410).u8(1).px16(0x001f).u8(0);
    test::expect_decodes_to(trle_case(3, 1, r, b.v, PixelFormat::rgb565()),
                            {0x848284, 0x848284, kB});
}

TEST(TrleDecoder, RejectsReuseWithoutPalette) {
    for (uint8_t se : {127, 129}) {
        Bytes b;
        b.u8(0);  // a raw 16x1 tile carries no palette
        for (int i = 0; i < 16; ++i)
            cpx(b, kR);
        b.u8(se).u8(0);
        test::expect_rejected(trle_case(20, 1, Rect{0, 0, 17, 1}, b.v),
                              "trle: palette reused before any was sent");
    }
}

TEST(TrleDecoder, PaletteDoesNotOutliveTheRectangle) {
    Framebuffer fb = test::filled_fb(4, 4, test::kSentinel);
    PixelReader px(PixelFormat::canonical());
    DecodeTarget t{fb, px};
    TrleDecoder d;
    Bytes first;
    first.u8(130);
    cpx(first, kR);
    cpx(first, kG);
    first.u8(0);
    ASSERT_EQ(d.decode(Rect{0, 0, 1, 1}, first.v, t).status, DecodeStatus::kDone);
    Bytes second;
    second.u8(129).u8(1);
    EXPECT_EQ(d.decode(Rect{1, 0, 1, 1}, second.v, t).status, DecodeStatus::kError);
}

TEST(TrleDecoder, RejectsLargePaletteForPackedReuse) {
    Bytes b;
    b.u8(128 + 17);
    for (uint32_t i = 0; i < 17; ++i)
        cpx(b, i);
    b.u8(0x80).u8(15);   // 16x1 palette RLE tile with 17 colours
    b.u8(127).u8(0x00);  // packed pixels cannot index 17 colours
    test::expect_rejected(trle_case(20, 1, Rect{0, 0, 17, 1}, b.v),
                          "trle: reused palette too large to pack");
}

TEST(TrleDecoder, RejectsBadIndexAndLongRun) {
    {
        Bytes b;
        b.u8(3);
        for (uint32_t p : {kR, kG, kB})
            cpx(b, p);
        b.u8(0x30);  // second pixel has index 3
        test::expect_rejected(trle_case(4, 4, Rect{0, 0, 2, 1}, b.v),
                              "trle: palette index out of range");
    }
    {
        Bytes b;
        b.u8(131);
        for (uint32_t p : {kR, kG, kB})
            cpx(b, p);
        b.u8(0x83).u8(0);  // index 3 of a 3-colour palette, as a run
        test::expect_rejected(trle_case(4, 4, Rect{0, 0, 2, 1}, b.v),
                              "trle: palette index out of range");
    }
    {
        Bytes b;
        b.u8(128);
        cpx(b, kR).u8(1);
        cpx(b, kG).u8(1);  // 2 + 2 pixels in a 3-pixel tile
        test::expect_rejected(trle_case(4, 4, Rect{0, 0, 3, 1}, b.v),
                              "trle: run past the end of the tile");
    }
    {
        Bytes b;
        cpx(b.u8(1), kR);
        b.u8(50);  // an unused subencoding in the second tile row
        test::expect_rejected(trle_case(4, 20, Rect{0, 0, 3, 17}, b.v), "trle: unused subencoding");
    }
}

TEST(TrleDecoder, StreamsOneTileRowAtATime) {
    Framebuffer fb = test::filled_fb(3, 20, test::kSentinel);
    PixelReader px(PixelFormat::canonical());
    DecodeTarget t{fb, px};
    TrleDecoder d;
    const Rect r{0, 0, 3, 20};
    Bytes b;
    cpx(b.u8(1), kR);
    cpx(b.u8(1), kG);
    DecodeResult res = d.decode(r, std::span(b.v).first(6), t);
    EXPECT_EQ(res.status, DecodeStatus::kProgress);
    EXPECT_EQ(res.consumed, 4u);
    EXPECT_EQ(fb.at(2, 15), kR);
    EXPECT_EQ(fb.at(0, 16), test::kSentinel);
    res = d.decode(r, std::span(b.v).subspan(4), t);
    EXPECT_EQ(res.status, DecodeStatus::kDone);
    EXPECT_EQ(res.consumed, 4u);
    EXPECT_EQ(fb.at(2, 19), kG);
}

}  // namespace
}  // namespace rfb
