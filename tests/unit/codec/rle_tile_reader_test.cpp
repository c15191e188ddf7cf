#include "codec/rle_tile_reader.h"

#include <gtest/gtest.h>

#include "decoder_test_support.h"

namespace rfb {
namespace {

size_t cpixel_bytes(const PixelFormat& pf) {
    PixelReader px(pf);
    return CPixelReader(px).bytes();
}

TEST(CPixelReader, SizeFollowsTheSpecRule) {
    PixelFormat pf = PixelFormat::canonical();
    EXPECT_EQ(cpixel_bytes(pf), 3u);  // 32 bpp depth 24, colours in the low 3 bytes
    pf.depth = 16;
    EXPECT_EQ(cpixel_bytes(pf), 3u);  // depth 16 at 32 bpp is still 3 bytes
    pf.depth = 32;
    EXPECT_EQ(cpixel_bytes(pf), 4u);  // deeper than 24
    pf = PixelFormat::canonical();
    pf.red_shift = 24;
    pf.green_shift = 16;
    pf.blue_shift = 8;
    EXPECT_EQ(cpixel_bytes(pf), 3u);  // colours in the high 3 bytes
    pf.blue_shift = 4;                // blue straddles the low and second bytes
    pf.red_max = 15;                  // (keeps the channels apart)
    pf.green_shift = 12;
    pf.red_shift = 20;
    EXPECT_EQ(cpixel_bytes(pf), 3u);  // bits 4..23 fit the low 3 bytes
    pf.red_shift = 25;
    pf.red_max = 127;
    EXPECT_EQ(cpixel_bytes(pf), 4u);  // bits 4..31: neither 3-byte window holds them
    EXPECT_EQ(cpixel_bytes(PixelFormat::rgb565()), 2u);
    EXPECT_EQ(cpixel_bytes(PixelFormat::bgr233()), 1u);
    pf = PixelFormat::canonical();
    pf.true_colour = false;
    EXPECT_EQ(cpixel_bytes(pf), 4u);  // only true colour is compressed
}

TEST(CPixelReader, LoadsLowAndHighBytesInEitherByteOrder) {
    PixelFormat pf = PixelFormat::canonical();
    const uint8_t bytes[3] = {0x11, 0x22, 0x33};
    {
        PixelReader px(pf);  // LE, low: 33 22 11 -> 0x332211
        EXPECT_EQ(CPixelReader(px).load(bytes), 0x332211u);
    }
    pf.big_endian = true;
    {
        PixelReader px(pf);  // BE, low: 11 22 33 -> 0x112233
        EXPECT_EQ(CPixelReader(px).load(bytes), 0x112233u);
    }
    pf.red_shift = 24;
    pf.green_shift = 16;
    pf.blue_shift = 8;
    {
        PixelReader px(pf);  // BE, high: red 11, green 22, blue 33
        EXPECT_EQ(CPixelReader(px).load(bytes), 0x112233u);
    }
    pf.big_endian = false;
    {
        PixelReader px(pf);  // LE, high: bytes are blue, green, red
        EXPECT_EQ(CPixelReader(px).load(bytes), 0x332211u);
    }
}

TEST(RleTileReader, ReportsNeedMoreForEveryPrefix) {
    // Palette RLE tile of 4x1: palette R G, runs R x3, G x1.
    test::Bytes b;
    b.u8(130).u8(0).u8(0).u8(0xff).u8(0).u8(0xff).u8(0).u8(0x80).u8(2).u8(1);
    PixelReader px(PixelFormat::canonical());
    const CPixelReader cpx(px);
    uint32_t out[4] = {};
    for (size_t k = 0; k < b.size(); ++k) {
        ByteReader in(std::span(b.v).first(k));
        RlePalette palette;
        EXPECT_EQ(read_rle_tile(in, 4, 1, cpx, RleVariant::kZrle, palette, out, 4).status,
                  TileStatus::kNeedMore);
    }
    ByteReader in(b.v);
    RlePalette palette;
    ASSERT_EQ(read_rle_tile(in, 4, 1, cpx, RleVariant::kZrle, palette, out, 4).status,
              TileStatus::kOk);
    EXPECT_EQ(in.position(), b.size());
    EXPECT_EQ(palette.size, 2u);
    EXPECT_EQ(out[0], 0xff0000u);
    EXPECT_EQ(out[2], 0xff0000u);
    EXPECT_EQ(out[3], 0x00ff00u);
}

TEST(RleTileReader, WritesOnlyItsTileInsideAWiderBuffer) {
    test::Bytes b;
    b.u8(1).u8(0x56).u8(0x34).u8(0x12);
    PixelReader px(PixelFormat::canonical());
    const CPixelReader cpx(px);
    std::vector<uint32_t> buf(5 * 4, 7);
    ByteReader in(b.v);
    RlePalette palette;
    ASSERT_EQ(read_rle_tile(in, 2, 2, cpx, RleVariant::kTrle, palette, buf.data() + 6, 5).status,
              TileStatus::kOk);
    for (size_t i = 0; i < buf.size(); ++i) {
        const bool in_tile = i == 6 || i == 7 || i == 11 || i == 12;
        EXPECT_EQ(buf[i], in_tile ? 0x123456u : 7u) << i;
    }
}

}  // namespace
}  // namespace rfb
