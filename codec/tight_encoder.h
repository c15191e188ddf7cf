#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "codec/encoder.h"
#include "codec/jpeg_compressor.h"
#include "codec/rfb_constants.h"
#include "codec/tight_wire.h"

struct z_stream_s;

namespace rfb {

// JPEG quality (1..100) and subsampling for a viewer's tuning: TigerVNC's table for quality
// levels 0..9 (15/4:2:0 up to 100/4:4:4), then fine_quality and subsampling override what they
// name. Fine quality 0 is sent as 1, JPEG's lowest. Subsampling 8X and 16X become 4:2:0, as in
// TigerVNC. Returns false when the tuning asks for no JPEG: neither quality nor fine_quality is
// set (a subsampling alone does not switch JPEG on).
struct TightJpegSettings {
    int quality = 0;
    JpegSubsampling subsampling = JpegSubsampling::k420;
};
bool tight_jpeg_settings(const EncodeTuning& tuning, TightJpegSettings& out);

// zlib levels for Tight's palette-indexed, two-colour and full-colour data at compression level
// 0..9, TigerVNC's table; anything else means level 2, TigerVNC's default.
struct TightZlibLevels {
    int indexed = 0, mono = 0, raw = 0;
};
TightZlibLevels tight_zlib_levels(int compress);

// Tight encoding (7), one body per rectangle that needs nothing sent before it.
//
// Each rectangle becomes, by content: Fill (one colour); Basic with the palette filter (two
// colours as packed bits, or up to 256 colours as bytes); JPEG (many colours, when the viewer
// asked for a quality and its format is true colour with 16 or 32 bpp, as rfbproto.rst allows);
// otherwise Basic with the copy filter (or, when enabled, the gradient filter). Basic data of
// 12 bytes or more is compressed, and the compression-control byte resets the stream it uses:
// every payload is a fresh zlib stream (with its own header, ended by a sync flush like a
// server's), so a body is valid in any viewer's connection at any point, in any order.
//
// Size limits: Tight viewers accept at most 2048 pixels of width and, traditionally, 64 KiB of
// pixels per rectangle; a body cannot carry several rectangles, so encode() refuses larger
// rectangles (returns false) instead of splitting them. rfbcast encodes 64x64 tiles.
//
// TPIXELs (fill colour, palette, copy data) are R, G, B bytes when the viewer's format is
// 32 bpp true colour of depth 24 with 8-bit channels, else whole pixels in the viewer's format.
class TightEncoder : public RectEncoder {
  public:
    struct Options {
        // The gradient filter compresses smooth full-colour content better than the copy filter,
        // but noVNC (and every browser viewer built on it) cannot decode it and drops the
        // connection. Bodies are shared by profile, not by viewer software, so it stays off
        // unless every viewer is known to decode it.
        bool gradient = false;
    };

    static constexpr uint32_t kMaxWidth = 2048;
    static constexpr size_t kMaxPixels = 65536;
    static constexpr size_t kMinToCompress = tight::kMinToCompress;  // smaller data is sent raw
    static constexpr size_t kMaxCompactLength = (size_t{1} << 22) - 1;
    // With JPEG on, content with more colours than this is sent as JPEG (TigerVNC's limits: 24
    // at compression levels 0 and 1, else 96); without JPEG the palette takes up to 256.
    static constexpr size_t kJpegPaletteLimitFast = 24;
    static constexpr size_t kJpegPaletteLimit = 96;
    static constexpr size_t kPaletteLimit = 256;
    // The gradient filter is used only when its mean prediction error, per channel in 8-bit
    // units, is at most this; noisier content compresses no better than with the copy filter.
    static constexpr uint32_t kGradientMaxMeanError = 20;

    TightEncoder() : TightEncoder(Options{}) {}
    explicit TightEncoder(const Options& options);
    ~TightEncoder() override;
    TightEncoder(const TightEncoder&) = delete;
    TightEncoder& operator=(const TightEncoder&) = delete;

    int32_t encoding() const override { return encoding::kTight; }
    // tuning.compress picks the zlib levels (tight_zlib_levels) and the JPEG palette limit;
    // tuning.quality / fine_quality / subsampling the JPEG settings (tight_jpeg_settings).
    // Returns false, leaving `out` as it was, when r does not fit fb, r is wider than kMaxWidth
    // or has more than kMaxPixels pixels, or the format has no 1/2/4-byte pixels.
    bool encode(const Framebuffer& fb, const Rect& r, const PixelWriter& px,
                const EncodeTuning& tuning, std::vector<uint8_t>& out) override;

  protected:
    // Compresses `data` into `out` (replacing its contents) as a payload that decodes with a
    // freshly reset stream. Tight: one zlib stream at `zlib_level`, ended with a sync flush.
    virtual bool compress_payload(std::span<const uint8_t> data, int zlib_level,
                                  std::vector<uint8_t>& out);

  private:
    // Distinct packed pixels of a rectangle with their counts, in order of first appearance;
    // open addressing, 1024 slots for at most 256 colours, cleared per rectangle.
    class Palette {
      public:
        void clear();
        // Counts `n` more pixels of colour v; false, changing nothing, when v is new and the
        // palette already has `limit` colours.
        bool add(uint32_t v, size_t n, size_t limit);
        int index(uint32_t v) const;  // -1 when absent
        size_t size() const { return size_; }
        uint32_t colour(size_t i) const { return colours_[i]; }
        size_t count(size_t i) const { return counts_[i]; }
        void swap_first_two();

      private:
        static size_t slot(uint32_t v) { return (v * 2654435761u) >> 22; }
        static constexpr size_t kSlots = 1024;
        std::array<uint32_t, kSlots> keys_{};
        std::array<uint16_t, kSlots> index_{};  // kEmpty: free slot
        static constexpr uint16_t kEmpty = 0xffff;
        std::array<uint32_t, kPaletteLimit> colours_{};
        std::array<size_t, kPaletteLimit> counts_{};
        size_t size_ = 0;
    };

    struct TPixel;
    void load_pixels(const Framebuffer& fb, const Rect& r, const PixelWriter& px);
    // Counts colours up to `limit`; false when there are more.
    bool build_palette(size_t limit);
    void put_tpixel(const TPixel& tp, uint32_t packed, std::vector<uint8_t>& out) const;
    // Writes a Basic rectangle of data_: control byte (`method` bits | stream), `head` (filter id
    // and palette), then data_ raw if short, else compressed with the stream reset.
    bool write_basic(uint8_t method, int stream, std::span<const uint8_t> head, int zlib_level,
                     std::vector<uint8_t>& out);
    bool encode_mono(const Rect& r, const TPixel& tp, int level, std::vector<uint8_t>& out);
    bool encode_indexed(const TPixel& tp, int level, std::vector<uint8_t>& out);
    bool encode_copy(const TPixel& tp, int level, std::vector<uint8_t>& out);
    // Builds the gradient-filtered data; false when the content is too noisy for it to help.
    bool gradient_data(const Rect& r, const TPixel& tp);
    bool encode_jpeg(const Framebuffer& fb, const Rect& r, const TightJpegSettings& js,
                     std::vector<uint8_t>& out);

    Options options_;
    const PixelWriter* px_ = nullptr;  // the viewer format of the rectangle being encoded
    std::vector<uint32_t> packed_;     // the rectangle's pixels in the viewer's format
    Palette palette_;
    std::vector<uint8_t> head_;     // filter id and palette of a Basic rectangle
    std::vector<uint8_t> data_;     // filtered data before compression
    std::vector<uint8_t> payload_;  // compressed data
    std::vector<int32_t> gradient_rows_;
    std::unique_ptr<z_stream_s> zs_;
    bool zs_ready_ = false;
    int zs_level_ = -1;
    JpegCompressor jpeg_;
};

}  // namespace rfb
