#include "codec/zrle_decoder.h"

#include <gtest/gtest.h>

#include "decoder_test_support.h"

namespace rfb {
namespace {

using test::Bytes;
using test::Deflater;

constexpr uint32_t kR = 0xff0000, kG = 0x00ff00, kB = 0x0000ff, kW = 0xffffff, kK = 0;

// Canonical 32bpp little-endian depth 24: a CPIXEL is the low three bytes, B G R.
Bytes& cpx(Bytes& b, uint32_t rgb) {
    return b.u8(rgb).u8(rgb >> 8).u8(rgb >> 16);
}

test::DecodeCase zrle_case(PixelFormat pf, uint32_t fb_w, uint32_t fb_h, Rect r,
                           const std::vector<uint8_t>& tiles) {
    Deflater z;
    return {[] { return std::make_unique<ZrleDecoder>(); }, pf, fb_w, fb_h, r,
            test::length_prefixed(z.compress(tiles))};
}

void expect_tile(const std::vector<uint8_t>& tiles, uint32_t w, uint32_t h,
                 const std::vector<uint32_t>& want, PixelFormat pf = PixelFormat::canonical()) {
    const Rect r{1, 1, w, h};
    const auto c = zrle_case(pf, w + 2, h + 2, r, tiles);
    test::expect_decodes_to(c, test::expected_fb(w + 2, h + 2, r, want));
    test::expect_truncations_wait(c);
}

TEST(ZrleDecoder, RawTile) {
    Bytes b;
    b.u8(0);
    for (uint32_t p : {kR, kG, kB, 0x123456u})
        cpx(b, p);
    expect_tile(b.v, 2, 2, {kR, kG, kB, 0x123456});
}

TEST(ZrleDecoder, SolidTile) {
    Bytes b;
    b.u8(1);
    cpx(b, 0x336699);
    expect_tile(b.v, 5, 3, std::vector<uint32_t>(15, 0x336699));
}

TEST(ZrleDecoder, PackedPaletteOneBit) {
    Bytes b;
    b.u8(2);
    cpx(b, kK);
    cpx(b, kW);
    // 10 pixels wide: two bytes per row, rows padded to a byte.
    b.u8(0x80).u8(0xc0);  // 1 0 0 0 0 0 0 0 | 1 1
    b.u8(0x00).u8(0x40);  // 0 0 0 0 0 0 0 0 | 0 1
    std::vector<uint32_t> want(20, kK);
    want[0] = want[8] = want[9] = want[19] = kW;
    expect_tile(b.v, 10, 2, want);
}

TEST(ZrleDecoder, PackedPaletteTwoAndFourBits) {
    {
        Bytes b;
        b.u8(3);
        for (uint32_t p : {kR, kG, kB})
            cpx(b, p);
        b.u8(0x90);  // indices 2 1 0, then padding
        expect_tile(b.v, 3, 1, {kB, kG, kR});
    }
    {
        Bytes b;
        b.u8(5);
        for (uint32_t p : {kR, kG, kB, kW, 0x808080u})
            cpx(b, p);
        b.u8(0x40).u8(0x30);  // indices 4 0 | 3 (padding)
        expect_tile(b.v, 3, 1, {0x808080, kR, kW});
    }
}

TEST(ZrleDecoder, PlainRle) {
    Bytes b;
    b.u8(128);
    cpx(b, kR).u8(2);  // run of 3, continuing onto the next row
    cpx(b, kG).u8(4);  // run of 5
    expect_tile(b.v, 4, 2, {kR, kR, kR, kG, kG, kG, kG, kG});
}

TEST(ZrleDecoder, PlainRleLongRunCoversWholeTile) {
    Bytes b;
    b.u8(128);
    cpx(b, kB).repeat(255, 16).u8(15);  // 1 + 16 * 255 + 15 = 4096
    expect_tile(b.v, 64, 64, std::vector<uint32_t>(4096, kB));
}

TEST(ZrleDecoder, PaletteRle) {
    Bytes b;
    b.u8(130);
    cpx(b, kR);
    cpx(b, kG);
    b.u8(0x00);        // R once
    b.u8(0x81).u8(5);  // G six times
    b.u8(0x00);        // R once
    expect_tile(b.v, 4, 2, {kR, kG, kG, kG, kG, kG, kG, kR});
}

// 70x65: tiles 64x64, 6x64, 64x1 and 6x1, each solid, in left-to-right, top-to-bottom order.
TEST(ZrleDecoder, TilesCoverTheRectangleInOrder) {
    const Rect r{3, 2, 70, 65};
    Bytes b;
    for (uint32_t p : {kR, kG, kB, kW})
        cpx(b.u8(1), p);
    std::vector<uint32_t> want(70 * 65);
    for (uint32_t y = 0; y < 65; ++y)
        for (uint32_t x = 0; x < 70; ++x)
            want[y * 70 + x] = y < 64 ? (x < 64 ? kR : kG) : (x < 64 ? kB : kW);
    const auto c = zrle_case(PixelFormat::canonical(), 80, 70, r, b.v);
    Framebuffer fb;
    ASSERT_EQ(test::run_case(c, {}, fb).status, DecodeStatus::kDone);
    EXPECT_EQ(test::pixels_of(fb), test::expected_fb(80, 70, r, want));
    EXPECT_EQ(test::run_case(c, test::every_byte(c.body.size()), fb).status, DecodeStatus::kDone);
    EXPECT_EQ(test::pixels_of(fb), test::expected_fb(80, 70, r, want));
}

TEST(ZrleDecoder, Rgb565CPixelsAreTwoBytes) {
    Bytes b;
    b.u8(0).px16(0xf800).px16(0x8410);  // raw tile 2x1...
    expect_tile(b.v, 2, 1, {kR, 0x848284}, PixelFormat::rgb565());
    Bytes p;
    p.u8(130).px16(0x07e0).px16(0x001f).u8(0x80).u8(0x01).u8(0x01);  // ...and palette RLE
    expect_tile(p.v, 3, 1, {kG, kG, kB}, PixelFormat::rgb565());
}

TEST(ZrleDecoder, BigEndianLowBytesCPixel) {
    PixelFormat pf = PixelFormat::canonical();
    pf.big_endian = true;  // pixel bytes 00 RR GG BB: the CPIXEL is RR GG BB
    Bytes b;
    b.u8(0).u8(0x12).u8(0x34).u8(0x56).u8(0xff).u8(0x00).u8(0x80);
    expect_tile(b.v, 2, 1, {0x123456, 0xff0080}, pf);
}

TEST(ZrleDecoder, HighBytesCPixel) {
    PixelFormat pf = PixelFormat::canonical();
    pf.red_shift = 24;  // red 24, green 16, blue 8: the low byte is unused
    pf.green_shift = 16;
    pf.blue_shift = 8;
    Bytes le;  // little-endian pixel bytes 00 BB GG RR: the CPIXEL is BB GG RR
    le.u8(1).u8(0x56).u8(0x34).u8(0x12);
    expect_tile(le.v, 1, 1, {0x123456}, pf);
    pf.big_endian = true;  // big-endian pixel bytes RR GG BB 00: the CPIXEL is RR GG BB
    Bytes be;
    be.u8(1).u8(0x12).u8(0x34).u8(0x56);
    expect_tile(be.v, 1, 1, {0x123456}, pf);
}

TEST(ZrleDecoder, Depth32MeansFourByteCPixels) {
    PixelFormat pf = PixelFormat::canonical();
    pf.depth = 32;
    Bytes b;
    b.u8(1).px32(0x123456);
    expect_tile(b.v, 1, 1, {0x123456}, pf);
}

TEST(ZrleDecoder, OneStreamAcrossRectangles) {
    Bytes t1, t2;
    cpx(t1.u8(1), kR);
    cpx(t2.u8(1), kR);  // the same bytes again: deflate refers back into the shared window
    Deflater z;
    const auto body1 = test::length_prefixed(z.compress(t1.v));
    const auto body2 = test::length_prefixed(z.compress(t2.v));
    test::DecodeCase c{
        [body1] {
            auto d = std::make_unique<ZrleDecoder>();
            Framebuffer fb(4, 4);
            PixelReader px(PixelFormat::canonical());
            DecodeTarget t{fb, px};
            EXPECT_EQ(d->decode(Rect{0, 0, 1, 1}, body1, t).status, DecodeStatus::kDone);
            return d;
        },
        PixelFormat::canonical(),
        4,
        4,
        Rect{1, 1, 2, 2},
        body2};
    test::expect_decodes_to(c, test::expected_fb(4, 4, c.r, {kR, kR, kR, kR}));
}

TEST(ZrleDecoder, RejectsPaletteIndexOutOfRange) {
    {
        Bytes b;
        b.u8(3);
        for (uint32_t p : {kR, kG, kB})
            cpx(b, p);
        b.u8(0xc0);  // index 3 of a 3-colour palette
        test::expect_rejected(zrle_case(PixelFormat::canonical(), 5, 5, Rect{1, 1, 2, 1}, b.v),
                              "zrle: palette index out of range");
    }
    {
        Bytes b;
        b.u8(130);
        cpx(b, kR);
        cpx(b, kG);
        b.u8(0x02);
        test::expect_rejected(zrle_case(PixelFormat::canonical(), 5, 5, Rect{1, 1, 2, 1}, b.v),
                              "zrle: palette index out of range");
    }
}

TEST(ZrleDecoder, RejectsRunPastTheTile) {
    {
        Bytes b;
        b.u8(128);
        cpx(b, kR).u8(8);  // 9 pixels in an 8-pixel tile
        test::expect_rejected(zrle_case(PixelFormat::canonical(), 6, 4, Rect{1, 1, 4, 2}, b.v),
                              "zrle: run past the end of the tile");
    }
    {
        Bytes b;
        b.u8(130);
        cpx(b, kR);
        cpx(b, kG);
        b.u8(0x80).repeat(255, 100).u8(0);  // a run far longer than the tile
        test::expect_rejected(zrle_case(PixelFormat::canonical(), 6, 4, Rect{1, 1, 4, 2}, b.v),
                              "zrle: run past the end of the tile");
    }
}

TEST(ZrleDecoder, RejectsUnusedSubencodings) {
    for (uint8_t se : {17, 100, 126, 127, 129}) {
        SCOPED_TRACE(int{se});
        Bytes b;
        b.u8(se);
        cpx(b, kR);
        test::expect_rejected(zrle_case(PixelFormat::canonical(), 4, 4, Rect{0, 0, 2, 2}, b.v),
                              "zrle: unused subencoding");
    }
}

TEST(ZrleDecoder, RejectsZlibGarbage) {
    Bytes b;
    b.u32(5).u8(0x78).u8(0x9c).u8(0xff).u8(0xff).u8(0xff);
    const test::DecodeCase c{[] { return std::make_unique<ZrleDecoder>(); },
                             PixelFormat::canonical(),
                             4,
                             4,
                             Rect{0, 0, 2, 2},
                             b.v};
    test::expect_rejected(c, "zrle: zlib data is corrupt");
}

TEST(ZrleDecoder, RejectsDataBeyondTheTiles) {
    Bytes b;
    cpx(b.u8(1), kR);
    b.u8(0);  // one stray byte after the only tile
    test::expect_rejected(zrle_case(PixelFormat::canonical(), 4, 4, Rect{0, 0, 2, 2}, b.v),
                          "zrle: zlib data longer than the tiles");
}

TEST(ZrleDecoder, RejectsZlibBomb) {
    Bytes b;
    cpx(b.u8(1), kR);
    b.repeat(0, 4 << 20);  // 4 MiB of zeros after a 1-tile rectangle
    Deflater z(9);
    const auto payload = z.compress(b.v);
    ASSERT_LT(payload.size(), 8192u);
    test::DecodeCase c{[] { return std::make_unique<ZrleDecoder>(); },
                       PixelFormat::canonical(),
                       4,
                       4,
                       Rect{1, 1, 2, 2},
                       test::length_prefixed(payload)};
    Framebuffer fb;
    const test::Outcome o = test::run_case(c, {}, fb);
    ASSERT_EQ(o.status, DecodeStatus::kError);
    EXPECT_NE(o.error.find("zrle: zlib data longer than the tiles"), std::string::npos) << o.error;
    EXPECT_TRUE(test::outside_untouched(fb, c.r, test::kSentinel));
}

TEST(ZrleDecoder, RejectsTooLittleData) {
    Bytes b;
    b.u8(0);
    cpx(b, kR);  // a raw 2x2 tile with one pixel
    test::expect_rejected(zrle_case(PixelFormat::canonical(), 4, 4, Rect{0, 0, 2, 2}, b.v),
                          "zrle: zlib data ends before the tiles do");
}

TEST(ZrleDecoder, RejectsOversizeLengthBeforeItArrives) {
    Framebuffer fb = test::filled_fb(4, 4, test::kSentinel);
    PixelReader px(PixelFormat::canonical());
    DecodeTarget t{fb, px};
    ZrleDecoder d;
    Bytes b;
    b.u32(static_cast<uint32_t>(ZrleDecoder::kMaxCompressedLength + 1));
    const DecodeResult res = d.decode(Rect{0, 0, 1, 1}, b.v, t);
    EXPECT_EQ(res.status, DecodeStatus::kError);
    EXPECT_NE(res.error.find("compressed length too large"), std::string::npos);
}

TEST(ZrleDecoder, AfterAnErrorOnlyResetRecovers) {
    Framebuffer fb = test::filled_fb(4, 4, test::kSentinel);
    PixelReader px(PixelFormat::canonical());
    DecodeTarget t{fb, px};
    ZrleDecoder d;
    Bytes bad;
    bad.u8(17);
    Deflater z1;
    ASSERT_EQ(d.decode(Rect{0, 0, 1, 1}, test::length_prefixed(z1.compress(bad.v)), t).status,
              DecodeStatus::kError);
    Bytes good;
    cpx(good.u8(1), kG);
    Deflater z2;
    const auto body = test::length_prefixed(z2.compress(good.v));
    EXPECT_EQ(d.decode(Rect{0, 0, 1, 1}, body, t).status, DecodeStatus::kError);
    d.reset();
    EXPECT_EQ(d.decode(Rect{0, 0, 1, 1}, body, t).status, DecodeStatus::kDone);
    EXPECT_EQ(fb.at(0, 0), kG);
}

}  // namespace
}  // namespace rfb
