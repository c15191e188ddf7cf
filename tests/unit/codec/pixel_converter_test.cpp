// PixelReader / PixelWriter fast paths: every 8 and 16 bpp value and every canonical colour
// through the fast path must give exactly what the one-pixel-at-a-time reference gives, and the
// reference itself is pinned by hand-worked values.
#include "codec/pixel_converter.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "codec/pixel_format.h"

namespace rfb {
namespace {

using Bytes = std::vector<uint8_t>;

PixelFormat fmt(uint8_t bpp, uint8_t depth, bool big_endian, uint16_t rmax, uint16_t gmax,
                uint16_t bmax, uint8_t rs, uint8_t gs, uint8_t bs) {
    PixelFormat pf;
    pf.bits_per_pixel = bpp;
    pf.depth = depth;
    pf.big_endian = big_endian;
    pf.true_colour = true;
    pf.red_max = rmax;
    pf.green_max = gmax;
    pf.blue_max = bmax;
    pf.red_shift = rs;
    pf.green_shift = gs;
    pf.blue_shift = bs;
    return pf;
}

PixelFormat colour_map8() {
    PixelFormat pf = fmt(8, 8, false, 0, 0, 0, 0, 0, 0);
    pf.true_colour = false;
    return pf;
}

PixelFormat big(PixelFormat pf) {
    pf.big_endian = true;
    return pf;
}

// Wire bytes of `value` in the format's size and byte order, written without PixelWriter.
void put_wire(Bytes& out, uint32_t value, const PixelFormat& pf) {
    const size_t n = pf.bits_per_pixel / 8;
    for (size_t i = 0; i < n; ++i) {
        const size_t shift = pf.big_endian ? 8 * (n - 1 - i) : 8 * i;
        out.push_back(static_cast<uint8_t>(value >> shift));
    }
}

std::vector<PixelFormat> formats16() {
    return {
        PixelFormat::rgb565(),
        big(PixelFormat::rgb565()),
        fmt(16, 15, false, 31, 31, 31, 10, 5, 0),  // RGB555
        fmt(16, 15, true, 31, 31, 31, 10, 5, 0),   // RGB555 big-endian
        fmt(16, 16, false, 31, 63, 31, 0, 5, 11),  // BGR565
        fmt(16, 12, false, 15, 15, 15, 8, 4, 0),   // RGB444
        fmt(16, 12, true, 63, 7, 7, 10, 0, 3),     // odd widths, channels out of order
        fmt(16, 16, false, 1023, 7, 7, 6, 0, 3),   // a 10-bit channel: no tables
    };
}

std::vector<PixelFormat> formats8() {
    return {
        PixelFormat::bgr233(), fmt(8, 8, false, 7, 7, 3, 5, 2, 0),  // RGB332
        fmt(8, 6, false, 3, 3, 3, 4, 2, 0),                         // RGB222
        fmt(8, 3, false, 1, 1, 1, 2, 1, 0),                         // one bit per channel
    };
}

std::vector<PixelFormat> formats32() {
    return {
        PixelFormat::canonical(),
        big(PixelFormat::canonical()),
        fmt(32, 24, false, 255, 255, 255, 0, 8, 16),   // BGRX
        fmt(32, 24, true, 255, 255, 255, 0, 8, 16),    // BGRX big-endian
        fmt(32, 24, false, 255, 255, 255, 24, 16, 8),  // XRGB the other way round
        fmt(32, 24, true, 255, 255, 255, 24, 16, 8),
        fmt(32, 24, false, 255, 255, 255, 4, 12, 20),  // channels off byte boundaries
        fmt(32, 24, true, 255, 255, 255, 4, 12, 20),
        fmt(32, 16, false, 31, 63, 31, 11, 5, 0),  // 565 in a 32-bit pixel
        fmt(32, 16, true, 31, 63, 31, 11, 5, 0),
        fmt(32, 30, false, 1023, 1023, 1023, 20, 10, 0),  // 10-bit channels
    };
}

TEST(PixelReader, HandWorkedValues) {
    PixelReader r565(PixelFormat::rgb565());
    const uint8_t red[] = {0x00, 0xf8}, mid[] = {0x10, 0x84};
    EXPECT_EQ(r565.load(red), 0xff0000u);
    // 0x8410: red 16 -> 10000|100 = 0x84, green 32 -> 100000|10 = 0x82, blue 16 -> 0x84.
    EXPECT_EQ(r565.load(mid), 0x848284u);
    uint32_t row[2];
    const uint8_t both[] = {0x00, 0xf8, 0x10, 0x84};
    r565.read_row(both, 2, row);
    EXPECT_EQ(row[0], 0xff0000u);
    EXPECT_EQ(row[1], 0x848284u);

    PixelReader r233(PixelFormat::bgr233());
    const uint8_t v233[] = {0x07, 0x38, 0xc0, 0x05, 0xff};
    uint32_t out233[5];
    r233.read_row(v233, 5, out233);
    EXPECT_EQ(out233[0], 0xff0000u);
    EXPECT_EQ(out233[1], 0x00ff00u);
    EXPECT_EQ(out233[2], 0x0000ffu);
    EXPECT_EQ(out233[3], 0xb60000u);  // 101 -> 10110110
    EXPECT_EQ(out233[4], 0xffffffu);

    // BGRX little-endian: red is the first byte. Big-endian canonical: padding first.
    PixelReader bgrx(fmt(32, 24, false, 255, 255, 255, 0, 8, 16));
    PixelReader canon_be(big(PixelFormat::canonical()));
    const uint8_t p1[] = {0x12, 0x34, 0x56, 0xff}, p2[] = {0xff, 0x12, 0x34, 0x56};
    EXPECT_EQ(bgrx.load(p1), 0x123456u);
    EXPECT_EQ(canon_be.load(p2), 0x123456u);
    uint32_t one;
    bgrx.read_row(p1, 1, &one);
    EXPECT_EQ(one, 0x123456u);
    canon_be.read_row(p2, 1, &one);
    EXPECT_EQ(one, 0x123456u);
}

TEST(PixelReader, Every16BitValueMatchesTheReference) {
    for (const PixelFormat& pf : formats16()) {
        SCOPED_TRACE(pf.describe());
        ASSERT_TRUE(pf.valid(nullptr));
        PixelReader r(pf);
        Bytes wire;
        for (uint32_t v = 0; v < 65536; ++v)
            put_wire(wire, v, pf);
        std::vector<uint32_t> fast(65536), ref(65536);
        r.read_row(wire.data(), 65536, fast.data());
        r.read_row_reference(wire.data(), 65536, ref.data());
        for (uint32_t v = 0; v < 65536; ++v) {
            ASSERT_EQ(fast[v], ref[v]) << "value " << v;
            ASSERT_EQ(r.load(wire.data() + 2 * v), ref[v]) << "value " << v;
            ASSERT_EQ(ref[v], r.unpack(v)) << "value " << v;
        }
    }
}

TEST(PixelReader, Short16BitRowsMatchTheReference) {
    // Row lengths around the eight-pixel blocks (and the overlapping last block), at odd source
    // alignments; nothing may be written past the row.
    std::mt19937 rng(7);
    for (const PixelFormat& pf : formats16()) {
        SCOPED_TRACE(pf.describe());
        PixelReader r(pf);
        for (size_t n = 0; n <= 26; ++n)
            for (size_t offset = 0; offset < 3; ++offset) {
                Bytes wire(offset + 2 * n);
                for (auto& b : wire)
                    b = static_cast<uint8_t>(rng());
                std::vector<uint32_t> fast(n + 1, 0xdeadbeef), ref(n + 1, 0xdeadbeef);
                r.read_row(wire.data() + offset, n, fast.data());
                r.read_row_reference(wire.data() + offset, n, ref.data());
                ASSERT_EQ(fast, ref) << "n " << n << " offset " << offset;
                EXPECT_EQ(fast[n], 0xdeadbeefu) << "wrote past the row";
            }
    }
}

TEST(PixelReader, Rgb565WidensByBitReplication) {
    // Hand-worked: 5 bits abcde -> abcdeabc, 6 bits abcdef -> abcdefab.
    PixelReader r(PixelFormat::rgb565());
    const uint16_t v[8] = {0xffff, 0x0000, 0xf800, 0x07e0, 0x001f, 0x8410, 0x4208, 0x1234};
    Bytes wire;
    for (uint16_t x : v)
        put_wire(wire, x, PixelFormat::rgb565());
    uint32_t out[8];
    r.read_row(wire.data(), 8, out);
    EXPECT_EQ(out[0], 0xffffffu);
    EXPECT_EQ(out[1], 0x000000u);
    EXPECT_EQ(out[2], 0xff0000u);
    EXPECT_EQ(out[3], 0x00ff00u);
    EXPECT_EQ(out[4], 0x0000ffu);
    EXPECT_EQ(out[5], 0x848284u);  // r 10000, g 100000, b 10000
    EXPECT_EQ(out[6], 0x424142u);  // r 01000, g 010000, b 01000
    // 0x1234: r 00010 -> 00010000, g 010001 -> 01000101, b 10100 -> 10100101
    EXPECT_EQ(out[7], 0x1045a5u);
}

TEST(PixelReader, Every8BitValueMatchesTheReference) {
    std::vector<PixelFormat> fs = formats8();
    fs.push_back(colour_map8());
    for (const PixelFormat& pf : fs) {
        SCOPED_TRACE(pf.describe());
        PixelReader r(pf);
        if (!pf.true_colour) {
            for (uint32_t i = 0; i < 256; ++i)  // a map unlike the default grey ramp
                r.set_colour(i, static_cast<uint16_t>(i * 257), static_cast<uint16_t>(~i << 8),
                             static_cast<uint16_t>((i * 7) << 8));
        }
        Bytes wire(256);
        for (uint32_t v = 0; v < 256; ++v)
            wire[v] = static_cast<uint8_t>(v);
        std::vector<uint32_t> fast(256), ref(256);
        r.read_row(wire.data(), 256, fast.data());
        r.read_row_reference(wire.data(), 256, ref.data());
        for (uint32_t v = 0; v < 256; ++v) {
            ASSERT_EQ(fast[v], ref[v]) << "value " << v;
            ASSERT_EQ(r.load(&wire[v]), ref[v]) << "value " << v;
        }
        if (!pf.true_colour) {
            EXPECT_EQ(fast[3], (3u << 16) | (0xfcu << 8) | 21u);
        }
    }
}

TEST(PixelReader, ColourMapChangesReachTheFastPath) {
    PixelReader r(colour_map8());
    const uint8_t px[] = {9, 10};
    uint32_t out[2];
    r.read_row(px, 2, out);
    EXPECT_EQ(out[0], 0x090909u);  // no map yet: grey
    r.set_colour(9, 0xffff, 0x8000, 0x0000);
    r.set_colour(300, 0xffff, 0xffff, 0xffff);  // past the 8-bit range: ignored
    r.read_row(px, 2, out);
    EXPECT_EQ(out[0], 0xff8000u);
    EXPECT_EQ(out[1], 0x0a0a0au);
}

TEST(PixelReader, Any32BitFormatMatchesTheReference) {
    std::mt19937 rng(42);
    for (const PixelFormat& pf : formats32()) {
        SCOPED_TRACE(pf.describe());
        ASSERT_TRUE(pf.valid(nullptr));
        PixelReader r(pf);
        // Row lengths around the four-pixel blocks, at every alignment of the source.
        for (size_t n = 0; n <= 11; ++n)
            for (size_t offset = 0; offset < 4; ++offset) {
                Bytes wire(offset + 4 * n);
                for (auto& b : wire)
                    b = static_cast<uint8_t>(rng());
                std::vector<uint32_t> fast(n + 1, 0xdeadbeef), ref(n + 1, 0xdeadbeef);
                r.read_row(wire.data() + offset, n, fast.data());
                r.read_row_reference(wire.data() + offset, n, ref.data());
                ASSERT_EQ(fast, ref) << "n " << n << " offset " << offset;
                EXPECT_EQ(fast[n], 0xdeadbeefu) << "wrote past the row";
                for (size_t i = 0; i < n; ++i)
                    ASSERT_EQ(r.load(wire.data() + offset + 4 * i), ref[i]);
            }
        Bytes wire(4 * 100000);
        for (auto& b : wire)
            b = static_cast<uint8_t>(rng());
        std::vector<uint32_t> fast(100000), ref(100000);
        r.read_row(wire.data(), fast.size(), fast.data());
        r.read_row_reference(wire.data(), ref.size(), ref.data());
        ASSERT_EQ(fast, ref);
        for (uint32_t p : fast)
            ASSERT_EQ(p & 0xff000000u, 0u);
    }
}

TEST(PixelReader, FormatsOutsideTheSpecReadNothing) {
    PixelFormat pf = PixelFormat::canonical();
    pf.bits_per_pixel = 24;
    PixelReader r(pf);
    EXPECT_FALSE(r.format_valid());
    const uint8_t px[3] = {1, 2, 3};
    EXPECT_EQ(r.load_raw(px), 0u);
    pf = PixelFormat::canonical();
    pf.red_shift = 40;  // would be an undefined shift
    PixelReader s(pf);
    EXPECT_FALSE(s.format_valid());
    const uint8_t px4[4] = {1, 2, 3, 4};
    EXPECT_EQ(s.load(px4), 0x000201u);  // red unreadable; green byte 1, blue byte 0
    EXPECT_TRUE(PixelReader(PixelFormat::rgb565()).format_valid());
    EXPECT_TRUE(PixelReader(colour_map8()).format_valid());
}

// ---- PixelWriter ---------------------------------------------------------------------------

TEST(PixelWriter, HandWorkedValues) {
    // BGRX little-endian: red first. Canonical big-endian: padding first.
    Bytes out(4);
    PixelWriter(fmt(32, 24, false, 255, 255, 255, 0, 8, 16))
        .write_row(std::vector<uint32_t>{0x123456}.data(), 1, out.data());
    EXPECT_EQ(out, (Bytes{0x12, 0x34, 0x56, 0x00}));
    PixelWriter(big(PixelFormat::canonical()))
        .write_row(std::vector<uint32_t>{0x123456}.data(), 1, out.data());
    EXPECT_EQ(out, (Bytes{0x00, 0x12, 0x34, 0x56}));
    // Channels off byte boundaries, big-endian: 0x12 << 4 | 0x34 << 12 | 0x56 << 20 = 0x05634120.
    PixelWriter(fmt(32, 24, true, 255, 255, 255, 4, 12, 20))
        .write_row(std::vector<uint32_t>{0x123456}.data(), 1, out.data());
    EXPECT_EQ(out, (Bytes{0x05, 0x63, 0x41, 0x20}));
    // RGB565 big-endian, rounded as Xvnc rounds: red 0x0f -> 2, green 0xfe -> 63, blue 0x40 -> 8.
    Bytes two(2);
    PixelWriter(big(PixelFormat::rgb565()))
        .write_row(std::vector<uint32_t>{0x0ffe40}.data(), 1, two.data());
    const uint32_t v = (2u << 11) | (63u << 5) | 8u;
    EXPECT_EQ(two, (Bytes{static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v)}));
}

TEST(PixelWriter, EveryColourMatchesTheReferenceFor8And16Bpp) {
    std::vector<PixelFormat> fs = {PixelFormat::rgb565(), big(PixelFormat::rgb565()),
                                   fmt(16, 15, true, 31, 31, 31, 10, 5, 0), PixelFormat::bgr233(),
                                   colour_map8()};
    for (const PixelFormat& pf : fs) {
        SCOPED_TRACE(pf.describe());
        PixelWriter w(pf);
        const size_t bpp = w.bytes_per_pixel();
        constexpr uint32_t kChunk = 1u << 20;
        std::vector<uint32_t> src(kChunk);
        Bytes fast(kChunk * bpp), ref(kChunk * bpp);
        for (uint32_t base = 0; base < (1u << 24); base += kChunk) {
            for (uint32_t i = 0; i < kChunk; ++i)
                src[i] = base + i;
            w.write_row(src.data(), kChunk, fast.data());
            w.write_row_reference(src.data(), kChunk, ref.data());
            ASSERT_EQ(fast, ref) << "colours from " << base;
        }
    }
}

TEST(PixelWriter, Any32BitFormatMatchesTheReference) {
    std::mt19937 rng(7);
    for (const PixelFormat& pf : formats32()) {
        SCOPED_TRACE(pf.describe());
        PixelWriter w(pf);
        for (size_t n = 0; n <= 11; ++n) {
            std::vector<uint32_t> src(n);
            for (auto& p : src)
                p = rng() & 0xffffffu;
            Bytes fast(4 * n + 1, 0xee), ref(4 * n + 1, 0xee);
            w.write_row(src.data(), n, fast.data());
            w.write_row_reference(src.data(), n, ref.data());
            ASSERT_EQ(fast, ref) << "n " << n;
            EXPECT_EQ(fast.back(), 0xee) << "wrote past the row";
        }
        std::vector<uint32_t> src(100000);
        for (auto& p : src)
            p = rng() & 0xffffffu;
        Bytes fast(4 * src.size()), ref(4 * src.size());
        w.write_row(src.data(), src.size(), fast.data());
        w.write_row_reference(src.data(), src.size(), ref.data());
        ASSERT_EQ(fast, ref);
    }
}

TEST(PixelWriter, EightBitChannelsRoundTripThroughTheReader) {
    std::mt19937 rng(9);
    for (const PixelFormat& pf : formats32()) {
        if (pf.red_max != 255) continue;
        SCOPED_TRACE(pf.describe());
        std::vector<uint32_t> src(1000), back(1000);
        for (auto& p : src)
            p = rng() & 0xffffffu;
        Bytes wire(4 * src.size());
        PixelWriter(pf).write_row(src.data(), src.size(), wire.data());
        PixelReader(pf).read_row(wire.data(), src.size(), back.data());
        EXPECT_EQ(back, src);
    }
}

TEST(PixelWriter, ColourMapFormatsGetBgr233Indices) {
    PixelWriter cmap(colour_map8());
    PixelWriter tc(PixelFormat::bgr233());
    EXPECT_EQ(cmap.bytes_per_pixel(), 1u);
    EXPECT_EQ(cmap.pack(0xff0000), 0x07u);
    EXPECT_EQ(cmap.pack(0x00ff00), 0x38u);
    EXPECT_EQ(cmap.pack(0x0000ff), 0xc0u);
    EXPECT_EQ(cmap.pack(0xffffff), 0xffu);
    // Rounded like the true-colour narrowing: red 0x12 -> (18 * 7 + 128) / 255 = 0, and
    // 0x13 -> (19 * 7 + 128) / 255 = 1.
    EXPECT_EQ(cmap.pack(0x120000), 0x00u);
    EXPECT_EQ(cmap.pack(0x130000), 0x01u);
    for (uint32_t c = 0; c < (1u << 24); c += 97)
        ASSERT_EQ(cmap.pack(c), tc.pack(c)) << c;
}

TEST(PixelWriter, FormatsOutsideTheSpecWriteOnlyTheirSize) {
    PixelFormat pf = PixelFormat::canonical();
    pf.bits_per_pixel = 24;
    PixelWriter w(pf);
    Bytes out(3 * 2 + 1, 0xee);
    const uint32_t src[2] = {0x123456, 0x654321};
    w.write_row(src, 2, out.data());
    EXPECT_EQ(out.back(), 0xee);
}

// ---- Row helpers ---------------------------------------------------------------------------

TEST(PixelRows, Rgb24ToCanonical) {
    std::mt19937 rng(3);
    for (size_t n = 0; n <= 40; ++n) {
        Bytes src(3 * n);
        for (auto& b : src)
            b = static_cast<uint8_t>(rng());
        std::vector<uint32_t> out(n + 1, 0xdeadbeef);
        rgb24_to_canonical(src.data(), n, out.data());
        for (size_t i = 0; i < n; ++i)
            ASSERT_EQ(out[i],
                      uint32_t{src[3 * i]} << 16 | uint32_t{src[3 * i + 1]} << 8 | src[3 * i + 2])
                << "n " << n << " pixel " << i;
        EXPECT_EQ(out[n], 0xdeadbeefu);
    }
}

TEST(PixelRows, Rgb24RowsHonourBothStrides) {
    std::mt19937 rng(5);
    for (size_t n : {1u, 5u, 6u, 9u, 64u}) {
        const size_t rows = 3, src_stride = 3 * n + 2, dst_stride = n + 3;
        Bytes src(src_stride * rows);
        for (auto& b : src)
            b = static_cast<uint8_t>(rng());
        std::vector<uint32_t> out(dst_stride * rows, 0xdeadbeef);
        rgb24_rows_to_canonical(src.data(), src_stride, n, rows, out.data(), dst_stride);
        for (size_t y = 0; y < rows; ++y) {
            std::vector<uint32_t> row(n);
            rgb24_to_canonical(src.data() + y * src_stride, n, row.data());
            for (size_t i = 0; i < n; ++i)
                ASSERT_EQ(out[y * dst_stride + i], row[i]) << "n " << n << " row " << y;
            for (size_t i = n; i < dst_stride; ++i)
                ASSERT_EQ(out[y * dst_stride + i], 0xdeadbeefu) << "wrote into the gap";
        }
    }
}

TEST(PixelRows, ReadRowsMatchesReadRowForEveryPath) {
    std::vector<PixelFormat> fs = formats16();
    for (const auto& f : formats8())
        fs.push_back(f);
    for (const auto& f : formats32())
        fs.push_back(f);
    fs.push_back(colour_map8());
    std::mt19937 rng(11);
    for (const PixelFormat& pf : fs) {
        SCOPED_TRACE(pf.describe());
        PixelReader r(pf);
        const size_t bpp = r.bytes_per_pixel();
        for (size_t n : {1u, 7u, 8u, 9u, 17u, 64u}) {
            const size_t rows = 3, src_stride = bpp * n + 1, dst_stride = n + 2;
            Bytes src(src_stride * rows);
            for (auto& b : src)
                b = static_cast<uint8_t>(rng());
            std::vector<uint32_t> out(dst_stride * rows, 0xdeadbeef);
            r.read_rows(src.data(), src_stride, n, rows, out.data(), dst_stride);
            for (size_t y = 0; y < rows; ++y) {
                std::vector<uint32_t> ref(n);
                r.read_row_reference(src.data() + y * src_stride, n, ref.data());
                for (size_t i = 0; i < n; ++i)
                    ASSERT_EQ(out[y * dst_stride + i], ref[i]) << "n " << n << " row " << y;
                for (size_t i = n; i < dst_stride; ++i)
                    ASSERT_EQ(out[y * dst_stride + i], 0xdeadbeefu) << "wrote into the gap";
            }
        }
    }
}

TEST(PixelRows, ClearPadding) {
    for (size_t n = 0; n <= 9; ++n) {
        std::vector<uint32_t> px(n + 1, 0xff123456u);
        clear_padding(px.data(), n);
        for (size_t i = 0; i < n; ++i)
            ASSERT_EQ(px[i], 0x00123456u);
        EXPECT_EQ(px[n], 0xff123456u);
    }
}

}  // namespace
}  // namespace rfb
