#include "codec/rre_encoder.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "codec/rfb_constants.h"
#include "encoder_test_content.h"
#include "viewer_stream_support.h"

namespace rfb {
namespace {

using Bytes = std::vector<uint8_t>;

constexpr uint32_t kWhite = 0xffffff, kRed = 0xff0000, kGreen = 0x00ff00, kBlue = 0x0000ff;

Bytes encode(const Framebuffer& fb, const Rect& r, const PixelFormat& pf) {
    RreEncoder enc;
    Bytes out;
    EXPECT_TRUE(enc.encode(fb, r, PixelWriter(pf), EncodeTuning{}, out));
    return out;
}

// Canonical 32 bpp wire pixel: B, G, R, pad.
Bytes px32(uint32_t c) {
    return {uint8_t(c), uint8_t(c >> 8), uint8_t(c >> 16), 0};
}

Bytes cat(std::initializer_list<Bytes> parts) {
    Bytes out;
    for (const Bytes& p : parts)
        out.insert(out.end(), p.begin(), p.end());
    return out;
}

Bytes u16s(std::initializer_list<uint16_t> v) {
    Bytes out;
    for (uint16_t x : v)
        out.insert(out.end(), {uint8_t(x >> 8), uint8_t(x)});
    return out;
}

TEST(RreEncoder, OneBlockOnABackground) {
    Framebuffer fb(6, 6);
    fb.fill(fb.bounds(), kWhite);
    fb.fill(Rect{2, 2, 2, 2}, kRed);
    // The rectangle starts at (1, 1): subrectangle coordinates are relative to it.
    EXPECT_EQ(encode(fb, Rect{1, 1, 4, 4}, PixelFormat::canonical()),
              cat({{0, 0, 0, 1}, px32(kWhite), px32(kRed), u16s({1, 1, 2, 2})}));
}

TEST(RreEncoder, BackgroundIsTheMostCommonPixel) {
    Framebuffer fb(3, 1);
    fb.row(0)[0] = kBlue;
    fb.row(0)[1] = kGreen;
    fb.row(0)[2] = kGreen;
    EXPECT_EQ(encode(fb, fb.bounds(), PixelFormat::canonical()),
              cat({{0, 0, 0, 1}, px32(kGreen), px32(kBlue), u16s({0, 0, 1, 1})}));
    // Five red pixels (an L) outnumber four white ones: white becomes the subrectangle.
    Framebuffer l(3, 3);
    l.fill(l.bounds(), kWhite);
    l.fill(Rect{0, 0, 3, 1}, kRed);
    l.fill(Rect{0, 0, 1, 3}, kRed);
    EXPECT_EQ(encode(l, l.bounds(), PixelFormat::canonical()),
              cat({{0, 0, 0, 1}, px32(kRed), px32(kWhite), u16s({1, 1, 2, 2})}));
}

TEST(RreEncoder, SolidRectangleHasNoSubrectangles) {
    Framebuffer fb(70, 3);
    fb.fill(fb.bounds(), 0x123456);
    EXPECT_EQ(encode(fb, fb.bounds(), PixelFormat::canonical()),
              cat({{0, 0, 0, 0}, px32(0x123456)}));
    // RGB565, channels narrowed as (v * max + 128) / 255: red 2, green 13, blue 10 -> 0x11aa.
    EXPECT_EQ(encode(fb, fb.bounds(), PixelFormat::rgb565()), (Bytes{0, 0, 0, 0, 0xaa, 0x11}));
}

TEST(RreEncoder, PixelsEqualInTheViewersFormatAreOneColour) {
    // BGR233 keeps only the top bits: these three canonical colours are all pixel value 0.
    Framebuffer fb(3, 1);
    fb.row(0)[0] = 0x000001;
    fb.row(0)[1] = 0x000002;
    fb.row(0)[2] = 0x030000;
    EXPECT_EQ(encode(fb, fb.bounds(), PixelFormat::bgr233()), (Bytes{0, 0, 0, 0, 0}));
}

TEST(RreEncoder, WidestFirstOnATie) {
    // An L in a 4x4 white square: three pixels of the top row and of the left column. Both
    // searches from (0, 0) find 3 pixels.
    Framebuffer fb(4, 4);
    fb.fill(fb.bounds(), kWhite);
    fb.fill(Rect{0, 0, 3, 1}, kRed);
    fb.fill(Rect{0, 0, 1, 3}, kRed);
    EXPECT_EQ(encode(fb, fb.bounds(), PixelFormat::canonical()), cat({{0, 0, 0, 2},
                                                                      px32(kWhite),
                                                                      px32(kRed),
                                                                      u16s({0, 0, 3, 1}),
                                                                      px32(kRed),
                                                                      u16s({0, 1, 1, 2})}));
}

TEST(RreEncoder, TallestFirstWhenItCoversMore) {
    Framebuffer fb(3, 3);
    fb.fill(fb.bounds(), kWhite);
    fb.fill(Rect{0, 0, 1, 3}, kRed);
    fb.row(0)[1] = kRed;
    EXPECT_EQ(encode(fb, fb.bounds(), PixelFormat::canonical()), cat({{0, 0, 0, 2},
                                                                      px32(kWhite),
                                                                      px32(kRed),
                                                                      u16s({0, 0, 1, 3}),
                                                                      px32(kRed),
                                                                      u16s({1, 0, 1, 1})}));
}

TEST(RreEncoder, ViewerFormatsAndByteOrder) {
    Framebuffer fb(2, 1);
    fb.row(0)[0] = kWhite;
    fb.row(0)[1] = kGreen;
    // Tie on the count: the first colour to reach it (white) is the background.
    EXPECT_EQ(encode(fb, fb.bounds(), test::canonical_be()),
              cat({{0, 0, 0, 1}, {0, 0xff, 0xff, 0xff}, {0, 0, 0xff, 0}, u16s({1, 0, 1, 1})}));
    EXPECT_EQ(encode(fb, fb.bounds(), PixelFormat::rgb565()),
              cat({{0, 0, 0, 1}, {0xff, 0xff}, {0xe0, 0x07}, u16s({1, 0, 1, 1})}));
    EXPECT_EQ(encode(fb, fb.bounds(), PixelFormat::bgr233()),
              cat({{0, 0, 0, 1}, {0xff}, {0x38}, u16s({1, 0, 1, 1})}));
}

TEST(RreEncoder, CheckerboardIsOneSubrectanglePerForegroundPixel) {
    Framebuffer fb(16, 16);
    for (uint32_t y = 0; y < 16; ++y)
        for (uint32_t x = 0; x < 16; ++x)
            fb.row(y)[x] = (x + y) % 2 ? kRed : kWhite;
    RreEncoder enc;
    Bytes out;
    ASSERT_TRUE(enc.encode(fb, fb.bounds(), PixelWriter(PixelFormat::canonical()), {}, out));
    EXPECT_EQ(enc.last_subrects(), 128u);
    EXPECT_EQ(out.size(), RreEncoder::body_size(128, 4));
    EXPECT_EQ(out.size(), 4u + 4 + 128 * 12);
    EXPECT_EQ(Bytes(out.begin(), out.begin() + 4), (Bytes{0, 0, 0, 128}));
}

TEST(RreEncoder, RefusesCostlyBodiesOnlyWhenAsked) {
    // 8 bpp, 4x4: Raw is 16 bytes; RRE is 5 + 9 per subrectangle, so one fits and two do not.
    Framebuffer fb(4, 4);
    fb.fill(fb.bounds(), kWhite);
    fb.row(0)[0] = kRed;
    const PixelWriter px(PixelFormat::bgr233());
    EXPECT_EQ(RreEncoder::raw_body_size(fb.bounds(), 1), 16u);
    EXPECT_EQ(RreEncoder::body_size(1, 1), 14u);
    EXPECT_EQ(RreEncoder::body_size(2, 1), 23u);
    RreEncoder picky(/*refuse_costly=*/true);
    Bytes out{9};
    ASSERT_TRUE(picky.encode(fb, fb.bounds(), px, {}, out));
    EXPECT_EQ(out.size(), 1u + 14);
    fb.row(3)[3] = kGreen;
    out = {9};
    EXPECT_FALSE(picky.encode(fb, fb.bounds(), px, {}, out));
    EXPECT_EQ(out, (Bytes{9}));  // untouched
    // By default RRE is produced anyway: a viewer that only knows RRE still gets its pixels.
    RreEncoder always;
    ASSERT_TRUE(always.encode(fb, fb.bounds(), px, {}, out));
    EXPECT_EQ(out.size(), 1u + 23);
    EXPECT_EQ(always.last_subrects(), 2u);

    // Noise at 32 bpp is refused; text is not.
    Framebuffer big(64, 64);
    test::fill_noise(big, big.bounds(), 7);
    const PixelWriter px32w(PixelFormat::canonical());
    out.clear();
    EXPECT_FALSE(picky.encode(big, big.bounds(), px32w, {}, out));
    EXPECT_TRUE(out.empty());
    test::fill_text(big, big.bounds(), 8);
    ASSERT_TRUE(picky.encode(big, big.bounds(), px32w, {}, out));
    EXPECT_LE(out.size(), RreEncoder::raw_body_size(big.bounds(), 4));
}

TEST(RreEncoder, RefusesWhatItCannotEncode) {
    Framebuffer fb(16, 16);
    RreEncoder enc;
    Bytes out{1, 2, 3};
    EXPECT_FALSE(
        enc.encode(fb, Rect{10, 10, 7, 1}, PixelWriter(PixelFormat::canonical()), {}, out));
    PixelFormat pf24 = PixelFormat::canonical();
    pf24.bits_per_pixel = 24;
    EXPECT_FALSE(enc.encode(fb, Rect{0, 0, 4, 4}, PixelWriter(pf24), {}, out));
    EXPECT_EQ(out, (Bytes{1, 2, 3}));
}

TEST(RreEncoder, EmptyRectangle) {
    Framebuffer fb(8, 8);
    EXPECT_EQ(encode(fb, Rect{8, 0, 0, 8}, PixelFormat::canonical()),
              (Bytes{0, 0, 0, 0, 0, 0, 0, 0}));
    test::ViewerConnectionSim viewer(encoding::kRRE, PixelFormat::canonical(), 8, 8);
    EXPECT_TRUE(
        viewer.receive(Rect{8, 0, 0, 8}, encode(fb, Rect{8, 0, 0, 8}, PixelFormat::canonical())));
}

TEST(RreEncoder, SamePixelsGiveTheSameBytesAnywhere) {
    Framebuffer fb(200, 150);
    test::fill_ui(fb, fb.bounds(), 3);
    const Rect a{10, 10, 130, 70};
    Framebuffer moved(300, 300);
    std::vector<uint32_t> tmp(a.area());
    ASSERT_TRUE(fb.get(a, tmp.data()));
    ASSERT_TRUE(moved.put(Rect{77, 123, a.w, a.h}, tmp.data(), a.w));
    for (const PixelFormat& pf : test::viewer_formats()) {
        RreEncoder enc;
        Bytes a1, a2, a3;
        ASSERT_TRUE(enc.encode(fb, a, PixelWriter(pf), {}, a1));
        ASSERT_TRUE(enc.encode(moved, Rect{77, 123, a.w, a.h}, PixelWriter(pf), {}, a2));
        RreEncoder fresh;
        ASSERT_TRUE(fresh.encode(fb, a, PixelWriter(pf), {}, a3));
        EXPECT_EQ(a1, a2) << pf.describe();
        EXPECT_EQ(a1, a3) << pf.describe();
    }
}

TEST(RreEncoder, RoundTripsThroughTheDecoder) {
    test::Lcg g{2024};
    Framebuffer fb(160, 160);
    const auto formats = test::viewer_formats();
    const Rect edges[] = {Rect{0, 0, 1, 1},    Rect{159, 159, 1, 1}, Rect{0, 0, 160, 160},
                          Rect{3, 5, 63, 129}, Rect{10, 0, 1, 160},  Rect{0, 10, 160, 1}};
    for (int iter = 0; iter < 80; ++iter) {
        switch (g.below(5)) {
            case 0:
                test::fill_noise(fb, fb.bounds(), g.next());
                break;
            case 1:
                test::fill_palette(fb, fb.bounds(), g.next(), 2 + g.below(6));
                break;
            case 2:
                test::fill_ui(fb, fb.bounds(), g.next());
                break;
            case 3:
                test::fill_gradient(fb, fb.bounds());
                break;
            default:
                test::fill_text(fb, fb.bounds(), g.next());
                break;
        }
        const uint32_t w = 1 + g.below(160), h = 1 + g.below(160);
        const Rect r = iter < 6 ? edges[iter] : Rect{g.below(161 - w), g.below(161 - h), w, h};
        const PixelFormat& pf = formats[g.below(formats.size())];
        test::ViewerConnectionSim viewer(encoding::kRRE, pf, 160, 160);
        RreEncoder enc;
        Bytes body;
        ASSERT_TRUE(enc.encode(fb, r, PixelWriter(pf), {}, body));
        EXPECT_EQ(body.size(), RreEncoder::body_size(enc.last_subrects(), pf.bytes_per_pixel()));
        ASSERT_TRUE(viewer.receive(r, body)) << "iteration " << iter << " " << pf.describe();
        ASSERT_TRUE(test::shows(viewer.view(), fb, r, pf))
            << "iteration " << iter << " " << pf.describe();
    }
}

TEST(RreEncoder, TextNeedsFarFewerSubrectanglesThanPixels) {
    Framebuffer fb(64, 64);
    test::fill_text(fb, fb.bounds(), 77);
    RreEncoder enc;
    Bytes out;
    ASSERT_TRUE(enc.encode(fb, fb.bounds(), PixelWriter(PixelFormat::canonical()), {}, out));
    size_t foreground = 0;
    for (uint32_t v : fb.pixels())
        foreground += v != kWhite;
    EXPECT_GT(enc.last_subrects(), 0u);
    EXPECT_LT(enc.last_subrects(), foreground);
}

}  // namespace
}  // namespace rfb
