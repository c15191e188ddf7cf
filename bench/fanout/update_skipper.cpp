#include "bench/fanout/update_skipper.h"

#include <algorithm>
#include <cstring>

#include "codec/client_messages.h"
#include "codec/rect.h"
#include "codec/rect_framing.h"
#include "codec/rfb_constants.h"

namespace fanout {
namespace {

uint16_t be16(const uint8_t* p) {
    return static_cast<uint16_t>((p[0] << 8) | p[1]);
}
uint32_t be32(const uint8_t* p) {
    return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

constexpr uint32_t kHextileTile = 16;
constexpr uint64_t kTightMinToCompress = 12;
constexpr uint8_t kMaxFencePayload = 64;

// Hextile subencoding bits.
constexpr uint8_t kHexRaw = 1, kHexBackground = 2, kHexForeground = 4, kHexAnySubrects = 8,
                  kHexSubrectsColoured = 16;

}  // namespace

UpdateSkipper::UpdateSkipper(const rfb::PixelFormat& pf, uint32_t width, uint32_t height)
    : bpp_(static_cast<uint8_t>(pf.bytes_per_pixel())), width_(width), height_(height) {
    const bool is888 = pf.true_colour && pf.bits_per_pixel == 32 && pf.depth == 24 &&
                       pf.red_max == 255 && pf.green_max == 255 && pf.blue_max == 255;
    tpixel_ = is888 ? 3 : bpp_;
    if (bpp_ != 1 && bpp_ != 2 && bpp_ != 4) fail("pixel format without 1, 2 or 4-byte pixels");
}

bool UpdateSkipper::in_update() const {
    switch (state_) {
        case State::kMessageType:
        case State::kColourMapHeader:
        case State::kCutTextHeader:
        case State::kFenceHeader:
        case State::kFailed:
            return false;
        default:
            // Skipping the body of a non-update message happens in state kMessageType.
            return true;
    }
}

bool UpdateSkipper::fail(const char* why) {
    state_ = State::kFailed;
    error_ = why;
    return false;
}

void UpdateSkipper::expect(State s, size_t n) {
    state_ = s;
    need_ = static_cast<uint8_t>(n);
    have_ = 0;
}

void UpdateSkipper::skip_then(uint64_t n, State s, size_t need) {
    expect(s, need);
    skip_ = n;
}

bool UpdateSkipper::feed(std::span<const uint8_t> data, uint64_t& updates) {
    size_t pos = 0;
    for (;;) {
        if (state_ == State::kFailed) return false;
        if (skip_ > 0) {
            const uint64_t take = std::min<uint64_t>(skip_, data.size() - pos);
            skip_ -= take;
            pos += static_cast<size_t>(take);
            if (skip_ > 0) return true;
        }
        if (have_ < need_) {
            const size_t take = std::min<size_t>(need_ - have_, data.size() - pos);
            std::memcpy(stage_.data() + have_, data.data() + pos, take);
            have_ = static_cast<uint8_t>(have_ + take);
            pos += take;
            if (have_ < need_) return true;
        }
        if (!step(updates)) return false;
    }
}

bool UpdateSkipper::step(uint64_t& updates) {
    const uint8_t* s = stage_.data();
    switch (state_) {
        case State::kMessageType:
            switch (s[0]) {
                case rfb::server_msg::kFramebufferUpdate:
                    expect(State::kUpdateHeader, 3);
                    return true;
                case rfb::server_msg::kSetColourMapEntries:
                    expect(State::kColourMapHeader, 5);
                    return true;
                case rfb::server_msg::kBell:
                case rfb::server_msg::kEndOfContinuousUpdates:
                    expect(State::kMessageType, 1);
                    return true;
                case rfb::server_msg::kServerCutText:
                    expect(State::kCutTextHeader, 7);
                    return true;
                case rfb::server_msg::kServerFence:
                    expect(State::kFenceHeader, 8);
                    return true;
                default:
                    return fail("unknown server message type");
            }
        case State::kUpdateHeader:
            rects_left_ = be16(s + 1);
            if (rects_left_ == 0) {
                ++updates;
                expect(State::kMessageType, 1);
            } else {
                expect(State::kRectHeader, rfb::kRectHeaderSize);
            }
            return true;
        case State::kColourMapHeader:
            skip_then(uint64_t{be16(s + 3)} * 6, State::kMessageType, 1);
            return true;
        case State::kCutTextHeader: {
            // A negative length is ExtendedClipboard: its magnitude is the payload size.
            const auto len = static_cast<int32_t>(be32(s + 3));
            skip_then(static_cast<uint64_t>(len < 0 ? -int64_t{len} : int64_t{len}),
                      State::kMessageType, 1);
            return true;
        }
        case State::kFenceHeader:
            if (s[7] > kMaxFencePayload) return fail("fence payload over 64 bytes");
            skip_then(s[7], State::kMessageType, 1);
            return true;
        case State::kRectHeader:
            return start_rect();
        case State::kRectDone:
            if (--rects_left_ == 0) {
                ++updates;
                expect(State::kMessageType, 1);
            } else {
                expect(State::kRectHeader, rfb::kRectHeaderSize);
            }
            return true;
        case State::kRreHeader:
            skip_then(uint64_t{be32(s)} * (bpp_ + 8u), State::kRectDone, 0);
            return true;
        case State::kLength:
        case State::kLengthPrefixed:
            skip_then(be32(s), State::kRectDone, 0);
            return true;
        case State::kExtDesktopSize:
            skip_then(uint64_t{s[0]} * rfb::kScreenWireSize, State::kRectDone, 0);
            return true;
        case State::kHextileTile: {
            hextile_sub_ = s[0];
            const uint32_t tw = std::min<uint32_t>(kHextileTile, rw_ - tile_x_);
            const uint32_t th = std::min<uint32_t>(kHextileTile, rh_ - tile_y_);
            if (hextile_sub_ & kHexRaw) {
                skip_then(uint64_t{tw} * th * bpp_, State::kHextileNext, 0);
                return true;
            }
            const size_t extra = ((hextile_sub_ & kHexBackground) ? bpp_ : 0u) +
                                 ((hextile_sub_ & kHexForeground) ? bpp_ : 0u) +
                                 ((hextile_sub_ & kHexAnySubrects) ? 1u : 0u);
            expect(extra > 0 ? State::kHextileExtra : State::kHextileNext, extra);
            return true;
        }
        case State::kHextileExtra:
            if (hextile_sub_ & kHexAnySubrects) {
                const uint32_t per = (hextile_sub_ & kHexSubrectsColoured) ? bpp_ + 2u : 2u;
                skip_then(uint64_t{s[need_ - 1]} * per, State::kHextileNext, 0);
            } else {
                expect(State::kHextileNext, 0);
            }
            return true;
        case State::kHextileNext:
            next_hextile_tile();
            return true;
        case State::kTightControl: {
            const uint8_t method = s[0] >> 4;
            if (method == 8) {  // Fill
                skip_then(tpixel_, State::kRectDone, 0);
            } else if (method == 9) {  // JPEG
                compact_ = 0;
                compact_bytes_ = 0;
                expect(State::kTightCompact, 1);
            } else if (method > 9) {
                return fail("tight: bad compression type");
            } else if (method & 4) {  // explicit filter
                expect(State::kTightFilter, 1);
            } else {
                tight_data(uint64_t{rw_} * rh_ * tpixel_);
            }
            return true;
        }
        case State::kTightFilter:
            if (s[0] == 1) {
                expect(State::kTightPaletteSize, 1);
            } else if (s[0] == 0 || s[0] == 2) {
                tight_data(uint64_t{rw_} * rh_ * tpixel_);
            } else {
                return fail("tight: unknown filter");
            }
            return true;
        case State::kTightPaletteSize: {
            const uint32_t colours = s[0] + 1u;
            tight_size_ = colours <= 2 ? (uint64_t{rw_} + 7) / 8 * rh_ : uint64_t{rw_} * rh_;
            // The palette passes first, then the indices (1 bit per pixel for two colours).
            skip_then(uint64_t{colours} * tpixel_, State::kTightData, 0);
            return true;
        }
        case State::kTightData: {
            const uint64_t size = tight_size_;
            if (size < kTightMinToCompress) {
                skip_then(size, State::kRectDone, 0);
            } else {
                compact_ = 0;
                compact_bytes_ = 0;
                expect(State::kTightCompact, 1);
            }
            return true;
        }
        case State::kTightCompact: {
            // 1 to 3 bytes, 7 + 7 + 8 bits, least significant first.
            const uint8_t b = s[0];
            const uint32_t bits = compact_bytes_ < 2 ? (b & 0x7fu) : b;
            compact_ |= bits << (7 * compact_bytes_);
            ++compact_bytes_;
            if (compact_bytes_ < 3 && (b & 0x80)) {
                expect(State::kTightCompact, 1);
            } else {
                skip_then(compact_, State::kRectDone, 0);
            }
            return true;
        }
        case State::kFailed:
            return false;
    }
    return fail("internal: unknown state");
}

void UpdateSkipper::tight_data(uint64_t size) {
    tight_size_ = size;
    expect(State::kTightData, 0);
}

bool UpdateSkipper::start_rect() {
    const uint8_t* s = stage_.data();
    rx_ = be16(s);
    ry_ = be16(s + 2);
    rw_ = be16(s + 4);
    rh_ = be16(s + 6);
    const auto enc = static_cast<int32_t>(be32(s + 8));
    const uint64_t area = uint64_t{rw_} * rh_;
    namespace e = rfb::encoding;

    // Pseudo-rectangles: their x/y/w/h are not a place in the framebuffer.
    switch (enc) {
        case e::kLastRect:
            rects_left_ = 1;  // kRectDone ends the update
            expect(State::kRectDone, 0);
            return true;
        case e::kDesktopSize:
            width_ = rw_;
            height_ = rh_;
            expect(State::kRectDone, 0);
            return true;
        case e::kExtendedDesktopSize:
            width_ = rw_;
            height_ = rh_;
            expect(State::kExtDesktopSize, 4);
            return true;
        case e::kCursor:
            skip_then(area * bpp_ + (uint64_t{rw_} + 7) / 8 * rh_, State::kRectDone, 0);
            return true;
        case e::kXCursor:
            skip_then(area == 0 ? 0 : 6 + 2 * ((uint64_t{rw_} + 7) / 8 * rh_), State::kRectDone, 0);
            return true;
        case e::kDesktopName:
            expect(State::kLengthPrefixed, 4);
            return true;
        case e::kPointerPos:
            expect(State::kRectDone, 0);
            return true;
        default:
            break;
    }

    const rfb::Rect r{rx_, ry_, rw_, rh_};
    if (!r.fits_in(width_, height_)) return fail("rectangle outside the framebuffer");
    switch (enc) {
        case e::kRaw:
            skip_then(area * bpp_, State::kRectDone, 0);
            return true;
        case e::kCopyRect:
            skip_then(4, State::kRectDone, 0);
            return true;
        case e::kRRE:
            expect(State::kRreHeader, 4u + bpp_);
            return true;
        case e::kHextile:
            tile_x_ = 0;
            tile_y_ = 0;
            if (area == 0)
                expect(State::kRectDone, 0);
            else
                expect(State::kHextileTile, 1);
            return true;
        case e::kZRLE:
        case e::kZlib:
        case e::kZstd:
        case e::kZSTDRLE:
            // A U32 length, then that many bytes of compressed data.
            expect(State::kLength, 4);
            return true;
        case e::kTight:
            expect(State::kTightControl, 1);
            return true;
        default:
            return fail("an encoding the skipper cannot measure");
    }
}

void UpdateSkipper::next_hextile_tile() {
    tile_x_ += kHextileTile;
    if (tile_x_ >= rw_) {
        tile_x_ = 0;
        tile_y_ += kHextileTile;
    }
    if (tile_y_ >= rh_)
        expect(State::kRectDone, 0);
    else
        expect(State::kHextileTile, 1);
}

}  // namespace fanout
