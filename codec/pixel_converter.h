#pragma once
#include <array>
#include <cstddef>
#include <cstdint>

#include "codec/pixel_format.h"

namespace rfb {

// Canonical (0x00RRGGBB) -> any valid true-colour format. Channels are narrowed with rounding,
// (v * max + 128) / 255, as Xvnc does, so a viewer through rfbcast sees the same values as a
// viewer connected straight to Xvnc.
//
// An 8 bpp colour-map format (true-colour flag 0) is written as indices into the fixed BGR233
// map of codec/colour_map.h: index bits bbgggrrr, each channel narrowed as for the true-colour
// BGR233 format, so both kinds of 8-bit viewer see the same colours.
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
    // write_row one pixel at a time through pack() and store(): the reference the fast paths
    // are tested against.
    void write_row_reference(const uint32_t* src, size_t n, uint8_t* dst) const;

  private:
    // How write_row converts, chosen once per format so rows run without per-pixel branches.
    enum class Path : uint8_t {
        kIdentity,        // canonical: a copy
        kShift32,         // 32 bpp, 8-bit channels: shifts (any byte swap folded into them)
        kShift32Swapped,  // the same off byte boundaries in the other byte order: then a swap
        kTable16,         // 16 bpp: channel tables, either byte order
        kTable8,          // 8 bpp: channel tables
        kGeneric,         // anything else: pack() and store() per pixel
    };

    PixelFormat pf_;
    size_t bpp_;
    Path path_;
    uint8_t rs_ = 0, gs_ = 0, bs_ = 0;  // kShift32*: channel shifts
    std::array<uint32_t, 256> r_{}, g_{}, b_{};
};

// Any valid format -> canonical. Narrow channels are widened by bit replication; colour-map
// formats look pixels up in the map set by SetColourMapEntries.
class PixelReader {
  public:
    explicit PixelReader(const PixelFormat& pf);

    const PixelFormat& format() const { return pf_; }
    size_t bytes_per_pixel() const { return bpp_; }
    // format().valid(nullptr, /*allow_colour_map=*/true), worked out once.
    bool format_valid() const { return valid_; }
    // The wire format is the canonical one: read_row is a copy that clears the padding byte, so
    // a decoder may put wire pixels straight into the framebuffer and clear_padding() them.
    bool is_identity() const { return path_ == Path::kIdentity; }
    uint32_t load_raw(const uint8_t* src) const;
    uint32_t unpack(uint32_t value) const;
    // One pixel of bytes_per_pixel() bytes -> canonical; the same value as unpack(load_raw()).
    uint32_t load(const uint8_t* src) const;
    // Converts n pixels of bytes_per_pixel() bytes each into canonical pixels.
    void read_row(const uint8_t* src, size_t n, uint32_t* dst) const;
    // read_row for `rows` rows of n pixels: source rows start src_stride bytes apart,
    // destination rows dst_stride pixels apart.
    void read_rows(const uint8_t* src, size_t src_stride, size_t n, size_t rows, uint32_t* dst,
                   size_t dst_stride) const;
    // read_row one pixel at a time through unpack(load_raw()): the reference the fast paths
    // are tested against.
    void read_row_reference(const uint8_t* src, size_t n, uint32_t* dst) const;
    // Colour-map entry (16-bit channel values, as on the wire).
    void set_colour(uint32_t index, uint16_t r, uint16_t g, uint16_t b);

  private:
    // How load and read_row convert, chosen once per format (see the constructor).
    enum class Path : uint8_t {
        kIdentity,        // canonical: copy, clear the padding byte
        kShift32,         // 32 bpp, 8-bit channels: shifts (any byte swap folded into them)
        kShift32Swapped,  // the same off byte boundaries in the other byte order: swap first
        kTable8,          // 8 bpp: one 256-entry table (true colour, or the colour map)
        kShift16,         // 16 bpp: shifts and multiplies, eight pixels at a time (tables: load)
        kTable32,         // 32 bpp with channels narrower than 8 bits: a table per byte, OR-ed
        kGeneric,         // channels wider than 8 bits, or a format outside the spec
    };

    uint32_t widen(uint32_t v, uint16_t max, const std::array<uint8_t, 256>& lut) const;
    void build_byte_tables();
    void set_widen16();

    PixelFormat pf_;
    size_t bpp_;
    bool valid_;
    Path path_;
    uint8_t rs_ = 0, gs_ = 0, bs_ = 0;  // kShift32*: channel shifts
    // kShift16, per channel (red, green, blue): the left shift that puts the channel at the top
    // of a 16-bit lane, its mask there, and the multiplier that widens it (see set_widen16).
    std::array<uint8_t, 3> up16_{};
    std::array<uint16_t, 3> mask16_{}, mul16_{};
    std::array<uint8_t, 256> r_{}, g_{}, b_{};
    std::array<uint32_t, 256> map_{};
    // Canonical contribution of each byte of a wire pixel, by its position in memory. Widening
    // by bit replication maps disjoint bits to disjoint bits, so OR-ing the parts is exact.
    std::array<std::array<uint32_t, 256>, 4> byte_lut_{};
};

// Row helpers for decoders whose pixels are not in the wire format.
// n pixels of 3 bytes R, G, B (Tight's TPIXEL) -> canonical.
void rgb24_to_canonical(const uint8_t* src, size_t n, uint32_t* dst);
// rgb24_to_canonical for `rows` rows of n pixels, strides as for PixelReader::read_rows.
void rgb24_rows_to_canonical(const uint8_t* src, size_t src_stride, size_t n, size_t rows,
                             uint32_t* dst, size_t dst_stride);
// Clears the padding byte of n canonical-layout pixels (0xXXRRGGBB -> 0x00RRGGBB).
void clear_padding(uint32_t* px, size_t n);

}  // namespace rfb
