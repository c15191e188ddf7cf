#include <gtest/gtest.h>

#include "codec/tile_bitmap.h"
#include "codec/tile_grid.h"

namespace rfb {
namespace {

TEST(TileBitmap, SetMergeIterate) {
    TileBitmap a(130), b(130);
    a.set(0);
    a.set(129);
    b.set(64);
    a.merge(b);
    std::vector<size_t> seen;
    a.for_each([&](size_t i) { seen.push_back(i); });
    EXPECT_EQ(seen, (std::vector<size_t>{0, 64, 129}));
    EXPECT_EQ(a.count(), 3u);
    a.set_all();
    EXPECT_EQ(a.count(), 130u);  // padding bits beyond 130 stay clear
    TileBitmap c(10);
    c.merge(b);  // size mismatch marks everything
    EXPECT_EQ(c.count(), 10u);
}

TEST(TileGrid, EdgeTilesAreClipped) {
    TileGrid g;
    g.reset(130, 70);
    EXPECT_EQ(g.cols(), 3u);
    EXPECT_EQ(g.rows(), 2u);
    EXPECT_EQ(g.tile_rect(2), (Rect{128, 0, 2, 64}));
    EXPECT_EQ(g.tile_rect(5), (Rect{128, 64, 2, 6}));
}

TEST(TileGrid, MarkClipsAndCoversTouchedTiles) {
    TileGrid g;
    g.reset(200, 200);
    TileBitmap bits(g.count());
    g.mark(Rect{63, 63, 2, 2}, bits);
    EXPECT_EQ(bits.count(), 4u);
    bits.clear();
    g.mark(Rect{195, 195, 500, 500}, bits);  // clipped to the last (8x8) tile only
    EXPECT_EQ(bits.count(), 1u);
    EXPECT_TRUE(bits.test(g.count() - 1));
}

TEST(TileGrid, RehashReportsOnlyRealChanges) {
    Framebuffer fb(128, 64);
    TileGrid g;
    g.reset(128, 64);
    g.rehash_all(fb);
    TileBitmap damaged(g.count()), changed(g.count());
    damaged.set_all();
    g.rehash(fb, damaged, changed);
    EXPECT_FALSE(changed.any()) << "same pixels resent must not count as a change";
    fb.fill(Rect{70, 10, 1, 1}, 0x123456);
    g.rehash(fb, damaged, changed);
    EXPECT_EQ(changed.count(), 1u);
    EXPECT_TRUE(changed.test(1));
}

TEST(TileGrid, HashDependsOnShapeNotJustBytes) {
    Framebuffer fb(128, 128);
    EXPECT_NE(TileGrid::hash_rect(fb, Rect{0, 0, 32, 64}),
              TileGrid::hash_rect(fb, Rect{0, 0, 64, 32}));
    EXPECT_EQ(TileGrid::hash_rect(fb, Rect{0, 0, 64, 64}),
              TileGrid::hash_rect(fb, Rect{64, 64, 64, 64}));
}

}  // namespace
}  // namespace rfb
