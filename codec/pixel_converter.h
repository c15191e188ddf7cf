#pragma once
#include <array>
#include <cstddef>
#include <cstdint>

#include "codec/pixel_format.h"

namespace rfb {

// Canonical (0x00RRGGBB) -> any valid true-colour format. Channels are narrowed with rounding,
// (v * max + 128) / 255, as Xvnc does, so a viewer through rfbcast sees the same values as a
// viewer connected straight to Xvnc.
class PixelWriter {
  public:
    explicit PixelWriter(const PixelFormat& pf);

    const PixelFormat& format() const { return pf_; }
    size_t bytes_per_pixel() const { return bpp_; }
    // The pixel value in the target format, before byte order is applied.
    uint32_t pack(uint32_t canonical) const {
        return r_[(canonical >> 16) & 0xff] | g_[(canonical >> 8) & 0xff] | b_[canonical & 0xff];
    }
    // Writes one packed value as bytes_per_pixel() bytes in the format's byte order.
    void store(uint32_t packed, uint8_t* dst) const;
    // Converts n canonical pixels to n * bytes_per_pixel() bytes.
    void write_row(const uint32_t* src, size_t n, uint8_t* dst) const;

  private:
    PixelFormat pf_;
    size_t bpp_;
    bool identity_;
    std::array<uint32_t, 256> r_{}, g_{}, b_{};
};

// Any valid format -> canonical. Narrow channels are widened by bit replication; colour-map
// formats look pixels up in the map set by SetColourMapEntries.
class PixelReader {
  public:
    explicit PixelReader(const PixelFormat& pf);

    const PixelFormat& format() const { return pf_; }
    size_t bytes_per_pixel() const { return bpp_; }
    uint32_t load_raw(const uint8_t* src) const;
    uint32_t unpack(uint32_t value) const;
    uint32_t load(const uint8_t* src) const { return unpack(load_raw(src)); }
    // Converts n pixels of bytes_per_pixel() bytes each into canonical pixels.
    void read_row(const uint8_t* src, size_t n, uint32_t* dst) const;
    // Colour-map entry (16-bit channel values, as on the wire).
    void set_colour(uint32_t index, uint16_t r, uint16_t g, uint16_t b);

  private:
    uint32_t widen(uint32_t v, uint16_t max, const std::array<uint8_t, 256>& lut) const;

    PixelFormat pf_;
    size_t bpp_;
    bool identity_;
    std::array<uint8_t, 256> r_{}, g_{}, b_{};
    std::array<uint32_t, 256> map_{};
};

}  // namespace rfb
