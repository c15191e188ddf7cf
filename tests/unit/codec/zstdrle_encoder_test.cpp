#include "codec/zstdrle_encoder.h"

#include <gtest/gtest.h>
#include <zstd.h>

#include <string>
#include <vector>

#include "codec/rfb_constants.h"
#include "codec/zrle_encoder.h"
#include "encoder_test_content.h"
#include "viewer_stream_support.h"
#include "zstd_test_frames.h"

namespace rfb {
namespace {

using Bytes = std::vector<uint8_t>;

Bytes encode(const Framebuffer& fb, const Rect& r, const PixelFormat& pf, int level = -1) {
    ZstdrleEncoder enc;
    Bytes out;
    EncodeTuning t;
    t.compress = level;
    EXPECT_TRUE(enc.encode(fb, r, PixelWriter(pf), t, out));
    return out;
}

// Decompresses `body`, which must be exactly one complete frame (of any declared size).
Bytes decompress_frame(const Bytes& body) {
    EXPECT_EQ(ZSTD_findFrameCompressedSize(body.data(), body.size()), body.size());
    ZSTD_DCtx* d = ZSTD_createDCtx();
    Bytes out;
    ZSTD_inBuffer in{body.data(), body.size(), 0};
    uint8_t buf[65536];
    size_t rc = 1;
    while (in.pos < in.size || rc != 0) {
        ZSTD_outBuffer ob{buf, sizeof buf, 0};
        rc = ZSTD_decompressStream(d, &ob, &in);
        if (ZSTD_isError(rc)) {
            ADD_FAILURE() << ZSTD_getErrorName(rc);
            break;
        }
        out.insert(out.end(), buf, buf + ob.pos);
        if (ob.pos == 0 && in.pos == in.size) break;
    }
    EXPECT_EQ(rc, 0u) << "frame not complete";
    ZSTD_freeDCtx(d);
    return out;
}

// ZRLE's tile data for the same rectangle, from the ZRLE encoder (tested against the spec in
// zrle_encoder_test.cpp), inflated.
Bytes zrle_tiles(const Framebuffer& fb, const Rect& r, const PixelFormat& pf) {
    ZrleEncoder zrle;
    Bytes body(kZlibHeader, kZlibHeader + 2);
    EXPECT_TRUE(zrle.encode(fb, r, PixelWriter(pf), EncodeTuning{}, body));
    test::ZlibViewerStream v;
    Bytes out;
    EXPECT_TRUE(v.inflate_rect(body, out));
    return out;
}

TEST(ZstdrleEncoder, SolidTile) {
    Framebuffer fb(64, 64);
    fb.fill(fb.bounds(), 0x112233);
    EXPECT_EQ(decompress_frame(encode(fb, fb.bounds(), PixelFormat::canonical())),
              (Bytes{1, 0x33, 0x22, 0x11}));
    EXPECT_EQ(decompress_frame(encode(fb, fb.bounds(), test::canonical_be())),
              (Bytes{1, 0x11, 0x22, 0x33}));
    fb.fill(fb.bounds(), 0x00ff00);
    EXPECT_EQ(decompress_frame(encode(fb, fb.bounds(), PixelFormat::rgb565())),
              (Bytes{1, 0xe0, 0x07}));
    EXPECT_EQ(decompress_frame(encode(fb, fb.bounds(), PixelFormat::bgr233())), (Bytes{1, 0x38}));
}

TEST(ZstdrleEncoder, TileDataIsExactlyZrles) {
    Framebuffer fb(200, 200);
    test::fill_text(fb, Rect{0, 0, 200, 100}, 11);
    test::fill_noise(fb, Rect{0, 100, 100, 100}, 12);
    test::fill_gradient(fb, Rect{100, 100, 100, 100});
    const Rect rects[] = {Rect{0, 0, 1, 1},    Rect{199, 199, 1, 1},   Rect{0, 0, 65, 65},
                          Rect{3, 5, 63, 129}, Rect{60, 90, 140, 110}, Rect{0, 0, 200, 200},
                          Rect{10, 0, 1, 200}, Rect{0, 10, 200, 1}};
    for (const PixelFormat& pf : test::viewer_formats())
        for (const Rect& r : rects)
            EXPECT_EQ(decompress_frame(encode(fb, r, pf)), zrle_tiles(fb, r, pf))
                << pf.describe() << " " << r.x << "," << r.y << " " << r.w << "x" << r.h;
}

TEST(ZstdrleEncoder, SmallBodiesDeclareTheirSize) {
    Framebuffer fb(128, 128);
    test::fill_text(fb, fb.bounds(), 5);
    const Bytes body = encode(fb, fb.bounds(), PixelFormat::canonical());
    EXPECT_EQ(ZSTD_getFrameContentSize(body.data(), body.size()),
              zrle_tiles(fb, fb.bounds(), PixelFormat::canonical()).size());
    const test::FrameHeaderInfo h = test::read_frame_header(body);
    ASSERT_TRUE(h.ok);
    EXPECT_FALSE(h.checksum);
}

TEST(ZstdrleEncoder, LargeBodiesAreStreamedIntoOneFrame) {
    // Noise tiles are raw: 1 + 4096 * 3 bytes each, far more than kOneShotBytes in all.
    Framebuffer fb(512, 512);
    test::fill_noise(fb, fb.bounds(), 21);
    const Bytes tiles = zrle_tiles(fb, fb.bounds(), PixelFormat::canonical());
    ASSERT_GT(tiles.size(), 2 * ZstdrleEncoder::kOneShotBytes);
    const Bytes body = encode(fb, fb.bounds(), PixelFormat::canonical(), 1);
    EXPECT_EQ(ZSTD_getFrameContentSize(body.data(), body.size()), ZSTD_CONTENTSIZE_UNKNOWN);
    EXPECT_EQ(decompress_frame(body), tiles);
    test::ViewerConnectionSim viewer(encoding::kZSTDRLE, PixelFormat::canonical(), 512, 512);
    ASSERT_TRUE(viewer.receive(fb.bounds(), body));
    EXPECT_TRUE(test::shows(viewer.view(), fb, fb.bounds(), PixelFormat::canonical()));
}

TEST(ZstdrleEncoder, CompressionLevelIsHonoured) {
    Framebuffer fb(256, 128);
    test::fill_text(fb, fb.bounds(), 9);
    const Bytes l0 = encode(fb, fb.bounds(), PixelFormat::canonical(), 0);
    const Bytes l3 = encode(fb, fb.bounds(), PixelFormat::canonical(), 3);
    const Bytes l9 = encode(fb, fb.bounds(), PixelFormat::canonical(), 9);
    EXPECT_LT(l9.size(), l0.size());
    EXPECT_EQ(encode(fb, fb.bounds(), PixelFormat::canonical(), -1), l3);
    const Bytes tiles = zrle_tiles(fb, fb.bounds(), PixelFormat::canonical());
    for (const Bytes* b : {&l0, &l3, &l9})
        EXPECT_EQ(decompress_frame(*b), tiles);
}

TEST(ZstdrleEncoder, SamePixelsGiveTheSameBytes) {
    Framebuffer fb(200, 150);
    test::fill_text(fb, Rect{0, 0, 100, 150}, 1);
    test::fill_noise(fb, Rect{100, 0, 100, 150}, 2);
    const Rect a{10, 10, 130, 70}, b{0, 80, 200, 70};
    for (const PixelFormat& pf : test::viewer_formats()) {
        ZstdrleEncoder enc;
        PixelWriter px(pf);
        Bytes a1, b1, a2, a3;
        ASSERT_TRUE(enc.encode(fb, a, px, {}, a1));
        ASSERT_TRUE(enc.encode(fb, b, px, {}, b1));
        ASSERT_TRUE(enc.encode(fb, a, px, {}, a2));
        ZstdrleEncoder fresh;
        ASSERT_TRUE(fresh.encode(fb, a, px, {}, a3));
        EXPECT_EQ(a1, a2) << pf.describe();
        EXPECT_EQ(a1, a3) << pf.describe();
        Framebuffer moved(300, 300);
        std::vector<uint32_t> tmp(a.area());
        ASSERT_TRUE(fb.get(a, tmp.data()));
        ASSERT_TRUE(moved.put(Rect{77, 123, a.w, a.h}, tmp.data(), a.w));
        Bytes a4;
        ASSERT_TRUE(enc.encode(moved, Rect{77, 123, a.w, a.h}, px, {}, a4));
        EXPECT_EQ(a1, a4) << pf.describe();
    }
}

TEST(ZstdrleEncoder, RefusesWhatItCannotEncode) {
    Framebuffer fb(16, 16);
    ZstdrleEncoder enc;
    Bytes out{1, 2, 3};
    EXPECT_FALSE(
        enc.encode(fb, Rect{10, 10, 7, 1}, PixelWriter(PixelFormat::canonical()), {}, out));
    PixelFormat pf24 = PixelFormat::canonical();
    pf24.bits_per_pixel = 24;
    EXPECT_FALSE(enc.encode(fb, Rect{0, 0, 4, 4}, PixelWriter(pf24), {}, out));
    EXPECT_EQ(out, (Bytes{1, 2, 3}));
    ASSERT_TRUE(enc.encode(fb, Rect{0, 0, 4, 4}, PixelWriter(PixelFormat::canonical()), {}, out));
    EXPECT_EQ(decompress_frame(Bytes(out.begin() + 3, out.end())), (Bytes{1, 0, 0, 0}));
}

TEST(ZstdrleEncoder, EmptyRectangle) {
    Framebuffer fb(8, 8);
    const Bytes body = encode(fb, Rect{8, 0, 0, 8}, PixelFormat::canonical());
    EXPECT_TRUE(decompress_frame(body).empty());
    test::ViewerConnectionSim viewer(encoding::kZSTDRLE, PixelFormat::canonical(), 8, 8);
    EXPECT_TRUE(viewer.receive(Rect{8, 0, 0, 8}, body));
}

// The decisive test: bodies encoded once, sent to viewers in different orders and subsets. Each
// viewer decodes with ONE stream for its connection: the project's ZstdrleDecoder, and UltraVNC's
// viewer as its source does it (rdr::ZstdInStream: the tile reader pulls what it needs, reset()
// drains the rest of the rectangle's bytes).
TEST(ZstdrleEncoder, SharedBodiesDecodeInAnyViewerStream) {
    Framebuffer fb(256, 192);
    test::fill_text(fb, Rect{0, 0, 128, 96}, 31);
    test::fill_ui(fb, Rect{128, 0, 128, 96}, 32);
    test::fill_gradient(fb, Rect{0, 96, 128, 96});
    test::fill_noise(fb, Rect{128, 96, 128, 96}, 33);
    const std::vector<Rect> rects = {
        Rect{0, 0, 64, 64},   Rect{64, 0, 100, 70}, Rect{10, 80, 130, 70}, Rect{150, 100, 106, 92},
        Rect{255, 191, 1, 1}, Rect{0, 0, 256, 192}, Rect{128, 0, 128, 96}};
    const std::vector<std::vector<size_t>> viewers = {
        {0, 1, 2, 3, 4, 5, 6},
        {3, 1, 4, 1, 5, 0},
        {6, 6, 2},
    };
    for (const PixelFormat& pf : test::viewer_formats()) {
        ZstdrleEncoder enc;
        std::vector<Bytes> bodies;
        for (const Rect& r : rects) {
            EncodeTuning t;
            t.compress = static_cast<int>(bodies.size() % 10);
            Bytes b;
            ASSERT_TRUE(enc.encode(fb, r, PixelWriter(pf), t, b));
            bodies.push_back(std::move(b));
        }
        for (size_t v = 0; v < viewers.size(); ++v) {
            test::ViewerConnectionSim viewer(encoding::kZSTDRLE, pf, 256, 192);
            test::UltraVncZstdInStream uvnc;
            for (size_t k : viewers[v]) {
                const Rect& r = rects[k];
                ASSERT_TRUE(viewer.receive(r, bodies[k])) << "viewer " << v << " " << pf.describe();
                ASSERT_TRUE(test::shows(viewer.view(), fb, r, pf)) << "viewer " << v;
                const Bytes want = zrle_tiles(fb, r, pf);
                Bytes got;
                size_t discarded = 0;
                ASSERT_TRUE(uvnc.read_rect(std::span(viewer.last_framed()).subspan(4), want.size(),
                                           got, discarded));
                ASSERT_EQ(got, want) << "viewer " << v << " rect " << k << " " << pf.describe();
                EXPECT_EQ(discarded, 0u);
            }
        }
    }
}

TEST(ZstdrleEncoder, RoundTripsRandomContent) {
    test::Lcg g{31337};
    Framebuffer fb(160, 160);
    const auto formats = test::viewer_formats();
    for (int iter = 0; iter < 60; ++iter) {
        switch (g.below(4)) {
            case 0:
                test::fill_noise(fb, fb.bounds(), g.next());
                break;
            case 1:
                test::fill_palette(fb, fb.bounds(), g.next(), 2 + g.below(200));
                break;
            case 2:
                test::fill_ui(fb, fb.bounds(), g.next());
                break;
            default:
                test::fill_text(fb, fb.bounds(), g.next());
                break;
        }
        const uint32_t w = 1 + g.below(160), h = 1 + g.below(160);
        const Rect r{g.below(161 - w), g.below(161 - h), w, h};
        const PixelFormat& pf = formats[g.below(formats.size())];
        test::ViewerConnectionSim viewer(encoding::kZSTDRLE, pf, 160, 160);
        Bytes body = encode(fb, r, pf, static_cast<int>(g.below(10)));
        ASSERT_TRUE(viewer.receive(r, body)) << "iteration " << iter;
        ASSERT_TRUE(test::shows(viewer.view(), fb, r, pf)) << "iteration " << iter;
    }
}

}  // namespace
}  // namespace rfb
