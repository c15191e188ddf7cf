#pragma once
#include <array>
#include <cstddef>
#include <cstdint>

#include "codec/byte_reader.h"
#include "codec/pixel_converter.h"

// The tile body shared by ZRLE (64x64 tiles inside zlib) and TRLE (16x16 tiles, uncompressed):
// a subencoding byte, then raw CPIXELs, a solid colour, a packed palette, plain RLE or palette RLE.
namespace rfb {

// CPIXEL: a PIXEL, except that a 32 bpp true-colour format of depth <= 24 whose colour bits all
// sit in the low (or, failing that, the high) three bytes travels as just those three bytes.
class CPixelReader {
  public:
    explicit CPixelReader(const PixelReader& px);

    size_t bytes() const { return bytes_; }
    // One CPIXEL (bytes() bytes) as a canonical pixel.
    uint32_t load(const uint8_t* p) const;
    // n consecutive CPIXELs to canonical pixels.
    void read_row(const uint8_t* src, size_t n, uint32_t* dst) const;

  private:
    enum class Packing { kWhole, kLow3, kHigh3 };
    const PixelReader& px_;
    Packing packing_ = Packing::kWhole;
    bool direct_ = false;  // the assembled 3-byte value is the canonical pixel
    size_t bytes_;
};

// The colours of the latest palette in a rectangle, which TRLE may reuse (subencodings 127, 129).
struct RlePalette {
    std::array<uint32_t, 127> colours{};  // canonical
    uint32_t size = 0;                    // 0: no palette seen yet in this rectangle
};

enum class RleVariant { kZrle, kTrle };

// Tile sizes: ZRLE's (and ZSTDRLE's, which is ZRLE over zstd) and TRLE's.
inline constexpr uint32_t kZrleTileSize = 64;
inline constexpr uint32_t kTrleTileSize = 16;
// A 64x64 ZRLE tile is at most 1 + 4096 * (4 + 1) bytes (plain RLE of single pixels) plus a
// palette. A decoder that keeps this much decompressed before parsing a tile almost always
// parses it only once.
inline constexpr size_t kZrleTileBudget = 24 * 1024;

enum class TileStatus { kOk, kNeedMore, kError };

struct TileResult {
    TileStatus status = TileStatus::kOk;
    const char* error = "";  // short reason when status is kError, without the encoding's name
};

// Reads one tw x th tile from `in` and draws it into `out` (row stride `stride` pixels).
// kNeedMore means the tile is incomplete: `in`, `out` and `palette` may have been partly
// advanced or written, and the caller must discard them (re-read the tile later from a saved
// position, and restore the palette it saved). kError means the tile is malformed; it is found as
// early in the byte stream as possible, so a body cut at any point gives kNeedMore or the same
// kError.
TileResult read_rle_tile(ByteReader& in, uint32_t tw, uint32_t th, const CPixelReader& cpx,
                         RleVariant variant, RlePalette& palette, uint32_t* out, size_t stride);

}  // namespace rfb
