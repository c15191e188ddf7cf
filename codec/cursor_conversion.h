#pragma once
#include <cstdint>
#include <span>
#include <vector>

#include "codec/cursor.h"

// Cursor With Alpha (-314) shapes and the classic 1-bit-mask cursors (-239) viewers without alpha
// support get instead.
//
// On the wire a -314 shape is, after its S32 inner encoding (rfbcast reads and writes Raw only,
// the only one TigerVNC and QEMU send), width * height pixels of 4 bytes: R, G, B, A in that
// order (a little-endian 32-bit RGBA pixel), colours PRE-MULTIPLIED by alpha. Checked against
// Xvnc 1.12: an opaque red pixel arrives as ff 00 00 ff, red at alpha 128 as 80 00 00 80.
namespace rfb {

inline constexpr size_t kCursorAlphaBytesPerPixel = 4;

// Pre-multiplied channel -> straight, rounded to nearest. Alpha 0 gives 0; a channel above its
// alpha (not valid pre-multiplied data) is clamped to 255.
uint8_t unpremultiply(uint8_t channel, uint8_t alpha);
// Straight channel -> pre-multiplied, rounded to nearest. For every alpha a and every valid
// pre-multiplied p <= a, premultiply(unpremultiply(p, a), a) == p.
uint8_t premultiply(uint8_t channel, uint8_t alpha);

// The 1-bit mask (codec/cursor.h layout) for `alpha` (width * height values; anything else gives
// an empty vector). Alpha is error-diffused, not cut at 128, the way TigerVNC turns its alpha
// cursors into masks for viewers without alpha support: serpentine rows, alpha scaled to
// 0..65535, a pixel is shown when its value with the diffused error exceeds 32767, and the error
// goes 7/16 to the next pixel in the row, 3/16 below that one and 5/16 straight below. A
// viewer through rfbcast thus gets the mask it would get from Xvnc directly.
std::vector<uint8_t> mask_from_alpha(uint16_t width, uint16_t height,
                                     std::span<const uint8_t> alpha);

// Fills `out` from a -314 Raw body (`rgba` as described above): straight canonical pixels, the
// alpha channel, and the mask from mask_from_alpha(). Returns false, leaving `out` alone, when
// `rgba` is not exactly width * height * 4 bytes.
bool cursor_from_premultiplied_rgba(uint16_t width, uint16_t height, uint16_t hot_x, uint16_t hot_y,
                                    std::span<const uint8_t> rgba, CursorImage& out);

// The -314 Raw body for `cursor`: width * height * 4 bytes of pre-multiplied R, G, B, A. A
// cursor without alpha is opaque where its mask is set and transparent elsewhere. Empty when
// the cursor is not consistent().
std::vector<uint8_t> premultiplied_rgba(const CursorImage& cursor);

}  // namespace rfb
