#include "codec/client_message_parser.h"

#include <algorithm>
#include <utility>

#include "codec/byte_reader.h"

namespace rfb {

namespace {

// Fixed sizes of the messages (or of their headers, for variable-length ones).
constexpr size_t kSetPixelFormatSize = 20;
constexpr size_t kSetEncodingsHeader = 4;
constexpr size_t kUpdateRequestSize = 10;
constexpr size_t kKeyEventSize = 8;
constexpr size_t kPointerEventSize = 6;
constexpr size_t kCutTextHeader = 8;
constexpr size_t kContinuousUpdatesSize = 10;
constexpr size_t kFenceHeader = 9;
constexpr size_t kQemuHeader = 2;
constexpr size_t kQemuKeyEventSize = 12;
constexpr size_t kSetDesktopSizeHeader = 8;
constexpr size_t kExtendedClipboardFlags = 4;

ClientParse need(size_t n) {
    ClientParse p;
    p.status = ClientParse::kNeedMore;
    p.needed = n;
    return p;
}

ClientParse fail(std::string why, LimitKind limit = LimitKind::kNone) {
    ClientParse p;
    p.status = ClientParse::kError;
    p.error = std::move(why);
    p.limit = limit;
    return p;
}

ClientParse done(size_t n, ClientMessage m) {
    ClientParse p;
    p.status = ClientParse::kMessage;
    p.consumed = n;
    p.message = std::move(m);
    return p;
}

Rect read_area(ByteReader& r) {
    uint16_t x = 0, y = 0, w = 0, h = 0;
    r.u16(x);
    r.u16(y);
    r.u16(w);
    r.u16(h);
    return Rect{x, y, w, h};
}

}  // namespace

ClientMessageParser::ClientMessageParser(ClientParserLimits limits) : limits_(limits) {}

size_t ClientMessageParser::max_message_size() const {
    const size_t enc = kSetEncodingsHeader + 4 * limits_.max_encodings;
    const size_t cut = kCutTextHeader + limits_.max_cut_text;
    const size_t desk = kSetDesktopSizeHeader + kScreenWireSize * limits::kMaxScreens;
    return std::max({enc, cut, desk, kFenceHeader + limits::kMaxFencePayload, kSetPixelFormatSize});
}

ClientParse ClientMessageParser::parse(std::span<const uint8_t> in) const {
    ByteReader r(in);
    uint8_t type = 0;
    if (!r.u8(type)) return need(1);

    switch (type) {
        case client_msg::kSetPixelFormat: {
            if (in.size() < kSetPixelFormatSize) return need(kSetPixelFormatSize);
            r.skip(3);
            SetPixelFormatMsg m;
            PixelFormat::read(r, m.format);
            std::string why;
            // 8 bpp colour-map viewers are served with a fixed BGR233 map (colour_map.h).
            if (!m.format.valid(&why, /*allow_colour_map=*/true))
                return fail("SetPixelFormat: " + why);
            return done(kSetPixelFormatSize, std::move(m));
        }
        case client_msg::kSetEncodings: {
            if (in.size() < kSetEncodingsHeader) return need(kSetEncodingsHeader);
            uint16_t count = 0;
            r.skip(1);
            r.u16(count);
            if (count > limits_.max_encodings)
                return fail("SetEncodings: " + std::to_string(count) +
                                " encodings exceed the limit of " +
                                std::to_string(limits_.max_encodings),
                            LimitKind::kEncodings);
            const size_t total = kSetEncodingsHeader + size_t{count} * 4;
            if (in.size() < total) return need(total);
            SetEncodingsMsg m;
            m.encodings.resize(count);
            for (auto& e : m.encodings)
                r.s32(e);
            return done(total, std::move(m));
        }
        case client_msg::kFramebufferUpdateRequest: {
            if (in.size() < kUpdateRequestSize) return need(kUpdateRequestSize);
            uint8_t inc = 0;
            r.u8(inc);
            UpdateRequestMsg m;
            m.incremental = inc != 0;
            m.area = read_area(r);
            return done(kUpdateRequestSize, m);
        }
        case client_msg::kKeyEvent: {
            if (in.size() < kKeyEventSize) return need(kKeyEventSize);
            uint8_t down = 0;
            r.u8(down);
            r.skip(2);
            KeyEventMsg m;
            m.down = down != 0;
            r.u32(m.keysym);
            return done(kKeyEventSize, m);
        }
        case client_msg::kPointerEvent: {
            if (in.size() < kPointerEventSize) return need(kPointerEventSize);
            PointerEventMsg m;
            r.u8(m.buttons);
            r.u16(m.x);
            r.u16(m.y);
            return done(kPointerEventSize, m);
        }
        case client_msg::kClientCutText: {
            if (in.size() < kCutTextHeader) return need(kCutTextHeader);
            r.skip(3);
            uint32_t raw = 0;
            r.u32(raw);
            // The length is an S32; negative means ExtendedClipboard with |length| bytes.
            // 0 - raw in unsigned arithmetic is |length| even for INT32_MIN.
            const bool extended = (raw & 0x80000000u) != 0;
            const size_t len = extended ? size_t{0u - raw} : size_t{raw};
            if (len > limits_.max_cut_text)
                return fail("ClientCutText: " + std::to_string(len) +
                                " bytes exceed the limit of " +
                                std::to_string(limits_.max_cut_text),
                            LimitKind::kCutText);
            if (extended && len < kExtendedClipboardFlags)
                return fail("ClientCutText: extended clipboard payload of " + std::to_string(len) +
                            " bytes has no flags");
            const size_t total = kCutTextHeader + len;
            if (in.size() < total) return need(total);
            std::span<const uint8_t> body;
            r.bytes(len, body);
            ClientCutTextMsg m;
            m.extended = extended;
            if (extended)
                m.extended_payload.assign(body.begin(), body.end());
            else
                m.latin1.assign(body.begin(), body.end());
            return done(total, std::move(m));
        }
        case client_msg::kEnableContinuousUpdates: {
            if (in.size() < kContinuousUpdatesSize) return need(kContinuousUpdatesSize);
            uint8_t enable = 0;
            r.u8(enable);
            EnableContinuousUpdatesMsg m;
            m.enable = enable != 0;
            m.area = read_area(r);
            return done(kContinuousUpdatesSize, m);
        }
        case client_msg::kClientFence: {
            if (in.size() < kFenceHeader) return need(kFenceHeader);
            r.skip(3);
            ClientFenceMsg m;
            uint8_t len = 0;
            r.u32(m.flags);
            r.u8(len);
            if (len > limits::kMaxFencePayload)
                return fail("ClientFence: payload of " + std::to_string(len) + " bytes exceeds 64",
                            LimitKind::kFence);
            const size_t total = kFenceHeader + len;
            if (in.size() < total) return need(total);
            std::span<const uint8_t> body;
            r.bytes(len, body);
            m.payload.assign(body.begin(), body.end());
            return done(total, std::move(m));
        }
        case client_msg::kQemu: {
            if (in.size() < kQemuHeader) return need(kQemuHeader);
            uint8_t sub = 0;
            r.u8(sub);
            if (sub != 0)
                return fail("QEMU client message: unsupported submessage " + std::to_string(sub));
            if (in.size() < kQemuKeyEventSize) return need(kQemuKeyEventSize);
            uint16_t down = 0;
            r.u16(down);
            QemuKeyEventMsg m;
            m.down = down != 0;
            r.u32(m.keysym);
            r.u32(m.keycode);
            return done(kQemuKeyEventSize, m);
        }
        case client_msg::kSetDesktopSize: {
            if (in.size() < kSetDesktopSizeHeader) return need(kSetDesktopSizeHeader);
            SetDesktopSizeMsg m;
            uint8_t count = 0;
            r.skip(1);
            r.u16(m.width);
            r.u16(m.height);
            r.u8(count);
            r.skip(1);
            if (count > limits::kMaxScreens)
                return fail("SetDesktopSize: " + std::to_string(count) + " screens exceed " +
                                std::to_string(limits::kMaxScreens),
                            LimitKind::kScreens);
            const size_t total = kSetDesktopSizeHeader + size_t{count} * kScreenWireSize;
            if (in.size() < total) return need(total);
            m.screens.resize(count);
            for (auto& s : m.screens)
                read_screen(r, s);
            return done(total, std::move(m));
        }
        default:
            return fail("unknown client message type " + std::to_string(type));
    }
}

}  // namespace rfb
