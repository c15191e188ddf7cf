#include "codec/corre_decoder.h"

#include <gtest/gtest.h>

#include "decoder_test_support.h"

namespace rfb {
namespace {

using test::Bytes;

constexpr uint32_t kR = 0xff0000, kG = 0x00ff00, kB = 0x000080;

test::DecodeCase corre_case(PixelFormat pf, Rect r, std::vector<uint8_t> body) {
    return {[] { return std::make_unique<CoRreDecoder>(); }, pf, 6, 5, r, std::move(body)};
}

TEST(CoRreDecoder, BackgroundAndSubrects32bpp) {
    const Rect r{1, 1, 4, 3};
    Bytes b;
    b.u32(2).px32(kB);
    b.px32(kR).u8(0).u8(0).u8(2).u8(1);
    b.px32(kG).u8(3).u8(1).u8(1).u8(2);
    const auto c = corre_case(PixelFormat::canonical(), r, b.v);
    test::expect_decodes_to(c, test::expected_fb(6, 5, r,
                                                 {kR, kR, kB, kB,  //
                                                  kB, kB, kB, kG,  //
                                                  kB, kB, kB, kG}));
    test::expect_truncations_wait(c);
}

TEST(CoRreDecoder, Rgb565) {
    const Rect r{0, 0, 2, 2};
    Bytes b;
    b.u32(1).px16(0x07e0).px16(0x8410).u8(0).u8(1).u8(2).u8(1);
    const auto c = corre_case(PixelFormat::rgb565(), r, b.v);
    test::expect_decodes_to(c, test::expected_fb(6, 5, r, {kG, kG, 0x848284, 0x848284}));
    test::expect_truncations_wait(c);
}

TEST(CoRreDecoder, RejectsSubrectOutsideRectangle) {
    const Rect r{1, 1, 4, 3};
    for (auto [x, y, w, h] :
         {std::array<uint32_t, 4>{3, 0, 2, 1}, {0, 0, 1, 4}, {255, 255, 255, 255}}) {
        Bytes b;
        b.u32(1).px32(kB).px32(kR).u8(x).u8(y).u8(w).u8(h);
        test::expect_rejected(corre_case(PixelFormat::canonical(), r, b.v),
                              "corre: subrect outside");
    }
}

TEST(CoRreDecoder, HugeCountFailsAtOnce) {
    Framebuffer fb = test::filled_fb(6, 5, test::kSentinel);
    PixelReader px(PixelFormat::canonical());
    DecodeTarget t{fb, px};
    CoRreDecoder d;
    Bytes b;
    b.u32(31).px32(kB);  // one more than the 30 pixels of the rectangle
    EXPECT_EQ(d.decode(Rect{0, 0, 6, 5}, b.v, t).status, DecodeStatus::kError);
}

}  // namespace
}  // namespace rfb
