#include "codec/zrle_encoder.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <string>
#include <vector>

#include "codec/byte_reader.h"
#include "codec/rect_framing.h"
#include "encoder_test_content.h"

#if __has_include("codec/zrle_decoder.h") && __has_include("codec/decoder_registry.cpp")
#include "codec/decoder.h"
#define HAVE_ZRLE_DECODER 1
#endif

namespace rfb {
namespace {

using Bytes = std::vector<uint8_t>;

Bytes encode(const Framebuffer& fb, const Rect& r, const PixelFormat& pf, int level = -1) {
    ZrleEncoder enc;
    PixelWriter px(pf);
    Bytes out;
    EncodeTuning t;
    t.compress = level;
    EXPECT_TRUE(enc.encode(fb, r, px, t, out));
    return out;
}

// What one viewer does: a single inflate stream for the whole connection, fed rectangle after
// rectangle. The zlib header arrives inside the first rectangle's data.
class ViewerInflater {
  public:
    ViewerInflater() { ok_ = inflateInit(&zs_) == Z_OK; }
    ~ViewerInflater() { inflateEnd(&zs_); }
    ViewerInflater(const ViewerInflater&) = delete;
    ViewerInflater& operator=(const ViewerInflater&) = delete;

    // Inflates one rectangle's zlib data completely; false on any zlib error or leftover input.
    bool inflate_rect(const uint8_t* data, size_t len, Bytes& out) {
        if (!ok_) return false;
        out.clear();
        zs_.next_in = const_cast<Bytef*>(data);
        zs_.avail_in = static_cast<uInt>(len);
        uint8_t buf[4096];
        while (true) {
            zs_.next_out = buf;
            zs_.avail_out = sizeof buf;
            const int rc = inflate(&zs_, Z_SYNC_FLUSH);
            out.insert(out.end(), buf, buf + (sizeof buf - zs_.avail_out));
            if (rc == Z_BUF_ERROR && zs_.avail_in == 0) return true;  // all consumed, no more out
            if (rc != Z_OK) return false;
            if (zs_.avail_in == 0 && zs_.avail_out != 0) return true;
        }
    }

  private:
    z_stream zs_{};
    bool ok_ = false;
};

// The body as the only rectangle of a fresh viewer stream, inflated.
Bytes inflate_alone(const Bytes& body) {
    Bytes framed(kZlibHeader, kZlibHeader + 2);
    framed.insert(framed.end(), body.begin(), body.end());
    ViewerInflater v;
    Bytes out;
    EXPECT_TRUE(v.inflate_rect(framed.data(), framed.size(), out));
    return out;
}

// Test-only ZRLE tile reader written from rfbproto.rst, with the CPIXEL layout given by the
// test (not taken from the encoder). Produces packed pixel values.
struct TileData {
    std::vector<uint32_t> pixels;
    std::string error;
    std::vector<uint8_t> subencodings;
};

TileData read_tiles(const Bytes& d, uint32_t w, uint32_t h, const PixelFormat& pf, size_t cpb,
                    size_t offset) {
    TileData t;
    t.pixels.assign(size_t{w} * h, 0xdeadbeef);
    size_t pos = 0;
    auto need = [&](size_t n) { return d.size() - pos >= n; };
    auto cpixel = [&] {
        uint8_t b[4] = {0, 0, 0, 0};
        std::copy_n(&d[pos], cpb, b + offset);
        pos += cpb;
        return test::load_packed(b, pf.bytes_per_pixel(), pf.big_endian);
    };
    auto run_length = [&](size_t& len) {
        len = 1;
        while (true) {
            if (!need(1)) return false;
            const uint8_t b = d[pos++];
            len += b;
            if (b != 255) return true;
        }
    };
    for (uint32_t ty = 0; ty < h; ty += 64) {
        for (uint32_t tx = 0; tx < w; tx += 64) {
            const uint32_t tw = std::min(64u, w - tx), th = std::min(64u, h - ty);
            const size_t n = size_t{tw} * th;
            auto put = [&](size_t i, uint32_t v) {
                t.pixels[size_t{ty + i / tw} * w + tx + i % tw] = v;
            };
            if (!need(1)) return t.error = "truncated subencoding", t;
            const uint8_t sub = d[pos++];
            t.subencodings.push_back(sub);
            std::vector<uint32_t> palette;
            const size_t psize = sub >= 130 ? sub - 128u : sub <= 16 ? sub : 0u;
            if ((sub > 16 && sub < 128) || sub == 129) return t.error = "unused subencoding", t;
            if (!need(psize * cpb)) return t.error = "truncated palette", t;
            for (size_t i = 0; i < psize; ++i)
                palette.push_back(cpixel());
            if (sub == 0) {
                if (!need(n * cpb)) return t.error = "truncated raw", t;
                for (size_t i = 0; i < n; ++i)
                    put(i, cpixel());
            } else if (sub == 1) {
                for (size_t i = 0; i < n; ++i)
                    put(i, palette[0]);
            } else if (sub <= 16) {
                const unsigned bits = sub == 2 ? 1 : sub <= 4 ? 2 : 4;
                const size_t row = (size_t{tw} * bits + 7) / 8;
                if (!need(row * th)) return t.error = "truncated packed", t;
                for (uint32_t y = 0; y < th; ++y) {
                    for (uint32_t x = 0; x < tw; ++x) {
                        const size_t bit = size_t{x} * bits;
                        const unsigned byte = d[pos + y * row + bit / 8];
                        const unsigned idx = (byte >> (8 - bits - bit % 8)) & ((1u << bits) - 1);
                        if (idx >= palette.size()) return t.error = "packed index", t;
                        put(size_t{y} * tw + x, palette[idx]);
                    }
                    // Padding bits must be zero for the output to be canonical.
                    const size_t used = size_t{tw} * bits % 8;
                    if (used && (d[pos + y * row + row - 1] & ((1u << (8 - used)) - 1)))
                        return t.error = "padding bits set", t;
                }
                pos += row * th;
            } else {
                for (size_t i = 0; i < n;) {
                    uint32_t v;
                    size_t len = 1;
                    if (sub == 128) {
                        if (!need(cpb)) return t.error = "truncated run", t;
                        v = cpixel();
                        if (!run_length(len)) return t.error = "truncated length", t;
                    } else {
                        if (!need(1)) return t.error = "truncated index", t;
                        const uint8_t b = d[pos++];
                        if ((b & 127) >= palette.size()) return t.error = "run index", t;
                        v = palette[b & 127];
                        if ((b & 128) && !run_length(len)) return t.error = "truncated length", t;
                        if ((b & 128) && len == 1) return t.error = "run of 1 with length", t;
                    }
                    if (len > n - i) return t.error = "run past tile", t;
                    for (size_t k = 0; k < len; ++k)
                        put(i + k, v);
                    i += len;
                }
            }
        }
    }
    if (pos != d.size()) t.error = "trailing bytes";
    return t;
}

struct CPixelCase {
    PixelFormat pf;
    size_t size, offset;
};

// CPIXEL layouts worked out by hand from the spec for the formats the tests use.
std::vector<CPixelCase> cpixel_cases() {
    return {{PixelFormat::canonical(), 3, 0}, {test::canonical_be(), 3, 1},
            {PixelFormat::rgb565(), 2, 0},    {PixelFormat::bgr233(), 1, 0},
            {test::high_bytes(false), 3, 1},  {test::high_bytes(true), 3, 0},
            {test::depth32(), 4, 0}};
}

void expect_round_trip(const Framebuffer& fb, const Rect& r, const CPixelCase& c,
                       const std::string& what, int level = -1) {
    const Bytes body = encode(fb, r, c.pf, level);
    const Bytes raw = inflate_alone(body);
    const TileData t = read_tiles(raw, r.w, r.h, c.pf, c.size, c.offset);
    ASSERT_EQ(t.error, "") << what << " " << c.pf.describe();
    PixelWriter px(c.pf);
    for (uint32_t y = 0; y < r.h; ++y)
        for (uint32_t x = 0; x < r.w; ++x)
            ASSERT_EQ(t.pixels[size_t{y} * r.w + x], px.pack(fb.at(r.x + x, r.y + y)))
                << what << " " << c.pf.describe() << " at " << x << "," << y;
}

Bytes rgb3(uint32_t c) {
    return {uint8_t(c), uint8_t(c >> 8), uint8_t(c >> 16)};
}

TEST(ZrleCPixel, FollowsTheSpecRule) {
    for (const CPixelCase& c : cpixel_cases()) {
        const ZrleCPixel got = zrle_cpixel(c.pf);
        EXPECT_EQ(got.size, c.size) << c.pf.describe();
        EXPECT_EQ(got.offset, c.offset) << c.pf.describe();
    }
    PixelFormat wide = PixelFormat::canonical();  // 10 bits of red spill into the top byte
    wide.red_max = 1023;
    wide.red_shift = 20;
    EXPECT_EQ(zrle_cpixel(wide).size, 4u);
    PixelFormat low16 = PixelFormat::canonical();  // depth 16 in 32 bpp: both fit, low wins
    low16.depth = 16;
    low16.red_max = 31;
    low16.red_shift = 11;
    low16.green_max = 63;
    low16.green_shift = 5;
    low16.blue_max = 31;
    low16.blue_shift = 0;
    EXPECT_EQ(zrle_cpixel(low16).size, 3u);
    EXPECT_EQ(zrle_cpixel(low16).offset, 0u);
    low16.big_endian = true;
    EXPECT_EQ(zrle_cpixel(low16).offset, 1u);
}

TEST(ZrleEncoder, SolidTile) {
    Framebuffer fb(64, 64);
    fb.fill(fb.bounds(), 0x112233);
    EXPECT_EQ(inflate_alone(encode(fb, fb.bounds(), PixelFormat::canonical())),
              (Bytes{1, 0x33, 0x22, 0x11}));
    EXPECT_EQ(inflate_alone(encode(fb, fb.bounds(), test::canonical_be())),
              (Bytes{1, 0x11, 0x22, 0x33}));
    fb.fill(fb.bounds(), 0x00ff00);
    EXPECT_EQ(inflate_alone(encode(fb, fb.bounds(), PixelFormat::rgb565())),
              (Bytes{1, 0xe0, 0x07}));
    EXPECT_EQ(inflate_alone(encode(fb, fb.bounds(), PixelFormat::bgr233())), (Bytes{1, 0x38}));
}

TEST(ZrleEncoder, TwoColourTileIsPackedOneBitPerPixel) {
    Framebuffer fb(16, 2);
    fb.fill(Rect{0, 0, 8, 2}, 0x0000ff);
    fb.fill(Rect{8, 0, 8, 2}, 0xff0000);
    Bytes want{2};
    for (auto c : {0x0000ffu, 0xff0000u})
        want = [&] {
            Bytes b = want;
            const Bytes p = rgb3(c);
            b.insert(b.end(), p.begin(), p.end());
            return b;
        }();
    want.insert(want.end(), {0x00, 0xff, 0x00, 0xff});
    EXPECT_EQ(inflate_alone(encode(fb, fb.bounds(), PixelFormat::canonical())), want);
}

TEST(ZrleEncoder, PackedRowsArePaddedToBytes) {
    Framebuffer fb(3, 2);  // 3 colours: 2 bits each, 3 pixels per row -> one byte, 2 bits pad
    const uint32_t a = 0x000001, b = 0x000002, c = 0x000003;
    const uint32_t px[6] = {a, b, c, c, b, a};
    for (int i = 0; i < 6; ++i)
        fb.row(i / 3)[i % 3] = px[i];
    // Sizes: packed 1+9+2 = 12, palette RLE 1+9+6 = 16, plain RLE 1+5*4 = 21, raw 1+18 = 19.
    Bytes want{3};
    for (uint32_t v : {a, b, c}) {
        const Bytes p = rgb3(v);
        want.insert(want.end(), p.begin(), p.end());
    }
    want.insert(want.end(), {0b00011000, 0b10010000});
    EXPECT_EQ(inflate_alone(encode(fb, fb.bounds(), PixelFormat::canonical())), want);
}

TEST(ZrleEncoder, NoisyTileIsRaw) {
    Framebuffer fb(4, 1);
    const uint32_t px[4] = {0x010203, 0x040506, 0x070809, 0x0a0b0c};
    for (int i = 0; i < 4; ++i)
        fb.row(0)[i] = px[i];
    // raw 13 beats packed 14 (1 + 12 palette + 1), palette RLE 17 and plain RLE 17.
    Bytes want{0};
    for (uint32_t v : px) {
        const Bytes p = rgb3(v);
        want.insert(want.end(), p.begin(), p.end());
    }
    EXPECT_EQ(inflate_alone(encode(fb, fb.bounds(), PixelFormat::canonical())), want);
}

TEST(ZrleEncoder, PlainRleWithLongRuns) {
    Framebuffer fb(64, 16);
    // Runs of 1, 255, 256 and 512 pixels, continuing from row to row.
    const uint32_t cols[4] = {0x0a0000, 0x000b00, 0x00000c, 0x0d0d0d};
    const size_t lens[4] = {1, 255, 256, 512};
    size_t i = 0;
    for (int k = 0; k < 4; ++k)
        for (size_t j = 0; j < lens[k]; ++j, ++i)
            fb.row(i / 64)[i % 64] = cols[k];
    // plain RLE 1+4+4+5+6 = 20 beats palette RLE 1+12+1+2+3+4 = 23 and packed 1+12+128.
    Bytes want{128};
    const Bytes tails[4] = {{0}, {254}, {255, 0}, {255, 255, 1}};
    for (int k = 0; k < 4; ++k) {
        const Bytes p = rgb3(cols[k]);
        want.insert(want.end(), p.begin(), p.end());
        want.insert(want.end(), tails[k].begin(), tails[k].end());
    }
    EXPECT_EQ(inflate_alone(encode(fb, fb.bounds(), PixelFormat::canonical())), want);
}

TEST(ZrleEncoder, PaletteRleWithSingletonsAndRuns) {
    Framebuffer fb(60, 1);
    // 20 colours, each first as a run of 2 and then as a single pixel.
    auto colour = [](uint32_t k) { return 0x100000 * (k + 1) + k; };
    for (uint32_t k = 0; k < 20; ++k) {
        fb.row(0)[2 * k] = fb.row(0)[2 * k + 1] = colour(k);
        fb.row(0)[40 + k] = colour(k);
    }
    // palette RLE 1+60+20*2+20 = 121 beats plain RLE 1+40*4 = 161 and raw 181.
    Bytes want{128 + 20};
    for (uint32_t k = 0; k < 20; ++k) {
        const Bytes p = rgb3(colour(k));
        want.insert(want.end(), p.begin(), p.end());
    }
    for (uint8_t k = 0; k < 20; ++k)
        want.insert(want.end(), {uint8_t(128 + k), 1});
    for (uint8_t k = 0; k < 20; ++k)
        want.push_back(k);
    EXPECT_EQ(inflate_alone(encode(fb, fb.bounds(), PixelFormat::canonical())), want);
}

TEST(ZrleEncoder, SixtyFourColourRowsArePlainRle) {
    Framebuffer fb(64, 64);
    for (uint32_t y = 0; y < 64; ++y)
        fb.fill(Rect{0, y, 64, 1}, 0x010101 * (y + 1));
    Bytes want{128};
    for (uint32_t y = 0; y < 64; ++y) {
        const Bytes p = rgb3(0x010101 * (y + 1));
        want.insert(want.end(), p.begin(), p.end());
        want.push_back(63);
    }
    EXPECT_EQ(inflate_alone(encode(fb, fb.bounds(), PixelFormat::canonical())), want);
}

TEST(ZrleEncoder, TilesAre64SquareInRowOrder) {
    Framebuffer fb(130, 70);
    fb.fill(fb.bounds(), 0x000001);
    fb.fill(Rect{64, 0, 64, 64}, 0x000002);
    fb.fill(Rect{128, 0, 2, 64}, 0x000003);
    fb.fill(Rect{0, 64, 130, 6}, 0x000004);
    const Bytes raw = inflate_alone(encode(fb, fb.bounds(), PixelFormat::bgr233()));
    // bgr233 keeps blue's top two bits only, so every colour above is pixel value 0.
    EXPECT_EQ(raw, (Bytes{1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0}));
    const Bytes raw32 = inflate_alone(encode(fb, fb.bounds(), PixelFormat::canonical()));
    EXPECT_EQ(raw32,
              (Bytes{1, 1, 0, 0, 1, 2, 0, 0, 1, 3, 0, 0, 1, 4, 0, 0, 1, 4, 0, 0, 1, 4, 0, 0}));
}

TEST(ZrleEncoder, BodyIsRawDeflateEndingInAFullFlush) {
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
        Bytes out(1 << 20);
        zs.next_in = const_cast<Bytef*>(body.data());
        zs.avail_in = static_cast<uInt>(body.size());
        zs.next_out = out.data();
        zs.avail_out = static_cast<uInt>(out.size());
        EXPECT_EQ(inflate(&zs, Z_SYNC_FLUSH), Z_OK);
        EXPECT_EQ(zs.avail_in, 0u);
        inflateEnd(&zs);
    }
}

TEST(ZrleEncoder, CompressionLevelIsHonoured) {
    Framebuffer fb(128, 128);
    test::fill_gradient(fb, fb.bounds());
    const Bytes l0 = encode(fb, fb.bounds(), PixelFormat::canonical(), 0);
    const Bytes l1 = encode(fb, fb.bounds(), PixelFormat::canonical(), 1);
    const Bytes l6 = encode(fb, fb.bounds(), PixelFormat::canonical(), 6);
    const Bytes l9 = encode(fb, fb.bounds(), PixelFormat::canonical(), 9);
    // Level 0 stores: the body is at least the tile data (4 raw tiles of 64*64*3 + 1).
    EXPECT_GT(l0.size(), 4u * (64 * 64 * 3 + 1));
    EXPECT_LT(l1.size(), l0.size());
    EXPECT_LE(l9.size(), l6.size());
    EXPECT_EQ(encode(fb, fb.bounds(), PixelFormat::canonical(), -1), l6);  // default is 6
    EXPECT_EQ(encode(fb, fb.bounds(), PixelFormat::canonical(), 42), l6);  // nonsense too
    for (const Bytes* b : {&l0, &l1, &l6, &l9})
        EXPECT_EQ(inflate_alone(*b), inflate_alone(l6));
}

TEST(ZrleEncoder, SamePixelsGiveTheSameBytes) {
    Framebuffer fb(200, 150);
    test::fill_text(fb, Rect{0, 0, 100, 150}, 1);
    test::fill_noise(fb, Rect{100, 0, 100, 150}, 2);
    const Rect a{10, 10, 130, 70}, b{0, 80, 200, 70};
    for (const PixelFormat& pf : test::viewer_formats()) {
        ZrleEncoder enc;
        PixelWriter px(pf);
        EncodeTuning t;
        Bytes a1, b1, a2, a3, a_level1, a4;
        ASSERT_TRUE(enc.encode(fb, a, px, t, a1));
        ASSERT_TRUE(enc.encode(fb, b, px, t, b1));
        ASSERT_TRUE(enc.encode(fb, a, px, t, a2));
        t.compress = 1;
        ASSERT_TRUE(enc.encode(fb, a, px, t, a_level1));
        t.compress = -1;
        ASSERT_TRUE(enc.encode(fb, a, px, t, a3));
        EXPECT_EQ(a1, a2) << pf.describe();
        EXPECT_EQ(a1, a3) << pf.describe();
        ZrleEncoder fresh;
        ASSERT_TRUE(fresh.encode(fb, a, px, t, a4));
        EXPECT_EQ(a1, a4) << pf.describe();
        // The same pixels elsewhere on screen encode the same way too.
        Framebuffer moved(300, 300);
        Bytes pixels_a(size_t{a.w} * a.h * 4);
        std::vector<uint32_t> tmp(a.area());
        ASSERT_TRUE(fb.get(a, tmp.data()));
        ASSERT_TRUE(moved.put(Rect{77, 123, a.w, a.h}, tmp.data(), a.w));
        Bytes a5;
        ASSERT_TRUE(enc.encode(moved, Rect{77, 123, a.w, a.h}, px, t, a5));
        EXPECT_EQ(a1, a5) << pf.describe();
    }
}

TEST(ZrleEncoder, EdgeRectangles) {
    Framebuffer fb(200, 200);
    test::fill_text(fb, Rect{0, 0, 200, 100}, 11);
    test::fill_noise(fb, Rect{0, 100, 100, 100}, 12);
    test::fill_gradient(fb, Rect{100, 100, 100, 100});
    const Rect rects[] = {Rect{0, 0, 1, 1},    Rect{199, 199, 1, 1},   Rect{0, 0, 65, 65},
                          Rect{3, 5, 63, 129}, Rect{60, 90, 140, 110}, Rect{0, 0, 200, 200},
                          Rect{10, 0, 1, 200}, Rect{0, 10, 200, 1}};
    for (const CPixelCase& c : cpixel_cases())
        for (const Rect& r : rects)
            expect_round_trip(fb, r, c,
                              std::to_string(r.x) + "," + std::to_string(r.y) + " " +
                                  std::to_string(r.w) + "x" + std::to_string(r.h));
}

TEST(ZrleEncoder, EmptyRectangleIsAnEmptyFlush) {
    Framebuffer fb(8, 8);
    const Bytes body = encode(fb, Rect{8, 0, 0, 8}, PixelFormat::canonical());
    EXPECT_TRUE(inflate_alone(body).empty());
}

TEST(ZrleEncoder, RoundTripsRandomContent) {
    test::Lcg g{777};
    Framebuffer fb(160, 160);
    const auto cases = cpixel_cases();
    for (int iter = 0; iter < 200; ++iter) {
        switch (g.below(5)) {
            case 0:
                test::fill_noise(fb, fb.bounds(), g.next());
                break;
            case 1:
                test::fill_palette(fb, fb.bounds(), g.next(), 2 + g.below(200));
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
        const uint32_t w = 1 + g.below(160), h = 1 + g.below(160);
        const Rect r{g.below(161 - w), g.below(161 - h), w, h};
        expect_round_trip(fb, r, cases[g.below(cases.size())], "iteration " + std::to_string(iter),
                          static_cast<int>(g.below(10)));
    }
}

TEST(ZrleEncoder, PaletteSizesAcrossEveryBoundary) {
    Framebuffer fb(64, 64);
    for (uint32_t colours : {2u, 3u, 4u, 5u, 16u, 17u, 126u, 127u, 128u, 300u}) {
        test::fill_palette(fb, fb.bounds(), colours, colours);
        // Long runs of a few colours push towards palette RLE; keep both shapes.
        for (const CPixelCase& c : cpixel_cases())
            expect_round_trip(fb, fb.bounds(), c, std::to_string(colours) + " colours");
        for (uint32_t y = 0; y < 64; y += 2)
            fb.fill(Rect{0, y, 64, 1}, fb.at(y % 64, y));
        for (const CPixelCase& c : cpixel_cases())
            expect_round_trip(fb, fb.bounds(), c, std::to_string(colours) + " colours, runs");
    }
}

// A viewer-side parse of one viewer's stream of ZRLE rectangles.
struct ParsedRect {
    Rect r;
    Bytes tile_data;
};

bool parse_viewer_stream(const Bytes& stream, std::vector<ParsedRect>& rects, std::string& err) {
    ViewerInflater inflater;
    ByteReader rd(stream);
    while (rd.remaining()) {
        uint16_t x, y, w, h;
        int32_t enc;
        uint32_t len;
        std::span<const uint8_t> data;
        if (!rd.u16(x) || !rd.u16(y) || !rd.u16(w) || !rd.u16(h) || !rd.s32(enc) || !rd.u32(len) ||
            !rd.bytes(len, data))
            return err = "truncated stream", false;
        if (enc != encoding::kZRLE) return err = "not ZRLE", false;
        ParsedRect p{Rect{x, y, w, h}, {}};
        if (!inflater.inflate_rect(data.data(), data.size(), p.tile_data))
            return err = "inflate failed", false;
        rects.push_back(std::move(p));
    }
    return true;
}

// The decisive test: bodies encoded once, sent to two viewers in different orders and subsets,
// each viewer inflating everything with ONE stream as real viewers do.
TEST(ZrleEncoder, SharedBodiesDecodeInAnyViewerStream) {
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
    for (const CPixelCase& c : cpixel_cases()) {
        PixelWriter px(c.pf);
        ZrleEncoder enc;
        std::vector<Bytes> bodies;
        for (const Rect& r : rects) {
            Bytes b;
            ASSERT_TRUE(enc.encode(fb, r, px, EncodeTuning{}, b));
            bodies.push_back(std::move(b));
        }
        for (size_t v = 0; v < viewers.size(); ++v) {
            ViewerStreamState state;
            Bytes stream;
            ByteWriter w(stream);
            for (size_t k : viewers[v]) {
                ASSERT_TRUE(
                    write_rect_prefix(w, rects[k], encoding::kZRLE, bodies[k].size(), state));
                w.bytes(bodies[k]);
            }
            std::vector<ParsedRect> parsed;
            std::string err;
            ASSERT_TRUE(parse_viewer_stream(stream, parsed, err))
                << err << " viewer " << v << " " << c.pf.describe();
            ASSERT_EQ(parsed.size(), viewers[v].size());
            for (size_t i = 0; i < parsed.size(); ++i) {
                const Rect& r = rects[viewers[v][i]];
                ASSERT_EQ(parsed[i].r, r);
                const TileData t =
                    read_tiles(parsed[i].tile_data, r.w, r.h, c.pf, c.size, c.offset);
                ASSERT_EQ(t.error, "") << "viewer " << v << " rect " << i << " " << c.pf.describe();
                for (uint32_t y = 0; y < r.h; ++y)
                    for (uint32_t x = 0; x < r.w; ++x)
                        ASSERT_EQ(t.pixels[size_t{y} * r.w + x], px.pack(fb.at(r.x + x, r.y + y)))
                            << "viewer " << v << " rect " << i << " " << c.pf.describe() << " at "
                            << x << "," << y;
            }
        }
    }
}

#ifdef HAVE_ZRLE_DECODER
TEST(ZrleEncoder, SharedBodiesThroughTheProjectDecoder) {
    Framebuffer fb(256, 192);
    test::fill_text(fb, Rect{0, 0, 128, 96}, 41);
    test::fill_ui(fb, Rect{128, 0, 128, 96}, 42);
    test::fill_gradient(fb, Rect{0, 96, 128, 96});
    test::fill_noise(fb, Rect{128, 96, 128, 96}, 43);
    const std::vector<Rect> rects = {Rect{0, 0, 64, 64}, Rect{64, 0, 100, 70},
                                     Rect{10, 80, 130, 70}, Rect{150, 100, 106, 92},
                                     Rect{255, 191, 1, 1}};
    const std::vector<std::vector<size_t>> viewers = {{0, 1, 2, 3, 4}, {3, 1, 4, 1, 0}};
    for (const PixelFormat& pf : test::viewer_formats()) {
        PixelWriter px(pf);
        PixelReader reader(pf);
        ZrleEncoder enc;
        std::vector<Bytes> bodies;
        for (const Rect& r : rects) {
            Bytes b;
            ASSERT_TRUE(enc.encode(fb, r, px, EncodeTuning{}, b));
            bodies.push_back(std::move(b));
        }
        for (size_t v = 0; v < viewers.size(); ++v) {
            auto dec = make_decoder(encoding::kZRLE);  // one per viewer connection
            ASSERT_NE(dec, nullptr);
            Framebuffer view(256, 192);
            ViewerStreamState state;
            for (size_t k : viewers[v]) {
                Bytes msg;
                ByteWriter w(msg);
                ASSERT_TRUE(
                    write_rect_prefix(w, rects[k], encoding::kZRLE, bodies[k].size(), state));
                w.bytes(bodies[k]);
                const std::span<const uint8_t> body(msg.data() + kRectHeaderSize,
                                                    msg.size() - kRectHeaderSize);
                DecodeTarget t{view, reader};
                const DecodeResult res = dec->decode(rects[k], body, t);
                ASSERT_EQ(res.status, DecodeStatus::kDone)
                    << res.error << " viewer " << v << " " << pf.describe();
                ASSERT_EQ(res.consumed, body.size());
                const Rect& r = rects[k];
                for (uint32_t y = r.y; y < r.bottom(); ++y)
                    for (uint32_t x = r.x; x < r.right(); ++x)
                        ASSERT_EQ(view.at(x, y), reader.unpack(px.pack(fb.at(x, y))))
                            << "viewer " << v << " " << pf.describe() << " at " << x << "," << y;
            }
        }
    }
}
#else
TEST(ZrleEncoder, SharedBodiesThroughTheProjectDecoder) {
    GTEST_SKIP() << "codec/zrle_decoder.h is not in the tree yet";
}
#endif

}  // namespace
}  // namespace rfb
