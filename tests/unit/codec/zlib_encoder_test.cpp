#include "codec/zlib_encoder.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <string>
#include <vector>

#include "codec/rect_framing.h"
#include "codec/rfb_constants.h"
#include "encoder_test_content.h"
#include "viewer_stream_support.h"

namespace rfb {
namespace {

using Bytes = std::vector<uint8_t>;

Bytes encode(const Framebuffer& fb, const Rect& r, const PixelFormat& pf, int level = -1) {
    ZlibEncoder enc;
    PixelWriter px(pf);
    Bytes out;
    EncodeTuning t;
    t.compress = level;
    EXPECT_TRUE(enc.encode(fb, r, px, t, out));
    return out;
}

// The body as the only rectangle of a fresh viewer stream, inflated.
Bytes inflate_alone(const Bytes& body) {
    Bytes framed(kZlibHeader, kZlibHeader + 2);
    framed.insert(framed.end(), body.begin(), body.end());
    test::ZlibViewerStream v;
    Bytes out;
    EXPECT_TRUE(v.inflate_rect(framed, out));
    return out;
}

TEST(ZlibEncoder, InflatesToTheRawBodyInTheViewersFormat) {
    Framebuffer fb(3, 2);
    fb.row(0)[0] = 0x112233;
    fb.row(0)[1] = 0x00ff00;
    fb.row(0)[2] = 0xff0000;
    fb.row(1)[0] = 0x0000ff;
    fb.row(1)[1] = 0xffffff;
    fb.row(1)[2] = 0x000000;
    // 32 bpp little-endian, 0x00RRGGBB: B, G, R, pad.
    EXPECT_EQ(inflate_alone(encode(fb, fb.bounds(), PixelFormat::canonical())),
              (Bytes{0x33, 0x22, 0x11, 0, 0,    0xff, 0,    0, 0, 0, 0xff, 0,
                     0xff, 0,    0,    0, 0xff, 0xff, 0xff, 0, 0, 0, 0,    0}));
    // The same, big-endian: pad, R, G, B.
    EXPECT_EQ(inflate_alone(encode(fb, Rect{0, 0, 2, 1}, test::canonical_be())),
              (Bytes{0, 0x11, 0x22, 0x33, 0, 0, 0xff, 0}));
    // RGB565 little-endian: green 0x07e0, red 0xf800, blue 0x001f, white 0xffff.
    EXPECT_EQ(inflate_alone(encode(fb, Rect{1, 0, 2, 2}, PixelFormat::rgb565())),
              (Bytes{0xe0, 0x07, 0x00, 0xf8, 0xff, 0xff, 0x00, 0x00}));
    // BGR233: blue in the top two bits, green in the middle three, red in the low three.
    EXPECT_EQ(inflate_alone(encode(fb, Rect{1, 0, 2, 2}, PixelFormat::bgr233())),
              (Bytes{0x38, 0x07, 0xff, 0x00}));
    EXPECT_EQ(inflate_alone(encode(fb, Rect{0, 1, 1, 1}, PixelFormat::bgr233())), (Bytes{0xc0}));
}

TEST(ZlibEncoder, BodyIsRawDeflateEndingInAFullFlush) {
    Framebuffer fb(100, 50);
    test::fill_text(fb, fb.bounds(), 5);
    for (int level : {-1, 0, 1, 6, 9}) {
        const Bytes body = encode(fb, fb.bounds(), PixelFormat::canonical(), level);
        ASSERT_GE(body.size(), 5u);
        // Z_FULL_FLUSH ends with an empty stored block: LEN 0x0000, NLEN 0xffff.
        EXPECT_EQ(Bytes(body.end() - 4, body.end()), (Bytes{0x00, 0x00, 0xff, 0xff}));
        // Raw deflate: no zlib header of its own (that belongs to the viewer's stream).
        z_stream zs{};
        ASSERT_EQ(inflateInit2(&zs, -15), Z_OK);
        Bytes out(100 * 50 * 4 + 16);
        zs.next_in = const_cast<Bytef*>(body.data());
        zs.avail_in = static_cast<uInt>(body.size());
        zs.next_out = out.data();
        zs.avail_out = static_cast<uInt>(out.size());
        EXPECT_EQ(inflate(&zs, Z_SYNC_FLUSH), Z_OK);
        EXPECT_EQ(zs.avail_in, 0u);
        EXPECT_EQ(out.size() - zs.avail_out, 100u * 50 * 4);
        inflateEnd(&zs);
    }
}

TEST(ZlibEncoder, CompressionLevelIsHonoured) {
    Framebuffer fb(128, 128);
    test::fill_gradient(fb, fb.bounds());
    const Bytes l0 = encode(fb, fb.bounds(), PixelFormat::canonical(), 0);
    const Bytes l1 = encode(fb, fb.bounds(), PixelFormat::canonical(), 1);
    const Bytes l6 = encode(fb, fb.bounds(), PixelFormat::canonical(), 6);
    const Bytes l9 = encode(fb, fb.bounds(), PixelFormat::canonical(), 9);
    // Level 0 stores: at least the raw bytes.
    EXPECT_GE(l0.size(), 128u * 128 * 4);
    EXPECT_LT(l1.size(), l0.size());
    EXPECT_LE(l9.size(), l6.size());
    EXPECT_EQ(encode(fb, fb.bounds(), PixelFormat::canonical(), -1), l6);  // default is 6
    EXPECT_EQ(encode(fb, fb.bounds(), PixelFormat::canonical(), 10), l6);  // nonsense too
    const Bytes raw = test::wire_pixels(fb, fb.bounds(), PixelFormat::canonical());
    for (const Bytes* b : {&l0, &l1, &l6, &l9})
        EXPECT_EQ(inflate_alone(*b), raw);
}

TEST(ZlibEncoder, SamePixelsGiveTheSameBytes) {
    Framebuffer fb(200, 150);
    test::fill_text(fb, Rect{0, 0, 100, 150}, 1);
    test::fill_noise(fb, Rect{100, 0, 100, 150}, 2);
    const Rect a{10, 10, 130, 70}, b{0, 80, 200, 70};
    for (const PixelFormat& pf : test::viewer_formats()) {
        ZlibEncoder enc;
        PixelWriter px(pf);
        EncodeTuning t;
        Bytes a1, b1, a2, a_level1, a3;
        ASSERT_TRUE(enc.encode(fb, a, px, t, a1));
        ASSERT_TRUE(enc.encode(fb, b, px, t, b1));
        ASSERT_TRUE(enc.encode(fb, a, px, t, a2));
        t.compress = 1;
        ASSERT_TRUE(enc.encode(fb, a, px, t, a_level1));
        t.compress = -1;
        ASSERT_TRUE(enc.encode(fb, a, px, t, a3));
        EXPECT_EQ(a1, a2) << pf.describe();
        EXPECT_EQ(a1, a3) << pf.describe();
        ZlibEncoder fresh;
        Bytes a4;
        ASSERT_TRUE(fresh.encode(fb, a, px, t, a4));
        EXPECT_EQ(a1, a4) << pf.describe();
        // The same pixels elsewhere on screen encode the same way too.
        Framebuffer moved(300, 300);
        std::vector<uint32_t> tmp(a.area());
        ASSERT_TRUE(fb.get(a, tmp.data()));
        ASSERT_TRUE(moved.put(Rect{77, 123, a.w, a.h}, tmp.data(), a.w));
        Bytes a5;
        ASSERT_TRUE(enc.encode(moved, Rect{77, 123, a.w, a.h}, px, t, a5));
        EXPECT_EQ(a1, a5) << pf.describe();
    }
}

TEST(ZlibEncoder, EdgeRectanglesRoundTripThroughTheDecoder) {
    Framebuffer fb(200, 200);
    test::fill_text(fb, Rect{0, 0, 200, 100}, 11);
    test::fill_noise(fb, Rect{0, 100, 100, 100}, 12);
    test::fill_gradient(fb, Rect{100, 100, 100, 100});
    const Rect rects[] = {Rect{0, 0, 1, 1},    Rect{199, 199, 1, 1},   Rect{0, 0, 65, 65},
                          Rect{3, 5, 63, 129}, Rect{60, 90, 140, 110}, Rect{0, 0, 200, 200},
                          Rect{10, 0, 1, 200}, Rect{0, 10, 200, 1}};
    for (const PixelFormat& pf : test::viewer_formats()) {
        // One viewer connection receives all of them on one stream.
        test::ViewerConnectionSim viewer(encoding::kZlib, pf, 200, 200);
        ZlibEncoder enc;
        PixelWriter px(pf);
        for (const Rect& r : rects) {
            Bytes body;
            ASSERT_TRUE(enc.encode(fb, r, px, EncodeTuning{}, body));
            ASSERT_TRUE(viewer.receive(r, body)) << pf.describe();
            ASSERT_TRUE(test::shows(viewer.view(), fb, r, pf)) << pf.describe();
        }
    }
}

TEST(ZlibEncoder, EmptyRectangleIsAnEmptyFlush) {
    Framebuffer fb(8, 8);
    const Bytes body = encode(fb, Rect{8, 0, 0, 8}, PixelFormat::canonical());
    EXPECT_TRUE(inflate_alone(body).empty());
    test::ViewerConnectionSim viewer(encoding::kZlib, PixelFormat::canonical(), 8, 8);
    EXPECT_TRUE(viewer.receive(Rect{8, 0, 0, 8}, body));
}

TEST(ZlibEncoder, RefusesWhatItCannotEncode) {
    Framebuffer fb(16, 16);
    ZlibEncoder enc;
    Bytes out{1, 2, 3};
    EXPECT_FALSE(
        enc.encode(fb, Rect{10, 10, 7, 1}, PixelWriter(PixelFormat::canonical()), {}, out));
    PixelFormat pf24 = PixelFormat::canonical();
    pf24.bits_per_pixel = 24;
    EXPECT_FALSE(enc.encode(fb, Rect{0, 0, 4, 4}, PixelWriter(pf24), {}, out));
    EXPECT_EQ(out, (Bytes{1, 2, 3}));
    // Output is appended, and the encoder still works afterwards.
    ASSERT_TRUE(enc.encode(fb, Rect{0, 0, 4, 4}, PixelWriter(PixelFormat::canonical()), {}, out));
    EXPECT_EQ(Bytes(out.begin(), out.begin() + 3), (Bytes{1, 2, 3}));
    EXPECT_EQ(inflate_alone(Bytes(out.begin() + 3, out.end())), Bytes(64, 0));
}

TEST(ZlibEncoder, LargeRectangleSpansManyChunks) {
    Framebuffer fb(1000, 300);
    test::fill_noise(fb, fb.bounds(), 99);
    const Bytes body = encode(fb, fb.bounds(), PixelFormat::rgb565(), 1);
    EXPECT_EQ(inflate_alone(body), test::wire_pixels(fb, fb.bounds(), PixelFormat::rgb565()));
}

// The decisive test: bodies encoded once, sent to viewers in different orders and subsets, each
// viewer inflating everything with ONE stream, as libvncclient does, and through the project's
// own decoder (one ZlibDecoder per viewer connection).
TEST(ZlibEncoder, SharedBodiesDecodeInAnyViewerStream) {
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
        {3, 1, 4, 1, 5, 0},  // different order, a subset, one rect twice
        {6, 6, 2},
    };
    for (const PixelFormat& pf : test::viewer_formats()) {
        PixelWriter px(pf);
        ZlibEncoder enc;
        std::vector<Bytes> bodies;
        for (const Rect& r : rects) {
            Bytes b;
            // Levels differ per rectangle: the viewer's stream does not care.
            EncodeTuning t;
            t.compress = static_cast<int>(bodies.size() % 10);
            ASSERT_TRUE(enc.encode(fb, r, px, t, b));
            bodies.push_back(std::move(b));
        }
        for (size_t v = 0; v < viewers.size(); ++v) {
            test::ViewerConnectionSim viewer(encoding::kZlib, pf, 256, 192);
            test::ZlibViewerStream plain;
            for (size_t k : viewers[v]) {
                const Rect& r = rects[k];
                ASSERT_TRUE(viewer.receive(r, bodies[k])) << "viewer " << v << " " << pf.describe();
                ASSERT_TRUE(test::shows(viewer.view(), fb, r, pf)) << "viewer " << v;
                // The framed bytes after the U32 length are what a zlib viewer inflates.
                const Bytes& framed = viewer.last_framed();
                Bytes raw;
                ASSERT_TRUE(plain.inflate_rect(std::span(framed).subspan(4), raw));
                ASSERT_EQ(raw, test::wire_pixels(fb, r, pf)) << "viewer " << v;
            }
        }
    }
}

// The harness above can tell: a body that continues an earlier one (what a per-connection
// deflate stream produces) does not decode in a viewer stream that lacks the earlier body.
TEST(ZlibEncoder, SharingTestRejectsStreamDependentBodies) {
    Framebuffer fb(64, 64);
    test::fill_text(fb, fb.bounds(), 51);
    const PixelFormat pf = PixelFormat::canonical();
    const Bytes raw = test::wire_pixels(fb, fb.bounds(), pf);
    z_stream zs{};
    ASSERT_EQ(deflateInit2(&zs, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY), Z_OK);
    std::vector<Bytes> bodies;
    for (int i = 0; i < 2; ++i) {
        Bytes out(raw.size() + 1024);
        zs.next_in = const_cast<Bytef*>(raw.data());
        zs.avail_in = static_cast<uInt>(raw.size());
        zs.next_out = out.data();
        zs.avail_out = static_cast<uInt>(out.size());
        ASSERT_EQ(deflate(&zs, Z_SYNC_FLUSH), Z_OK);
        out.resize(out.size() - zs.avail_out);
        bodies.push_back(out);
    }
    deflateEnd(&zs);
    ASSERT_LT(bodies[1].size(), bodies[0].size());  // it refers back to the first
    test::ViewerConnectionSim viewer(encoding::kZlib, pf, 64, 64);
    const bool decoded = viewer.receive(fb.bounds(), bodies[1]);
    EXPECT_FALSE(decoded && test::shows(viewer.view(), fb, fb.bounds(), pf));
}

TEST(ZlibEncoder, RoundTripsRandomContent) {
    test::Lcg g{4242};
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
        EXPECT_EQ(inflate_alone(encode(fb, r, pf, static_cast<int>(g.below(10)))),
                  test::wire_pixels(fb, r, pf))
            << "iteration " << iter;
    }
}

}  // namespace
}  // namespace rfb
