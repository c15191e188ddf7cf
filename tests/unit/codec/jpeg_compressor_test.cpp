#include "codec/jpeg_compressor.h"

#include <gtest/gtest.h>
#include <turbojpeg.h>

#include <algorithm>
#include <cstdlib>
#include <vector>

namespace rfb {
namespace {

using Bytes = std::vector<uint8_t>;

// A smooth w x h image of canonical pixels inside a wider buffer (stride), with junk around it.
struct Image {
    uint32_t w, h;
    size_t stride;
    std::vector<uint32_t> buf;
    Image(uint32_t w_, uint32_t h_, size_t stride_, size_t x0 = 0)
        : w(w_), h(h_), stride(stride_), buf(stride_ * (h_ + 2), 0xff00ff) {
        for (uint32_t y = 0; y < h; ++y)
            for (uint32_t x = 0; x < w; ++x)
                buf[(y + 1) * stride + x0 + x] =
                    0xab000000u | (20 + x * 3) << 16 | (30 + y * 2) << 8 | (180 - x - y);
        origin = buf.data() + stride + x0;
    }
    uint32_t at(uint32_t x, uint32_t y) const { return origin[y * stride + x] & 0xffffff; }
    const uint32_t* origin;
};

struct Decoded {
    int w = 0, h = 0, subsamp = -1;
    std::vector<uint8_t> rgb;
};

Decoded decode(const Bytes& jpeg) {
    Decoded d;
    tjhandle tj = tjInitDecompress();
    int cs = 0;
    EXPECT_EQ(tjDecompressHeader3(tj, jpeg.data(), jpeg.size(), &d.w, &d.h, &d.subsamp, &cs), 0);
    d.rgb.resize(size_t(d.w) * d.h * 3);
    EXPECT_EQ(tjDecompress2(tj, jpeg.data(), jpeg.size(), d.rgb.data(), d.w, 0, d.h, TJPF_RGB, 0),
              0);
    tjDestroy(tj);
    return d;
}

int max_diff(const Image& img, const Decoded& d) {
    int m = 0;
    for (uint32_t y = 0; y < img.h; ++y)
        for (uint32_t x = 0; x < img.w; ++x) {
            const uint32_t c = img.at(x, y);
            const uint8_t* p = &d.rgb[(size_t(y) * img.w + x) * 3];
            m = std::max({m, std::abs(int(c >> 16 & 0xff) - p[0]),
                          std::abs(int(c >> 8 & 0xff) - p[1]), std::abs(int(c & 0xff) - p[2])});
        }
    return m;
}

TEST(JpegCompressor, CompressesWithTheAskedSubsampling) {
    const Image img(40, 24, 40);
    JpegCompressor jc;
    const std::pair<JpegSubsampling, int> cases[] = {{JpegSubsampling::k444, TJSAMP_444},
                                                     {JpegSubsampling::k422, TJSAMP_422},
                                                     {JpegSubsampling::k420, TJSAMP_420},
                                                     {JpegSubsampling::kGray, TJSAMP_GRAY}};
    for (const auto& [ss, tj] : cases) {
        Bytes out;
        ASSERT_TRUE(jc.compress(img.origin, img.stride, img.w, img.h, 90, ss, out));
        const Decoded d = decode(out);
        EXPECT_EQ(d.w, 40);
        EXPECT_EQ(d.h, 24);
        EXPECT_EQ(d.subsamp, tj);
        if (ss != JpegSubsampling::kGray) {
            EXPECT_LE(max_diff(img, d), 12);
        }
    }
}

TEST(JpegCompressor, QualityHundredIsNearlyLossless) {
    const Image img(64, 64, 64);
    JpegCompressor jc;
    Bytes out;
    ASSERT_TRUE(jc.compress(img.origin, img.stride, img.w, img.h, 100, JpegSubsampling::k444, out));
    EXPECT_LE(max_diff(img, decode(out)), 3);
    Bytes low;
    ASSERT_TRUE(jc.compress(img.origin, img.stride, img.w, img.h, 10, JpegSubsampling::k420, low));
    EXPECT_LT(low.size() * 3, out.size());
}

TEST(JpegCompressor, ReadsThroughThePitch) {
    // The same pixels, alone and inside a wider buffer at an offset, give the same bytes.
    const Image alone(33, 17, 33), inside(33, 17, 100, 29);
    JpegCompressor jc;
    Bytes a, b;
    ASSERT_TRUE(jc.compress(alone.origin, alone.stride, 33, 17, 75, JpegSubsampling::k420, a));
    ASSERT_TRUE(jc.compress(inside.origin, inside.stride, 33, 17, 75, JpegSubsampling::k420, b));
    EXPECT_EQ(a, b);
    EXPECT_LE(max_diff(inside, decode(b)), 16);
}

TEST(JpegCompressor, AppendsAndIsDeterministic) {
    const Image img(16, 16, 16);
    JpegCompressor jc, other;
    Bytes out{7, 8, 9};
    ASSERT_TRUE(jc.compress(img.origin, img.stride, 16, 16, 50, JpegSubsampling::k422, out));
    ASSERT_GT(out.size(), 3u);
    EXPECT_EQ(Bytes(out.begin(), out.begin() + 3), (Bytes{7, 8, 9}));
    EXPECT_EQ(out[3], 0xff);
    EXPECT_EQ(out[4], 0xd8);
    Bytes again, fresh;
    ASSERT_TRUE(jc.compress(img.origin, img.stride, 16, 16, 50, JpegSubsampling::k422, again));
    ASSERT_TRUE(other.compress(img.origin, img.stride, 16, 16, 50, JpegSubsampling::k422, fresh));
    EXPECT_EQ(Bytes(out.begin() + 3, out.end()), again);
    EXPECT_EQ(again, fresh);
}

TEST(JpegCompressor, QualityIsClamped) {
    const Image img(16, 16, 16);
    JpegCompressor jc;
    Bytes q0, q1, q200, q100;
    ASSERT_TRUE(jc.compress(img.origin, 16, 16, 16, 0, JpegSubsampling::k420, q0));
    ASSERT_TRUE(jc.compress(img.origin, 16, 16, 16, 1, JpegSubsampling::k420, q1));
    ASSERT_TRUE(jc.compress(img.origin, 16, 16, 16, 200, JpegSubsampling::k420, q200));
    ASSERT_TRUE(jc.compress(img.origin, 16, 16, 16, 100, JpegSubsampling::k420, q100));
    EXPECT_EQ(q0, q1);
    EXPECT_EQ(q200, q100);
}

TEST(JpegCompressor, RejectsBadArgumentsLeavingOutputAlone) {
    const Image img(16, 16, 16);
    JpegCompressor jc;
    Bytes out{1, 2};
    EXPECT_FALSE(jc.compress(img.origin, 16, 0, 16, 50, JpegSubsampling::k444, out));
    EXPECT_FALSE(jc.compress(img.origin, 16, 16, 0, 50, JpegSubsampling::k444, out));
    EXPECT_FALSE(jc.compress(img.origin, 15, 16, 16, 50, JpegSubsampling::k444, out));
    EXPECT_FALSE(jc.compress(nullptr, 16, 16, 16, 50, JpegSubsampling::k444, out));
    EXPECT_FALSE(jc.compress(img.origin, 70000, 70000, 1, 50, JpegSubsampling::k444, out));
    EXPECT_EQ(out, (Bytes{1, 2}));
}

TEST(JpegCompressor, OnePixelAndOddSizes) {
    JpegCompressor jc;
    for (uint32_t w : {1u, 7u, 17u})
        for (uint32_t h : {1u, 9u}) {
            const Image img(w, h, w + 3, 1);
            Bytes out;
            ASSERT_TRUE(jc.compress(img.origin, img.stride, w, h, 95, JpegSubsampling::k420, out));
            const Decoded d = decode(out);
            EXPECT_EQ(d.w, int(w));
            EXPECT_EQ(d.h, int(h));
        }
}

}  // namespace
}  // namespace rfb
