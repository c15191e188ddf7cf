#include "codec/tight_decoder.h"

#include <gtest/gtest.h>
#include <turbojpeg.h>

#include <random>

#include "decoder_test_support.h"

namespace rfb {
namespace {

using test::Bytes;
using test::Deflater;

constexpr uint32_t kR = 0xff0000, kG = 0x00ff00, kB = 0x0000ff, kW = 0xffffff, kK = 0;

// The spec's compact length: 7 bits, 7 bits, 8 bits, least significant first.
Bytes& compact(Bytes& b, size_t n) {
    if (n < 128) return b.u8(n);
    if (n < 16384) return b.u8(0x80 | (n & 0x7f)).u8(n >> 7);
    return b.u8(0x80 | (n & 0x7f)).u8(0x80 | ((n >> 7) & 0x7f)).u8(n >> 14);
}

// TPIXEL of an 888 format: R, G, B.
Bytes& tpx(Bytes& b, uint32_t rgb) {
    return b.u8(rgb >> 16).u8(rgb >> 8).u8(rgb);
}

std::unique_ptr<RectDecoder> fresh() {
    return std::make_unique<TightDecoder>();
}

test::DecodeCase tight_case(uint32_t fb_w, uint32_t fb_h, Rect r, std::vector<uint8_t> body,
                            PixelFormat pf = PixelFormat::canonical()) {
    return {fresh, pf, fb_w, fb_h, r, std::move(body)};
}

void expect_rect(const test::DecodeCase& c, const std::vector<uint32_t>& inside) {
    test::expect_decodes_to(c, test::expected_fb(c.fb_w, c.fb_h, c.r, inside));
    test::expect_truncations_wait(c);
}

TEST(TightDecoder, CompactLengthMatchesSpecExample) {
    Bytes b;
    compact(b, 10000);
    EXPECT_EQ(b.v, (std::vector<uint8_t>{0x90, 0x4e}));
}

TEST(TightDecoder, Fill888IsRgbOrder) {
    Bytes b;
    b.u8(0x80).u8(0x12).u8(0x34).u8(0x56);
    expect_rect(tight_case(5, 4, Rect{1, 1, 3, 2}, b.v), std::vector<uint32_t>(6, 0x123456));
}

TEST(TightDecoder, Fill565IsAPixel) {
    Bytes b;
    b.u8(0x80).px16(0x8410);
    expect_rect(tight_case(5, 4, Rect{0, 0, 2, 2}, b.v, PixelFormat::rgb565()),
                std::vector<uint32_t>(4, 0x848284));
}

TEST(TightDecoder, FillMayBeWiderThan2048) {
    Bytes b;
    b.u8(0x80);
    tpx(b, kG);
    test::expect_decodes_to(tight_case(3000, 1, Rect{0, 0, 3000, 1}, b.v),
                            std::vector<uint32_t>(3000, kG));
}

TEST(TightDecoder, BasicCopyUncompressed) {
    Bytes b;
    b.u8(0x00);  // basic, stream 0, no filter byte: copy; 6 bytes < 12 so sent raw
    tpx(b, kR);
    tpx(b, 0x010203);
    expect_rect(tight_case(4, 4, Rect{2, 3, 2, 1}, b.v), {kR, 0x010203});
}

TEST(TightDecoder, BasicCopyCompressedOnStream1) {
    Bytes raw;
    for (uint32_t p : {kR, kG, kB, 0x123456u})
        tpx(raw, p);  // 12 bytes: compressed
    Deflater z;
    const auto zdata = z.compress(raw.v);
    Bytes b;
    b.u8(0x10);  // stream 1
    compact(b, zdata.size()).raw(zdata);
    expect_rect(tight_case(4, 4, Rect{1, 1, 2, 2}, b.v), {kR, kG, kB, 0x123456});
}

TEST(TightDecoder, BasicCopy565) {
    Bytes b;
    b.u8(0x40).u8(0).px16(0xf800).px16(0x07e0);  // explicit copy filter, 4 bytes raw
    expect_rect(tight_case(4, 4, Rect{0, 0, 2, 1}, b.v, PixelFormat::rgb565()), {kR, kG});
}

TEST(TightDecoder, TwoAndThreeByteCompactLengths) {
    for (uint32_t w : {64u, 2048u}) {
        SCOPED_TRACE(w);
        const Rect r{0, 0, w, 3};
        std::mt19937 rng(w);
        std::vector<uint32_t> want(r.area());
        Bytes raw;
        for (auto& p : want)
            tpx(raw, p = rng() & 0xffffff);
        Deflater z(0);  // stored blocks: the zlib data is a little longer than the raw data
        const auto zdata = z.compress(raw.v);
        Bytes b;
        b.u8(0x00);
        compact(b, zdata.size()).raw(zdata);
        ASSERT_EQ(b.size() - zdata.size(), w == 64 ? 3u : 4u);
        Framebuffer fb;
        const test::Outcome o = test::run_case(tight_case(w, 3, r, b.v), {}, fb);
        ASSERT_EQ(o.status, DecodeStatus::kDone) << o.error;
        EXPECT_EQ(o.consumed, b.size());
        EXPECT_EQ(test::pixels_of(fb), want);
    }
}

TEST(TightDecoder, TwoColourPaletteIsOneBitPerPixel) {
    Bytes b;
    b.u8(0x40).u8(1).u8(1);  // palette filter, 2 colours
    tpx(b, kK);
    tpx(b, kW);
    b.u8(0x80).u8(0xc0);  // 10 wide: 1 0 0 0 0 0 0 0 | 1 1
    b.u8(0x00).u8(0x40);  // 0 0 0 0 0 0 0 0 | 0 1   (4 bytes < 12: raw)
    std::vector<uint32_t> want(20, kK);
    want[0] = want[8] = want[9] = want[19] = kW;
    expect_rect(tight_case(12, 3, Rect{1, 1, 10, 2}, b.v), want);
}

TEST(TightDecoder, PaletteOfFiveIsOneBytePerPixel) {
    Bytes idx;
    for (uint8_t i : {0, 1, 2, 3, 4, 4, 3, 2, 1, 0, 0, 4})
        idx.u8(i);  // 4x3: compressed
    Deflater z;
    const auto zdata = z.compress(idx.v);
    Bytes b;
    b.u8(0x60).u8(1).u8(4);  // stream 2, palette filter, 5 colours
    for (uint32_t p : {kK, kR, kG, kB, kW})
        tpx(b, p);
    compact(b, zdata.size()).raw(zdata);
    expect_rect(tight_case(4, 3, Rect{0, 0, 4, 3}, b.v),
                {kK, kR, kG, kB, kW, kW, kB, kG, kR, kK, kK, kW});
}

TEST(TightDecoder, Gradient888) {
    // Differences from the prediction P = left + up - upleft (zero outside the rectangle):
    // (0,0) P 0; (1,0) P = left; (0,1) P = up; (1,1) P = 70+40-10 etc. = the value itself.
    Bytes d;
    d.u8(10).u8(20).u8(30).u8(30).u8(30).u8(30);
    d.u8(60).u8(60).u8(60).u8(0).u8(0).u8(0);
    Deflater z;
    const auto zdata = z.compress(d.v);
    Bytes b;
    b.u8(0x40).u8(2);
    compact(b, zdata.size()).raw(zdata);
    expect_rect(tight_case(2, 2, Rect{0, 0, 2, 2}, b.v), {0x0a141e, 0x28323c, 0x46505a, 0x646e78});
}

TEST(TightDecoder, GradientPredictionIsClampedAndSumsWrap) {
    // V: (0,0)=0, (1,0)=250, (0,1)=250, (1,1)=5 per channel. P(1,1) = 250+250-0 clamps to 255,
    // so D = 5 - 255 = 6 (mod 256).
    Bytes d;
    d.repeat(0, 3).repeat(250, 3).repeat(250, 3).repeat(6, 3);
    Deflater z;
    const auto zdata = z.compress(d.v);
    Bytes b;
    b.u8(0x40).u8(2);
    compact(b, zdata.size()).raw(zdata);
    expect_rect(tight_case(2, 2, Rect{0, 0, 2, 2}, b.v), {0, 0xfafafa, 0xfafafa, 0x050505});
}

TEST(TightDecoder, Gradient565UsesChannelMaxima) {
    // V(0,0) = 0xffff (31,63,31), D = V. V(1,0) = 0x8410 (16,32,16), P = left, so
    // D = (16-31)&31, (32-63)&63, (16-31)&31 = 17, 33, 17 = 0x8c31.
    Bytes b;
    b.u8(0x40).u8(2).px16(0xffff).px16(0x8c31);
    expect_rect(tight_case(2, 1, Rect{0, 0, 2, 1}, b.v, PixelFormat::rgb565()),
                {0xffffff, 0x848284});
}

std::vector<uint8_t> make_jpeg(uint32_t w, uint32_t h, uint32_t rgb) {
    std::vector<uint8_t> pixels(size_t{w} * h * 3);
    for (size_t i = 0; i < pixels.size(); i += 3) {
        pixels[i] = static_cast<uint8_t>(rgb >> 16);
        pixels[i + 1] = static_cast<uint8_t>(rgb >> 8);
        pixels[i + 2] = static_cast<uint8_t>(rgb);
    }
    tjhandle h_ = tjInitCompress();
    unsigned char* out = nullptr;
    unsigned long size = 0;
    EXPECT_EQ(tjCompress2(h_, pixels.data(), static_cast<int>(w), 0, static_cast<int>(h), TJPF_RGB,
                          &out, &size, TJSAMP_444, 95, 0),
              0);
    std::vector<uint8_t> jpeg(out, out + size);
    tjFree(out);
    tjDestroy(h_);
    return jpeg;
}

TEST(TightDecoder, Jpeg) {
    const Rect r{2, 1, 16, 8};
    const auto jpeg = make_jpeg(16, 8, 0x3080c0);
    Bytes b;
    b.u8(0x90);
    compact(b, jpeg.size()).raw(jpeg);
    const auto c = tight_case(20, 10, r, b.v);
    Framebuffer fb;
    const test::Outcome o = test::run_case(c, {}, fb);
    ASSERT_EQ(o.status, DecodeStatus::kDone) << o.error;
    EXPECT_EQ(o.consumed, b.size());
    EXPECT_TRUE(test::outside_untouched(fb, r, test::kSentinel));
    for (uint32_t p : test::rect_pixels(fb, r)) {
        EXPECT_EQ(p >> 24, 0u);  // no stray alpha byte
        EXPECT_NEAR(static_cast<int>((p >> 16) & 0xff), 0x30, 3);
        EXPECT_NEAR(static_cast<int>((p >> 8) & 0xff), 0x80, 3);
        EXPECT_NEAR(static_cast<int>(p & 0xff), 0xc0, 3);
    }
    test::expect_truncations_wait(c);
}

TEST(TightDecoder, RejectsJpegOfAnotherSizeOrGarbage) {
    const auto jpeg = make_jpeg(8, 8, kR);
    Bytes b;
    b.u8(0x90);
    compact(b, jpeg.size()).raw(jpeg);
    test::expect_rejected(tight_case(20, 10, Rect{0, 0, 16, 8}, b.v),
                          "tight: JPEG size differs from the rectangle");
    Bytes g;
    g.u8(0x90).u8(4).u8(1).u8(2).u8(3).u8(4);
    test::expect_rejected(tight_case(20, 10, Rect{0, 0, 16, 8}, g.v), "tight: bad JPEG");
}

// Stream 0 carries on across rectangles until a reset bit restarts it, whatever the method.
TEST(TightDecoder, ResetBitsRestartStreams) {
    Framebuffer fb = test::filled_fb(4, 4, test::kSentinel);
    PixelReader px(PixelFormat::canonical());
    DecodeTarget t{fb, px};
    TightDecoder d;
    auto basic_rect = [](Deflater& z, uint8_t ctl, uint32_t colour) {
        Bytes raw;
        for (int i = 0; i < 4; ++i)
            tpx(raw, colour);
        const auto zdata = z.compress(raw.v);
        Bytes b;
        b.u8(ctl);
        compact(b, zdata.size()).raw(zdata);
        return b.v;
    };
    Deflater first;
    ASSERT_EQ(d.decode(Rect{0, 0, 2, 2}, basic_rect(first, 0x00, kR), t).status,
              DecodeStatus::kDone);

    // A fresh stream on stream 0 without a reset is garbage to the decoder...
    TightDecoder d2;
    Deflater a;
    ASSERT_EQ(d2.decode(Rect{0, 0, 2, 2}, basic_rect(a, 0x00, kR), t).status, DecodeStatus::kDone);
    Deflater b_;
    EXPECT_EQ(d2.decode(Rect{0, 0, 2, 2}, basic_rect(b_, 0x00, kG), t).status,
              DecodeStatus::kError);

    // ...but a Fill rectangle carrying reset bit 0 makes it valid.
    Bytes fill;
    fill.u8(0x81);
    tpx(fill, kB);
    ASSERT_EQ(d.decode(Rect{2, 2, 2, 2}, fill.v, t).status, DecodeStatus::kDone);
    Deflater second;
    const DecodeResult res = d.decode(Rect{0, 0, 2, 2}, basic_rect(second, 0x00, kG), t);
    ASSERT_EQ(res.status, DecodeStatus::kDone) << res.error;
    EXPECT_EQ(fb.at(0, 0), kG);
    EXPECT_EQ(fb.at(3, 3), kB);
}

TEST(TightDecoder, IncompleteBodyDoesNotResetStreams) {
    Framebuffer fb = test::filled_fb(4, 4, test::kSentinel);
    PixelReader px(PixelFormat::canonical());
    DecodeTarget t{fb, px};
    TightDecoder d;
    Deflater z;
    auto rect_on_stream0 = [&](uint32_t colour) {
        Bytes raw;
        for (int i = 0; i < 4; ++i)
            tpx(raw, colour);
        const auto zdata = z.compress(raw.v);
        Bytes b;
        b.u8(0x00);
        compact(b, zdata.size()).raw(zdata);
        return b.v;
    };
    ASSERT_EQ(d.decode(Rect{0, 0, 2, 2}, rect_on_stream0(kR), t).status, DecodeStatus::kDone);
    Bytes partial;
    partial.u8(0x8f).u8(0x11);  // Fill with all reset bits, one colour byte short
    ASSERT_EQ(d.decode(Rect{0, 0, 2, 2}, partial.v, t).status, DecodeStatus::kNeedMore);
    const DecodeResult res = d.decode(Rect{0, 0, 2, 2}, rect_on_stream0(kG), t);
    ASSERT_EQ(res.status, DecodeStatus::kDone) << res.error;
    EXPECT_EQ(fb.at(1, 1), kG);
}

TEST(TightDecoder, StreamsAreIndependent) {
    Framebuffer fb = test::filled_fb(2, 2, test::kSentinel);
    PixelReader px(PixelFormat::canonical());
    DecodeTarget t{fb, px};
    TightDecoder d;
    Deflater z[4];
    for (int round = 0; round < 3; ++round)
        for (int s : {0, 3, 1, 2}) {
            Bytes raw;
            for (int i = 0; i < 4; ++i)
                tpx(raw, 0x010101u * static_cast<uint32_t>(s + 4 * round));
            const auto zdata = z[s].compress(raw.v);
            Bytes b;
            b.u8(static_cast<uint32_t>(s) << 4);
            compact(b, zdata.size()).raw(zdata);
            const DecodeResult res = d.decode(Rect{0, 0, 2, 2}, b.v, t);
            ASSERT_EQ(res.status, DecodeStatus::kDone) << res.error;
            EXPECT_EQ(fb.at(1, 1), 0x010101u * static_cast<uint32_t>(s + 4 * round));
        }
}

TEST(TightDecoder, RejectsMalformedBodies) {
    {
        Bytes b;
        b.u8(0xa0).u8(0).u8(0).u8(0);
        test::expect_rejected(tight_case(4, 4, Rect{0, 0, 1, 1}, b.v),
                              "tight: bad compression type");
    }
    {
        Bytes b;
        b.u8(0x40).u8(3).u8(0).u8(0).u8(0);
        test::expect_rejected(tight_case(4, 4, Rect{0, 0, 1, 1}, b.v), "tight: unknown filter");
    }
    {
        Bytes b;
        b.u8(0x40).u8(1).u8(2);  // 3 colours, 8-bit indices
        for (uint32_t p : {kR, kG, kB})
            tpx(b, p);
        b.u8(0).u8(3);  // index 3
        test::expect_rejected(tight_case(4, 4, Rect{0, 0, 2, 1}, b.v),
                              "tight: palette index out of range");
    }
    {
        Bytes b;
        b.u8(0x00).u8(5).u8(0x78).u8(0x9c).u8(0xff).u8(0xff).u8(0xff);
        test::expect_rejected(tight_case(4, 4, Rect{0, 0, 2, 2}, b.v),
                              "tight: zlib data is corrupt");
    }
    {
        Bytes b;
        b.u8(0x00);
        tpx(b, kR);
        test::expect_rejected(tight_case(3000, 1, Rect{0, 0, 3000, 1}, b.v),
                              "tight: rectangle wider than 2048");
    }
    {
        Bytes b;
        b.u8(0x40).u8(2).u8(0);
        test::expect_rejected(tight_case(4, 4, Rect{0, 0, 1, 1}, b.v, PixelFormat::bgr233()),
                              "tight: gradient filter needs 16 or 32 bpp");
    }
}

TEST(TightDecoder, RejectsZlibBombAndShortData) {
    std::vector<uint8_t> zeros(1 << 20, 0);
    Deflater z(9);
    const auto bomb = z.compress(zeros);
    Bytes b;
    b.u8(0x00);
    compact(b, bomb.size()).raw(bomb);
    test::expect_rejected(tight_case(4, 4, Rect{1, 1, 2, 2}, b.v),
                          "tight: zlib data inflates to more than the rectangle needs");

    Bytes raw;
    tpx(raw, kR);  // 3 of the 12 bytes needed
    Deflater z2;
    const auto short_data = z2.compress(raw.v);
    Bytes s;
    s.u8(0x00);
    compact(s, short_data.size()).raw(short_data);
    test::expect_rejected(tight_case(4, 4, Rect{1, 1, 2, 2}, s.v),
                          "tight: zlib data ends before the rectangle does");
}

// Rows long enough for the block conversions, with a tail, in both TPIXEL and PIXEL form.
TEST(TightDecoder, WideCopyRows) {
    std::mt19937 rng(5);
    const Rect r{1, 0, 37, 3};
    std::vector<uint32_t> want(r.area());
    Bytes rgb, wire565;
    for (auto& p : want) {
        p = rng() & 0xffffff;
        tpx(rgb, p);
    }
    {
        Deflater z;
        const auto zdata = z.compress(rgb.v);
        Bytes b;
        b.u8(0x00);
        compact(b, zdata.size()).raw(zdata);
        expect_rect(tight_case(40, 3, r, b.v), want);
    }
    {
        // 16 bpp: PIXELs through the wire format's reader; expected values widened by hand.
        std::vector<uint32_t> want565(r.area());
        for (size_t i = 0; i < want.size(); ++i) {
            const uint32_t v = rng() & 0xffff;
            wire565.px16(v);
            const uint32_t rr = v >> 11, gg = (v >> 5) & 63, bb = v & 31;
            want565[i] = ((rr << 3) | (rr >> 2)) << 16 | ((gg << 2) | (gg >> 4)) << 8 |
                         ((bb << 3) | (bb >> 2));
        }
        Deflater z;
        const auto zdata = z.compress(wire565.v);
        Bytes b;
        b.u8(0x00);
        compact(b, zdata.size()).raw(zdata);
        expect_rect(tight_case(40, 3, r, b.v, PixelFormat::rgb565()), want565);
    }
}

TEST(TightDecoder, PaletteIndexErrorsAnywhereInTheRow) {
    {
        // One colour still uses one bit per pixel; a set bit names a colour that is not there.
        Bytes b;
        b.u8(0x40).u8(1).u8(0);
        tpx(b, kR);
        b.u8(0x00).u8(0x01);  // 16 wide: pixel 15 is index 1
        test::expect_rejected(tight_case(16, 1, Rect{0, 0, 16, 1}, b.v),
                              "tight: palette index out of range");
    }
    {
        Bytes idx;
        for (int i = 0; i < 40; ++i)
            idx.u8(i == 33 ? 3 : i % 3);  // three colours; index 3 late in the row
        Deflater z;
        const auto zdata = z.compress(idx.v);
        Bytes b;
        b.u8(0x40).u8(1).u8(2);
        for (uint32_t p : {kR, kG, kB})
            tpx(b, p);
        compact(b, zdata.size()).raw(zdata);
        test::expect_rejected(tight_case(40, 1, Rect{0, 0, 40, 1}, b.v),
                              "tight: palette index out of range");
    }
    {
        // A one-colour palette of zeros decodes (16 wide: two whole bytes of bits).
        Bytes b;
        b.u8(0x40).u8(1).u8(0);
        tpx(b, kB);
        b.u8(0x00).u8(0x00);
        expect_rect(tight_case(16, 1, Rect{0, 0, 16, 1}, b.v), std::vector<uint32_t>(16, kB));
    }
}

}  // namespace
}  // namespace rfb
