#include "bench/fanout/moving_content.h"

#include <algorithm>
#include <cmath>

#include "bench/fanout/frame_marker.h"
#include "codec/rfb_constants.h"

namespace fanout {
namespace {

constexpr uint32_t kGlyphW = 8, kGlyphH = 16, kGlyphs = 96;
constexpr uint32_t kTermBackground = 0x00101820;
constexpr uint32_t kTermColours[] = {0x00C0C0C0, 0x00C0C0C0, 0x00C0C0C0, 0x0080E080, 0x00E0D070};

uint32_t mix(uint32_t a, uint32_t b) {
    uint32_t h = a * 0x9E3779B1u ^ (b + 0x7F4A7C15u + (a << 6) + (a >> 2));
    h ^= h >> 15;
    h *= 0x2C1B3C6Du;
    h ^= h >> 12;
    return h;
}

// One row of a made-up 8x16 glyph: strokes in columns 1..6, rows 3..12, blank elsewhere.
uint8_t glyph_row(uint32_t glyph, uint32_t row) {
    if (glyph == 0 || row < 3 || row > 12) return 0;
    return static_cast<uint8_t>(mix(glyph, row) & 0x7E);
}

uint32_t rgb(uint32_t r, uint32_t g, uint32_t b) {
    return (std::min(r, 255u) << 16) | (std::min(g, 255u) << 8) | std::min(b, 255u);
}

}  // namespace

MovingContent::MovingContent(const ContentOptions& opt) : opt_(opt) {
    opt_.width = std::clamp(opt_.width, kMinWidth, rfb::limits::kMaxFramebufferDim);
    opt_.height = std::clamp(opt_.height, kMinHeight, rfb::limits::kMaxFramebufferDim);
    fb_.resize(opt_.width, opt_.height);
    const uint32_t w = opt_.width, h = opt_.height;

    // Terminal on the left half, photo viewer on the right half, bars top and bottom.
    const uint32_t text_w = std::min<uint32_t>(896, (w / 2 - 96) / kGlyphW * kGlyphW);
    const uint32_t text_h = std::min<uint32_t>(640, (h - 96 - 120) / kGlyphH * kGlyphH);
    text_ = rfb::Rect{64, 96, text_w, text_h};
    photo_area_ = rfb::Rect{w / 2 + 32, 96, w / 2 - 64, h - 96 - 80};
    const uint32_t pw = std::clamp<uint32_t>(opt_.photo_w, 16, photo_area_.w);
    const uint32_t ph = std::clamp<uint32_t>(opt_.photo_h, 16, photo_area_.h);
    photo_ = rfb::Rect{photo_area_.x, photo_area_.y, pw, ph};

    // Photo-like: smooth colour fields with fine noise, which no palette or RLE coding catches.
    photo_pixels_.resize(size_t{pw} * ph);
    for (uint32_t y = 0; y < ph; ++y) {
        for (uint32_t x = 0; x < pw; ++x) {
            const double fx = x / static_cast<double>(pw), fy = y / static_cast<double>(ph);
            const int noise = static_cast<int>(next_random() % 17) - 8;
            const auto chan = [&](double v) {
                return static_cast<uint32_t>(std::clamp(static_cast<int>(v) + noise, 0, 255));
            };
            photo_pixels_[size_t{y} * pw + x] =
                rgb(chan(120 + 100 * std::sin(fx * 5.1 + fy * 1.3)),
                    chan(110 + 90 * std::sin(fy * 4.3 + 1.0) * std::cos(fx * 2.2)),
                    chan(100 + 80 * std::cos((fx + fy) * 3.7)));
        }
    }
    draw_static_ui();
    for (uint32_t y = text_.y; y < text_.bottom(); y += kGlyphH)
        draw_text_line(y);
    draw_photo();
    draw_marker(fb_, kMarkerX, kMarkerY, frame_);
}

uint32_t MovingContent::next_random() {
    rng_ ^= rng_ << 13;
    rng_ ^= rng_ >> 7;
    rng_ ^= rng_ << 17;
    return static_cast<uint32_t>(rng_ >> 16);
}

void MovingContent::draw_wallpaper(const rfb::Rect& r) {
    const rfb::Rect c = r.intersect(fb_.bounds());
    for (uint32_t y = c.y; y < c.bottom(); ++y) {
        uint32_t* row = fb_.row(y);
        const uint32_t base = rgb(30, 60 + y * 60 / opt_.height, 110 + y * 40 / opt_.height);
        // Bands 64 pixels wide: a few flat colours, as a real wallpaper behind windows is.
        for (uint32_t x = c.x; x < c.right(); ++x)
            row[x] = base + ((x / 64) % 2) * 0x000404;
    }
}

void MovingContent::draw_static_ui() {
    const uint32_t w = opt_.width, h = opt_.height;
    draw_wallpaper(fb_.bounds());
    fb_.fill(rfb::Rect{0, 0, w, 32}, 0x00303438);       // top bar
    fb_.fill(rfb::Rect{0, h - 40, w, 40}, 0x00282C30);  // task bar
    for (uint32_t i = 0; i < 12 && 8 + i * 120 + 110 <= w; ++i)
        fb_.fill(rfb::Rect{8 + i * 120, h - 34, 110, 28}, i == 2 ? 0x005080C0 : 0x00404850);
    for (uint32_t i = 0; i < 8 && 300 + i * 90 + 80 <= w; ++i)  // menu entries
        fb_.fill(rfb::Rect{300 + i * 90, 10, 60 + (i * 7) % 20, 12}, 0x00A0A4A8);
    // Window frames: title bar and border around the terminal and the photo viewer.
    for (const rfb::Rect& inner : {text_, photo_area_}) {
        const rfb::Rect frame{inner.x - 8, inner.y - 32, inner.w + 16, inner.h + 40};
        fb_.fill(frame.intersect(fb_.bounds()), 0x00D8D8D8);
        fb_.fill(rfb::Rect{frame.x, frame.y, frame.w, 24}, 0x00305C9C);
        fb_.fill(rfb::Rect{frame.right() - 22, frame.y + 4, 16, 16}, 0x00C04040);
        fb_.fill(inner, inner == text_ ? kTermBackground : 0x00202020);
    }
}

void MovingContent::draw_text_line(uint32_t y) {
    fb_.fill(rfb::Rect{text_.x, y, text_.w, kGlyphH}, kTermBackground);
    const uint32_t cols = text_.w / kGlyphW;
    const uint32_t len = next_random() % (cols + 1);
    const uint32_t colour = kTermColours[next_random() % std::size(kTermColours)];
    uint32_t word_left = 1 + next_random() % 9;
    for (uint32_t c = 0; c < len; ++c) {
        uint32_t glyph = 0;  // space between words
        if (word_left > 0) {
            glyph = 1 + next_random() % (kGlyphs - 1);
            --word_left;
        } else {
            word_left = 1 + next_random() % 9;
        }
        for (uint32_t r = 0; r < kGlyphH; ++r) {
            const uint8_t bits = glyph_row(glyph, r);
            uint32_t* row = fb_.row(y + r) + text_.x + c * kGlyphW;
            for (uint32_t b = 0; b < kGlyphW; ++b)
                if (bits & (0x80u >> b)) row[b] = colour;
        }
    }
}

void MovingContent::draw_photo() {
    fb_.put(photo_, photo_pixels_.data(), photo_.w);
}

FrameChange MovingContent::advance() {
    FrameChange change;
    ++frame_;

    const uint32_t scroll = std::min(opt_.scroll_lines * kGlyphH, text_.h);
    if (scroll > 0 && scroll < text_.h) {
        const rfb::Rect dst{text_.x, text_.y, text_.w, text_.h - scroll};
        fb_.copy_within(text_.x, text_.y + scroll, dst);
        change.has_copy = true;
        change.copy_dst = dst;
        change.copy_src_x = text_.x;
        change.copy_src_y = text_.y + scroll;
        for (uint32_t y = dst.bottom(); y < text_.bottom(); y += kGlyphH)
            draw_text_line(y);
        change.damage.push_back(rfb::Rect{text_.x, dst.bottom(), text_.w, scroll});
    } else if (scroll > 0) {
        for (uint32_t y = text_.y; y < text_.bottom(); y += kGlyphH)
            draw_text_line(y);
        change.damage.push_back(text_);
    }

    if (opt_.photo_step > 0) {
        const rfb::Rect old = photo_;
        // Bounce inside the photo area.
        const auto step = [&](uint32_t pos, uint32_t size, uint32_t lo, uint32_t span,
                              int32_t& dir) {
            const uint32_t hi = lo + span - size;  // last valid position
            int64_t next = int64_t{pos} + dir * int64_t{opt_.photo_step};
            if (next <= lo || next >= hi) {
                dir = -dir;
                next = std::clamp<int64_t>(next, lo, hi);
            }
            return static_cast<uint32_t>(next);
        };
        photo_.x = step(photo_.x, photo_.w, photo_area_.x, photo_area_.w, photo_dx_);
        photo_.y = step(photo_.y, photo_.h, photo_area_.y, photo_area_.h, photo_dy_);
        fb_.fill(old, 0x00202020);
        draw_photo();
        const uint32_t l = std::min(old.x, photo_.x), t = std::min(old.y, photo_.y);
        const uint32_t r = std::max(old.right(), photo_.right());
        const uint32_t b = std::max(old.bottom(), photo_.bottom());
        change.damage.push_back(rfb::Rect{l, t, r - l, b - t});
    }

    draw_marker(fb_, kMarkerX, kMarkerY, frame_);
    change.damage.push_back(marker_rect(kMarkerX, kMarkerY));
    return change;
}

}  // namespace fanout
