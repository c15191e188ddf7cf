#include "codec/raw_encoder.h"

#include <gtest/gtest.h>

#include <vector>

#include "codec/hextile_encoder.h"
#include "codec/zrle_encoder.h"
#include "encoder_test_content.h"

namespace rfb {
namespace {

std::vector<uint8_t> encode_raw(const Framebuffer& fb, const Rect& r, const PixelFormat& pf) {
    RawEncoder enc;
    PixelWriter px(pf);
    std::vector<uint8_t> out;
    EXPECT_TRUE(enc.encode(fb, r, px, EncodeTuning{}, out));
    return out;
}

TEST(RawEncoder, CanonicalPixelsAreLittleEndianBgrx) {
    Framebuffer fb(4, 4);
    fb.fill(fb.bounds(), 0x00aabbcc);
    fb.row(1)[1] = 0x00112233;
    fb.row(1)[2] = 0x00445566;
    const auto out = encode_raw(fb, Rect{1, 1, 2, 1}, PixelFormat::canonical());
    EXPECT_EQ(out, (std::vector<uint8_t>{0x33, 0x22, 0x11, 0x00, 0x66, 0x55, 0x44, 0x00}));
}

TEST(RawEncoder, BigEndian32) {
    Framebuffer fb(2, 1);
    fb.row(0)[0] = 0x00112233;
    fb.row(0)[1] = 0x00ffffff;
    const auto out = encode_raw(fb, fb.bounds(), test::canonical_be());
    EXPECT_EQ(out, (std::vector<uint8_t>{0x00, 0x11, 0x22, 0x33, 0x00, 0xff, 0xff, 0xff}));
}

TEST(RawEncoder, Rgb565AndBgr233) {
    Framebuffer fb(3, 1);
    fb.row(0)[0] = 0xff0000;
    fb.row(0)[1] = 0x00ff00;
    fb.row(0)[2] = 0x0000ff;
    EXPECT_EQ(encode_raw(fb, fb.bounds(), PixelFormat::rgb565()),
              (std::vector<uint8_t>{0x00, 0xf8, 0xe0, 0x07, 0x1f, 0x00}));
    EXPECT_EQ(encode_raw(fb, fb.bounds(), PixelFormat::bgr233()),
              (std::vector<uint8_t>{0x07, 0x38, 0xc0}));
}

TEST(RawEncoder, RowsOfASubRectangleInOrder) {
    // Channel values that are exact bgr233 levels (bit-replicated), so the expected bytes do not
    // depend on how PixelWriter rounds in-between values.
    const uint32_t red3[8] = {0, 36, 73, 109, 146, 182, 219, 255};
    const uint32_t blue2[4] = {0, 85, 170, 255};
    Framebuffer fb(5, 4);
    for (uint32_t y = 0; y < 4; ++y)
        for (uint32_t x = 0; x < 5; ++x)
            fb.row(y)[x] = red3[(x + y) % 8] << 16 | blue2[(x * y) % 4];
    const auto out = encode_raw(fb, Rect{2, 1, 3, 3}, PixelFormat::bgr233());
    // bgr233: red in bits 0-2, green in bits 3-5, blue in bits 6-7.
    std::vector<uint8_t> want;
    for (uint32_t y = 1; y < 4; ++y)
        for (uint32_t x = 2; x < 5; ++x)
            want.push_back(static_cast<uint8_t>((x + y) % 8 | ((x * y) % 4) << 6));
    EXPECT_EQ(out, want);
    EXPECT_EQ(want[0], 3 | (2 << 6));  // x=2, y=1
}

TEST(RawEncoder, AppendsAndHandlesEdges) {
    Framebuffer fb(3, 3);
    fb.fill(fb.bounds(), 0x010203);
    RawEncoder enc;
    PixelWriter px(PixelFormat::canonical());
    std::vector<uint8_t> out{0xaa};
    ASSERT_TRUE(enc.encode(fb, Rect{2, 2, 1, 1}, px, EncodeTuning{}, out));
    EXPECT_EQ(out, (std::vector<uint8_t>{0xaa, 0x03, 0x02, 0x01, 0x00}));
    ASSERT_TRUE(enc.encode(fb, Rect{3, 0, 0, 3}, px, EncodeTuning{}, out));  // empty, at the edge
    EXPECT_EQ(out.size(), 5u);
}

TEST(RawEncoder, RejectsRectanglesOutsideTheFramebuffer) {
    Framebuffer fb(8, 8);
    PixelWriter px(PixelFormat::canonical());
    std::vector<uint8_t> out{1, 2};
    for (int32_t e : {encoding::kRaw, encoding::kHextile, encoding::kZRLE}) {
        auto enc = make_encoder(e);
        EXPECT_FALSE(enc->encode(fb, Rect{4, 4, 5, 1}, px, EncodeTuning{}, out));
        EXPECT_FALSE(enc->encode(fb, Rect{0, 9, 1, 0}, px, EncodeTuning{}, out));
        EXPECT_FALSE(enc->encode(fb, Rect{0xfffffff0u, 0, 0x20, 1}, px, EncodeTuning{}, out));
        EXPECT_EQ(out, (std::vector<uint8_t>{1, 2}));
    }
}

TEST(RawEncoder, RejectsPixelSizesItCannotWrite) {
    Framebuffer fb(2, 2);
    PixelFormat pf = PixelFormat::canonical();
    pf.bits_per_pixel = 24;  // invalid per spec; PixelWriter would report 3 bytes
    PixelWriter px(pf);
    std::vector<uint8_t> out;
    for (int32_t e : {encoding::kRaw, encoding::kHextile, encoding::kZRLE}) {
        auto enc = make_encoder(e);
        EXPECT_FALSE(enc->encode(fb, fb.bounds(), px, EncodeTuning{}, out));
        EXPECT_TRUE(out.empty());
    }
}

TEST(EncoderRegistry, KnowsRawHextileAndZrleOnly) {
    auto raw = make_encoder(encoding::kRaw);
    auto hex = make_encoder(encoding::kHextile);
    auto zrle = make_encoder(encoding::kZRLE);
    ASSERT_TRUE(raw && hex && zrle);
    EXPECT_EQ(raw->encoding(), 0);
    EXPECT_EQ(hex->encoding(), 5);
    EXPECT_EQ(zrle->encoding(), 16);
    EXPECT_NE(dynamic_cast<RawEncoder*>(raw.get()), nullptr);
    EXPECT_NE(dynamic_cast<HextileEncoder*>(hex.get()), nullptr);
    EXPECT_NE(dynamic_cast<ZrleEncoder*>(zrle.get()), nullptr);
    EXPECT_EQ(make_encoder(encoding::kCopyRect), nullptr);
    EXPECT_EQ(make_encoder(encoding::kTRLE), nullptr);
    EXPECT_EQ(make_encoder(encoding::kDesktopSize), nullptr);
    EXPECT_EQ(make_encoder(12345), nullptr);
}

TEST(RawEncoder, RoundTripsEveryFormat) {
    Framebuffer fb(37, 19);
    test::fill_noise(fb, fb.bounds(), 7);
    for (const PixelFormat& pf : test::viewer_formats()) {
        PixelWriter px(pf);
        const Rect r{3, 2, 31, 17};
        const auto out = encode_raw(fb, r, pf);
        ASSERT_EQ(out.size(), r.area() * pf.bytes_per_pixel()) << pf.describe();
        for (uint32_t y = 0; y < r.h; ++y)
            for (uint32_t x = 0; x < r.w; ++x) {
                const size_t i = (size_t{y} * r.w + x) * pf.bytes_per_pixel();
                ASSERT_EQ(test::load_packed(&out[i], pf.bytes_per_pixel(), pf.big_endian),
                          px.pack(fb.at(r.x + x, r.y + y)))
                    << pf.describe() << " at " << x << "," << y;
            }
    }
}

}  // namespace
}  // namespace rfb
