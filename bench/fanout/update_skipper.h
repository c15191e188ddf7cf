#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "codec/pixel_format.h"

// Finds the message boundaries in what an RFB server sends to a viewer without decoding any
// pixels: enough for a cheap load-test viewer to know when an update has ended (and so when to
// ask for the next one). Streams: bytes may arrive split anywhere, and rectangle bodies are
// skipped as they pass, so nothing is buffered but a header of at most 16 bytes. Knows Raw,
// CopyRect, RRE, Hextile, Zlib, ZRLE, Zstd, ZSTDRLE and Tight, and the pseudo-encodings
// DesktopSize, LastRect, ExtendedDesktopSize, Cursor, XCursor, DesktopName and PointerPos; anything
// else is an error, since its length cannot be known. About 100 bytes of state per viewer.
namespace fanout {

class UpdateSkipper {
  public:
    // `pf` is the pixel format rectangles arrive in (what the viewer set); width and height
    // are the framebuffer's, from ServerInit: rectangles outside it are an error.
    UpdateSkipper(const rfb::PixelFormat& pf, uint32_t width, uint32_t height);

    // Consumes all of `data`. Adds the number of FramebufferUpdates that ended in it to
    // `updates`. False on malformed or unknown input; the skipper then stays failed.
    bool feed(std::span<const uint8_t> data, uint64_t& updates);

    bool failed() const { return state_ == State::kFailed; }
    const char* error() const { return error_; }
    // True between an update's header and its end.
    bool in_update() const;

  private:
    enum class State : uint8_t {
        kMessageType,
        kUpdateHeader,
        kColourMapHeader,
        kCutTextHeader,
        kFenceHeader,
        kRectHeader,
        kRectDone,  // needs no bytes
        kRreHeader,
        kLength,          // ZRLE, Zlib, Zstd, ZSTDRLE: U32 length then the bytes
        kLengthPrefixed,  // DesktopName: U32 length then the bytes
        kExtDesktopSize,
        kHextileTile,   // subencoding byte
        kHextileExtra,  // background/foreground and the subrect count
        kHextileNext,   // needs no bytes
        kTightControl,
        kTightFilter,
        kTightPaletteSize,
        kTightData,  // needs no bytes: decide raw or compact length
        kTightCompact,
        kFailed,
    };

    void expect(State s, size_t n);
    void skip_then(uint64_t n, State s, size_t need);
    bool step(uint64_t& updates);
    bool fail(const char* why);
    bool start_rect();
    void next_hextile_tile();
    void tight_data(uint64_t size);

    State state_ = State::kMessageType;
    uint8_t bpp_ = 4, tpixel_ = 4;
    uint8_t need_ = 1, have_ = 0;
    uint8_t hextile_sub_ = 0, compact_bytes_ = 0;
    std::array<uint8_t, 16> stage_{};
    // 0xFFFF (unknown count) updates end with LastRect before the count runs out.
    uint16_t rects_left_ = 0;
    uint16_t rx_ = 0, ry_ = 0, rw_ = 0, rh_ = 0;
    uint32_t tile_x_ = 0, tile_y_ = 0;  // Hextile: the current tile's offset in the rectangle
    uint32_t width_ = 0, height_ = 0;
    uint32_t compact_ = 0;
    uint64_t tight_size_ = 0;  // Tight Basic: size of the filtered data before compression
    uint64_t skip_ = 0;        // bytes to pass before the state's `need_` bytes are collected
    const char* error_ = "";
};

}  // namespace fanout
