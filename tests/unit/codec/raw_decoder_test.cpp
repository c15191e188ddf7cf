#include "codec/raw_decoder.h"

#include <gtest/gtest.h>

#include "decoder_test_support.h"

namespace rfb {
namespace {

using test::Bytes;
using test::kSentinel;

test::DecodeCase raw_case(PixelFormat pf, Rect r, std::vector<uint8_t> body) {
    return {[] { return std::make_unique<RawDecoder>(); }, pf, 5, 4, r, std::move(body), true};
}

TEST(RawDecoder, Canonical32bpp) {
    const Rect r{1, 1, 3, 2};
    Bytes b;
    b.px32(0xff0000).px32(0x00ff00).px32(0x0000ff);
    b.u8(0x11).u8(0x22).u8(0x33).u8(0xff);  // padding byte set: not part of the colour
    b.px32(0xffffff).px32(0x000000);
    const auto c = raw_case(PixelFormat::canonical(), r, b.v);
    test::expect_decodes_to(
        c, test::expected_fb(5, 4, r, {0xff0000, 0x00ff00, 0x0000ff, 0x332211, 0xffffff, 0}));
    test::expect_truncations_wait(c);
}

TEST(RawDecoder, Rgb565) {
    const Rect r{0, 2, 2, 2};
    Bytes b;
    b.px16(0xf800).px16(0x07e0).px16(0x001f).px16(0x8410);
    const auto c = raw_case(PixelFormat::rgb565(), r, b.v);
    // 5/6-bit channels widen by bit replication: 10000b -> 10000100b, 100000b -> 10000010b.
    test::expect_decodes_to(c,
                            test::expected_fb(5, 4, r, {0xff0000, 0x00ff00, 0x0000ff, 0x848284}));
    test::expect_truncations_wait(c);
}

TEST(RawDecoder, StreamsWholeRowsOnly) {
    Framebuffer fb = test::filled_fb(4, 3, kSentinel);
    PixelReader px(PixelFormat::canonical());
    DecodeTarget t{fb, px};
    RawDecoder d;
    const Rect r{0, 0, 2, 3};
    Bytes b;
    for (uint32_t i = 0; i < 6; ++i)
        b.px32(i + 1);

    EXPECT_EQ(d.decode(r, std::span(b.v).first(7), t).status, DecodeStatus::kNeedMore);
    EXPECT_EQ(fb.at(0, 0), kSentinel);

    DecodeResult res = d.decode(r, std::span(b.v).first(13), t);  // one row and a bit
    EXPECT_EQ(res.status, DecodeStatus::kProgress);
    EXPECT_EQ(res.consumed, 8u);
    EXPECT_EQ(fb.at(0, 0), 1u);
    EXPECT_EQ(fb.at(1, 0), 2u);
    EXPECT_EQ(fb.at(0, 1), kSentinel);

    res = d.decode(r, std::span(b.v).subspan(8), t);
    EXPECT_EQ(res.status, DecodeStatus::kDone);
    EXPECT_EQ(res.consumed, 16u);
    EXPECT_EQ(fb.at(1, 2), 6u);
}

TEST(RawDecoder, ResetForgetsTheRowReached) {
    Framebuffer fb = test::filled_fb(2, 2, kSentinel);
    PixelReader px(PixelFormat::canonical());
    DecodeTarget t{fb, px};
    RawDecoder d;
    const Rect r{0, 0, 2, 2};
    Bytes b;
    b.px32(1).px32(2).px32(3).px32(4);
    ASSERT_EQ(d.decode(r, std::span(b.v).first(8), t).status, DecodeStatus::kProgress);
    d.reset();
    const DecodeResult res = d.decode(r, b.v, t);  // the whole rectangle again, from row 0
    EXPECT_EQ(res.status, DecodeStatus::kDone);
    EXPECT_EQ(res.consumed, 16u);
    EXPECT_EQ(test::pixels_of(fb), (std::vector<uint32_t>{1, 2, 3, 4}));
}

TEST(RawDecoder, ANewRectangleStartsAtItsFirstRow) {
    Framebuffer fb = test::filled_fb(2, 4, kSentinel);
    PixelReader px(PixelFormat::canonical());
    DecodeTarget t{fb, px};
    RawDecoder d;
    Bytes b;
    b.px32(1).px32(2).px32(3).px32(4);
    ASSERT_EQ(d.decode(Rect{0, 0, 2, 2}, std::span(b.v).first(8), t).status,
              DecodeStatus::kProgress);
    const DecodeResult res = d.decode(Rect{0, 2, 2, 2}, b.v, t);
    EXPECT_EQ(res.status, DecodeStatus::kDone);
    EXPECT_EQ(res.consumed, 16u);
    EXPECT_EQ(fb.at(0, 2), 1u);
    EXPECT_EQ(fb.at(1, 3), 4u);
}

TEST(RawDecoder, EmptyRectangleIsDoneAtOnce) {
    Framebuffer fb = test::filled_fb(2, 2, kSentinel);
    PixelReader px(PixelFormat::canonical());
    DecodeTarget t{fb, px};
    RawDecoder d;
    const DecodeResult res = d.decode(Rect{1, 1, 0, 1}, {}, t);
    EXPECT_EQ(res.status, DecodeStatus::kDone);
    EXPECT_EQ(res.consumed, 0u);
}

TEST(RawDecoder, RejectsRectOutsideFramebufferAndOddPixelSizes) {
    Framebuffer fb = test::filled_fb(2, 2, kSentinel);
    PixelReader px(PixelFormat::canonical());
    DecodeTarget t{fb, px};
    RawDecoder d;
    std::vector<uint8_t> body(64, 0);
    EXPECT_EQ(d.decode(Rect{1, 1, 2, 1}, body, t).status, DecodeStatus::kError);

    PixelFormat odd;
    odd.bits_per_pixel = 24;  // PixelReader would read 4 bytes per 3-byte pixel
    PixelReader odd_px(odd);
    DecodeTarget odd_t{fb, odd_px};
    EXPECT_EQ(d.decode(Rect{0, 0, 1, 1}, body, odd_t).status, DecodeStatus::kError);
    EXPECT_EQ(test::pixels_of(fb), std::vector<uint32_t>(4, kSentinel));
}

TEST(RawDecoder, FullHdRectNeedsOnlyOneRowAtATime) {
    Framebuffer fb(1920, 1080);
    PixelReader px(PixelFormat::canonical());
    DecodeTarget t{fb, px};
    RawDecoder d;
    const Rect r{0, 0, 1920, 1080};
    std::vector<uint8_t> row(1920 * 4);
    for (uint32_t y = 0; y < 1080; ++y) {
        for (uint32_t x = 0; x < 1920; ++x) {
            row[x * 4] = static_cast<uint8_t>(x);
            row[x * 4 + 1] = static_cast<uint8_t>(y);
        }
        const DecodeResult res = d.decode(r, row, t);
        ASSERT_EQ(res.consumed, row.size());
        ASSERT_EQ(res.status, y + 1 == 1080 ? DecodeStatus::kDone : DecodeStatus::kProgress);
    }
    EXPECT_EQ(fb.at(1919, 1079), (uint32_t{1079 & 0xff} << 8) | (1919 & 0xff));
}

}  // namespace
}  // namespace rfb
