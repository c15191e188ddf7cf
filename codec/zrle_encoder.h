#pragma once
#include <zlib.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "codec/encoder.h"
#include "codec/pixel_format.h"
#include "codec/rfb_constants.h"

namespace rfb {

// How a ZRLE CPIXEL sits inside a PIXEL of the viewer's format: `size` bytes starting `offset`
// bytes into the pixel as stored in the format's byte order. 32 bpp true-colour formats of depth
// <= 24 whose channels all fit in the low (preferred) or high three bytes use 3-byte CPIXELs
// (rfbproto.rst, "ZRLE Encoding"); everything else uses the whole pixel.
struct ZrleCPixel {
    size_t size = 0;
    size_t offset = 0;
};
ZrleCPixel zrle_cpixel(const PixelFormat& pf);

// ZRLE encoding (16): 64x64 tiles, each solid, packed palette, plain RLE, palette RLE or raw,
// whichever is smallest before compression.
//
// ZRLE normally runs one zlib stream per connection. To make a body shareable, every rectangle
// is compressed by a raw deflate stream that is reset first (so it never refers to earlier data)
// and ended with Z_FULL_FLUSH (so it stops on a byte boundary, all its output delivered).
// Such blocks are valid at any point of any viewer's inflate stream after its 2-byte zlib header;
// rect_framing.h adds that header and the length per viewer. The body is only deflate blocks.
class ZrleEncoder final : public RectEncoder {
  public:
    ZrleEncoder() = default;
    ~ZrleEncoder() override;
    ZrleEncoder(const ZrleEncoder&) = delete;
    ZrleEncoder& operator=(const ZrleEncoder&) = delete;

    int32_t encoding() const override { return encoding::kZRLE; }
    // tuning.compress 0..9 is the zlib level; -1 (not asked) or anything else means 6.
    bool encode(const Framebuffer& fb, const Rect& r, const PixelWriter& px,
                const EncodeTuning& tuning, std::vector<uint8_t>& out) override;

    // The uncompressed tile data of `r`, handed to `sink` one 64x64 tile at a time (the span is
    // valid only during the call), for encodings that wrap ZRLE's tiles in another compressor
    // (ZSTDRLE). False when the rectangle or pixel format is unusable or `sink` returns false.
    using TileSink = std::function<bool(std::span<const uint8_t>)>;
    bool encode_tiles(const Framebuffer& fb, const Rect& r, const PixelWriter& px,
                      const TileSink& sink);

    static constexpr uint32_t kTileSize = 64;
    static constexpr int kDefaultLevel = 6;

  private:
    // Open-addressed map from packed pixel to palette index, cleared per tile.
    class Palette {
      public:
        static constexpr size_t kMaxSize = 127;  // palette RLE's limit
        void clear();
        // Index of v, adding it if new; -1 once the palette would exceed kMaxSize.
        int index_of(uint32_t v);
        int lookup(uint32_t v) const;
        size_t size() const { return size_; }
        uint32_t colour(size_t i) const { return colours_[i]; }

      private:
        static size_t slot(uint32_t v) { return (v * 2654435761u) >> 24; }
        std::array<uint32_t, 256> keys_{};
        std::array<uint8_t, 256> index_{};  // 0xff: empty slot
        std::array<uint32_t, kMaxSize> colours_{};
        size_t size_ = 0;
    };

    bool start_stream(int level);
    bool deflate_into(const uint8_t* data, size_t len, int flush, std::vector<uint8_t>& out);
    void encode_tile(uint32_t tw, uint32_t th, const PixelWriter& px, const ZrleCPixel& cp);
    void put_cpixel(uint32_t packed, const PixelWriter& px, const ZrleCPixel& cp);

    z_stream zs_{};
    bool zs_ready_ = false;
    int zs_level_ = -1;
    std::array<uint32_t, kTileSize * kTileSize> tile_{};  // packed pixels in the viewer's format
    Palette palette_;
    std::vector<uint8_t> tile_bytes_;    // one tile's uncompressed ZRLE data
    std::array<uint8_t, 16384> zbuf_{};  // deflate output before it is appended
};

}  // namespace rfb
