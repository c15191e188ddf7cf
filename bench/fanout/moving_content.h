#pragma once
#include <cstdint>
#include <vector>

#include "codec/framebuffer.h"
#include "codec/rect.h"

// The upstream's picture: a desktop with a static UI (wallpaper, bars, window frames), a
// terminal whose text scrolls (a CopyRect plus one new line per frame), a photo-like block that
// moves about, and the frame marker (frame_marker.h) in the top bar. Deterministic: the same
// options give the same frames, so runs against different reflectors see the same load.
namespace fanout {

struct ContentOptions {
    uint32_t width = 1920, height = 1080;
    uint32_t scroll_lines = 1;  // text lines scrolled per frame; 0 = still text
    uint32_t photo_step = 6;    // pixels the photo moves per frame (each axis); 0 = still
    uint32_t photo_w = 320, photo_h = 240;
};

// What one frame changed, in the order a server must send it: the CopyRect first (its source
// is read before any damage is painted), then the damaged rectangles with current pixels.
struct FrameChange {
    bool has_copy = false;
    rfb::Rect copy_dst;
    uint32_t copy_src_x = 0, copy_src_y = 0;
    std::vector<rfb::Rect> damage;  // never overlaps copy_dst
};

class MovingContent {
  public:
    static constexpr uint32_t kMarkerX = 16, kMarkerY = 8;
    static constexpr uint32_t kMinWidth = 640, kMinHeight = 480;

    // Options outside kMin*..limits are clamped.
    explicit MovingContent(const ContentOptions& opt);

    const rfb::Framebuffer& framebuffer() const { return fb_; }
    uint32_t frame() const { return frame_; }
    rfb::Rect text_area() const { return text_; }
    rfb::Rect photo_rect() const { return photo_; }
    // Draws the next frame and says what changed.
    FrameChange advance();

  private:
    void draw_static_ui();
    void draw_text_line(uint32_t y);
    void draw_wallpaper(const rfb::Rect& r);
    void draw_photo();
    uint32_t next_random();

    ContentOptions opt_;
    rfb::Framebuffer fb_;
    rfb::Rect text_, photo_area_, photo_;
    int32_t photo_dx_ = 1, photo_dy_ = 1;
    std::vector<uint32_t> photo_pixels_;
    uint32_t frame_ = 0;
    uint64_t rng_ = 0x9E3779B97F4A7C15ull;
};

}  // namespace fanout
