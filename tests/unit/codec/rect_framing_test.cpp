#include "codec/rect_framing.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <vector>

#include "codec/rfb_constants.h"

namespace rfb {
namespace {

using Bytes = std::vector<uint8_t>;

TEST(RectFraming, HeaderIsFourU16AndAnS32) {
    Bytes buf;
    ByteWriter w(buf);
    ASSERT_TRUE(write_rect_header(w, Rect{1, 0x0203, 0xfffe, 4}, encoding::kZRLE));
    ASSERT_TRUE(write_rect_header(w, Rect{0, 0, 0, 0}, encoding::kCursor));
    EXPECT_EQ(buf, (Bytes{0x00, 0x01, 0x02, 0x03, 0xff, 0xfe, 0x00, 0x04, 0x00, 0x00, 0x00, 0x10,
                          0,    0,    0,    0,    0,    0,    0,    0,    0xff, 0xff, 0xff, 0x11}));
    EXPECT_EQ(kRectHeaderSize, 12u);
}

TEST(RectFraming, HeaderRefusesFieldsWiderThan16Bits) {
    Bytes buf;
    ByteWriter w(buf);
    EXPECT_FALSE(write_rect_header(w, Rect{0x10000, 0, 1, 1}, encoding::kRaw));
    EXPECT_FALSE(write_rect_header(w, Rect{0, 0x10000, 1, 1}, encoding::kRaw));
    EXPECT_FALSE(write_rect_header(w, Rect{0, 0, 0x10000, 1}, encoding::kRaw));
    EXPECT_FALSE(write_rect_header(w, Rect{0, 0, 1, 0x10000}, encoding::kRaw));
    EXPECT_TRUE(buf.empty());
    EXPECT_TRUE(write_rect_header(w, Rect{0xffff, 0xffff, 0xffff, 0xffff}, encoding::kRaw));
    EXPECT_EQ(buf.size(), 12u);
}

TEST(RectFraming, SelfContainedEncodingsGetOnlyTheHeader) {
    ViewerStreamState st;
    for (int32_t enc : {encoding::kRaw, encoding::kHextile}) {
        Bytes buf;
        ByteWriter w(buf);
        ASSERT_TRUE(write_rect_prefix(w, Rect{5, 6, 7, 8}, enc, 1000, st));
        EXPECT_EQ(buf, (Bytes{0, 5, 0, 6, 0, 7, 0, 8, 0, 0, 0, static_cast<uint8_t>(enc)}));
    }
    EXPECT_FALSE(st.zrle_stream_started);
}

TEST(RectFraming, ZrleGetsLengthAndTheZlibHeaderOncePerViewer) {
    ViewerStreamState a, b;
    Bytes buf;
    ByteWriter w(buf);
    ASSERT_TRUE(write_rect_prefix(w, Rect{0, 0, 64, 64}, encoding::kZRLE, 0x0100, a));
    EXPECT_TRUE(a.zrle_stream_started);
    EXPECT_EQ(buf, (Bytes{0, 0, 0, 0, 0, 64, 0, 64, 0, 0, 0, 16, 0, 0, 0x01, 0x02, 0x78, 0x01}));
    buf.clear();
    ASSERT_TRUE(write_rect_prefix(w, Rect{64, 0, 64, 64}, encoding::kZRLE, 0x0100, a));
    EXPECT_EQ(buf, (Bytes{0, 64, 0, 0, 0, 64, 0, 64, 0, 0, 0, 16, 0, 0, 0x01, 0x00}));
    // Another viewer's stream is its own: it still needs the header.
    buf.clear();
    ASSERT_TRUE(write_rect_prefix(w, Rect{64, 0, 64, 64}, encoding::kZRLE, 7, b));
    EXPECT_EQ(buf, (Bytes{0, 64, 0, 0, 0, 64, 0, 64, 0, 0, 0, 16, 0, 0, 0, 9, 0x78, 0x01}));
}

TEST(RectFraming, ZlibHeaderIsValidRfc1950) {
    const unsigned cmf = kZlibHeader[0], flg = kZlibHeader[1];
    EXPECT_EQ(cmf & 0x0f, 8u);  // deflate
    EXPECT_EQ(cmf >> 4, 7u);    // 32 KiB window, as large as the encoder's
    EXPECT_EQ(flg & 0x20, 0u);  // no preset dictionary
    EXPECT_EQ((cmf * 256 + flg) % 31, 0u);
}

TEST(RectFraming, LengthsThatDoNotFitU32AreRefusedWithoutSideEffects) {
    const size_t max32 = std::numeric_limits<uint32_t>::max();
    ViewerStreamState st;
    Bytes buf;
    ByteWriter w(buf);
    // First ZRLE rect: the 2 header bytes count, so max32 - 1 no longer fits.
    EXPECT_FALSE(write_rect_prefix(w, Rect{0, 0, 1, 1}, encoding::kZRLE, max32 - 1, st));
    EXPECT_FALSE(write_rect_prefix(w, Rect{0, 0, 1, 1}, encoding::kZRLE,
                                   std::numeric_limits<size_t>::max(), st));
    EXPECT_FALSE(write_rect_prefix(w, Rect{0, 0, 1, 1}, encoding::kRaw, max32 + 1, st));
    EXPECT_FALSE(write_rect_prefix(w, Rect{0, 0, 0x10000, 1}, encoding::kZRLE, 1, st));
    EXPECT_TRUE(buf.empty());
    EXPECT_FALSE(st.zrle_stream_started);

    ASSERT_TRUE(write_rect_prefix(w, Rect{0, 0, 1, 1}, encoding::kZRLE, max32 - 2, st));
    EXPECT_EQ(Bytes(buf.begin() + 12, buf.begin() + 16), (Bytes{0xff, 0xff, 0xff, 0xff}));
    buf.clear();
    ASSERT_TRUE(write_rect_prefix(w, Rect{0, 0, 1, 1}, encoding::kZRLE, max32, st));
    EXPECT_EQ(buf.size(), 16u);
    EXPECT_FALSE(write_rect_prefix(w, Rect{0, 0, 1, 1}, encoding::kZRLE, max32 + 1, st));
    EXPECT_EQ(buf.size(), 16u);
}

TEST(RectFraming, ZlibHasAStreamOfItsOwn) {
    ViewerStreamState st;
    Bytes buf;
    ByteWriter w(buf);
    // The viewer's ZRLE stream has started; its Zlib stream has not: it needs its own header.
    ASSERT_TRUE(write_rect_prefix(w, Rect{0, 0, 64, 64}, encoding::kZRLE, 5, st));
    buf.clear();
    ASSERT_TRUE(write_rect_prefix(w, Rect{1, 2, 3, 4}, encoding::kZlib, 0x0100, st));
    EXPECT_TRUE(st.zlib_stream_started);
    EXPECT_EQ(buf, (Bytes{0, 1, 0, 2, 0, 3, 0, 4, 0, 0, 0, 6, 0, 0, 0x01, 0x02, 0x78, 0x01}));
    buf.clear();
    ASSERT_TRUE(write_rect_prefix(w, Rect{1, 2, 3, 4}, encoding::kZlib, 0x0100, st));
    EXPECT_EQ(buf, (Bytes{0, 1, 0, 2, 0, 3, 0, 4, 0, 0, 0, 6, 0, 0, 0x01, 0x00}));
    // And the other way round: Zlib first leaves ZRLE's header still to send.
    ViewerStreamState other;
    buf.clear();
    ASSERT_TRUE(write_rect_prefix(w, Rect{0, 0, 1, 1}, encoding::kZlib, 1, other));
    EXPECT_FALSE(other.zrle_stream_started);
    buf.clear();
    ASSERT_TRUE(write_rect_prefix(w, Rect{0, 0, 1, 1}, encoding::kZRLE, 1, other));
    EXPECT_EQ(Bytes(buf.begin() + 12, buf.end()), (Bytes{0, 0, 0, 3, 0x78, 0x01}));
}

TEST(RectFraming, ZlibLengthsThatDoNotFitU32AreRefusedWithoutSideEffects) {
    const size_t max32 = std::numeric_limits<uint32_t>::max();
    ViewerStreamState st;
    Bytes buf;
    ByteWriter w(buf);
    EXPECT_FALSE(write_rect_prefix(w, Rect{0, 0, 1, 1}, encoding::kZlib, max32 - 1, st));
    EXPECT_TRUE(buf.empty());
    EXPECT_FALSE(st.zlib_stream_started);
    ASSERT_TRUE(write_rect_prefix(w, Rect{0, 0, 1, 1}, encoding::kZlib, max32 - 2, st));
    EXPECT_EQ(Bytes(buf.begin() + 12, buf.begin() + 16), (Bytes{0xff, 0xff, 0xff, 0xff}));
}

TEST(RectFraming, ZstdEncodingsGetTheLengthOnly) {
    ViewerStreamState st;
    for (int32_t enc : {encoding::kZstd, encoding::kZSTDRLE}) {
        Bytes buf;
        ByteWriter w(buf);
        // The same for a viewer's first rectangle and every later one: no per-viewer header.
        for (int i = 0; i < 2; ++i) {
            buf.clear();
            ASSERT_TRUE(write_rect_prefix(w, Rect{5, 6, 7, 8}, enc, 0x010203, st));
            EXPECT_EQ(buf, (Bytes{0, 5, 0, 6, 0, 7, 0, 8, 0, 0, 0, static_cast<uint8_t>(enc), 0,
                                  0x01, 0x02, 0x03}));
        }
        const size_t max32 = std::numeric_limits<uint32_t>::max();
        buf.clear();
        ASSERT_TRUE(write_rect_prefix(w, Rect{0, 0, 1, 1}, enc, max32, st));
        EXPECT_EQ(buf.size(), 16u);
        buf.clear();
        EXPECT_FALSE(write_rect_prefix(w, Rect{0, 0, 1, 1}, enc, max32 + 1, st));
        EXPECT_FALSE(write_rect_prefix(w, Rect{0, 0, 0x10000, 1}, enc, 1, st));
        EXPECT_TRUE(buf.empty());
    }
    EXPECT_FALSE(st.zrle_stream_started);
    EXPECT_FALSE(st.zlib_stream_started);
}

TEST(RectFraming, RreGetsOnlyTheHeader) {
    ViewerStreamState st;
    Bytes buf;
    ByteWriter w(buf);
    ASSERT_TRUE(write_rect_prefix(w, Rect{5, 6, 7, 8}, encoding::kRRE, 1000, st));
    EXPECT_EQ(buf, (Bytes{0, 5, 0, 6, 0, 7, 0, 8, 0, 0, 0, 2}));
}

TEST(RectFraming, CopyRectIsHeaderPlusSourcePosition) {
    Bytes buf;
    ByteWriter w(buf);
    ASSERT_TRUE(write_copyrect(w, Rect{10, 20, 30, 40}, 0x0102, 0xffff));
    EXPECT_EQ(buf, (Bytes{0, 10, 0, 20, 0, 30, 0, 40, 0, 0, 0, 1, 0x01, 0x02, 0xff, 0xff}));
    buf.clear();
    EXPECT_FALSE(write_copyrect(w, Rect{10, 20, 30, 40}, 0x10000, 0));
    EXPECT_FALSE(write_copyrect(w, Rect{10, 20, 30, 40}, 0, 0x10000));
    EXPECT_FALSE(write_copyrect(w, Rect{0x10000, 20, 30, 40}, 0, 0));
    EXPECT_TRUE(buf.empty());
}

}  // namespace
}  // namespace rfb
