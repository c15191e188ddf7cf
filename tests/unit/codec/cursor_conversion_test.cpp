#include "codec/cursor_conversion.h"

#include <gtest/gtest.h>

#include <bit>
#include <vector>

namespace rfb {
namespace {

using Bytes = std::vector<uint8_t>;

// What Xvnc 1.12 sent for one 4x2 ARGB cursor (set with XcursorImageLoadCursor), recorded with
// a client asking for -314 and one asking for -239: the -314 Raw pixels (R, G, B, A,
// pre-multiplied), and the -239 mask.
const Bytes kXvncAlphaPixels = {0xff, 0x00, 0x00, 0xff, 0x00, 0xff, 0x00, 0xff, 0x00, 0x00, 0xff,
                                0xff, 0x80, 0x00, 0x00, 0x80, 0x40, 0x40, 0x40, 0x40, 0x00, 0x00,
                                0x00, 0x00, 0x10, 0x20, 0x30, 0xff, 0x3f, 0x1f, 0x0f, 0x80};
const Bytes kXvncClassicMask = {0xf0, 0x20};

TEST(CursorConversion, PremultiplyAndBack) {
    EXPECT_EQ(unpremultiply(128, 128), 255);
    EXPECT_EQ(unpremultiply(64, 128), 128);  // (64 * 255 + 64) / 128 = 127.99..
    EXPECT_EQ(unpremultiply(0x3f, 0x80), 126);
    EXPECT_EQ(unpremultiply(10, 0), 0);
    EXPECT_EQ(unpremultiply(200, 100), 255);  // not valid pre-multiplied data: clamped
    EXPECT_EQ(premultiply(255, 128), 128);
    EXPECT_EQ(premultiply(127, 128), 64);  // 63.75
    EXPECT_EQ(premultiply(200, 0), 0);
    EXPECT_EQ(premultiply(200, 255), 200);
    // Every valid pre-multiplied value survives the trip through straight colour.
    for (uint32_t a = 0; a < 256; ++a)
        for (uint32_t p = 0; p <= a; ++p)
            ASSERT_EQ(premultiply(unpremultiply(static_cast<uint8_t>(p), static_cast<uint8_t>(a)),
                                  static_cast<uint8_t>(a)),
                      p)
                << "p " << p << " a " << a;
}

TEST(CursorConversion, MaskIsDitheredLikeXvnc) {
    Bytes alpha;
    for (size_t i = 3; i < kXvncAlphaPixels.size(); i += 4)
        alpha.push_back(kXvncAlphaPixels[i]);
    EXPECT_EQ(mask_from_alpha(4, 2, alpha), kXvncClassicMask);
    // A cut at 128 would show the alpha-128 pixel of the second row; the diffused error of the
    // first row's alpha-128 pixel hides it.
}

TEST(CursorConversion, MaskDiffusesErrorAlongTheRow) {
    // 100 * 257 = 25700: hidden, error 25700; next 25700 + 25700 * 7 / 16 = 36943: shown,
    // error -28592; last 25700 - 12509 = 13191: hidden.
    EXPECT_EQ(mask_from_alpha(3, 1, Bytes{100, 100, 100}), (Bytes{0x40}));
    // The error also goes below: 3/16 below the next pixel, 5/16 straight below (TigerVNC's
    // weights; textbook Floyd-Steinberg would leave (1,1) hidden here). Row 0: (0,0) 25700
    // hidden, (1,0) gets 11243 and hides; row 1 gets 8031 at x 0 and 4818 + 3513 = 8331 at x 1.
    // Row 1 runs right to left: (1,1) 25700 + 8331 = 34031 shown, (0,1) 8031 - 13783 hidden.
    EXPECT_EQ(mask_from_alpha(2, 2, Bytes{100, 0, 0, 100}), (Bytes{0x00, 0x40}));
}

TEST(CursorConversion, MaskExtremesAndPadding) {
    EXPECT_EQ(mask_from_alpha(10, 2, Bytes(20, 255)), (Bytes{0xff, 0xc0, 0xff, 0xc0}));
    EXPECT_EQ(mask_from_alpha(10, 2, Bytes(20, 0)), (Bytes{0, 0, 0, 0}));
    // Mid grey over a large area shows about half the pixels.
    const Bytes mask = mask_from_alpha(64, 64, Bytes(64 * 64, 128));
    size_t shown = 0;
    for (uint8_t b : mask)
        shown += static_cast<size_t>(std::popcount(b));
    EXPECT_GT(shown, 64u * 64u * 45 / 100);
    EXPECT_LT(shown, 64u * 64u * 55 / 100);
    EXPECT_TRUE(mask_from_alpha(0, 5, {}).empty());
    EXPECT_TRUE(mask_from_alpha(3, 1, Bytes{1, 2}).empty());  // wrong size
}

TEST(CursorConversion, FromXvncPixels) {
    CursorImage c;
    ASSERT_TRUE(cursor_from_premultiplied_rgba(4, 2, 1, 0, kXvncAlphaPixels, c));
    EXPECT_EQ(c.width, 4);
    EXPECT_EQ(c.height, 2);
    EXPECT_EQ(c.hot_x, 1);
    EXPECT_EQ(c.hot_y, 0);
    EXPECT_TRUE(c.consistent());
    EXPECT_TRUE(c.has_alpha());
    // Straight colours: 0x80 red at alpha 0x80 is full red; 0x40 grey at 0x40 is white;
    // 3f 1f 0f at 0x80 -> 126, 62, 30.
    EXPECT_EQ(c.pixels, (std::vector<uint32_t>{0xff0000, 0x00ff00, 0x0000ff, 0xff0000, 0xffffff,
                                               0x000000, 0x102030, 0x7e3e1e}));
    EXPECT_EQ(c.alpha, (Bytes{0xff, 0xff, 0xff, 0x80, 0x40, 0x00, 0xff, 0x80}));
    EXPECT_EQ(c.mask, kXvncClassicMask);
    // And back to exactly the bytes Xvnc sent.
    EXPECT_EQ(premultiplied_rgba(c), kXvncAlphaPixels);
}

TEST(CursorConversion, WrongSizeLeavesTheImageAlone) {
    CursorImage c;
    c.width = 9;
    EXPECT_FALSE(cursor_from_premultiplied_rgba(4, 2, 0, 0, Bytes(31), c));
    EXPECT_FALSE(cursor_from_premultiplied_rgba(4, 2, 0, 0, Bytes(33), c));
    EXPECT_EQ(c.width, 9);
    CursorImage empty;
    ASSERT_TRUE(cursor_from_premultiplied_rgba(0, 0, 0, 0, {}, empty));
    EXPECT_TRUE(empty.consistent());
    EXPECT_FALSE(empty.has_alpha());
}

TEST(CursorConversion, ClassicCursorsAreOpaqueWhereTheMaskIsSet) {
    CursorImage c;
    c.width = 3;
    c.height = 1;
    c.pixels = {0x102030, 0x405060, 0x708090};
    c.mask = {0xa0};  // pixels 0 and 2
    EXPECT_EQ(premultiplied_rgba(c),
              (Bytes{0x10, 0x20, 0x30, 0xff, 0, 0, 0, 0, 0x70, 0x80, 0x90, 0xff}));
    c.pixels.pop_back();
    EXPECT_TRUE(premultiplied_rgba(c).empty());  // inconsistent
    c.pixels.push_back(0);
    c.alpha = {1, 2};  // alpha of the wrong size
    EXPECT_TRUE(premultiplied_rgba(c).empty());
}

}  // namespace
}  // namespace rfb
