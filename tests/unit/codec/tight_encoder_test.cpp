#include "codec/tight_encoder.h"

#include <gtest/gtest.h>
#include <turbojpeg.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "codec/tight_decoder.h"
#include "codec/tight_zstd_encoder.h"
#include "decoder_test_support.h"
#include "encoder_test_content.h"

namespace rfb {
namespace {

using Bytes = std::vector<uint8_t>;

constexpr uint8_t kFillCtl = 0x80, kJpegCtl = 0x90;

Bytes encode_with(RectEncoder& enc, const Framebuffer& fb, const Rect& r, const PixelFormat& pf,
                  const EncodeTuning& t = {}) {
    PixelWriter px(pf);
    Bytes out;
    EXPECT_TRUE(enc.encode(fb, r, px, t, out)) << pf.describe();
    return out;
}

Bytes encode(const Framebuffer& fb, const Rect& r, const PixelFormat& pf,
             const EncodeTuning& t = {}, TightEncoder::Options o = {}) {
    TightEncoder enc(o);
    return encode_with(enc, fb, r, pf, t);
}

EncodeTuning quality(int q, int compress = -1) {
    EncodeTuning t;
    t.quality = q;
    t.compress = compress;
    return t;
}

TightEncoder::Options with_gradient() {
    TightEncoder::Options o;
    o.gradient = true;
    return o;
}

// One simulated viewer: a Tight decoder with its four persistent zlib streams and a framebuffer.
struct Viewer {
    Viewer(const PixelFormat& pf, uint32_t w, uint32_t h) : reader(pf), fb(w, h) {
        fb.fill(fb.bounds(), test::kSentinel);
    }
    // Decodes one body with four junk bytes after it; the decoder must stop at the body's end.
    void decode(const Rect& r, const Bytes& body) {
        Bytes data = body;
        data.insert(data.end(), {0xde, 0xad, 0xbe, 0xef});
        DecodeTarget t{fb, reader};
        const DecodeResult res = dec.decode(r, data, t);
        ASSERT_EQ(res.status, DecodeStatus::kDone) << res.error;
        ASSERT_EQ(res.consumed, body.size());
    }
    PixelReader reader;
    Framebuffer fb;
    TightDecoder dec;
};

// Encodes r of fb for pf, decodes the body in a fresh viewer and checks every pixel of r (and
// that nothing outside r changed). A viewer must show each pixel narrowed to its format and
// widened back, by the pixel converters (not by the encoder). Returns the body.
Bytes expect_lossless(const Framebuffer& fb, const Rect& r, const PixelFormat& pf,
                      const EncodeTuning& t = {}, TightEncoder::Options o = {}) {
    const Bytes body = encode(fb, r, pf, t, o);
    Viewer v(pf, fb.width(), fb.height());
    v.decode(r, body);
    const PixelWriter writer(pf);
    const PixelReader reader(pf);
    for (uint32_t y = 0; y < r.h; ++y)
        for (uint32_t x = 0; x < r.w; ++x) {
            const uint32_t want = reader.unpack(writer.pack(fb.at(r.x + x, r.y + y)));
            EXPECT_EQ(v.fb.at(r.x + x, r.y + y), want)
                << pf.describe() << " at " << x << "," << y << " ctl " << int(body[0]);
            if (v.fb.at(r.x + x, r.y + y) != want) return body;
        }
    EXPECT_TRUE(test::outside_untouched(v.fb, r, test::kSentinel));
    return body;
}

// The viewer formats of the round trips: 888 (3-byte TPIXELs) in both byte orders and with the
// colour in the top bytes, 32 bpp depth 32 (4-byte TPIXELs), 16 bpp and 8 bpp.
std::vector<PixelFormat> formats() {
    return {PixelFormat::canonical(), test::canonical_be(),   PixelFormat::rgb565(),
            PixelFormat::bgr233(),    test::high_bytes(true), test::depth32()};
}

size_t tpixel_size(const PixelFormat& pf) {
    const bool rgb = pf.true_colour && pf.bits_per_pixel == 32 && pf.depth == 24 &&
                     pf.red_max == 255 && pf.green_max == 255 && pf.blue_max == 255;
    return rgb ? 3 : pf.bytes_per_pixel();
}

// A parse of a Tight body written from rfbproto.rst, independent of the encoder.
struct Parsed {
    uint8_t ctl = 0;
    int method = 0;      // high nibble
    int filter = -1;     // explicit filter id, -1 when absent
    size_t palette = 0;  // palette size
    Bytes head;          // everything before the data (or compact length)
    bool compressed = false;
    size_t data_size = 0;  // filtered data size
    Bytes data;            // raw data, or the compressed payload
    size_t compact_bytes = 0;
    std::string error;
};

bool read_compact(const Bytes& b, size_t& pos, size_t& len, size_t& used) {
    len = 0;
    used = 0;
    for (int i = 0; i < 3; ++i) {
        if (pos >= b.size()) return false;
        const uint8_t v = b[pos++];
        ++used;
        len |= size_t{i == 2 ? v : uint8_t(v & 0x7f)} << (7 * i);
        if (i < 2 && !(v & 0x80)) break;
    }
    return true;
}

Parsed parse(const Bytes& b, const Rect& r, const PixelFormat& pf) {
    Parsed p;
    size_t pos = 0;
    if (b.empty()) return p.error = "empty", p;
    p.ctl = b[pos++];
    p.method = p.ctl >> 4;
    const size_t tp = tpixel_size(pf);
    if (p.method == 8) {
        if (b.size() != 1 + tp) p.error = "fill size";
        p.head.assign(b.begin(), b.end());
        return p;
    }
    size_t used = 0;
    if (p.method == 9) {
        size_t len = 0;
        if (!read_compact(b, pos, len, used) || b.size() - pos != len) p.error = "jpeg length";
        p.compact_bytes = used;
        p.data.assign(b.begin() + static_cast<long>(pos), b.end());
        return p;
    }
    if (p.method > 9) return p.error = "method", p;
    if (p.method & 4) {
        if (pos >= b.size()) return p.error = "filter", p;
        p.filter = b[pos++];
    }
    size_t row = size_t{r.w} * tp;
    if (p.filter == 1) {
        if (pos >= b.size()) return p.error = "palette size", p;
        p.palette = b[pos++] + 1u;
        if (b.size() - pos < p.palette * tp) return p.error = "palette", p;
        pos += p.palette * tp;
        row = p.palette == 2 ? (r.w + 7) / 8 : r.w;
    }
    p.head.assign(b.begin(), b.begin() + static_cast<long>(pos));
    p.data_size = row * r.h;
    p.compressed = p.data_size >= 12;
    if (p.compressed) {
        size_t len = 0;
        if (!read_compact(b, pos, len, used)) return p.error = "length", p;
        p.compact_bytes = used;
        if (b.size() - pos != len) return p.error = "payload length", p;
    } else if (b.size() - pos != p.data_size) {
        return p.error = "raw data length", p;
    }
    p.data.assign(b.begin() + static_cast<long>(pos), b.end());
    return p;
}

// Inflates a payload as a viewer's stream does right after a reset: a fresh zlib stream.
Bytes inflate_fresh(const Bytes& payload, size_t expect) {
    z_stream zs{};
    EXPECT_EQ(inflateInit(&zs), Z_OK);
    Bytes out(expect + 64);
    zs.next_in = const_cast<Bytef*>(payload.data());
    zs.avail_in = static_cast<uInt>(payload.size());
    zs.next_out = out.data();
    zs.avail_out = static_cast<uInt>(out.size());
    const int rc = inflate(&zs, Z_SYNC_FLUSH);
    EXPECT_TRUE(rc == Z_OK || rc == Z_STREAM_END) << rc;
    EXPECT_EQ(zs.avail_in, 0u);
    out.resize(out.size() - zs.avail_out);
    inflateEnd(&zs);
    return out;
}

// The filtered data of a Basic body.
Bytes filtered(const Parsed& p) {
    return p.compressed ? inflate_fresh(p.data, p.data_size) : p.data;
}

Framebuffer smooth(uint32_t w, uint32_t h) {
    Framebuffer fb(w, h);
    for (uint32_t y = 0; y < h; ++y)
        for (uint32_t x = 0; x < w; ++x)
            fb.row(y)[x] = (60 + x) << 16 | (40 + y * 2) << 8 | (200 - (x + y) / 2);
    return fb;
}

// ---- Hand-checked bodies ----------------------------------------------------------------

TEST(TightEncoder, SolidIsFillWithTPixel) {
    Framebuffer fb(64, 64);
    fb.fill(fb.bounds(), 0x123456);
    const Rect r = fb.bounds();
    EXPECT_EQ(encode(fb, r, PixelFormat::canonical()), (Bytes{kFillCtl, 0x12, 0x34, 0x56}));
    EXPECT_EQ(encode(fb, r, test::canonical_be()), (Bytes{kFillCtl, 0x12, 0x34, 0x56}));
    EXPECT_EQ(encode(fb, r, test::high_bytes(false)), (Bytes{kFillCtl, 0x12, 0x34, 0x56}));
    // depth 32: not a 3-byte TPIXEL, the whole little-endian pixel.
    EXPECT_EQ(encode(fb, r, test::depth32()), (Bytes{kFillCtl, 0x56, 0x34, 0x12, 0x00}));
    fb.fill(fb.bounds(), 0x00ff00);
    EXPECT_EQ(encode(fb, r, PixelFormat::rgb565()), (Bytes{kFillCtl, 0xe0, 0x07}));
    EXPECT_EQ(encode(fb, r, PixelFormat::bgr233()), (Bytes{kFillCtl, 0x38}));
}

TEST(TightEncoder, ColoursEqualInTheViewerFormatAreOneColour) {
    Framebuffer fb(8, 8);
    test::fill_palette(fb, fb.bounds(), 3, 40);
    // Blue below 43 only: all narrow to 0 in BGR233's 2 blue bits, so one viewer colour.
    for (uint32_t y = 0; y < 8; ++y)
        for (uint32_t x = 0; x < 8; ++x)
            fb.row(y)[x] = 0x1f & fb.at(x, y);
    EXPECT_EQ(encode(fb, fb.bounds(), PixelFormat::bgr233()), (Bytes{kFillCtl, 0x00}));
}

TEST(TightEncoder, TwoColoursUnder12BytesAreRawPackedBits) {
    Framebuffer fb(16, 2);
    fb.fill(fb.bounds(), 0xffffff);
    fb.fill(Rect{0, 0, 3, 1}, 0x000080);
    fb.fill(Rect{15, 1, 1, 1}, 0x000080);
    // Data is 2 bytes per row * 2 rows = 4 < 12: raw, no reset bit. The commoner colour (white)
    // is index 0; bits are MSB first, rows padded to bytes.
    const Bytes want{0x50, 0x01, 0x01, 0xff, 0xff, 0xff, 0x00, 0x00, 0x80, 0xe0, 0x00, 0x00, 0x01};
    EXPECT_EQ(encode(fb, fb.bounds(), PixelFormat::canonical()), want);
    expect_lossless(fb, fb.bounds(), PixelFormat::canonical());
}

TEST(TightEncoder, TwoColoursCompressedOnStream1WithReset) {
    Framebuffer fb(20, 10);  // rows of 3 bytes (20 bits padded), 30 bytes of data
    fb.fill(fb.bounds(), 0x101010);
    for (uint32_t y = 0; y < 10; ++y)
        fb.row(y)[y * 2] = 0xf0f0f0;
    const Bytes body = encode(fb, fb.bounds(), PixelFormat::rgb565());
    const Parsed p = parse(body, fb.bounds(), PixelFormat::rgb565());
    ASSERT_EQ(p.error, "");
    EXPECT_EQ(p.ctl, 0x52);  // stream 1 | explicit filter, reset stream 1
    EXPECT_EQ(p.filter, 1);
    EXPECT_EQ(p.palette, 2u);
    ASSERT_TRUE(p.compressed);
    EXPECT_EQ(p.data[0], 0x78);  // a fresh zlib stream with its own header
    Bytes want(30, 0);
    for (uint32_t y = 0; y < 10; ++y)
        want[y * 3 + (y * 2) / 8] = static_cast<uint8_t>(0x80 >> ((y * 2) % 8));
    EXPECT_EQ(filtered(p), want);
    // The palette: background first, as 565 little-endian pixels.
    PixelWriter w(PixelFormat::rgb565());
    const uint32_t bg = w.pack(0x101010), fg = w.pack(0xf0f0f0);
    EXPECT_EQ(Bytes(p.head.begin() + 3, p.head.end()),
              (Bytes{uint8_t(bg), uint8_t(bg >> 8), uint8_t(fg), uint8_t(fg >> 8)}));
}

TEST(TightEncoder, FewColoursAreIndexedOnStream2) {
    Framebuffer fb(8, 8);
    const uint32_t c[3] = {0xaa0000, 0x00bb00, 0x0000cc};
    for (uint32_t i = 0; i < 64; ++i)
        fb.row(i / 8)[i % 8] = c[(i / 3) % 3];
    const Bytes body = encode(fb, fb.bounds(), PixelFormat::canonical());
    const Parsed p = parse(body, fb.bounds(), PixelFormat::canonical());
    ASSERT_EQ(p.error, "");
    EXPECT_EQ(p.ctl, 0x64);  // stream 2 | explicit filter, reset stream 2
    EXPECT_EQ(p.filter, 1);
    EXPECT_EQ(p.palette, 3u);
    // Palette in order of first appearance, as R G B.
    EXPECT_EQ(Bytes(p.head.begin() + 3, p.head.end()), (Bytes{0xaa, 0, 0, 0, 0xbb, 0, 0, 0, 0xcc}));
    Bytes want(64);
    for (uint32_t i = 0; i < 64; ++i)
        want[i] = static_cast<uint8_t>((i / 3) % 3);
    EXPECT_EQ(filtered(p), want);
}

TEST(TightEncoder, ManyColoursAreCopiedOnStream0WithoutFilterByte) {
    Framebuffer fb(20, 20);
    test::fill_noise(fb, fb.bounds(), 9);
    const Bytes body = encode(fb, fb.bounds(), PixelFormat::canonical());
    const Parsed p = parse(body, fb.bounds(), PixelFormat::canonical());
    ASSERT_EQ(p.error, "");
    EXPECT_EQ(p.ctl, 0x01);  // Basic, stream 0, no filter byte, reset stream 0
    Bytes want;
    for (uint32_t y = 0; y < 20; ++y)
        for (uint32_t x = 0; x < 20; ++x) {
            const uint32_t v = fb.at(x, y);
            want.insert(want.end(), {uint8_t(v >> 16), uint8_t(v >> 8), uint8_t(v)});
        }
    EXPECT_EQ(filtered(p), want);
}

TEST(TightEncoder, EightBitViewersGetPixelsNotIndices) {
    Framebuffer fb(3, 1);  // 3 colours, 3 bytes of data: raw copy, no reset bit
    fb.row(0)[0] = 0x000000;
    fb.row(0)[1] = 0xff0000;
    fb.row(0)[2] = 0x0000ff;
    EXPECT_EQ(encode(fb, fb.bounds(), PixelFormat::bgr233()), (Bytes{0x00, 0x00, 0x07, 0xc0}));
}

TEST(TightEncoder, CompactLengthsOfOneTwoAndThreeBytes) {
    // Mono 64x64: small payload (1 byte); noise 40x40: 4800 bytes (2); noise 128x128 at 16 bpp
    // is 32 KiB (3 bytes).
    Framebuffer fb(128, 128);
    fb.fill(fb.bounds(), 0);
    fb.fill(Rect{5, 5, 10, 10}, 0xffffff);
    Parsed p = parse(encode(fb, Rect{0, 0, 64, 64}, PixelFormat::canonical()), Rect{0, 0, 64, 64},
                     PixelFormat::canonical());
    ASSERT_EQ(p.error, "");
    EXPECT_EQ(p.compact_bytes, 1u);
    test::fill_noise(fb, fb.bounds(), 3);
    p = parse(encode(fb, Rect{0, 0, 40, 40}, PixelFormat::canonical()), Rect{0, 0, 40, 40},
              PixelFormat::canonical());
    ASSERT_EQ(p.error, "");
    EXPECT_EQ(p.compact_bytes, 2u);
    p = parse(encode(fb, fb.bounds(), PixelFormat::rgb565()), fb.bounds(), PixelFormat::rgb565());
    ASSERT_EQ(p.error, "");
    EXPECT_EQ(p.compact_bytes, 3u);
    EXPECT_GT(p.data.size(), 16383u);
}

// ---- Round trips through TightDecoder --------------------------------------------------

TEST(TightEncoder, RoundTripsEverySubEncodingAndFormat) {
    Framebuffer fb(200, 140);
    fb.fill(Rect{0, 0, 64, 64}, 0x336699);                  // fill
    test::fill_palette(fb, Rect{64, 0, 64, 64}, 1, 2);      // mono
    test::fill_palette(fb, Rect{128, 0, 64, 64}, 2, 17);    // indexed
    test::fill_noise(fb, Rect{0, 64, 64, 64}, 3);           // copy
    test::fill_text(fb, Rect{64, 64, 64, 64}, 4);           // text: mono or indexed
    test::fill_ui(fb, Rect{128, 64, 64, 64}, 5);            // UI
    test::fill_palette(fb, Rect{0, 128, 200, 12}, 6, 256);  // 256 colours: indexed
    const Rect rects[] = {Rect{0, 0, 64, 64},    Rect{64, 0, 64, 64},  Rect{128, 0, 64, 64},
                          Rect{0, 64, 64, 64},   Rect{64, 64, 64, 64}, Rect{128, 64, 64, 64},
                          Rect{0, 128, 200, 12}, Rect{60, 60, 70, 70}, Rect{199, 139, 1, 1},
                          Rect{3, 70, 1, 50},    Rect{0, 100, 200, 1}, Rect{0, 0, 200, 140}};
    for (const PixelFormat& pf : formats())
        for (const Rect& r : rects) {
            SCOPED_TRACE(std::to_string(r.x) + "," + std::to_string(r.y) + " " +
                         std::to_string(r.w) + "x" + std::to_string(r.h));
            expect_lossless(fb, r, pf);
            expect_lossless(fb, r, pf, quality(-1, 0));
            expect_lossless(fb, r, pf, quality(-1, 9));
        }
}

TEST(TightEncoder, MethodFollowsTheContent) {
    Framebuffer fb(64, 64);
    struct Case {
        uint32_t colours;
        int method_bits;  // expected high nibble, without the reset bit
    };
    // 1 colour: fill; 2: mono (stream 1 + filter); 3..256: indexed (stream 2 + filter); more:
    // copy (stream 0).
    const Case cases[] = {{1, 0x8}, {2, 0x5}, {3, 0x6}, {256, 0x6}, {4096, 0x0}};
    for (const Case& c : cases) {
        if (c.colours == 4096) {
            for (uint32_t i = 0; i < 4096; ++i)
                fb.row(i / 64)[i % 64] = i * 4093;  // all distinct
        } else {
            test::fill_palette(fb, fb.bounds(), 7, c.colours);
        }
        const Bytes body = expect_lossless(fb, fb.bounds(), PixelFormat::canonical());
        EXPECT_EQ(body[0] >> 4, c.method_bits) << c.colours << " colours";
    }
}

TEST(TightEncoder, RandomContentRoundTrips) {
    test::Lcg g{2024};
    Framebuffer fb(150, 150);
    const auto fmts = formats();
    for (int iter = 0; iter < 150; ++iter) {
        switch (g.below(5)) {
            case 0:
                test::fill_noise(fb, fb.bounds(), g.next());
                break;
            case 1:
                test::fill_palette(fb, fb.bounds(), g.next(), 2 + g.below(300));
                break;
            case 2:
                test::fill_ui(fb, fb.bounds(), g.next());
                break;
            case 3:
                test::fill_gradient(fb, fb.bounds());
                break;
            default:
                test::fill_text(fb, fb.bounds(), g.next());
                break;
        }
        const uint32_t w = 1 + g.below(150), h = 1 + g.below(150);
        const Rect r{g.below(151 - w), g.below(151 - h), w, h};
        SCOPED_TRACE("iteration " + std::to_string(iter));
        TightEncoder::Options o;
        o.gradient = g.below(2) == 0;
        expect_lossless(fb, r, fmts[g.below(fmts.size())], quality(-1, int(g.below(11)) - 1), o);
    }
}

TEST(TightEncoder, BodiesDecodeWhenSplitAtEveryByte) {
    Framebuffer fb(32, 32);
    test::fill_text(fb, fb.bounds(), 8);
    for (const PixelFormat& pf : {PixelFormat::canonical(), PixelFormat::rgb565()}) {
        const Bytes body = encode(fb, fb.bounds(), pf);
        test::DecodeCase c{
            [] { return std::make_unique<TightDecoder>(); }, pf, 32, 32, fb.bounds(), body};
        std::vector<uint32_t> want(32 * 32);
        const PixelWriter writer(pf);
        const PixelReader reader(pf);
        for (uint32_t i = 0; i < want.size(); ++i)
            want[i] = reader.unpack(writer.pack(fb.pixels()[i]));
        test::expect_decodes_to(c, want);
    }
}

// ---- Gradient filter (opt-in) -----------------------------------------------------------

TEST(TightEncoder, GradientIsOffByDefault) {
    const Framebuffer fb = smooth(64, 64);
    const Parsed p = parse(encode(fb, fb.bounds(), PixelFormat::canonical()), fb.bounds(),
                           PixelFormat::canonical());
    EXPECT_EQ(p.filter, -1);  // copy filter
}

TEST(TightEncoder, GradientFilterOnSmoothContent) {
    const Framebuffer fb = smooth(64, 64);
    for (const PixelFormat& pf :
         {PixelFormat::canonical(), test::canonical_be(), PixelFormat::rgb565(), test::depth32()}) {
        const Bytes body = expect_lossless(fb, fb.bounds(), pf, {}, with_gradient());
        const Parsed p = parse(body, fb.bounds(), pf);
        ASSERT_EQ(p.error, "");
        EXPECT_EQ(p.ctl, 0x78) << pf.describe();  // stream 3 | explicit filter, reset stream 3
        EXPECT_EQ(p.filter, 2);
        // Smooth content: the gradient filter beats the copy filter clearly.
        EXPECT_LT(body.size() * 2, encode(fb, fb.bounds(), pf).size()) << pf.describe();
    }
}

TEST(TightEncoder, GradientResidualsFollowTheSpec) {
    // Six pixels whose residuals are worked out by hand from rfbproto.rst's pseudo-code, padded
    // with a smooth ramp to more colours than the palette takes.
    const uint32_t px[6] = {0x102030, 0x112233, 0x0f0f0f, 0x132435, 0xffffff, 0x000000};
    Framebuffer big(300, 2);
    for (uint32_t x = 0; x < 300; ++x)
        for (uint32_t y = 0; y < 2; ++y)
            big.row(y)[x] = x < 3 ? px[y * 3 + x] : (x * 0x010101 + y * 0x0a0000) & 0xffffff;
    TightEncoder::Options o = with_gradient();
    const Bytes body = encode(big, Rect{0, 0, 300, 2}, PixelFormat::canonical(), {}, o);
    const Parsed p = parse(body, Rect{0, 0, 300, 2}, PixelFormat::canonical());
    ASSERT_EQ(p.error, "");
    ASSERT_EQ(p.filter, 2);
    const Bytes d = filtered(p);
    ASSERT_EQ(d.size(), 300u * 2 * 3);
    // Row 0: P = left (up and up-left are 0). Row 1, x=0: P = up.
    // (0,0): 10 20 30 - 0        -> 10 20 30
    // (1,0): 11 22 33 - 10 20 30 -> 01 02 03
    // (2,0): 0f 0f 0f - 11 22 33 -> fe ed dc
    // (0,1): 13 24 35 - 10 20 30 -> 03 04 05
    // (1,1): ff ff ff - (13+11-10 = 14, 24+22-20 = 26, 35+33-30 = 38) -> eb d9 c7
    // (2,1): 00 00 00 - clamp(ff + 0f - 11 = fd, ff + 0f - 22 = ec, ff + 0f - 33 = db) -> 03 14 25
    const Bytes row0{0x10, 0x20, 0x30, 0x01, 0x02, 0x03, 0xfe, 0xed, 0xdc};
    const Bytes row1{0x03, 0x04, 0x05, 0xeb, 0xd9, 0xc7, 0x03, 0x14, 0x25};
    EXPECT_EQ(Bytes(d.begin(), d.begin() + 9), row0);
    EXPECT_EQ(Bytes(d.begin() + 900, d.begin() + 909), row1);
}

TEST(TightEncoder, NoisyContentKeepsTheCopyFilterEvenWithGradientOn) {
    Framebuffer fb(64, 64);
    test::fill_noise(fb, fb.bounds(), 4);
    const Parsed p = parse(encode(fb, fb.bounds(), PixelFormat::canonical(), {}, with_gradient()),
                           fb.bounds(), PixelFormat::canonical());
    EXPECT_EQ(p.ctl, 0x01);
}

TEST(TightEncoder, GradientNeverAt8Bpp) {
    const Framebuffer fb = smooth(64, 64);
    const Parsed p = parse(encode(fb, fb.bounds(), PixelFormat::bgr233(), {}, with_gradient()),
                           fb.bounds(), PixelFormat::bgr233());
    EXPECT_NE(p.filter, 2);
    expect_lossless(fb, fb.bounds(), PixelFormat::bgr233(), {}, with_gradient());
}

// ---- JPEG ---------------------------------------------------------------------------------

struct JpegDiff {
    int max = 0;
    double mean = 0;
};

JpegDiff diff(const Framebuffer& a, const Framebuffer& b, const Rect& r) {
    JpegDiff d;
    uint64_t sum = 0;
    for (uint32_t y = r.y; y < r.bottom(); ++y)
        for (uint32_t x = r.x; x < r.right(); ++x)
            for (int s = 0; s < 24; s += 8) {
                const int e =
                    std::abs(int((a.at(x, y) >> s) & 0xff) - int((b.at(x, y) >> s) & 0xff));
                d.max = std::max(d.max, e);
                sum += static_cast<uint64_t>(e);
            }
    d.mean = double(sum) / double(r.area() * 3);
    return d;
}

TEST(TightEncoder, JpegForManyColoursWhenQualityAsked) {
    const Framebuffer fb = smooth(64, 64);
    for (const PixelFormat& pf :
         {PixelFormat::canonical(), test::canonical_be(), PixelFormat::rgb565(), test::depth32()}) {
        for (int q : {0, 5, 9}) {
            const Bytes body = encode(fb, fb.bounds(), pf, quality(q));
            const Parsed p = parse(body, fb.bounds(), pf);
            ASSERT_EQ(p.error, "") << pf.describe();
            ASSERT_EQ(p.ctl, kJpegCtl) << pf.describe() << " quality " << q;
            ASSERT_GE(p.data.size(), 4u);
            EXPECT_EQ(p.data[0], 0xff);  // SOI ... EOI
            EXPECT_EQ(p.data[1], 0xd8);
            EXPECT_EQ(p.data[p.data.size() - 2], 0xff);
            EXPECT_EQ(p.data.back(), 0xd9);
            Viewer v(pf, 64, 64);
            v.decode(fb.bounds(), body);
            const JpegDiff d = diff(fb, v.fb, fb.bounds());
            std::printf("[          ] %s quality %d: %zu bytes, max diff %d, mean %.2f\n",
                        pf.describe().c_str(), q, body.size(), d.max, d.mean);
            if (q == 9) {
                EXPECT_LE(d.max, 24) << pf.describe();
            }
            EXPECT_LE(d.mean, q == 0 ? 12.0 : 4.0) << pf.describe();
        }
    }
}

TEST(TightEncoder, JpegSubsamplingFollowsTheTuning) {
    const Framebuffer fb = smooth(64, 64);
    tjhandle tj = tjInitDecompress();
    ASSERT_NE(tj, nullptr);
    auto subsamp_of = [&](const EncodeTuning& t) {
        const Parsed p = parse(encode(fb, fb.bounds(), PixelFormat::canonical(), t), fb.bounds(),
                               PixelFormat::canonical());
        EXPECT_EQ(p.ctl, kJpegCtl);
        int w = 0, h = 0, ss = -1, cs = 0;
        EXPECT_EQ(tjDecompressHeader3(tj, p.data.data(), p.data.size(), &w, &h, &ss, &cs), 0);
        EXPECT_EQ(w, 64);
        EXPECT_EQ(h, 64);
        return ss;
    };
    EXPECT_EQ(subsamp_of(quality(0)), TJSAMP_420);
    EXPECT_EQ(subsamp_of(quality(3)), TJSAMP_422);
    EXPECT_EQ(subsamp_of(quality(6)), TJSAMP_444);
    EncodeTuning t = quality(9);
    t.subsampling = kSubsampGray;
    EXPECT_EQ(subsamp_of(t), TJSAMP_GRAY);
    t.subsampling = kSubsamp2X;
    EXPECT_EQ(subsamp_of(t), TJSAMP_422);
    t = EncodeTuning{};
    t.fine_quality = 80;  // fine quality alone switches JPEG on
    EXPECT_EQ(subsamp_of(t), TJSAMP_420);
    t.subsampling = kSubsampNone;
    EXPECT_EQ(subsamp_of(t), TJSAMP_444);
    tjDestroy(tj);
}

TEST(TightEncoder, FineQualityChangesTheSize) {
    const Framebuffer fb = smooth(64, 64);
    EncodeTuning lo = quality(9), hi = quality(0);
    lo.fine_quality = 5;  // fine quality overrides the level either way
    hi.fine_quality = 100;
    const size_t small = encode(fb, fb.bounds(), PixelFormat::canonical(), lo).size();
    const size_t big = encode(fb, fb.bounds(), PixelFormat::canonical(), hi).size();
    EXPECT_LT(small * 2, big);
    EncodeTuning zero = quality(-1);
    zero.fine_quality = 0;  // JPEG has no quality 0: sent as 1, still a valid JPEG
    Viewer v(PixelFormat::canonical(), 64, 64);
    v.decode(fb.bounds(), encode(fb, fb.bounds(), PixelFormat::canonical(), zero));
}

TEST(TightEncoder, NoJpegWithoutQualityOr8BitOrColourMap) {
    const Framebuffer fb = smooth(64, 64);
    EXPECT_NE(encode(fb, fb.bounds(), PixelFormat::canonical())[0], kJpegCtl);
    EncodeTuning only_subsampling;
    only_subsampling.subsampling = kSubsamp4X;
    EXPECT_NE(encode(fb, fb.bounds(), PixelFormat::canonical(), only_subsampling)[0], kJpegCtl);
    EXPECT_NE(expect_lossless(fb, fb.bounds(), PixelFormat::bgr233(), quality(5))[0], kJpegCtl);
    PixelFormat cmap = PixelFormat::bgr233();
    cmap.true_colour = false;
    PixelWriter px(cmap);
    Bytes out;
    TightEncoder enc;
    ASSERT_TRUE(enc.encode(fb, fb.bounds(), px, quality(5), out));
    EXPECT_NE(out[0], kJpegCtl);
}

TEST(TightEncoder, PaletteLimitWithJpegDependsOnCompressionLevel) {
    Framebuffer fb(64, 64);
    test::fill_palette(fb, fb.bounds(), 11, 50);
    // 50 colours: palette at the default level (limit 96), JPEG at levels 0 and 1 (limit 24).
    EXPECT_EQ(encode(fb, fb.bounds(), PixelFormat::canonical(), quality(5))[0] >> 4, 0x6);
    EXPECT_EQ(encode(fb, fb.bounds(), PixelFormat::canonical(), quality(5, 1))[0], kJpegCtl);
    EXPECT_EQ(encode(fb, fb.bounds(), PixelFormat::canonical(), quality(5, 0))[0], kJpegCtl);
    test::fill_palette(fb, fb.bounds(), 12, 200);
    EXPECT_EQ(encode(fb, fb.bounds(), PixelFormat::canonical(), quality(5))[0], kJpegCtl);
    EXPECT_EQ(encode(fb, fb.bounds(), PixelFormat::canonical())[0] >> 4, 0x6);
    // Two colours stay lossless whatever the quality.
    test::fill_palette(fb, fb.bounds(), 13, 2);
    expect_lossless(fb, fb.bounds(), PixelFormat::canonical(), quality(0, 0));
}

TEST(TightEncoder, JpegSettingsTable) {
    // TigerVNC's TightJPEGEncoder table.
    const int want_q[10] = {15, 29, 41, 42, 62, 77, 79, 86, 92, 100};
    const JpegSubsampling want_s[10] = {
        JpegSubsampling::k420, JpegSubsampling::k420, JpegSubsampling::k420, JpegSubsampling::k422,
        JpegSubsampling::k422, JpegSubsampling::k422, JpegSubsampling::k444, JpegSubsampling::k444,
        JpegSubsampling::k444, JpegSubsampling::k444};
    for (int q = 0; q < 10; ++q) {
        TightJpegSettings s;
        ASSERT_TRUE(tight_jpeg_settings(quality(q), s));
        EXPECT_EQ(s.quality, want_q[q]);
        EXPECT_EQ(s.subsampling, want_s[q]);
    }
    TightJpegSettings s;
    EXPECT_FALSE(tight_jpeg_settings(EncodeTuning{}, s));
    EXPECT_FALSE(tight_jpeg_settings(quality(10), s));
    EncodeTuning t;
    t.subsampling = kSubsampGray;
    EXPECT_FALSE(tight_jpeg_settings(t, s));
    t.fine_quality = 0;
    ASSERT_TRUE(tight_jpeg_settings(t, s));
    EXPECT_EQ(s.quality, 1);
    EXPECT_EQ(s.subsampling, JpegSubsampling::kGray);
    t = quality(2);
    t.fine_quality = 73;
    ASSERT_TRUE(tight_jpeg_settings(t, s));
    EXPECT_EQ(s.quality, 73);
    EXPECT_EQ(s.subsampling, JpegSubsampling::k420);
    const std::pair<int, JpegSubsampling> overrides[] = {
        {kSubsampNone, JpegSubsampling::k444}, {kSubsamp4X, JpegSubsampling::k420},
        {kSubsamp2X, JpegSubsampling::k422},   {kSubsampGray, JpegSubsampling::kGray},
        {kSubsamp8X, JpegSubsampling::k420},   {kSubsamp16X, JpegSubsampling::k420}};
    for (const auto& [level, want] : overrides) {
        t = quality(9);
        t.subsampling = level;
        ASSERT_TRUE(tight_jpeg_settings(t, s));
        EXPECT_EQ(s.quality, 100);
        EXPECT_EQ(s.subsampling, want) << level;
    }
    // The pseudo-encoding numbers map onto the levels in order.
    EXPECT_EQ(encoding::kJpegSubsamp1X + kSubsampNone, -768);
    EXPECT_EQ(encoding::kJpegSubsamp4X, encoding::kJpegSubsamp1X + kSubsamp4X);
    EXPECT_EQ(encoding::kJpegSubsamp2X, encoding::kJpegSubsamp1X + kSubsamp2X);
    EXPECT_EQ(encoding::kJpegSubsampGray, encoding::kJpegSubsamp1X + kSubsampGray);
    EXPECT_EQ(encoding::kJpegSubsamp8X, encoding::kJpegSubsamp1X + kSubsamp8X);
    EXPECT_EQ(encoding::kJpegSubsamp16X, encoding::kJpegSubsamp1X + kSubsamp16X);
}

TEST(TightEncoder, ZlibLevelsTable) {
    // TigerVNC's TightEncoder table: {indexed, mono, raw}.
    const int want[10][3] = {{0, 0, 0}, {1, 1, 1}, {3, 3, 2}, {5, 5, 2}, {6, 7, 3},
                             {7, 8, 4}, {7, 8, 5}, {8, 9, 6}, {9, 9, 7}, {9, 9, 9}};
    for (int c = 0; c < 10; ++c) {
        const TightZlibLevels l = tight_zlib_levels(c);
        EXPECT_EQ(l.indexed, want[c][0]);
        EXPECT_EQ(l.mono, want[c][1]);
        EXPECT_EQ(l.raw, want[c][2]);
    }
    for (int c : {-1, 10, 1000}) {
        const TightZlibLevels l = tight_zlib_levels(c);
        EXPECT_EQ(l.indexed, 3);
        EXPECT_EQ(l.mono, 3);
        EXPECT_EQ(l.raw, 2);
    }
}

TEST(TightEncoder, CompressionLevelIsHonoured) {
    Framebuffer fb(64, 64);
    test::fill_gradient(fb, fb.bounds());
    const Bytes l0 = encode(fb, fb.bounds(), PixelFormat::canonical(), quality(-1, 0));
    const Bytes l1 = encode(fb, fb.bounds(), PixelFormat::canonical(), quality(-1, 1));
    const Bytes l9 = encode(fb, fb.bounds(), PixelFormat::canonical(), quality(-1, 9));
    EXPECT_GT(l0.size(), 64u * 64 * 3);  // zlib level 0 stores
    EXPECT_LT(l1.size(), l0.size());
    EXPECT_LE(l9.size(), l1.size());
    EXPECT_EQ(encode(fb, fb.bounds(), PixelFormat::canonical(), quality(-1, -1)),
              encode(fb, fb.bounds(), PixelFormat::canonical(), quality(-1, 2)));
    for (const Bytes* b : {&l0, &l1, &l9}) {
        const Parsed p = parse(*b, fb.bounds(), PixelFormat::canonical());
        EXPECT_EQ(filtered(p), filtered(parse(l9, fb.bounds(), PixelFormat::canonical())));
    }
}

// ---- Sharing and determinism ------------------------------------------------------------

struct Tile {
    Rect r;
    Bytes body;
};

std::vector<Tile> mixed_tiles(const Framebuffer& fb, const PixelFormat& pf, const EncodeTuning& t) {
    std::vector<Tile> tiles;
    TightEncoder enc;
    for (uint32_t y = 0; y < fb.height(); y += 32)
        for (uint32_t x = 0; x < fb.width(); x += 32) {
            const Rect r = Rect{x, y, 32, 32}.intersect(fb.bounds());
            tiles.push_back({r, encode_with(enc, fb, r, pf, t)});
        }
    return tiles;
}

Framebuffer mixed_content() {
    Framebuffer fb(160, 96);
    test::fill_text(fb, Rect{0, 0, 64, 96}, 1);
    test::fill_noise(fb, Rect{64, 0, 32, 96}, 2);
    test::fill_palette(fb, Rect{96, 0, 32, 64}, 3, 40);
    Framebuffer s = smooth(32, 96);
    std::vector<uint32_t> px(32 * 96);
    s.get(s.bounds(), px.data());
    fb.put(Rect{128, 0, 32, 96}, px.data(), 32);
    test::fill_ui(fb, Rect{96, 64, 32, 32}, 4);
    return fb;
}

TEST(TightEncoder, ViewersDecodeSharedBodiesInAnyOrderOrSubset) {
    const Framebuffer fb = mixed_content();
    for (const PixelFormat& pf : formats()) {
        for (const EncodeTuning& t : {EncodeTuning{}, quality(6)}) {
            SCOPED_TRACE(pf.describe() + (t.quality >= 0 ? " jpeg" : " lossless"));
            const std::vector<Tile> tiles = mixed_tiles(fb, pf, t);
            // Viewer A: in order. B: reversed, each twice. C: every other one, after its zlib
            // streams were used by a server-style persistent stream (history the bodies must
            // not depend on).
            Viewer a(pf, fb.width(), fb.height()), b(pf, fb.width(), fb.height()),
                c(pf, fb.width(), fb.height());
            for (const Tile& tile : tiles)
                a.decode(tile.r, tile.body);
            for (size_t i = tiles.size(); i-- > 0;) {
                b.decode(tiles[i].r, tiles[i].body);
                b.decode(tiles[i].r, tiles[i].body);
            }
            for (int stream = 0; stream < 4; ++stream) {
                test::Deflater server(6);  // a server's stream, never reset: history
                const Bytes z = server.compress(Bytes(12 * tpixel_size(pf), uint8_t(stream * 50)));
                ASSERT_LT(z.size(), 128u);
                // Control byte (stream, copy filter, no reset), 1-byte length, data. Sized up
                // front: GCC 12 warns falsely about insert() after push_back().
                Bytes body(2 + z.size());
                body[0] = static_cast<uint8_t>(stream << 4);
                body[1] = static_cast<uint8_t>(z.size());
                std::copy(z.begin(), z.end(), body.begin() + 2);
                c.decode(Rect{0, 0, 12, 1}, body);
            }
            for (size_t i = 0; i < tiles.size(); i += 2)
                c.decode(tiles[i].r, tiles[i].body);
            // A and B saw everything: identical pixels. C matches them on its tiles.
            EXPECT_EQ(test::pixels_of(a.fb), test::pixels_of(b.fb));
            for (size_t i = 0; i < tiles.size(); i += 2)
                EXPECT_EQ(test::rect_pixels(c.fb, tiles[i].r), test::rect_pixels(a.fb, tiles[i].r));
            if (t.quality < 0) {
                const PixelWriter writer(pf);
                for (uint32_t y = 0; y < fb.height(); ++y)
                    for (uint32_t x = 0; x < fb.width(); ++x)
                        ASSERT_EQ(a.fb.at(x, y), a.reader.unpack(writer.pack(fb.at(x, y))))
                            << x << "," << y;
            }
        }
    }
}

TEST(TightEncoder, EveryCompressedPayloadResetsItsStream) {
    const Framebuffer fb = mixed_content();
    for (const PixelFormat& pf : formats())
        for (const Tile& tile : mixed_tiles(fb, pf, EncodeTuning{})) {
            const Parsed p = parse(tile.body, tile.r, pf);
            ASSERT_EQ(p.error, "");
            if (p.method >= 8) continue;
            const int stream = p.method & 3;
            if (p.compressed) {
                EXPECT_EQ(p.ctl & 0x0f, 1 << stream);
                EXPECT_EQ(p.data[0], 0x78);
                // Ends with a sync flush (an empty stored block), like servers' payloads.
                EXPECT_EQ(Bytes(p.data.end() - 4, p.data.end()), (Bytes{0, 0, 0xff, 0xff}));
            } else {
                EXPECT_EQ(p.ctl & 0x0f, 0);
            }
        }
}

TEST(TightEncoder, SamePixelsGiveTheSameBytes) {
    const Framebuffer fb = mixed_content();
    for (const PixelFormat& pf : formats()) {
        for (const EncodeTuning& t : {EncodeTuning{}, quality(3), quality(-1, 7)}) {
            TightEncoder enc;
            const Rect a{0, 0, 64, 64}, b{96, 0, 64, 64};
            const Bytes a1 = encode_with(enc, fb, a, pf, t);
            const Bytes b1 = encode_with(enc, fb, b, pf, t);
            const Bytes a2 = encode_with(enc, fb, a, pf, quality(9, 0));  // other settings between
            (void)a2;
            const Bytes a3 = encode_with(enc, fb, a, pf, t);
            TightEncoder fresh;
            EXPECT_EQ(a1, a3) << pf.describe();
            EXPECT_EQ(a1, encode_with(fresh, fb, a, pf, t)) << pf.describe();
            EXPECT_EQ(b1, encode_with(fresh, fb, b, pf, t)) << pf.describe();
            // The same pixels elsewhere (and in a framebuffer of another width) too.
            Framebuffer moved(300, 200);
            std::vector<uint32_t> tmp(b.area());
            ASSERT_TRUE(fb.get(b, tmp.data()));
            ASSERT_TRUE(moved.put(Rect{201, 77, b.w, b.h}, tmp.data(), b.w));
            EXPECT_EQ(b1, encode_with(enc, moved, Rect{201, 77, b.w, b.h}, pf, t)) << pf.describe();
        }
    }
}

// ---- Sizes and limits -----------------------------------------------------------------------

TEST(TightEncoder, TextAndUiCompressWell) {
    Framebuffer fb(64, 64);
    test::fill_text(fb, fb.bounds(), 21);
    const size_t raw32 = 64 * 64 * 4;
    const size_t text = encode(fb, fb.bounds(), PixelFormat::canonical()).size();
    test::fill_ui(fb, fb.bounds(), 22);
    const size_t ui = encode(fb, fb.bounds(), PixelFormat::canonical()).size();
    std::printf("[          ] 64x64 text tile: %zu bytes, UI tile: %zu bytes (raw %zu)\n", text, ui,
                raw32);
    EXPECT_LT(text * 10, raw32);
    EXPECT_LT(ui * 20, raw32);
}

TEST(TightEncoder, RefusesWhatViewersCannotTake) {
    Framebuffer fb(3000, 100);
    fb.fill(fb.bounds(), 0x010203);
    TightEncoder enc;
    PixelWriter px(PixelFormat::canonical());
    Bytes out{1, 2, 3};
    EXPECT_FALSE(enc.encode(fb, Rect{0, 0, 2049, 1}, px, {}, out));   // too wide
    EXPECT_FALSE(enc.encode(fb, Rect{0, 0, 1000, 66}, px, {}, out));  // over 64 Ki pixels
    EXPECT_FALSE(enc.encode(fb, Rect{2990, 0, 11, 1}, px, {}, out));  // outside
    EXPECT_FALSE(enc.encode(fb, Rect{0, 99, 1, 2}, px, {}, out));     // outside
    PixelFormat bad = PixelFormat::canonical();
    bad.bits_per_pixel = 24;
    PixelWriter px24(bad);
    EXPECT_FALSE(enc.encode(fb, Rect{0, 0, 4, 4}, px24, {}, out));
    EXPECT_EQ(out, (Bytes{1, 2, 3}));
    // The limits themselves are fine, and the body is appended after what was there.
    ASSERT_TRUE(enc.encode(fb, Rect{0, 0, 2048, 32}, px, {}, out));
    EXPECT_EQ(out, (Bytes{1, 2, 3, kFillCtl, 0x01, 0x02, 0x03}));
}

TEST(TightEncoder, EmptyRectangleIsAFill) {
    Framebuffer fb(8, 8);
    test::fill_noise(fb, fb.bounds(), 1);
    for (const Rect& r : {Rect{8, 0, 0, 8}, Rect{0, 3, 5, 0}}) {
        const Bytes body = encode(fb, r, PixelFormat::canonical());
        EXPECT_EQ(body, (Bytes{kFillCtl, 0, 0, 0}));
        Viewer v(PixelFormat::canonical(), 8, 8);
        v.decode(r, body);
        EXPECT_TRUE(test::outside_untouched(v.fb, Rect{}, test::kSentinel));
    }
}

TEST(TightEncoder, RegistryMakesTightAndTightZstd) {
    auto t = make_encoder(encoding::kTight);
    ASSERT_NE(t, nullptr);
    EXPECT_EQ(t->encoding(), encoding::kTight);
    auto z = make_encoder(encoding::kTightZstd);
    ASSERT_NE(z, nullptr);
    EXPECT_EQ(z->encoding(), encoding::kTightZstd);
}

// ---- TightZstd (26) -------------------------------------------------------------------------

// UltraVNC's viewer: one ZSTD_DStream per Tight stream for the whole connection, each payload
// decompressed by a single ZSTD_decompressStream call into a buffer of exactly the data size
// (UltraVncZ::decompressZstd). Reset bits do not touch the DStreams.
class UltraVncZstdViewer {
  public:
    UltraVncZstdViewer() {
        for (auto& d : ds_)
            d = ZSTD_createDStream();
    }
    ~UltraVncZstdViewer() {
        for (auto* d : ds_)
            ZSTD_freeDStream(d);
    }
    UltraVncZstdViewer(const UltraVncZstdViewer&) = delete;
    UltraVncZstdViewer& operator=(const UltraVncZstdViewer&) = delete;

    // The filtered data of a compressed Basic payload on `stream`.
    bool decompress(int stream, const Bytes& payload, size_t size, Bytes& out) {
        out.assign(size, 0);
        ZSTD_inBuffer in{payload.data(), payload.size(), 0};
        ZSTD_outBuffer o{out.data(), out.size(), 0};
        const size_t rc = ZSTD_decompressStream(ds_[stream], &o, &in);
        return !ZSTD_isError(rc) && in.pos == in.size && o.pos == size;
    }

  private:
    ZSTD_DStream* ds_[4];
};

TEST(TightZstdEncoder, SameBodiesAsTightButZstdFrames) {
    const Framebuffer fb = mixed_content();
    for (const PixelFormat& pf : formats()) {
        for (const EncodeTuning& t : {EncodeTuning{}, quality(6), quality(-1, 0), quality(-1, 9)}) {
            TightEncoder tight;
            TightZstdEncoder zstd;
            EXPECT_EQ(zstd.encoding(), encoding::kTightZstd);
            UltraVncZstdViewer viewer;
            for (uint32_t y = 0; y < fb.height(); y += 32)
                for (uint32_t x = 0; x < fb.width(); x += 32) {
                    const Rect r{x, y, 32, 32};
                    const Bytes tb = encode_with(tight, fb, r, pf, t);
                    const Bytes zb = encode_with(zstd, fb, r, pf, t);
                    const Parsed tp = parse(tb, r, pf), zp = parse(zb, r, pf);
                    ASSERT_EQ(tp.error, "");
                    ASSERT_EQ(zp.error, "");
                    if (tp.method >= 8 || !tp.compressed) {
                        EXPECT_EQ(tb, zb);  // Fill, JPEG and short data are plain Tight
                        continue;
                    }
                    EXPECT_EQ(zp.head, tp.head);  // same control byte, filter and palette
                    // One complete frame holding exactly the filtered data.
                    EXPECT_EQ(ZSTD_findFrameCompressedSize(zp.data.data(), zp.data.size()),
                              zp.data.size());
                    EXPECT_EQ(ZSTD_getFrameContentSize(zp.data.data(), zp.data.size()),
                              zp.data_size);
                    Bytes data;
                    ASSERT_TRUE(viewer.decompress(zp.method & 3, zp.data, zp.data_size, data));
                    EXPECT_EQ(data, filtered(tp));
                }
        }
    }
}

TEST(TightZstdEncoder, UltraVncViewersDecodeSharedBodiesInAnyOrder) {
    const Framebuffer fb = mixed_content();
    const PixelFormat pf = PixelFormat::canonical();
    TightZstdEncoder enc;
    std::vector<Tile> tiles;
    for (uint32_t y = 0; y < fb.height(); y += 32)
        for (uint32_t x = 0; x < fb.width(); x += 32)
            tiles.push_back({Rect{x, y, 32, 32}, encode_with(enc, fb, Rect{x, y, 32, 32}, pf)});
    // The filtered data each tile must decompress to, from a one-shot decompression.
    std::map<size_t, Bytes> want;
    for (size_t i = 0; i < tiles.size(); ++i) {
        const Parsed p = parse(tiles[i].body, tiles[i].r, pf);
        if (p.method >= 8 || !p.compressed) continue;
        Bytes d(p.data_size);
        ASSERT_EQ(ZSTD_decompress(d.data(), d.size(), p.data.data(), p.data.size()), d.size());
        want[i] = d;
    }
    ASSERT_GE(want.size(), 4u);
    std::vector<std::vector<size_t>> orders(3);
    for (size_t i = 0; i < tiles.size(); ++i) {
        orders[0].push_back(i);
        orders[1].insert(orders[1].begin(), i);
        if (i % 3 != 1) orders[2].push_back(i), orders[2].push_back(i);
    }
    for (const auto& order : orders) {
        UltraVncZstdViewer viewer;
        for (size_t i : order) {
            if (!want.count(i)) continue;
            const Parsed p = parse(tiles[i].body, tiles[i].r, pf);
            Bytes d;
            ASSERT_TRUE(viewer.decompress(p.method & 3, p.data, p.data_size, d));
            EXPECT_EQ(d, want[i]);
        }
    }
}

TEST(TightZstdEncoder, LevelsAndDeterminism) {
    EXPECT_EQ(TightZstdEncoder::zstd_level(0), -1);
    EXPECT_EQ(TightZstdEncoder::zstd_level(1), 1);
    EXPECT_EQ(TightZstdEncoder::zstd_level(9), 9);
    const Framebuffer fb = mixed_content();
    TightZstdEncoder a, b;
    const Bytes x = encode_with(a, fb, Rect{0, 0, 64, 64}, PixelFormat::rgb565());
    encode_with(a, fb, Rect{64, 0, 64, 64}, PixelFormat::rgb565(), quality(-1, 9));
    EXPECT_EQ(x, encode_with(a, fb, Rect{0, 0, 64, 64}, PixelFormat::rgb565()));
    EXPECT_EQ(x, encode_with(b, fb, Rect{0, 0, 64, 64}, PixelFormat::rgb565()));
}

}  // namespace
}  // namespace rfb
