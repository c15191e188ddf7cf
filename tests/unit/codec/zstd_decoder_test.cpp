#include "codec/zstd_decoder.h"

#include <gtest/gtest.h>

#include <random>

#include "decoder_test_support.h"
#include "zstd_test_frames.h"

namespace rfb {
namespace {

using test::Bytes;
using test::ZBytes;

constexpr uint32_t kR = 0xff0000, kG = 0x00ff00, kB = 0x0000ff;

test::DecodeCase zstd_case(PixelFormat pf, Rect r, std::vector<uint8_t> body) {
    return {[] { return std::make_unique<ZstdDecoder>(); }, pf, 5, 4, r, std::move(body)};
}

// A decoder that has already decoded `earlier` (bodies with their length) for rectangle `r0`.
std::function<std::unique_ptr<RectDecoder>()> after(std::vector<ZBytes> earlier, Rect r0,
                                                    PixelFormat pf = PixelFormat::canonical()) {
    return [earlier, r0, pf] {
        auto d = std::make_unique<ZstdDecoder>();
        Framebuffer fb(5, 4);
        PixelReader px(pf);
        DecodeTarget t{fb, px};
        for (const ZBytes& b : earlier) {
            const DecodeResult res = d->decode(r0, b, t);
            EXPECT_EQ(res.status, DecodeStatus::kDone) << res.error;
        }
        return d;
    };
}

TEST(ZstdDecoder, RawBlockFrame32bpp) {
    const Rect r{1, 1, 3, 2};
    Bytes raw;
    raw.px32(kR).px32(kG).px32(kB).px32(0x010203).px32(0).px32(0xffffff);
    const auto c =
        zstd_case(PixelFormat::canonical(), r, test::zstd_length_prefixed(test::raw_frame(raw.v)));
    test::expect_decodes_to(c, test::expected_fb(5, 4, r, {kR, kG, kB, 0x010203, 0, 0xffffff}));
    test::expect_truncations_wait(c);
}

TEST(ZstdDecoder, Rgb565AndBgr233) {
    const Rect r{0, 0, 2, 2};
    Bytes raw;
    raw.px16(0xf800).px16(0x07e0).px16(0x001f).px16(0x8410);
    test::expect_decodes_to(
        zstd_case(PixelFormat::rgb565(), r, test::zstd_length_prefixed(test::raw_frame(raw.v))),
        test::expected_fb(5, 4, r, {kR, kG, kB, 0x848284}));
    // 8 bpp BGR233: red is the low 3 bits, green the next 3, blue the top 2.
    const ZBytes p8 = {0x07, 0x38, 0xc0, 0xff};
    test::expect_decodes_to(
        zstd_case(PixelFormat::bgr233(), r, test::zstd_length_prefixed(test::raw_frame(p8))),
        test::expected_fb(5, 4, r, {kR, kG, kB, 0xffffff}));
}

TEST(ZstdDecoder, RleBlock) {
    // One stored byte, repeated: 8 bpp 0xff is white.
    ZBytes frame = test::frame_header(6, std::nullopt);
    test::append(frame, test::rle_block(true, 0xff, 6));
    const auto c =
        zstd_case(PixelFormat::bgr233(), Rect{2, 1, 3, 2}, test::zstd_length_prefixed(frame));
    test::expect_decodes_to(c,
                            test::expected_fb(5, 4, Rect{2, 1, 3, 2}, std::vector(6, 0xffffffu)));
}

TEST(ZstdDecoder, CompressedFrameWithChecksum) {
    const Rect r{0, 0, 5, 4};
    Bytes raw;
    std::vector<uint32_t> want;
    for (int i = 0; i < 20; ++i) {
        want.push_back(i % 3 ? kR : 0x102030);
        raw.px32(want.back());
    }
    const ZBytes frame = test::zstd_frame(raw.v, 3, /*checksum=*/true);
    const auto c = zstd_case(PixelFormat::canonical(), r, test::zstd_length_prefixed(frame));
    test::expect_decodes_to(c, want);
    // A wrong checksum is an error.
    ZBytes bad = frame;
    bad.back() ^= 1;
    test::expect_rejected(zstd_case(PixelFormat::canonical(), r, test::zstd_length_prefixed(bad)),
                          "zstd: zstd data is corrupt");
}

// UltraVNC servers continue one frame across rectangles (ZSTD_e_flush): the second rectangle
// only decodes after the first, on the same stream.
TEST(ZstdDecoder, OneFrameAcrossRectanglesAsUltraVncSends) {
    const Rect r1{0, 0, 2, 1}, r2{0, 1, 2, 1};
    Bytes raw1, raw2;
    raw1.px32(kR).px32(kG);
    raw2.px32(kB).px32(kR);
    // By hand: a frame with a 1 KiB window and no content size; one raw block per rectangle.
    ZBytes first = test::frame_header(std::nullopt, 0x00);
    test::append(first, test::raw_block(false, raw1.v));
    const ZBytes second = test::raw_block(false, raw2.v);

    test::DecodeCase c =
        zstd_case(PixelFormat::canonical(), r2, test::zstd_length_prefixed(second));
    c.make = after({test::zstd_length_prefixed(first)}, r1);
    test::expect_decodes_to(c, test::expected_fb(5, 4, r2, {kB, kR}));
    test::expect_truncations_wait(c);
    // Without the first rectangle the second is not a valid stream.
    Framebuffer fb;
    EXPECT_EQ(
        test::run_case(zstd_case(PixelFormat::canonical(), r2, test::zstd_length_prefixed(second)),
                       {}, fb)
            .status,
        DecodeStatus::kError);

    // And the same with libzstd's streaming compressor, repeating content across rectangles.
    test::ZstdServerStream server;
    const ZBytes b1 = test::zstd_length_prefixed(server.compress(raw1.v));
    const ZBytes b2 = test::zstd_length_prefixed(server.compress(raw1.v));
    const ZBytes b3 = test::zstd_length_prefixed(server.compress(raw2.v));
    test::DecodeCase c3 = zstd_case(PixelFormat::canonical(), r2, b3);
    c3.make = after({b1, b2}, r1);
    test::expect_decodes_to(c3, test::expected_fb(5, 4, r2, {kB, kR}));
}

// rfbcast's own bodies: a complete frame per rectangle, one after the other on one stream.
TEST(ZstdDecoder, OneFramePerRectangle) {
    const Rect r{1, 0, 2, 1};
    Bytes raw;
    raw.px32(kG).px32(kB);
    const ZBytes body = test::zstd_length_prefixed(test::raw_frame(raw.v));
    test::DecodeCase c = zstd_case(PixelFormat::canonical(), r, body);
    c.make = after({body, test::zstd_length_prefixed(test::zstd_frame(raw.v)), body}, r);
    test::expect_decodes_to(c, test::expected_fb(5, 4, r, {kG, kB}));
}

// A rectangle may end with the start of the next frame: it yields no pixels, so it is accepted,
// and the next rectangle continues it. A skippable frame in between is ignored.
TEST(ZstdDecoder, FrameBoundariesAnywhereInTheStream) {
    const Rect r{0, 0, 2, 1};
    Bytes raw;
    raw.px32(kR).px32(kB);
    const ZBytes frame = test::raw_frame(raw.v);
    // Skippable frame: magic 0x184D2A50 (little-endian), u32 size, payload.
    const ZBytes skippable = {0x50, 0x2a, 0x4d, 0x18, 2, 0, 0, 0, 0xaa, 0xbb};
    // First rectangle: a whole frame, (a skippable frame,) and the next frame's first 3 bytes.
    ZBytes head = frame;
    head.insert(head.end(), frame.begin(), frame.begin() + 3);
    ZBytes head_with_skip = frame;
    test::append(head_with_skip, skippable);
    head_with_skip.insert(head_with_skip.end(), frame.begin(), frame.begin() + 3);
    const ZBytes rest(frame.begin() + 3, frame.end());
    for (const ZBytes& first : {head, head_with_skip}) {
        test::DecodeCase c =
            zstd_case(PixelFormat::canonical(), r, test::zstd_length_prefixed(rest));
        c.make = after({test::zstd_length_prefixed(first)}, r);
        test::expect_decodes_to(c, test::expected_fb(5, 4, r, {kR, kB}));
    }
}

TEST(ZstdDecoder, ResetStartsANewStream) {
    Framebuffer fb = test::filled_fb(5, 4, test::kSentinel);
    PixelReader px(PixelFormat::canonical());
    DecodeTarget t{fb, px};
    ZstdDecoder d;
    Bytes raw;
    raw.px32(kB);
    // A frame left open, as an UltraVNC server's connection ends.
    ZBytes open = test::frame_header(std::nullopt, 0x00);
    test::append(open, test::raw_block(false, raw.v));
    ASSERT_EQ(d.decode(Rect{0, 0, 1, 1}, test::zstd_length_prefixed(open), t).status,
              DecodeStatus::kDone);
    d.reset();
    raw.v.clear();
    raw.px32(kG);
    // A new connection starts with a new frame header.
    const DecodeResult res =
        d.decode(Rect{1, 0, 1, 1}, test::zstd_length_prefixed(test::raw_frame(raw.v)), t);
    ASSERT_EQ(res.status, DecodeStatus::kDone) << res.error;
    EXPECT_EQ(fb.at(0, 0), kB);
    EXPECT_EQ(fb.at(1, 0), kG);
}

TEST(ZstdDecoder, LargeRectangleInManyChunks) {
    const Rect r{0, 0, 300, 200};
    std::mt19937 rng(7);
    std::vector<uint32_t> want(r.area());
    Bytes raw;
    for (auto& p : want) {
        p = (rng() & 0x0f0f0f) | 0x808080;
        raw.px32(p);
    }
    test::ZstdServerStream server(3);
    const auto body = test::zstd_length_prefixed(server.compress(raw.v));
    Framebuffer fb = test::filled_fb(300, 200, 0);
    PixelReader px(PixelFormat::canonical());
    DecodeTarget t{fb, px};
    ZstdDecoder d;
    const DecodeResult res = d.decode(r, body, t);
    ASSERT_EQ(res.status, DecodeStatus::kDone) << res.error;
    EXPECT_EQ(res.consumed, body.size());
    EXPECT_EQ(test::pixels_of(fb), want);
}

TEST(ZstdDecoder, EmptyRectangle) {
    const auto c = zstd_case(PixelFormat::canonical(), Rect{5, 0, 0, 4},
                             test::zstd_length_prefixed(test::raw_frame({})));
    test::expect_decodes_to(c, test::pixels_of(test::filled_fb(5, 4, test::kSentinel)));
    // And with no zstd data at all.
    test::expect_decodes_to(
        zstd_case(PixelFormat::canonical(), Rect{5, 0, 0, 4}, test::zstd_length_prefixed({})),
        test::pixels_of(test::filled_fb(5, 4, test::kSentinel)));
}

TEST(ZstdDecoder, RejectsGarbage) {
    Bytes b;
    b.u32(6).u8(0x12).u8(0x34).u8(0x56).u8(0x78).u8(0x9a).u8(0xbc);
    test::expect_rejected(zstd_case(PixelFormat::canonical(), Rect{0, 0, 2, 2}, b.v),
                          "zstd: zstd data is corrupt");
}

TEST(ZstdDecoder, RejectsGarbageAfterAFrame) {
    Bytes raw;
    raw.px32(kR);
    ZBytes frame = test::raw_frame(raw.v);
    test::append(frame, ZBytes{'j', 'u', 'n', 'k'});
    test::expect_rejected(
        zstd_case(PixelFormat::canonical(), Rect{0, 0, 1, 1}, test::zstd_length_prefixed(frame)),
        "zstd: zstd data is corrupt");
}

TEST(ZstdDecoder, RejectsTooLittleData) {
    Bytes raw;
    raw.px32(kR).px32(kG).px32(kB);  // 3 pixels for a 2x2 rectangle
    test::expect_rejected(zstd_case(PixelFormat::canonical(), Rect{0, 0, 2, 2},
                                    test::zstd_length_prefixed(test::raw_frame(raw.v))),
                          "zstd: zstd data ends before the rectangle does");
    // A frame cut short is the same: the data ends first.
    ZBytes cut = test::zstd_frame(Bytes().px32(kR).px32(kG).px32(kB).px32(kR).v, 1);
    cut.pop_back();
    test::expect_rejected(
        zstd_case(PixelFormat::canonical(), Rect{0, 0, 2, 2}, test::zstd_length_prefixed(cut)),
        "zstd: zstd data ends before the rectangle does");
}

TEST(ZstdDecoder, RejectsTooMuchData) {
    Bytes raw;
    raw.px32(kR).px32(kG);  // 2 pixels for a 1x1 rectangle
    test::expect_rejected(zstd_case(PixelFormat::canonical(), Rect{0, 0, 1, 1},
                                    test::zstd_length_prefixed(test::raw_frame(raw.v))),
                          "zstd: zstd data decompresses to more than the rectangle needs");
}

// A few bytes that expand to 128 KiB: only what the rectangle needs is ever produced.
TEST(ZstdDecoder, RejectsABombWithoutMakingIt) {
    ZBytes frame = test::frame_header(128 * 1024, std::nullopt);
    test::append(frame, test::rle_block(true, 0x41, 128 * 1024));
    test::expect_rejected(
        zstd_case(PixelFormat::canonical(), Rect{0, 0, 1, 1}, test::zstd_length_prefixed(frame)),
        "zstd: zstd data decompresses to more than the rectangle needs");
}

TEST(ZstdDecoder, RejectsFramesClaimingHugeWindows) {
    Bytes raw;
    raw.px32(kR);
    // Single segment: the window is the content size, 2^40 bytes.
    ZBytes huge = test::frame_header(uint64_t{1} << 40, std::nullopt);
    test::append(huge, test::raw_block(true, raw.v));
    test::expect_rejected(
        zstd_case(PixelFormat::canonical(), Rect{0, 0, 1, 1}, test::zstd_length_prefixed(huge)),
        "zstd: zstd data is corrupt");
    // A window descriptor of 2^(10 + 20) = 1 GiB, far above ZstdStream::kMaxWindowLog.
    ZBytes wide = test::frame_header(std::nullopt, 20 << 3);
    test::append(wide, test::raw_block(true, raw.v));
    test::expect_rejected(
        zstd_case(PixelFormat::canonical(), Rect{0, 0, 1, 1}, test::zstd_length_prefixed(wide)),
        "zstd: zstd data is corrupt");
    // 2^23 is still accepted.
    ZBytes ok = test::frame_header(std::nullopt, (ZstdStream::kMaxWindowLog - 10) << 3);
    test::append(ok, test::raw_block(true, raw.v));
    test::expect_decodes_to(
        zstd_case(PixelFormat::canonical(), Rect{0, 0, 1, 1}, test::zstd_length_prefixed(ok)),
        test::expected_fb(5, 4, Rect{0, 0, 1, 1}, {kR}));
}

// A content size far beyond the rectangle is no reason to fail by itself: an UltraVNC stream's
// frame spans many rectangles. Each rectangle still gets exactly its own pixels.
TEST(ZstdDecoder, ContentSizeLargerThanTheRectangleIsNotTrusted) {
    Bytes raw;
    raw.px32(kG);
    ZBytes frame = test::frame_header(uint64_t{1} << 40, 0x00);
    test::append(frame, test::raw_block(false, raw.v));
    test::expect_decodes_to(
        zstd_case(PixelFormat::canonical(), Rect{0, 0, 1, 1}, test::zstd_length_prefixed(frame)),
        test::expected_fb(5, 4, Rect{0, 0, 1, 1}, {kG}));
}

TEST(ZstdDecoder, RejectsOversizedLengthAtOnce) {
    Bytes b;
    b.u32(static_cast<uint32_t>(ZstdDecoder::kMaxCompressedLength + 1));
    test::expect_rejected(zstd_case(PixelFormat::canonical(), Rect{0, 0, 2, 2}, b.v),
                          "zstd: compressed length too large");
}

TEST(ZstdDecoder, StreamStaysBrokenUntilReset) {
    Framebuffer fb = test::filled_fb(5, 4, test::kSentinel);
    PixelReader px(PixelFormat::canonical());
    DecodeTarget t{fb, px};
    ZstdDecoder d;
    Bytes raw;
    raw.px32(kR);
    const ZBytes good = test::zstd_length_prefixed(test::raw_frame(raw.v));
    const ZBytes bad = test::zstd_length_prefixed(ZBytes{1, 2, 3, 4, 5, 6});
    EXPECT_EQ(d.decode(Rect{0, 0, 1, 1}, bad, t).status, DecodeStatus::kError);
    const DecodeResult after_error = d.decode(Rect{0, 0, 1, 1}, good, t);
    EXPECT_EQ(after_error.status, DecodeStatus::kError);
    EXPECT_NE(after_error.error.find("broken"), std::string::npos) << after_error.error;
    d.reset();
    EXPECT_EQ(d.decode(Rect{0, 0, 1, 1}, good, t).status, DecodeStatus::kDone);
    EXPECT_EQ(fb.at(0, 0), kR);
}

TEST(ZstdDecoder, RectangleOutsideTheFramebufferIsAnError) {
    Bytes raw;
    raw.px32(kR);
    Framebuffer fb(5, 4);
    PixelReader px(PixelFormat::canonical());
    DecodeTarget t{fb, px};
    ZstdDecoder d;
    const DecodeResult res =
        d.decode(Rect{4, 0, 2, 1}, test::zstd_length_prefixed(test::raw_frame(raw.v)), t);
    EXPECT_EQ(res.status, DecodeStatus::kError);
}

// Many empty rectangles in a row must not trip zstd's "no forward progress" guard.
TEST(ZstdDecoder, ManyEmptyRectanglesInARow) {
    Framebuffer fb = test::filled_fb(5, 4, test::kSentinel);
    PixelReader px(PixelFormat::canonical());
    DecodeTarget t{fb, px};
    ZstdDecoder d;
    Bytes raw;
    raw.px32(kR);
    for (int i = 0; i < 40; ++i) {
        ASSERT_EQ(d.decode(Rect{0, 0, 0, 0}, test::zstd_length_prefixed({}), t).status,
                  DecodeStatus::kDone)
            << i;
        ASSERT_EQ(d.decode(Rect{0, 0, 1, 1}, test::zstd_length_prefixed(test::raw_frame(raw.v)), t)
                      .status,
                  DecodeStatus::kDone)
            << i;
    }
}

}  // namespace
}  // namespace rfb
