#pragma once
#include <cstddef>
#include <cstdint>

#include "codec/decoder.h"

// Small checks every decoder needs before it touches memory. Kept inline and free of state so
// each decoder stays a pure function of its input.
namespace rfb::decode {

// a * b and a + b in size_t, refusing to wrap (lengths come from the network).
inline bool mul(size_t a, size_t b, size_t& out) {
    return !__builtin_mul_overflow(a, b, &out);
}
inline bool add(size_t a, size_t b, size_t& out) {
    return !__builtin_add_overflow(a, b, &out);
}

// PixelReader::load reads bytes_per_pixel() bytes and shifts by the format's shifts: a format
// outside the spec (24 bpp, shift 40) would read past the data or shift out of range.
inline bool pixel_format_ok(const PixelReader& px) {
    return px.format_valid();
}

// The caller promises the rectangle fits; checking again costs nothing and keeps a caller bug
// from turning into a write outside the framebuffer.
inline bool target_ok(const Rect& r, const DecodeTarget& t) {
    return t.fb.contains(r) && pixel_format_ok(t.pixels);
}

}  // namespace rfb::decode
