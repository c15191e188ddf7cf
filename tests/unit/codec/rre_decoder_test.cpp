#include "codec/rre_decoder.h"

#include <gtest/gtest.h>

#include "decoder_test_support.h"

namespace rfb {
namespace {

using test::Bytes;

constexpr uint32_t kR = 0xff0000, kG = 0x00ff00, kB = 0x000080;

test::DecodeCase rre_case(PixelFormat pf, Rect r, std::vector<uint8_t> body) {
    return {[] { return std::make_unique<RreDecoder>(); }, pf, 6, 5, r, std::move(body)};
}

Bytes& subrect(Bytes& b, uint32_t px, uint32_t x, uint32_t y, uint32_t w, uint32_t h) {
    return b.px32(px).u16(x).u16(y).u16(w).u16(h);
}

TEST(RreDecoder, BackgroundAndSubrects32bpp) {
    const Rect r{1, 1, 4, 3};
    Bytes b;
    b.u32(2).px32(kB);
    subrect(b, kR, 0, 0, 2, 1);
    subrect(b, kG, 3, 1, 1, 2);
    const auto c = rre_case(PixelFormat::canonical(), r, b.v);
    test::expect_decodes_to(c, test::expected_fb(6, 5, r,
                                                 {kR, kR, kB, kB,  //
                                                  kB, kB, kB, kG,  //
                                                  kB, kB, kB, kG}));
    test::expect_truncations_wait(c);
}

TEST(RreDecoder, Rgb565) {
    const Rect r{4, 3, 2, 2};
    Bytes b;
    b.u32(1).px16(0x001f).px16(0xf800).u16(1).u16(1).u16(1).u16(1);
    const auto c = rre_case(PixelFormat::rgb565(), r, b.v);
    test::expect_decodes_to(c, test::expected_fb(6, 5, r, {0x0000ff, 0x0000ff, 0x0000ff, kR}));
    test::expect_truncations_wait(c);
}

TEST(RreDecoder, NoSubrectsIsASolidRectangle) {
    const Rect r{0, 0, 6, 5};
    Bytes b;
    b.u32(0).px32(kG);
    test::expect_decodes_to(rre_case(PixelFormat::canonical(), r, b.v),
                            std::vector<uint32_t>(30, kG));
}

TEST(RreDecoder, RejectsSubrectOutsideRectangle) {
    const Rect r{1, 1, 4, 3};
    for (auto [x, y, w, h] :
         {std::array<uint32_t, 4>{3, 0, 2, 1}, {0, 2, 1, 2}, {65535, 0, 65535, 1}, {0, 0, 5, 1}}) {
        Bytes b;
        b.u32(2).px32(kB);
        subrect(b, kR, 0, 0, 1, 1);
        subrect(b, kG, x, y, w, h);
        // Even the valid first subrect must not be drawn: the framebuffer stays as it was.
        test::expect_rejected(rre_case(PixelFormat::canonical(), r, b.v), "rre: subrect outside");
    }
}

TEST(RreDecoder, HugeCountFailsAtOnceWithoutWaiting) {
    Framebuffer fb = test::filled_fb(6, 5, test::kSentinel);
    PixelReader px(PixelFormat::canonical());
    DecodeTarget t{fb, px};
    RreDecoder d;
    Bytes b;
    b.u32(0xffffffff).px32(kB);
    const DecodeResult res = d.decode(Rect{0, 0, 6, 5}, b.v, t);
    EXPECT_EQ(res.status, DecodeStatus::kError);
    EXPECT_NE(res.error.find("more subrects than pixels"), std::string::npos);

    Bytes most;  // as many subrects as pixels is allowed: it just waits for them
    most.u32(30).px32(kB);
    EXPECT_EQ(d.decode(Rect{0, 0, 6, 5}, most.v, t).status, DecodeStatus::kNeedMore);
    EXPECT_EQ(test::pixels_of(fb), std::vector<uint32_t>(30, test::kSentinel));
}

}  // namespace
}  // namespace rfb
