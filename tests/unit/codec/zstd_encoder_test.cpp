#include "codec/zstd_encoder.h"

#include <gtest/gtest.h>
#include <zstd.h>

#include <string>
#include <vector>

#include "codec/rfb_constants.h"
#include "encoder_test_content.h"
#include "viewer_stream_support.h"
#include "zstd_test_frames.h"

namespace rfb {
namespace {

using Bytes = std::vector<uint8_t>;

Bytes encode(const Framebuffer& fb, const Rect& r, const PixelFormat& pf, int level = -1) {
    ZstdEncoder enc;
    Bytes out;
    EncodeTuning t;
    t.compress = level;
    EXPECT_TRUE(enc.encode(fb, r, PixelWriter(pf), t, out));
    return out;
}

// Decompresses `body`, which must be exactly one complete frame.
Bytes decompress_frame(const Bytes& body) {
    EXPECT_EQ(ZSTD_findFrameCompressedSize(body.data(), body.size()), body.size());
    const unsigned long long size = ZSTD_getFrameContentSize(body.data(), body.size());
    EXPECT_NE(size, ZSTD_CONTENTSIZE_UNKNOWN);
    EXPECT_NE(size, ZSTD_CONTENTSIZE_ERROR);
    Bytes out(size + 1);
    const size_t n = ZSTD_decompress(out.data(), out.size(), body.data(), body.size());
    EXPECT_FALSE(ZSTD_isError(n)) << ZSTD_getErrorName(n);
    out.resize(ZSTD_isError(n) ? 0 : n);
    return out;
}

TEST(ZstdLevel, MapsTheViewersCompressionLevel) {
    auto level = [](int c) {
        EncodeTuning t;
        t.compress = c;
        return zstd_level(t);
    };
    EXPECT_EQ(level(-1), 3);  // not asked: zstd's default
    EXPECT_EQ(level(0), -1);  // the cheapest
    for (int c = 1; c <= 9; ++c)
        EXPECT_EQ(level(c), c);
    EXPECT_EQ(level(10), 3);
    EXPECT_EQ(level(-7), 3);
}

TEST(ZstdEncoder, BodyIsOneFrameHoldingTheRawBody) {
    Framebuffer fb(3, 2);
    fb.row(0)[0] = 0x112233;
    fb.row(0)[1] = 0x00ff00;
    fb.row(0)[2] = 0xff0000;
    fb.row(1)[0] = 0x0000ff;
    fb.row(1)[1] = 0xffffff;
    fb.row(1)[2] = 0x000000;
    EXPECT_EQ(decompress_frame(encode(fb, fb.bounds(), PixelFormat::canonical())),
              (Bytes{0x33, 0x22, 0x11, 0, 0,    0xff, 0,    0, 0, 0, 0xff, 0,
                     0xff, 0,    0,    0, 0xff, 0xff, 0xff, 0, 0, 0, 0,    0}));
    EXPECT_EQ(decompress_frame(encode(fb, Rect{0, 0, 2, 1}, test::canonical_be())),
              (Bytes{0, 0x11, 0x22, 0x33, 0, 0, 0xff, 0}));
    EXPECT_EQ(decompress_frame(encode(fb, Rect{1, 0, 2, 2}, PixelFormat::rgb565())),
              (Bytes{0xe0, 0x07, 0x00, 0xf8, 0xff, 0xff, 0x00, 0x00}));
    EXPECT_EQ(decompress_frame(encode(fb, Rect{1, 0, 2, 2}, PixelFormat::bgr233())),
              (Bytes{0x38, 0x07, 0xff, 0x00}));
}

TEST(ZstdEncoder, FrameHeaderCarriesTheSizeAndNoChecksum) {
    Framebuffer fb(300, 200);
    test::fill_text(fb, fb.bounds(), 3);
    for (const PixelFormat& pf : test::viewer_formats()) {
        const Bytes body = encode(fb, fb.bounds(), pf);
        const test::FrameHeaderInfo h = test::read_frame_header(body);
        ASSERT_TRUE(h.ok);
        const uint64_t size = 300u * 200 * pf.bytes_per_pixel();
        EXPECT_EQ(ZSTD_getFrameContentSize(body.data(), body.size()), size);
        EXPECT_FALSE(h.checksum);
        // The window is no larger than the content: a viewer's buffers stay that small.
        EXPECT_LE(h.window_size, std::max<uint64_t>(1024, 2 * size));
        EXPECT_EQ(decompress_frame(body), test::wire_pixels(fb, fb.bounds(), pf));
    }
}

TEST(ZstdEncoder, CompressionLevelIsHonoured) {
    Framebuffer fb(256, 128);
    test::fill_text(fb, Rect{0, 0, 128, 128}, 4);
    test::fill_gradient(fb, Rect{128, 0, 128, 128});
    const Bytes l0 = encode(fb, fb.bounds(), PixelFormat::canonical(), 0);
    const Bytes l1 = encode(fb, fb.bounds(), PixelFormat::canonical(), 1);
    const Bytes l3 = encode(fb, fb.bounds(), PixelFormat::canonical(), 3);
    const Bytes l9 = encode(fb, fb.bounds(), PixelFormat::canonical(), 9);
    EXPECT_LT(l9.size(), l0.size());
    EXPECT_LE(l9.size(), l1.size());
    EXPECT_NE(l9, l1);
    EXPECT_EQ(encode(fb, fb.bounds(), PixelFormat::canonical(), -1), l3);  // default is 3
    const Bytes raw = test::wire_pixels(fb, fb.bounds(), PixelFormat::canonical());
    for (const Bytes* b : {&l0, &l1, &l3, &l9})
        EXPECT_EQ(decompress_frame(*b), raw);
}

TEST(ZstdEncoder, SamePixelsGiveTheSameBytes) {
    Framebuffer fb(200, 150);
    test::fill_text(fb, Rect{0, 0, 100, 150}, 1);
    test::fill_noise(fb, Rect{100, 0, 100, 150}, 2);
    const Rect a{10, 10, 130, 70}, b{0, 80, 200, 70};
    for (const PixelFormat& pf : test::viewer_formats()) {
        ZstdEncoder enc;
        PixelWriter px(pf);
        EncodeTuning t;
        Bytes a1, b1, a2, a_level9, a3;
        ASSERT_TRUE(enc.encode(fb, a, px, t, a1));
        ASSERT_TRUE(enc.encode(fb, b, px, t, b1));
        ASSERT_TRUE(enc.encode(fb, a, px, t, a2));
        t.compress = 9;
        ASSERT_TRUE(enc.encode(fb, a, px, t, a_level9));
        t.compress = -1;
        ASSERT_TRUE(enc.encode(fb, a, px, t, a3));
        EXPECT_EQ(a1, a2) << pf.describe();
        EXPECT_EQ(a1, a3) << pf.describe();
        ZstdEncoder fresh;
        Bytes a4;
        ASSERT_TRUE(fresh.encode(fb, a, px, t, a4));
        EXPECT_EQ(a1, a4) << pf.describe();
        Framebuffer moved(300, 300);
        std::vector<uint32_t> tmp(a.area());
        ASSERT_TRUE(fb.get(a, tmp.data()));
        ASSERT_TRUE(moved.put(Rect{77, 123, a.w, a.h}, tmp.data(), a.w));
        Bytes a5;
        ASSERT_TRUE(enc.encode(moved, Rect{77, 123, a.w, a.h}, px, t, a5));
        EXPECT_EQ(a1, a5) << pf.describe();
    }
}

TEST(ZstdEncoder, EdgeRectanglesRoundTripThroughTheDecoder) {
    Framebuffer fb(200, 200);
    test::fill_text(fb, Rect{0, 0, 200, 100}, 11);
    test::fill_noise(fb, Rect{0, 100, 100, 100}, 12);
    test::fill_gradient(fb, Rect{100, 100, 100, 100});
    const Rect rects[] = {Rect{0, 0, 1, 1},    Rect{199, 199, 1, 1},   Rect{0, 0, 65, 65},
                          Rect{3, 5, 63, 129}, Rect{60, 90, 140, 110}, Rect{0, 0, 200, 200},
                          Rect{10, 0, 1, 200}, Rect{0, 10, 200, 1},    Rect{7, 7, 0, 0}};
    for (const PixelFormat& pf : test::viewer_formats()) {
        test::ViewerConnectionSim viewer(encoding::kZstd, pf, 200, 200);
        ZstdEncoder enc;
        for (const Rect& r : rects) {
            Bytes body;
            ASSERT_TRUE(enc.encode(fb, r, PixelWriter(pf), EncodeTuning{}, body));
            ASSERT_TRUE(viewer.receive(r, body)) << pf.describe();
            ASSERT_TRUE(test::shows(viewer.view(), fb, r, pf)) << pf.describe();
        }
    }
}

TEST(ZstdEncoder, RefusesWhatItCannotEncode) {
    Framebuffer fb(16, 16);
    ZstdEncoder enc;
    Bytes out{1, 2, 3};
    EXPECT_FALSE(
        enc.encode(fb, Rect{10, 10, 7, 1}, PixelWriter(PixelFormat::canonical()), {}, out));
    PixelFormat pf24 = PixelFormat::canonical();
    pf24.bits_per_pixel = 24;
    EXPECT_FALSE(enc.encode(fb, Rect{0, 0, 4, 4}, PixelWriter(pf24), {}, out));
    EXPECT_EQ(out, (Bytes{1, 2, 3}));
    ASSERT_TRUE(enc.encode(fb, Rect{0, 0, 4, 4}, PixelWriter(PixelFormat::canonical()), {}, out));
    EXPECT_EQ(decompress_frame(Bytes(out.begin() + 3, out.end())), Bytes(64, 0));
}

TEST(ZstdEncoder, LargeRectangleSpansManyChunks) {
    Framebuffer fb(1000, 300);
    test::fill_noise(fb, Rect{0, 0, 1000, 150}, 99);
    test::fill_text(fb, Rect{0, 150, 1000, 150}, 98);
    const Bytes body = encode(fb, fb.bounds(), PixelFormat::canonical(), 1);
    EXPECT_EQ(decompress_frame(body), test::wire_pixels(fb, fb.bounds(), PixelFormat::canonical()));
}

// The decisive test: bodies encoded once, sent to viewers in different orders and subsets. Each
// viewer decodes with ONE stream for its connection: the project's ZstdDecoder, and UltraVNC's
// viewer as its source does it (one ZSTD_decompressStream call per rectangle, output buffer of
// exactly the rectangle's raw size).
TEST(ZstdEncoder, SharedBodiesDecodeInAnyViewerStream) {
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
        ZstdEncoder enc;
        std::vector<Bytes> bodies;
        for (const Rect& r : rects) {
            EncodeTuning t;
            t.compress = static_cast<int>(bodies.size() % 10);
            Bytes b;
            ASSERT_TRUE(enc.encode(fb, r, PixelWriter(pf), t, b));
            bodies.push_back(std::move(b));
        }
        for (size_t v = 0; v < viewers.size(); ++v) {
            test::ViewerConnectionSim viewer(encoding::kZstd, pf, 256, 192);
            test::UltraVncZstdRectViewer uvnc;
            for (size_t k : viewers[v]) {
                const Rect& r = rects[k];
                ASSERT_TRUE(viewer.receive(r, bodies[k])) << "viewer " << v << " " << pf.describe();
                ASSERT_TRUE(test::shows(viewer.view(), fb, r, pf)) << "viewer " << v;
                const Bytes want = test::wire_pixels(fb, r, pf);
                Bytes got;
                ASSERT_TRUE(
                    uvnc.read_rect(std::span(viewer.last_framed()).subspan(4), want.size(), got));
                ASSERT_EQ(got, want) << "viewer " << v << " rect " << k << " " << pf.describe();
                EXPECT_TRUE(uvnc.consumed_all());
            }
        }
    }
}

// The harness above can tell: the second piece of a per-connection zstd stream (as UltraVNC
// servers send) does not decode in a viewer stream that lacks the first.
TEST(ZstdEncoder, SharingTestRejectsStreamDependentBodies) {
    Framebuffer fb(64, 64);
    test::fill_text(fb, fb.bounds(), 52);
    const PixelFormat pf = PixelFormat::canonical();
    const Bytes raw = test::wire_pixels(fb, fb.bounds(), pf);
    test::ZstdServerStream server(3);
    server.compress(raw);
    const Bytes second = server.compress(raw);
    test::ViewerConnectionSim viewer(encoding::kZstd, pf, 64, 64);
    EXPECT_FALSE(viewer.receive(fb.bounds(), second));
    test::UltraVncZstdRectViewer uvnc;
    Bytes got;
    EXPECT_FALSE(uvnc.read_rect(second, raw.size(), got) && got == raw);
}

}  // namespace
}  // namespace rfb
