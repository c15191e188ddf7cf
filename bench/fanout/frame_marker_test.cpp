#include "bench/fanout/frame_marker.h"

#include <gtest/gtest.h>

#include "bench/fanout/moving_content.h"

namespace fanout {
namespace {

TEST(FrameMarker, RoundTrips) {
    rfb::Framebuffer fb(640, 480);
    for (uint32_t frame : {0u, 1u, 2u, 0x80000000u, 0xFFFFFFFFu, 123456789u}) {
        ASSERT_TRUE(draw_marker(fb, 16, 8, frame));
        EXPECT_EQ(read_marker(fb, 16, 8), frame);
    }
}

TEST(FrameMarker, LayoutIsWhatTheCommentSays) {
    rfb::Framebuffer fb(640, 480);
    ASSERT_TRUE(draw_marker(fb, 0, 0, 0x80000001u));
    EXPECT_EQ(fb.at(3, 3), 0x00FFFFFFu);    // bit 31 set: white on top
    EXPECT_EQ(fb.at(3, 11), 0x00000000u);   // inverted below
    EXPECT_EQ(fb.at(11, 3), 0x00000000u);   // bit 30 clear
    EXPECT_EQ(fb.at(251, 3), 0x00FFFFFFu);  // bit 0 set: the last cell
    EXPECT_EQ(fb.at(256, 3), 0x00000000u);  // nothing drawn past the marker
}

TEST(FrameMarker, SurvivesMildNoiseAndLowColour) {
    rfb::Framebuffer fb(640, 480);
    ASSERT_TRUE(draw_marker(fb, 8, 8, 0xA5A5A5A5u));
    // As a lossy encoding or a 16 bpp viewer might leave it: channels off by a few steps.
    for (uint32_t y = 8; y < 24; ++y)
        for (uint32_t x = 8; x < 8 + kMarkerWidth; ++x) {
            const uint32_t p = fb.at(x, y);
            fb.fill(rfb::Rect{x, y, 1, 1}, p == 0 ? 0x00080C08 : 0x00F0F4F0);
        }
    EXPECT_EQ(read_marker(fb, 8, 8), 0xA5A5A5A5u);
}

TEST(FrameMarker, RejectsWhatIsNotAMarker) {
    rfb::Framebuffer fb(640, 480);  // all black: both rows agree, so no marker
    EXPECT_EQ(read_marker(fb, 16, 8), std::nullopt);
    ASSERT_TRUE(draw_marker(fb, 16, 8, 7));
    fb.fill(rfb::Rect{16 + 5 * kMarkerCell, 8 + kMarkerCell, kMarkerCell, kMarkerCell}, 0);
    EXPECT_EQ(read_marker(fb, 16, 8), std::nullopt);  // one inverted cell spoiled
    EXPECT_FALSE(draw_marker(fb, 640 - 100, 8, 1));   // does not fit
    EXPECT_EQ(read_marker(fb, 640 - 100, 8), std::nullopt);
}

TEST(MovingContent, EachFrameCarriesItsNumberAndStaysInBounds) {
    ContentOptions co;
    co.width = 800;
    co.height = 600;
    MovingContent content(co);
    EXPECT_EQ(read_marker(content.framebuffer(), MovingContent::kMarkerX, MovingContent::kMarkerY),
              0u);
    for (uint32_t i = 1; i <= 200; ++i) {
        const FrameChange change = content.advance();
        ASSERT_EQ(
            read_marker(content.framebuffer(), MovingContent::kMarkerX, MovingContent::kMarkerY),
            i);
        ASSERT_TRUE(change.has_copy);
        for (const rfb::Rect& r : change.damage) {
            ASSERT_TRUE(content.framebuffer().contains(r));
            ASSERT_TRUE(r.intersect(change.copy_dst).empty());
        }
        ASSERT_TRUE(content.text_area().contains(change.copy_dst));
        ASSERT_TRUE(content.framebuffer().contains(content.photo_rect()));
    }
}

}  // namespace
}  // namespace fanout
