#include "codec/zstdrle_decoder.h"

#include <gtest/gtest.h>

#include "decoder_test_support.h"
#include "zstd_test_frames.h"

namespace rfb {
namespace {

using test::Bytes;
using test::ZBytes;

constexpr uint32_t kR = 0xff0000, kG = 0x00ff00, kB = 0x0000ff;

test::DecodeCase zstdrle_case(PixelFormat pf, uint32_t fw, uint32_t fh, Rect r,
                              const ZBytes& tiles_or_frame, bool is_frame = false) {
    const ZBytes frame = is_frame ? tiles_or_frame : test::raw_frame(tiles_or_frame);
    return {[] { return std::make_unique<ZstdrleDecoder>(); },
            pf,
            fw,
            fh,
            r,
            test::zstd_length_prefixed(frame)};
}

// Tile data is ZRLE's (rfbproto.rst, "ZRLE Encoding"); only the compressor differs.
TEST(ZstdrleDecoder, SolidTile) {
    // Canonical 32 bpp, depth 24: CPIXELs are the three low bytes, little-endian.
    const auto c =
        zstdrle_case(PixelFormat::canonical(), 5, 4, Rect{1, 1, 3, 2}, ZBytes{1, 0x33, 0x22, 0x11});
    test::expect_decodes_to(c,
                            test::expected_fb(5, 4, Rect{1, 1, 3, 2}, std::vector(6, 0x112233u)));
    test::expect_truncations_wait(c);
}

TEST(ZstdrleDecoder, TilesCoverTheRectangleInOrder) {
    // 65x2: a 64x2 tile (packed palette, 1 bit per pixel) and a 1x2 tile (raw).
    ZBytes tiles = {2, 0x00, 0x00, 0xff, 0x00, 0xff, 0x00};  // palette: red, green
    // Row 0: red x 8, green x 56; row 1: all green.
    tiles.insert(tiles.end(), {0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff});
    tiles.insert(tiles.end(), 8, 0xff);
    tiles.insert(tiles.end(), {0, 0xff, 0x00, 0x00, 0x01, 0x02, 0x03});  // raw: blue, 0x030201
    std::vector<uint32_t> inside;
    for (uint32_t y = 0; y < 2; ++y)
        for (uint32_t x = 0; x < 65; ++x)
            inside.push_back(x == 64 ? (y == 0 ? kB : 0x030201) : (y == 0 && x < 8 ? kR : kG));
    const Rect r{2, 1, 65, 2};
    const auto c = zstdrle_case(PixelFormat::canonical(), 70, 4, r, tiles);
    test::expect_decodes_to(c, test::expected_fb(70, 4, r, inside));
}

TEST(ZstdrleDecoder, Rgb565AndBgr233CPixels) {
    test::expect_decodes_to(
        zstdrle_case(PixelFormat::rgb565(), 5, 4, Rect{0, 0, 2, 2}, ZBytes{1, 0xe0, 0x07}),
        test::expected_fb(5, 4, Rect{0, 0, 2, 2}, std::vector(4, kG)));
    // Plain RLE in 8 bpp: red run of 3, blue run of 1.
    test::expect_decodes_to(
        zstdrle_case(PixelFormat::bgr233(), 5, 4, Rect{0, 0, 2, 2}, ZBytes{128, 0x07, 2, 0xc0, 0}),
        test::expected_fb(5, 4, Rect{0, 0, 2, 2}, {kR, kR, kR, kB}));
}

// UltraVNC servers continue one frame across rectangles (ZstdOutStream, ZSTD_e_flush).
TEST(ZstdrleDecoder, OneFrameAcrossRectanglesAsUltraVncSends) {
    const ZBytes solid_red = {1, 0x00, 0x00, 0xff};
    const ZBytes solid_blue = {1, 0xff, 0x00, 0x00};
    test::ZstdServerStream server;
    const ZBytes b1 = test::zstd_length_prefixed(server.compress(solid_red));
    const ZBytes b2 = test::zstd_length_prefixed(server.compress(solid_blue));
    test::DecodeCase c = {
        [b1] {
            auto d = std::make_unique<ZstdrleDecoder>();
            Framebuffer fb(5, 4);
            PixelReader px(PixelFormat::canonical());
            DecodeTarget t{fb, px};
            EXPECT_EQ(d->decode(Rect{0, 0, 2, 2}, b1, t).status, DecodeStatus::kDone);
            return d;
        },
        PixelFormat::canonical(),
        5,
        4,
        Rect{3, 2, 2, 2},
        b2};
    test::expect_decodes_to(c, test::expected_fb(5, 4, Rect{3, 2, 2, 2}, std::vector(4, kB)));
    test::expect_truncations_wait(c);
}

TEST(ZstdrleDecoder, CompressedFrames) {
    // A 130x70 rectangle of solid tiles, compressed by libzstd.
    ZBytes tiles;
    for (int i = 0; i < 6; ++i)
        tiles.insert(tiles.end(), {1, uint8_t(i), 0, 0});
    const Rect r{0, 0, 130, 70};
    std::vector<uint32_t> want(r.area());
    for (uint32_t y = 0; y < 70; ++y)
        for (uint32_t x = 0; x < 130; ++x)
            want[y * 130 + x] = (y / 64) * 3 + (x / 64);
    Framebuffer fb = test::filled_fb(130, 70, test::kSentinel);
    PixelReader px(PixelFormat::canonical());
    DecodeTarget t{fb, px};
    ZstdrleDecoder d;
    const ZBytes body = test::zstd_length_prefixed(test::zstd_frame(tiles, 9, true));
    const DecodeResult res = d.decode(r, body, t);
    ASSERT_EQ(res.status, DecodeStatus::kDone) << res.error;
    EXPECT_EQ(res.consumed, body.size());
    EXPECT_EQ(test::pixels_of(fb), want);
}

TEST(ZstdrleDecoder, RejectsUnusedSubencodings) {
    for (uint8_t sub : {17, 100, 127, 129}) {
        SCOPED_TRACE(int(sub));
        test::expect_rejected(zstdrle_case(PixelFormat::canonical(), 4, 4, Rect{0, 0, 2, 2},
                                           ZBytes{sub, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}),
                              "zstdrle: unused subencoding");
    }
}

TEST(ZstdrleDecoder, RejectsRunPastTheTile) {
    test::expect_rejected(
        zstdrle_case(PixelFormat::canonical(), 4, 4, Rect{0, 0, 2, 2}, ZBytes{128, 1, 2, 3, 4}),
        "zstdrle: run past the end of the tile");
}

TEST(ZstdrleDecoder, RejectsDataBeyondTheTiles) {
    test::expect_rejected(
        zstdrle_case(PixelFormat::canonical(), 4, 4, Rect{0, 0, 2, 2}, ZBytes{1, 1, 2, 3, 0}),
        "zstdrle: zstd data longer than the tiles");
}

TEST(ZstdrleDecoder, RejectsTooLittleData) {
    test::expect_rejected(
        zstdrle_case(PixelFormat::canonical(), 4, 4, Rect{0, 0, 2, 2}, ZBytes{0, 1, 2, 3, 4}),
        "zstdrle: zstd data ends before the tiles do");
}

TEST(ZstdrleDecoder, RejectsZstdGarbage) {
    test::expect_rejected(zstdrle_case(PixelFormat::canonical(), 4, 4, Rect{0, 0, 2, 2},
                                       ZBytes{1, 2, 3, 4, 5, 6, 7, 8}, /*is_frame=*/true),
                          "zstdrle: zstd data is corrupt");
}

TEST(ZstdrleDecoder, RejectsABombWithoutMakingIt) {
    // A solid tile, then 128 KiB of zeros from a 4-byte block.
    ZBytes frame = test::frame_header(std::nullopt, 0x58);  // 2^21 window
    test::append(frame, test::raw_block(false, ZBytes{1, 1, 2, 3}));
    test::append(frame, test::rle_block(true, 0, 128 * 1024));
    test::expect_rejected(
        zstdrle_case(PixelFormat::canonical(), 4, 4, Rect{0, 0, 2, 2}, frame, true),
        "zstdrle: zstd data longer than the tiles");
}

TEST(ZstdrleDecoder, RejectsHugeWindows) {
    ZBytes frame = test::frame_header(uint64_t{1} << 40, std::nullopt);
    test::append(frame, test::raw_block(true, ZBytes{1, 1, 2, 3}));
    test::expect_rejected(
        zstdrle_case(PixelFormat::canonical(), 4, 4, Rect{0, 0, 2, 2}, frame, true),
        "zstdrle: zstd data is corrupt");
}

TEST(ZstdrleDecoder, RejectsOversizeLengthBeforeItArrives) {
    Bytes b;
    b.u32(static_cast<uint32_t>(ZstdrleDecoder::kMaxCompressedLength + 1));
    test::DecodeCase c{[] { return std::make_unique<ZstdrleDecoder>(); },
                       PixelFormat::canonical(),
                       4,
                       4,
                       Rect{0, 0, 2, 2},
                       b.v};
    test::expect_rejected(c, "zstdrle: compressed length too large");
}

TEST(ZstdrleDecoder, AfterAnErrorOnlyResetRecovers) {
    Framebuffer fb = test::filled_fb(4, 4, test::kSentinel);
    PixelReader px(PixelFormat::canonical());
    DecodeTarget t{fb, px};
    ZstdrleDecoder d;
    const ZBytes good = test::zstd_length_prefixed(test::raw_frame(ZBytes{1, 0, 0, 0xff}));
    const ZBytes bad = test::zstd_length_prefixed(test::raw_frame(ZBytes{17}));
    EXPECT_EQ(d.decode(Rect{0, 0, 2, 2}, bad, t).status, DecodeStatus::kError);
    const DecodeResult res = d.decode(Rect{0, 0, 2, 2}, good, t);
    EXPECT_EQ(res.status, DecodeStatus::kError);
    EXPECT_NE(res.error.find("broken"), std::string::npos) << res.error;
    d.reset();
    ASSERT_EQ(d.decode(Rect{0, 0, 2, 2}, good, t).status, DecodeStatus::kDone);
    EXPECT_EQ(fb.at(1, 1), kR);
}

TEST(ZstdrleDecoder, EmptyRectangle) {
    test::expect_decodes_to(
        zstdrle_case(PixelFormat::canonical(), 4, 4, Rect{4, 0, 0, 4}, ZBytes{}),
        test::pixels_of(test::filled_fb(4, 4, test::kSentinel)));
}

}  // namespace
}  // namespace rfb
