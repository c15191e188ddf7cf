#pragma once
#include <cstdint>
#include <span>
#include <string_view>

#include "codec/byte_writer.h"
#include "codec/client_messages.h"
#include "codec/cursor.h"
#include "codec/pixel_converter.h"
#include "codec/pixel_format.h"
#include "codec/rect.h"
#include "codec/rect_framing.h"

// Writers for what an RFB server sends; rfbcast uses them to talk to its viewers. Each appends
// exact wire bytes with padding zeroed, and clamps what the wire cannot carry so that the
// output is always well-formed.
namespace rfb {

struct ColourMapEntry {
    uint16_t r = 0, g = 0, b = 0;  // 16-bit intensities, as on the wire
};

// FramebufferUpdate header. 0xFFFF with a closing LastRect when the count is not known upfront.
void write_update_header(ByteWriter& w, uint16_t nrects);
// Rectangle headers: write_rect_header() in codec/rect_framing.h.

// SetColourMapEntries; at most 65535 colours are written.
void write_set_colour_map(ByteWriter& w, uint16_t first_colour,
                          std::span<const ColourMapEntry> colours);
void write_bell(ByteWriter& w);
void write_server_cut_text(ByteWriter& w, std::string_view latin1);
// ServerCutText with a negative length (ExtendedClipboard): `payload` is flags + data as-is.
void write_server_cut_text_extended(ByteWriter& w, std::span<const uint8_t> payload);
void write_end_of_continuous_updates(ByteWriter& w);
// ServerFence; payloads longer than 64 bytes are cut to 64.
void write_server_fence(ByteWriter& w, uint32_t flags, std::span<const uint8_t> payload);

// Pseudo-rectangles (each counts as one rectangle of the update).
void write_desktop_size_rect(ByteWriter& w, uint16_t width, uint16_t height);
// ExtendedDesktopSize: x = reason (0 server, 1 this client, 2 another client), y = status.
// At most 255 screens are written.
void write_extended_desktop_size_rect(ByteWriter& w, uint16_t reason, uint16_t status,
                                      uint16_t width, uint16_t height,
                                      std::span<const Screen> screens);
// DesktopName (UTF-8); names over limits::kMaxDesktopNameLength bytes are cut.
void write_desktop_name_rect(ByteWriter& w, std::string_view name);
void write_last_rect(ByteWriter& w);
// Cursor (-239): the pixels converted to the viewer's format, then the bitmask. An image whose
// vectors do not match its size is written as an empty (hidden) cursor.
void write_cursor_rect(ByteWriter& w, const CursorImage& cursor, const PixelWriter& px);
// Cursor With Alpha (-314), for viewers that listed it: inner encoding Raw, then the pixels as
// pre-multiplied R, G, B, A bytes (codec/cursor_conversion.h). A cursor without alpha is sent
// opaque where its mask is set. An image whose vectors do not match its size is written as an
// empty (hidden) cursor.
void write_cursor_with_alpha_rect(ByteWriter& w, const CursorImage& cursor);

// ServerInit: size, pixel format, name (cut at limits::kMaxDesktopNameLength bytes).
void write_server_init(ByteWriter& w, uint16_t width, uint16_t height, const PixelFormat& pf,
                       std::string_view name);

}  // namespace rfb
