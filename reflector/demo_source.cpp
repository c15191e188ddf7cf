#include "reflector/demo_source.h"

#include <algorithm>

#include "metrics/metrics.h"
#include "reflector/session.h"

namespace rfbcast {

namespace {
constexpr uint32_t kBandY = 120, kBandH = 96;
constexpr uint32_t kBox = 96;
constexpr uint32_t kCounterCell = 16;
constexpr uint32_t kBarColours[] = {0xffffff, 0xffff00, 0x00ffff, 0x00ff00,
                                    0xff00ff, 0xff0000, 0x0000ff, 0x000000};
}  // namespace

DemoSource::DemoSource(Session& session, uint32_t width, uint32_t height, unsigned fps)
    : session_(session),
      width_(width),
      height_(height),
      period_(std::chrono::microseconds(1000000 / std::max(1u, fps))) {}

DemoSource::~DemoSource() {
    if (timer_) session_.loop().cancel_timer(timer_);
    session_.metrics().set_upstream_up(false);
}

void DemoSource::start() {
    rfb::Framebuffer& fb = session_.framebuffer_for_upstream();
    fb.resize(width_, height_);
    session_.resized(width_, height_);
    session_.begin_update();
    draw_background();
    session_.damage(fb.bounds());
    session_.end_update();
    session_.metrics().set_upstream_up(true);  // the built-in source is always there
    timer_ = session_.loop().add_timer(period_, [this] { tick(); });
}

void DemoSource::draw_background() {
    rfb::Framebuffer& fb = session_.framebuffer_for_upstream();
    for (uint32_t y = 0; y < height_; ++y) {
        uint32_t* row = fb.row(y);
        for (uint32_t x = 0; x < width_; ++x) {
            const uint32_t r = x * 255 / width_, g = y * 255 / height_, b = 128;
            row[x] = (r << 16) | (g << 8) | b;
            if (x % 64 == 0 || y % 64 == 0) row[x] = 0x404040;
        }
    }
}

void DemoSource::tick() {
    timer_ = session_.loop().add_timer(period_, [this] { tick(); });
    ++frame_;
    session_.begin_update();
    draw_frame();
    session_.end_update();
}

void DemoSource::draw_frame() {
    rfb::Framebuffer& fb = session_.framebuffer_for_upstream();
    // Scrolling colour bars.
    const uint32_t bar_w = 80;
    const uint32_t shift = static_cast<uint32_t>(frame_ * 4 % (bar_w * 8));
    for (uint32_t y = kBandY; y < std::min(height_, kBandY + kBandH); ++y) {
        uint32_t* row = fb.row(y);
        for (uint32_t x = 0; x < width_; ++x)
            row[x] = kBarColours[((x + shift) / bar_w) % 8];
    }
    session_.damage(rfb::Rect{0, kBandY, width_, std::min(kBandH, height_ - kBandY)});

    // Bouncing square: repaint the background where it was, then draw it where it is.
    const rfb::Rect old_box{static_cast<uint32_t>(box_x_), static_cast<uint32_t>(box_y_), kBox,
                            kBox};
    for (uint32_t y = old_box.y; y < old_box.bottom(); ++y)
        for (uint32_t x = old_box.x; x < old_box.right(); ++x)
            fb.row(y)[x] = (x % 64 == 0 || y % 64 == 0)
                               ? 0x404040
                               : ((x * 255 / width_) << 16) | ((y * 255 / height_) << 8) | 128;
    session_.damage(old_box);
    box_x_ += box_dx_;
    box_y_ += box_dy_;
    if (box_x_ < 0 || box_x_ + static_cast<int32_t>(kBox) > static_cast<int32_t>(width_)) {
        box_dx_ = -box_dx_;
        box_x_ += 2 * box_dx_;
    }
    const int32_t min_y = static_cast<int32_t>(kBandY + kBandH);
    if (box_y_ < min_y || box_y_ + static_cast<int32_t>(kBox) > static_cast<int32_t>(height_)) {
        box_dy_ = -box_dy_;
        box_y_ += 2 * box_dy_;
    }
    const rfb::Rect box{static_cast<uint32_t>(box_x_), static_cast<uint32_t>(box_y_), kBox, kBox};
    const uint32_t hue = static_cast<uint32_t>(frame_ * 3 % 256);
    fb.fill(box, (hue << 16) | ((255 - hue) << 8) | 0x40);
    session_.damage(box);

    // 32-bit frame counter, one cell per bit, so a viewer can read which frame it shows.
    for (uint32_t bit = 0; bit < 32; ++bit) {
        const rfb::Rect cell{8 + bit * kCounterCell, 8, kCounterCell, kCounterCell};
        fb.fill(cell, (frame_ >> (31 - bit)) & 1 ? 0xffffff : 0x000000);
    }
    session_.damage(rfb::Rect{8, 8, 32 * kCounterCell, kCounterCell});

    // Input marker: last key code as a bar, pointer position as a small cross.
    if (input_dirty_) {
        input_dirty_ = false;
        const rfb::Rect key_bar{8, 40, 256, 8};
        fb.fill(key_bar, 0x202020);
        fb.fill(rfb::Rect{8, 40, std::min<uint32_t>(last_key_ & 0xff, 255) + 1, 8}, 0xffa000);
        session_.damage(key_bar);
        const uint32_t px = std::min<uint32_t>(pointer_x_, width_ - 9),
                       py = std::min<uint32_t>(pointer_y_, height_ - 9);
        fb.fill(rfb::Rect{px, py + 4, 9, 1}, 0xffffff);
        fb.fill(rfb::Rect{px + 4, py, 1, 9}, 0xffffff);
        session_.damage(rfb::Rect{px, py, 9, 9});
    }
}

void DemoSource::send_key(bool down, uint32_t keysym) {
    if (down) {
        last_key_ = keysym;
        input_dirty_ = true;
    }
}

void DemoSource::send_pointer(uint8_t, uint16_t x, uint16_t y) {
    pointer_x_ = x;
    pointer_y_ = y;
    input_dirty_ = true;
}

}  // namespace rfbcast
