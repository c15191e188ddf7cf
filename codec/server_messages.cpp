#include "codec/server_messages.h"

#include <algorithm>
#include <vector>

#include "codec/cursor_conversion.h"
#include "codec/rfb_constants.h"

namespace rfb {

namespace {

std::string_view cut(std::string_view s, size_t max) {
    return s.substr(0, std::min(s.size(), max));
}

}  // namespace

void write_update_header(ByteWriter& w, uint16_t nrects) {
    w.u8(server_msg::kFramebufferUpdate);
    w.u8(0);
    w.u16(nrects);
}

void write_set_colour_map(ByteWriter& w, uint16_t first_colour,
                          std::span<const ColourMapEntry> colours) {
    const size_t n = std::min<size_t>(colours.size(), 0xFFFF);
    w.u8(server_msg::kSetColourMapEntries);
    w.u8(0);
    w.u16(first_colour);
    w.u16(static_cast<uint16_t>(n));
    for (size_t i = 0; i < n; ++i) {
        w.u16(colours[i].r);
        w.u16(colours[i].g);
        w.u16(colours[i].b);
    }
}

void write_bell(ByteWriter& w) {
    w.u8(server_msg::kBell);
}

void write_server_cut_text(ByteWriter& w, std::string_view latin1) {
    const std::string_view s = cut(latin1, cut_text::kMaxWireLength);
    w.u8(server_msg::kServerCutText);
    w.zeros(3);
    w.u32(static_cast<uint32_t>(s.size()));
    w.text(s);
}

void write_server_cut_text_extended(ByteWriter& w, std::span<const uint8_t> payload) {
    const auto p = payload.first(std::min(payload.size(), cut_text::kMaxWireLength));
    w.u8(server_msg::kServerCutText);
    w.zeros(3);
    w.s32(-static_cast<int32_t>(p.size()));
    w.bytes(p);
}

void write_end_of_continuous_updates(ByteWriter& w) {
    w.u8(server_msg::kEndOfContinuousUpdates);
}

void write_server_fence(ByteWriter& w, uint32_t flags, std::span<const uint8_t> payload) {
    const auto p = payload.first(std::min(payload.size(), limits::kMaxFencePayload));
    w.u8(server_msg::kServerFence);
    w.zeros(3);
    w.u32(flags);
    w.u8(static_cast<uint8_t>(p.size()));
    w.bytes(p);
}

void write_desktop_size_rect(ByteWriter& w, uint16_t width, uint16_t height) {
    write_rect_header(w, Rect{0, 0, width, height}, encoding::kDesktopSize);
}

void write_extended_desktop_size_rect(ByteWriter& w, uint16_t reason, uint16_t status,
                                      uint16_t width, uint16_t height,
                                      std::span<const Screen> screens) {
    const size_t n = std::min<size_t>(screens.size(), 255);
    write_rect_header(w, Rect{reason, status, width, height}, encoding::kExtendedDesktopSize);
    w.u8(static_cast<uint8_t>(n));
    w.zeros(3);
    for (size_t i = 0; i < n; ++i)
        write_screen(w, screens[i]);
}

void write_desktop_name_rect(ByteWriter& w, std::string_view name) {
    const std::string_view s = cut(name, limits::kMaxDesktopNameLength);
    write_rect_header(w, Rect{}, encoding::kDesktopName);
    w.u32(static_cast<uint32_t>(s.size()));
    w.text(s);
}

void write_last_rect(ByteWriter& w) {
    write_rect_header(w, Rect{}, encoding::kLastRect);
}

void write_cursor_rect(ByteWriter& w, const CursorImage& c, const PixelWriter& px) {
    if (!c.consistent()) {
        write_rect_header(w, Rect{}, encoding::kCursor);
        return;
    }
    write_rect_header(w, Rect{c.hot_x, c.hot_y, c.width, c.height}, encoding::kCursor);
    if (c.pixels.empty()) return;
    std::vector<uint8_t>& out = w.buffer();
    const size_t at = out.size();
    out.resize(at + c.pixels.size() * px.bytes_per_pixel());
    px.write_row(c.pixels.data(), c.pixels.size(), out.data() + at);
    w.bytes(c.mask);
}

void write_cursor_with_alpha_rect(ByteWriter& w, const CursorImage& c) {
    if (!c.consistent()) {
        write_rect_header(w, Rect{}, encoding::kCursorWithAlpha);
        w.s32(encoding::kRaw);
        return;
    }
    write_rect_header(w, Rect{c.hot_x, c.hot_y, c.width, c.height}, encoding::kCursorWithAlpha);
    w.s32(encoding::kRaw);
    w.bytes(premultiplied_rgba(c));
}

void write_server_init(ByteWriter& w, uint16_t width, uint16_t height, const PixelFormat& pf,
                       std::string_view name) {
    const std::string_view s = cut(name, limits::kMaxDesktopNameLength);
    w.u16(width);
    w.u16(height);
    pf.write(w);
    w.u32(static_cast<uint32_t>(s.size()));
    w.text(s);
}

}  // namespace rfb
