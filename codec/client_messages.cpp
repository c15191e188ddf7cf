#include "codec/client_messages.h"

#include <algorithm>
#include <cstddef>

#include "codec/rfb_constants.h"

namespace rfb {

namespace {

uint16_t clamp16(uint32_t v) {
    return static_cast<uint16_t>(std::min<uint32_t>(v, 0xFFFF));
}

void write_area(ByteWriter& w, const Rect& r) {
    w.u16(clamp16(r.x));
    w.u16(clamp16(r.y));
    w.u16(clamp16(r.w));
    w.u16(clamp16(r.h));
}

struct Writer {
    ByteWriter& w;

    void operator()(const SetPixelFormatMsg& m) {
        w.u8(client_msg::kSetPixelFormat);
        w.zeros(3);
        m.format.write(w);
    }
    void operator()(const SetEncodingsMsg& m) {
        const size_t n = std::min<size_t>(m.encodings.size(), 0xFFFF);
        w.u8(client_msg::kSetEncodings);
        w.u8(0);
        w.u16(static_cast<uint16_t>(n));
        for (size_t i = 0; i < n; ++i)
            w.s32(m.encodings[i]);
    }
    void operator()(const UpdateRequestMsg& m) {
        w.u8(client_msg::kFramebufferUpdateRequest);
        w.u8(m.incremental ? 1 : 0);
        write_area(w, m.area);
    }
    void operator()(const KeyEventMsg& m) {
        w.u8(client_msg::kKeyEvent);
        w.u8(m.down ? 1 : 0);
        w.zeros(2);
        w.u32(m.keysym);
    }
    void operator()(const PointerEventMsg& m) {
        w.u8(client_msg::kPointerEvent);
        w.u8(m.buttons);
        w.u16(m.x);
        w.u16(m.y);
    }
    void operator()(const ClientCutTextMsg& m) {
        w.u8(client_msg::kClientCutText);
        w.zeros(3);
        if (m.extended) {
            const size_t n = std::min(m.extended_payload.size(), cut_text::kMaxWireLength);
            w.s32(-static_cast<int32_t>(n));
            w.bytes(std::span<const uint8_t>(m.extended_payload.data(), n));
        } else {
            const size_t n = std::min(m.latin1.size(), cut_text::kMaxWireLength);
            w.u32(static_cast<uint32_t>(n));
            w.text(std::string_view(m.latin1.data(), n));
        }
    }
    void operator()(const EnableContinuousUpdatesMsg& m) {
        w.u8(client_msg::kEnableContinuousUpdates);
        w.u8(m.enable ? 1 : 0);
        write_area(w, m.area);
    }
    void operator()(const ClientFenceMsg& m) {
        const size_t n = std::min(m.payload.size(), limits::kMaxFencePayload);
        w.u8(client_msg::kClientFence);
        w.zeros(3);
        w.u32(m.flags);
        w.u8(static_cast<uint8_t>(n));
        w.bytes(std::span<const uint8_t>(m.payload.data(), n));
    }
    void operator()(const QemuKeyEventMsg& m) {
        w.u8(client_msg::kQemu);
        w.u8(0);  // submessage: extended key event
        w.u16(m.down ? 1 : 0);
        w.u32(m.keysym);
        w.u32(m.keycode);
    }
    void operator()(const SetDesktopSizeMsg& m) {
        const size_t n = std::min<size_t>(m.screens.size(), 255);
        w.u8(client_msg::kSetDesktopSize);
        w.u8(0);
        w.u16(m.width);
        w.u16(m.height);
        w.u8(static_cast<uint8_t>(n));
        w.u8(0);
        for (size_t i = 0; i < n; ++i)
            write_screen(w, m.screens[i]);
    }
};

}  // namespace

void write_screen(ByteWriter& w, const Screen& s) {
    w.u32(s.id);
    w.u16(s.x);
    w.u16(s.y);
    w.u16(s.w);
    w.u16(s.h);
    w.u32(s.flags);
}

bool read_screen(ByteReader& r, Screen& s) {
    if (!r.has(kScreenWireSize)) return false;
    r.u32(s.id);
    r.u16(s.x);
    r.u16(s.y);
    r.u16(s.w);
    r.u16(s.h);
    r.u32(s.flags);
    return true;
}

void write_client_message(ByteWriter& w, const ClientMessage& msg) {
    std::visit(Writer{w}, msg);
}

void write_client_cut_text_extended(ByteWriter& w, std::span<const uint8_t> payload) {
    const auto p = payload.first(std::min(payload.size(), cut_text::kMaxWireLength));
    w.u8(client_msg::kClientCutText);
    w.zeros(3);
    w.s32(-static_cast<int32_t>(p.size()));
    w.bytes(p);
}

}  // namespace rfb
