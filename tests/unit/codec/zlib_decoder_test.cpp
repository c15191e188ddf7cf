#include "codec/zlib_decoder.h"

#include <gtest/gtest.h>

#include <random>

#include "decoder_test_support.h"

namespace rfb {
namespace {

using test::Bytes;
using test::Deflater;

constexpr uint32_t kR = 0xff0000, kG = 0x00ff00, kB = 0x0000ff;

test::DecodeCase zlib_case(PixelFormat pf, Rect r, std::vector<uint8_t> body) {
    return {[] { return std::make_unique<ZlibDecoder>(); }, pf, 5, 4, r, std::move(body)};
}

TEST(ZlibDecoder, Canonical32bpp) {
    const Rect r{1, 1, 3, 2};
    Bytes raw;
    raw.px32(kR).px32(kG).px32(kB).px32(0x010203).px32(0).px32(0xffffff);
    Deflater z;
    const auto c = zlib_case(PixelFormat::canonical(), r, test::length_prefixed(z.compress(raw.v)));
    test::expect_decodes_to(c, test::expected_fb(5, 4, r, {kR, kG, kB, 0x010203, 0, 0xffffff}));
    test::expect_truncations_wait(c);
}

TEST(ZlibDecoder, Rgb565) {
    const Rect r{0, 0, 2, 2};
    Bytes raw;
    raw.px16(0xf800).px16(0x07e0).px16(0x001f).px16(0x8410);
    Deflater z;
    const auto c = zlib_case(PixelFormat::rgb565(), r, test::length_prefixed(z.compress(raw.v)));
    test::expect_decodes_to(c, test::expected_fb(5, 4, r, {kR, kG, kB, 0x848284}));
}

// The second rectangle continues the stream of the first: it only decodes with the history.
TEST(ZlibDecoder, OneStreamAcrossRectangles) {
    const Rect r1{0, 0, 2, 1}, r2{0, 1, 2, 1};
    Bytes raw1, raw2;
    raw1.px32(kR).px32(kG);
    raw2.px32(kR).px32(kG);  // repeats rect 1: deflate refers back into the shared window
    Deflater z;
    const auto body1 = test::length_prefixed(z.compress(raw1.v));
    const auto body2 = test::length_prefixed(z.compress(raw2.v));

    test::DecodeCase c = zlib_case(PixelFormat::canonical(), r2, body2);
    c.make = [body1, r1] {
        auto d = std::make_unique<ZlibDecoder>();
        Framebuffer fb(5, 4);
        PixelReader px(PixelFormat::canonical());
        DecodeTarget t{fb, px};
        EXPECT_EQ(d->decode(r1, body1, t).status, DecodeStatus::kDone);
        return d;
    };
    test::expect_decodes_to(c, test::expected_fb(5, 4, r2, {kR, kG}));
    test::expect_truncations_wait(c);

    // Without the first rectangle the second is not a valid stream.
    test::DecodeCase fresh = zlib_case(PixelFormat::canonical(), r2, body2);
    Framebuffer fb;
    EXPECT_EQ(test::run_case(fresh, {}, fb).status, DecodeStatus::kError);
}

TEST(ZlibDecoder, ResetStartsANewStream) {
    Framebuffer fb = test::filled_fb(5, 4, test::kSentinel);
    PixelReader px(PixelFormat::canonical());
    DecodeTarget t{fb, px};
    ZlibDecoder d;
    Bytes raw;
    raw.px32(kB);
    Deflater first;
    ASSERT_EQ(d.decode(Rect{0, 0, 1, 1}, test::length_prefixed(first.compress(raw.v)), t).status,
              DecodeStatus::kDone);
    d.reset();
    Deflater second;  // the server reconnected: a new stream with its own header
    raw.v.clear();
    raw.px32(kG);
    ASSERT_EQ(d.decode(Rect{1, 0, 1, 1}, test::length_prefixed(second.compress(raw.v)), t).status,
              DecodeStatus::kDone);
    EXPECT_EQ(fb.at(0, 0), kB);
    EXPECT_EQ(fb.at(1, 0), kG);
}

TEST(ZlibDecoder, LargeRectangleInManyChunks) {
    const Rect r{0, 0, 300, 300};  // 360 KB: more than one chunk
    std::mt19937 rng(7);
    std::vector<uint32_t> want(r.area());
    Bytes raw;
    for (auto& p : want) {
        p = rng() & 0xffffff;
        raw.px32(p);
    }
    Deflater z;
    const auto body = test::length_prefixed(z.compress(raw.v));
    Framebuffer fb = test::filled_fb(300, 300, 0);
    PixelReader px(PixelFormat::canonical());
    DecodeTarget t{fb, px};
    ZlibDecoder d;
    const DecodeResult res = d.decode(r, body, t);
    ASSERT_EQ(res.status, DecodeStatus::kDone) << res.error;
    EXPECT_EQ(res.consumed, body.size());
    EXPECT_EQ(test::pixels_of(fb), want);
}

// Rows narrower than the framebuffer go through the chunk buffer, several chunks here; a second
// rectangle continues the same stream.
TEST(ZlibDecoder, LargeNarrowRgb565RectangleInManyChunks) {
    const Rect r{3, 1, 290, 500};  // 290 KB of 16-bit pixels: more than one chunk
    std::mt19937 rng(9);
    Framebuffer fb = test::filled_fb(300, 510, test::kSentinel);
    PixelReader px(PixelFormat::rgb565());
    DecodeTarget t{fb, px};
    ZlibDecoder d;
    Deflater z;
    for (int round = 0; round < 2; ++round) {
        std::vector<uint32_t> want(r.area());
        Bytes raw;
        for (auto& p : want) {
            const uint32_t v = rng() % 3 ? 0xffff : rng() & 0xffff;
            raw.px16(v);
            const uint32_t rr = v >> 11, gg = (v >> 5) & 63, bb = v & 31;
            p = ((rr << 3) | (rr >> 2)) << 16 | ((gg << 2) | (gg >> 4)) << 8 |
                ((bb << 3) | (bb >> 2));
        }
        const auto body = test::length_prefixed(z.compress(raw.v));
        const DecodeResult res = d.decode(r, body, t);
        ASSERT_EQ(res.status, DecodeStatus::kDone) << res.error;
        EXPECT_EQ(res.consumed, body.size());
        EXPECT_EQ(test::rect_pixels(fb, r), want);
        EXPECT_TRUE(test::outside_untouched(fb, r, test::kSentinel));
    }
}

// Full-width canonical rows are inflated straight into the framebuffer: the padding byte the
// server sent must still be cleared, as on the row-by-row path.
TEST(ZlibDecoder, FullWidthRowsClearThePaddingByte) {
    const Rect r{0, 1, 5, 2};
    Bytes raw;
    std::vector<uint32_t> want;
    for (uint32_t i = 0; i < r.area(); ++i) {
        const uint32_t rgb = 0x102030u * (i + 1) & 0xffffff;
        raw.u8(rgb).u8(rgb >> 8).u8(rgb >> 16).u8(0xab);  // padding byte set
        want.push_back(rgb);
    }
    Deflater z;
    const auto c = zlib_case(PixelFormat::canonical(), r, test::length_prefixed(z.compress(raw.v)));
    test::expect_decodes_to(c, test::expected_fb(5, 4, r, want));
    test::expect_truncations_wait(c);
}

TEST(ZlibDecoder, FullWidthRowsRejectShortDataAndBombs) {
    const Rect r{0, 1, 5, 2};
    Bytes raw;
    for (uint32_t i = 0; i + 1 < r.area(); ++i)  // one pixel short
        raw.px32(kG);
    Deflater z;
    test::expect_rejected(
        zlib_case(PixelFormat::canonical(), r, test::length_prefixed(z.compress(raw.v))),
        "zlib: zlib data ends before the rectangle does");
    raw.px32(kG).px32(kB);  // one pixel too many
    Deflater z2;
    test::expect_rejected(
        zlib_case(PixelFormat::canonical(), r, test::length_prefixed(z2.compress(raw.v))),
        "zlib: zlib data inflates to more than the rectangle needs");
}

TEST(ZlibDecoder, RejectsGarbage) {
    Bytes b;
    b.u32(6).u8(0x12).u8(0x34).u8(0x56).u8(0x78).u8(0x9a).u8(0xbc);
    test::expect_rejected(zlib_case(PixelFormat::canonical(), Rect{0, 0, 2, 2}, b.v),
                          "zlib: zlib data is corrupt");
}

TEST(ZlibDecoder, RejectsTooLittleData) {
    Bytes raw;
    raw.px32(kR).px32(kG).px32(kB);  // 3 pixels for a 2x2 rectangle
    Deflater z;
    test::expect_rejected(zlib_case(PixelFormat::canonical(), Rect{0, 0, 2, 2},
                                    test::length_prefixed(z.compress(raw.v))),
                          "zlib: zlib data ends before the rectangle does");
}

TEST(ZlibDecoder, RejectsZlibBomb) {
    // A few hundred bytes that inflate to 4 MiB, for a rectangle that needs 16.
    std::vector<uint8_t> zeros(4 << 20, 0);
    Deflater z(9);
    const auto payload = z.compress(zeros);
    ASSERT_LT(payload.size(), 8192u);
    test::DecodeCase c =
        zlib_case(PixelFormat::canonical(), Rect{1, 1, 2, 2}, test::length_prefixed(payload));
    Framebuffer fb;
    const test::Outcome o = test::run_case(c, {}, fb);
    ASSERT_EQ(o.status, DecodeStatus::kError);
    EXPECT_NE(o.error.find("inflates to more than the rectangle needs"), std::string::npos);
    EXPECT_TRUE(test::outside_untouched(fb, c.r, test::kSentinel));
}

TEST(ZlibDecoder, RejectsOversizeLengthBeforeItArrives) {
    Framebuffer fb = test::filled_fb(5, 4, test::kSentinel);
    PixelReader px(PixelFormat::canonical());
    DecodeTarget t{fb, px};
    ZlibDecoder d;
    Bytes b;
    b.u32(static_cast<uint32_t>(ZlibDecoder::kMaxCompressedLength + 1));
    const DecodeResult res = d.decode(Rect{0, 0, 1, 1}, b.v, t);
    EXPECT_EQ(res.status, DecodeStatus::kError);
    EXPECT_NE(res.error.find("length too large"), std::string::npos);
    b.v.clear();
    b.u32(0xffffffff);
    EXPECT_EQ(d.decode(Rect{0, 0, 1, 1}, b.v, t).status, DecodeStatus::kError);
}

TEST(ZlibDecoder, EmptyRectangleWithAnEmptyFlush) {
    Deflater z;
    const auto c = zlib_case(PixelFormat::canonical(), Rect{2, 2, 0, 0},
                             test::length_prefixed(z.compress({})));
    test::expect_decodes_to(c, std::vector<uint32_t>(20, test::kSentinel));
}

}  // namespace
}  // namespace rfb
