#pragma once
#include <cstddef>
#include <cstdint>

#include "codec/byte_writer.h"
#include "codec/rect.h"

namespace rfb {

// What a viewer connection puts in front of a shared, cached rectangle body (encoder.h): the
// 12-byte rectangle header and whatever depends on that viewer's own stream history.

inline constexpr size_t kRectHeaderSize = 12;
// The zlib stream header each viewer's ZRLE (and Zlib) stream starts with: deflate, 32 KiB
// window, no preset dictionary (0x7801 is a multiple of 31, as RFC 1950 requires).
inline constexpr uint8_t kZlibHeader[2] = {0x78, 0x01};

// Per-viewer stream history that framing depends on.
struct ViewerStreamState {
    bool zrle_stream_started = false;
    bool zlib_stream_started = false;  // Zlib (6) has a zlib stream of its own
    // The zstd encodings (Zstd 25, ZSTDRLE 28) need no state: every body is a complete zstd
    // frame, and a viewer's decompression stream starts the next frame by itself.
};

// x, y, w, h as U16 and the encoding as S32. Returns false, writing nothing, when a field does
// not fit in 16 bits.
bool write_rect_header(ByteWriter& w, const Rect& r, int32_t encoding);

// The header plus, for ZRLE and Zlib, the U32 length and (first rectangle of that encoding's
// stream for this viewer only) the zlib header, which counts towards that length; marks that
// stream started. For Zstd and ZSTDRLE, the header and the U32 length of the body.
// Returns false, writing nothing and changing no state, when the header does not fit or the
// length does not fit in 32 bits.
bool write_rect_prefix(ByteWriter& w, const Rect& r, int32_t encoding, size_t body_len,
                       ViewerStreamState& state);

// A complete CopyRect rectangle: header plus the source position. False, writing nothing, when
// a coordinate does not fit in 16 bits.
bool write_copyrect(ByteWriter& w, const Rect& dst, uint32_t src_x, uint32_t src_y);

}  // namespace rfb
