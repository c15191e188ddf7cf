#include "codec/scroll_detector.h"

#include <gtest/gtest.h>

#include <random>

namespace rfb {
namespace {

// Lines of "text": each row differs from the others, as in a terminal or a document.
void paint_text(Framebuffer& fb, uint32_t seed, const Rect& area) {
    std::mt19937 rng(seed);
    for (uint32_t y = area.y; y < area.y + area.h; ++y) {
        const uint32_t line = rng();
        for (uint32_t x = area.x; x < area.x + area.w; ++x)
            fb.row(y)[x] = ((x * 7 + line) % 11 < 4) ? 0x000000 : 0xf0f0f0 ^ (line & 0x0f0f0f);
    }
}

TileBitmap all_tiles(const TileGrid& g) {
    TileBitmap b(g.count());
    b.set_all();
    return b;
}

struct Scene {
    Framebuffer fb{320, 256};
    TileGrid grid;
    ScrollDetector det;
    Scene() {
        paint_text(fb, 1, fb.bounds());
        grid.reset(fb.width(), fb.height());
        grid.rehash_all(fb);
        det.reset(fb.width(), fb.height());
        det.record(fb, grid, all_tiles(grid));
    }
    // Moves rows [y0, y1) of columns [x0, x0+w) up by dy and paints new lines into the gap.
    void scroll_up(uint32_t x0, uint32_t w, uint32_t y0, uint32_t y1, uint32_t dy, uint32_t seed) {
        for (uint32_t y = y0; y + dy < y1; ++y)
            std::copy_n(fb.row(y + dy) + x0, w, fb.row(y) + x0);
        paint_text(fb, seed, Rect{x0, y1 - dy, w, dy});
    }
};

// Applies copies to `before` the way a viewer does (CopyRect reads the pixels before it writes).
Framebuffer apply(const Framebuffer& before, const std::vector<DetectedCopy>& copies) {
    Framebuffer out = before;
    for (const DetectedCopy& c : copies) {
        Framebuffer src = out;
        for (uint32_t y = 0; y < c.dst.h; ++y)
            std::copy_n(src.row(c.src_y + y) + c.dst.x, c.dst.w, out.row(c.dst.y + y) + c.dst.x);
    }
    return out;
}

TEST(ScrollDetector, WholeScreenScrollBecomesOneCopy) {
    Scene s;
    const Framebuffer before = s.fb;
    s.scroll_up(0, 320, 0, 256, 17, 99);
    const auto copies = s.det.detect(s.fb, s.grid, all_tiles(s.grid));
    ASSERT_EQ(copies.size(), 1u);
    EXPECT_EQ(copies[0].dst, (Rect{0, 0, 320, 256 - 17}));
    EXPECT_EQ(copies[0].src_y, 17u);
    // Every row the copy writes is exactly the new frame's row.
    const Framebuffer after = apply(before, copies);
    for (uint32_t y = 0; y < copies[0].dst.h; ++y)
        for (uint32_t x = 0; x < 320; ++x)
            ASSERT_EQ(after.at(x, y), s.fb.at(x, y)) << x << "," << y;
}

TEST(ScrollDetector, ScrollDownInOneWindowLeavesTheRestAlone) {
    Scene s;
    const Framebuffer before = s.fb;
    // A "window" in columns 64..192 scrolls down by 40: rows move to larger y.
    for (uint32_t y = 255; y >= 40 + 30; --y)
        std::copy_n(s.fb.row(y - 40) + 64, 128, s.fb.row(y) + 64);
    paint_text(s.fb, 5, Rect{64, 30, 128, 40});
    TileBitmap damaged(s.grid.count());
    s.grid.mark(Rect{64, 30, 128, 226}, damaged);
    const auto copies = s.det.detect(s.fb, s.grid, damaged);
    ASSERT_EQ(copies.size(), 1u) << "two tile columns merged into one copy";
    EXPECT_EQ(copies[0].dst.x, 64u);
    EXPECT_EQ(copies[0].dst.w, 128u);
    EXPECT_EQ(copies[0].dst.y, 70u);
    EXPECT_EQ(copies[0].src_y, 30u);
    EXPECT_EQ(copies[0].dst.y + copies[0].dst.h, 256u);
    const Framebuffer after = apply(before, copies);
    for (uint32_t y = copies[0].dst.y; y < 256; ++y)
        for (uint32_t x = 64; x < 192; ++x)
            ASSERT_EQ(after.at(x, y), s.fb.at(x, y));
}

TEST(ScrollDetector, NewContentIsNotAScroll) {
    Scene s;
    paint_text(s.fb, 77, s.fb.bounds());
    EXPECT_TRUE(s.det.detect(s.fb, s.grid, all_tiles(s.grid)).empty());
}

TEST(ScrollDetector, UniformScreensDoNotVote) {
    Framebuffer fb(256, 256);
    for (uint32_t y = 0; y < 256; ++y)
        std::fill_n(fb.row(y), 256, 0x336699);
    TileGrid g;
    g.reset(256, 256);
    ScrollDetector d;
    d.reset(256, 256);
    d.record(fb, g, all_tiles(g));
    for (uint32_t y = 0; y < 256; ++y)
        std::fill_n(fb.row(y), 256, 0x336699);
    EXPECT_TRUE(d.detect(fb, g, all_tiles(g)).empty());
}

TEST(ScrollDetector, ShortMovesThatCoverNoWholeTileAreIgnored) {
    Scene s;
    // Only 40 rows move: no whole 64-row tile is covered.
    s.scroll_up(0, 64, 70, 110, 3, 8);
    TileBitmap damaged(s.grid.count());
    s.grid.mark(Rect{0, 70, 64, 40}, damaged);
    EXPECT_TRUE(s.det.detect(s.fb, s.grid, damaged).empty());
}

TEST(ScrollDetector, ResizeForgetsThePreviousFrame) {
    Scene s;
    Framebuffer bigger(384, 256);
    paint_text(bigger, 1, bigger.bounds());
    TileGrid g;
    g.reset(384, 256);
    EXPECT_TRUE(s.det.detect(bigger, g, all_tiles(g)).empty());
    // And the new size is tracked from then on.
    Framebuffer before = bigger;
    for (uint32_t y = 0; y + 9 < 256; ++y)
        std::copy_n(bigger.row(y + 9), 384, bigger.row(y));
    paint_text(bigger, 3, Rect{0, 247, 384, 9});
    const auto copies = s.det.detect(bigger, g, all_tiles(g));
    ASSERT_EQ(copies.size(), 1u);
    EXPECT_EQ(copies[0].src_y, 9u);
    EXPECT_EQ(copies[0].dst.w, 384u);
}

TEST(ScrollDetector, MismatchedBitmapIsIgnoredSafely) {
    Scene s;
    TileBitmap wrong(3);
    wrong.set_all();
    EXPECT_TRUE(s.det.detect(s.fb, s.grid, wrong).empty());
}

}  // namespace
}  // namespace rfb
