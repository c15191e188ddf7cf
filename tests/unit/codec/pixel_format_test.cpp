#include <gtest/gtest.h>

#include <vector>

#include "codec/framebuffer.h"
#include "codec/pixel_converter.h"
#include "codec/pixel_format.h"
#include "codec/rfb_constants.h"

namespace rfb {
namespace {

TEST(PixelFormat, RoundTripsThroughTheWire) {
    std::vector<uint8_t> buf;
    ByteWriter w(buf);
    PixelFormat::rgb565().write(w);
    ASSERT_EQ(buf.size(), 16u);
    ByteReader r(buf);
    PixelFormat back;
    ASSERT_TRUE(PixelFormat::read(r, back));
    EXPECT_EQ(back, PixelFormat::rgb565());
}

TEST(PixelFormat, ShortInputIsNotRead) {
    std::vector<uint8_t> buf(15, 0);
    ByteReader r(buf);
    PixelFormat pf;
    EXPECT_FALSE(PixelFormat::read(r, pf));
}

TEST(PixelFormat, RejectsInsaneFormats) {
    PixelFormat pf;
    pf.bits_per_pixel = 24;
    EXPECT_FALSE(pf.valid(nullptr));
    pf = PixelFormat{};
    pf.red_max = 200;  // not 2^n-1
    EXPECT_FALSE(pf.valid(nullptr));
    pf = PixelFormat{};
    pf.red_shift = 30;  // 8 bits at shift 30 overflow 32
    EXPECT_FALSE(pf.valid(nullptr));
    pf = PixelFormat{};
    pf.green_shift = 16;  // overlaps red
    EXPECT_FALSE(pf.valid(nullptr));
    pf = PixelFormat{};
    pf.true_colour = false;
    std::string why;
    EXPECT_FALSE(pf.valid(&why));
    EXPECT_FALSE(why.empty());
    pf.bits_per_pixel = 8;
    pf.depth = 8;
    EXPECT_TRUE(pf.valid(nullptr, true));
    EXPECT_TRUE(PixelFormat::canonical().valid(nullptr));
    EXPECT_TRUE(PixelFormat::rgb565().valid(nullptr));
    EXPECT_TRUE(PixelFormat::bgr233().valid(nullptr));
}

TEST(PixelConverter, Rgb565RoundsLikeXvnc) {
    PixelWriter w(PixelFormat::rgb565());
    // Rounding, not truncation: red 0x0f -> (15*31+128)/255 = 2 (truncation would give 1),
    // green 0xfe -> 63, blue 0x40 -> (64*31+128)/255 = 8.
    EXPECT_EQ(w.pack(0x0ffe40), (2u << 11) | (63u << 5) | 8u);
    EXPECT_EQ(w.pack(0xffffff), 0xffffu);
    EXPECT_EQ(w.pack(0x000000), 0u);
    uint8_t out[2];
    w.store(w.pack(0x0ffe40), out);
    EXPECT_EQ(out[0], ((63u << 5) | 8u) & 0xff);  // little-endian low byte first
    EXPECT_EQ(out[1], ((2u << 11) | (63u << 5)) >> 8);
}

TEST(PixelConverter, WideningReplicatesBits) {
    PixelReader r(PixelFormat::rgb565());
    EXPECT_EQ(r.unpack(0xffff), 0xffffffu & 0x00ffffffu);
    EXPECT_EQ(r.unpack(0), 0u);
    // 5-bit 0b10000 -> 0b10000100
    EXPECT_EQ(r.unpack(16u << 11) >> 16, 0x84u);
}

TEST(PixelConverter, BigEndian32RoundTrip) {
    PixelFormat be = PixelFormat::canonical();
    be.big_endian = true;
    PixelWriter w(be);
    PixelReader r(be);
    uint8_t buf[4];
    w.store(w.pack(0x123456), buf);
    EXPECT_EQ(buf[0], 0x00);
    EXPECT_EQ(buf[1], 0x12);
    EXPECT_EQ(buf[3], 0x56);
    EXPECT_EQ(r.load(buf), 0x123456u);
}

TEST(PixelConverter, CanonicalIdentityMasksPadding) {
    PixelReader r(PixelFormat::canonical());
    uint8_t src[8] = {0x56, 0x34, 0x12, 0xff, 1, 2, 3, 4};
    uint32_t dst[2];
    r.read_row(src, 2, dst);
    EXPECT_EQ(dst[0], 0x123456u);
    EXPECT_EQ(dst[1], 0x030201u);
}

TEST(PixelConverter, ColourMapFormatWithZeroMaxesDoesNotHang) {
    PixelFormat pf;
    pf.bits_per_pixel = 8;
    pf.depth = 8;
    pf.true_colour = false;
    pf.red_max = pf.green_max = pf.blue_max = 0;
    pf.red_shift = pf.green_shift = pf.blue_shift = 0;
    PixelReader r(pf);
    r.set_colour(5, 0xffff, 0x8000, 0x0000);
    const uint8_t px = 5;
    EXPECT_EQ(r.load(&px), 0xff8000u);
}

TEST(Framebuffer, RejectsOutOfBoundsWrites) {
    Framebuffer fb(10, 10);
    EXPECT_FALSE(fb.fill(Rect{5, 5, 6, 1}, 1));
    EXPECT_FALSE(fb.fill(Rect{0xffffffffu, 0, 2, 1}, 1));
    EXPECT_TRUE(fb.fill(Rect{5, 5, 5, 5}, 7));
    EXPECT_EQ(fb.at(9, 9), 7u);
    EXPECT_FALSE(fb.copy_within(8, 8, Rect{0, 0, 3, 3}));
    EXPECT_FALSE(fb.resize(0, 10));
    EXPECT_FALSE(fb.resize(16385, 10));
    EXPECT_EQ(fb.width(), 10u);
}

TEST(Framebuffer, CopyWithinHandlesOverlap) {
    Framebuffer fb(4, 4);
    for (uint32_t y = 0; y < 4; ++y)
        for (uint32_t x = 0; x < 4; ++x)
            fb.row(y)[x] = y * 4 + x;
    ASSERT_TRUE(fb.copy_within(0, 0, Rect{1, 1, 3, 3}));
    EXPECT_EQ(fb.at(1, 1), 0u);
    EXPECT_EQ(fb.at(3, 3), 10u);
    ASSERT_TRUE(fb.copy_within(1, 1, Rect{0, 0, 3, 3}));
    EXPECT_EQ(fb.at(0, 0), 0u);
    EXPECT_EQ(fb.at(2, 2), 10u);
}

TEST(EncodingNames, ParseListKeepsOrderAndNamesTheBadOne) {
    std::vector<int32_t> out;
    std::string bad;
    ASSERT_TRUE(encoding::parse_list("zrle,hextile,raw", out, bad));
    EXPECT_EQ(out, (std::vector<int32_t>{encoding::kZRLE, encoding::kHextile, encoding::kRaw}));
    EXPECT_FALSE(encoding::parse_list("zrle,bogus,raw", out, bad));
    EXPECT_EQ(bad, "bogus");
    EXPECT_FALSE(encoding::parse_list("zrle,", out, bad));  // trailing comma: empty name
    EXPECT_EQ(bad, "");
}

}  // namespace
}  // namespace rfb
