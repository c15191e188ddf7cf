#include "codec/copyrect_decoder.h"

#include <gtest/gtest.h>

#include "decoder_test_support.h"

namespace rfb {
namespace {

using test::Bytes;

// A 4x4 framebuffer whose pixel at (x, y) is 10 * y + x.
Framebuffer numbered_fb() {
    Framebuffer fb(4, 4);
    for (uint32_t y = 0; y < 4; ++y)
        for (uint32_t x = 0; x < 4; ++x)
            fb.row(y)[x] = 10 * y + x;
    return fb;
}

TEST(CopyRectDecoder, CopiesFromSource) {
    Framebuffer fb = numbered_fb();
    PixelReader px(PixelFormat::canonical());
    DecodeTarget t{fb, px};
    CopyRectDecoder d;
    Bytes b;
    b.u16(0).u16(0).u8(0x99);  // a byte of the next message follows
    const DecodeResult res = d.decode(Rect{2, 2, 2, 2}, b.v, t);
    EXPECT_EQ(res.status, DecodeStatus::kDone);
    EXPECT_EQ(res.consumed, 4u);
    EXPECT_EQ(fb.at(2, 2), 0u);
    EXPECT_EQ(fb.at(3, 2), 1u);
    EXPECT_EQ(fb.at(2, 3), 10u);
    EXPECT_EQ(fb.at(3, 3), 11u);
    EXPECT_EQ(fb.at(1, 1), 11u);
}

TEST(CopyRectDecoder, OverlappingScrollUpAndDown) {
    Framebuffer fb = numbered_fb();
    PixelReader px(PixelFormat::canonical());
    DecodeTarget t{fb, px};
    CopyRectDecoder d;
    Bytes down;
    down.u16(0).u16(0);  // rows 0..2 move down by one
    ASSERT_EQ(d.decode(Rect{0, 1, 4, 3}, down.v, t).status, DecodeStatus::kDone);
    for (uint32_t x = 0; x < 4; ++x) {
        EXPECT_EQ(fb.at(x, 1), x);
        EXPECT_EQ(fb.at(x, 2), 10 + x);
        EXPECT_EQ(fb.at(x, 3), 20 + x);
    }
    fb = numbered_fb();
    Bytes left;
    left.u16(1).u16(0);  // columns 1..3 move left by one
    ASSERT_EQ(d.decode(Rect{0, 0, 3, 4}, left.v, t).status, DecodeStatus::kDone);
    for (uint32_t y = 0; y < 4; ++y)
        for (uint32_t x = 0; x < 3; ++x)
            EXPECT_EQ(fb.at(x, y), 10 * y + x + 1);
}

TEST(CopyRectDecoder, WaitsForFourBytes) {
    Framebuffer fb = numbered_fb();
    PixelReader px(PixelFormat::canonical());
    DecodeTarget t{fb, px};
    CopyRectDecoder d;
    Bytes b;
    b.u16(1).u16(1);
    for (size_t k = 0; k < 4; ++k)
        EXPECT_EQ(d.decode(Rect{0, 0, 1, 1}, std::span(b.v).first(k), t).status,
                  DecodeStatus::kNeedMore);
    EXPECT_EQ(test::pixels_of(fb), test::pixels_of(numbered_fb()));
}

TEST(CopyRectDecoder, RejectsSourceOutsideFramebuffer) {
    Framebuffer fb = numbered_fb();
    PixelReader px(PixelFormat::canonical());
    DecodeTarget t{fb, px};
    CopyRectDecoder d;
    for (auto [sx, sy] : {std::pair{3, 0}, std::pair{0, 3}, std::pair{65535, 65535}}) {
        Bytes b;
        b.u16(sx).u16(sy);
        const DecodeResult res = d.decode(Rect{0, 0, 2, 2}, b.v, t);
        EXPECT_EQ(res.status, DecodeStatus::kError);
        EXPECT_NE(res.error.find("source outside"), std::string::npos);
    }
    EXPECT_EQ(test::pixels_of(fb), test::pixels_of(numbered_fb()));
}

}  // namespace
}  // namespace rfb
