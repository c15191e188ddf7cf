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
constexpr size_t kClientCutTextHeader = 8;
constexpr size_t kContinuousUpdatesSize = 10;
constexpr size_t kClientFenceHeader = 9;
constexpr size_t kQemuHeader = 2;
constexpr size_t kQemuKeyEventSize = 12;
constexpr size_t kSetDesktopSizeHeader = 8;

// Results, qualified at each use: other parsers have helpers of the same names.
namespace client_parse {

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

}  // namespace client_parse

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
    const size_t cut = kClientCutTextHeader + limits_.max_cut_text;
    const size_t desk = kSetDesktopSizeHeader + kScreenWireSize * limits::kMaxScreens;
    return std::max(
        {enc, cut, desk, kClientFenceHeader + limits_.max_fence_payload, kSetPixelFormatSize});
}

ClientParse ClientMessageParser::parse(std::span<const uint8_t> in) const {
    ByteReader r(in);
    uint8_t type = 0;
    if (!r.u8(type)) return client_parse::need(1);

    switch (type) {
        case client_msg::kSetPixelFormat: {
            if (in.size() < kSetPixelFormatSize) return client_parse::need(kSetPixelFormatSize);
            r.skip(3);
            SetPixelFormatMsg m;
            PixelFormat::read(r, m.format);
            std::string why;
            // 8 bpp colour-map viewers are served with a fixed BGR233 map (colour_map.h).
            if (!m.format.valid(&why, /*allow_colour_map=*/true))
                return client_parse::fail("SetPixelFormat: " + why);
            return client_parse::done(kSetPixelFormatSize, std::move(m));
        }
        case client_msg::kSetEncodings: {
            if (in.size() < kSetEncodingsHeader) return client_parse::need(kSetEncodingsHeader);
            uint16_t count = 0;
            r.skip(1);
            r.u16(count);
            if (count > limits_.max_encodings)
                return client_parse::fail("SetEncodings: " + std::to_string(count) +
                                              " encodings exceed the limit of " +
                                              std::to_string(limits_.max_encodings),
                                          LimitKind::kEncodings);
            const size_t total = kSetEncodingsHeader + size_t{count} * 4;
            if (in.size() < total) return client_parse::need(total);
            SetEncodingsMsg m;
            m.encodings.resize(count);
            for (auto& e : m.encodings)
                r.s32(e);
            return client_parse::done(total, std::move(m));
        }
        case client_msg::kFramebufferUpdateRequest: {
            if (in.size() < kUpdateRequestSize) return client_parse::need(kUpdateRequestSize);
            uint8_t inc = 0;
            r.u8(inc);
            UpdateRequestMsg m;
            m.incremental = inc != 0;
            m.area = read_area(r);
            return client_parse::done(kUpdateRequestSize, m);
        }
        case client_msg::kKeyEvent: {
            if (in.size() < kKeyEventSize) return client_parse::need(kKeyEventSize);
            uint8_t down = 0;
            r.u8(down);
            r.skip(2);
            KeyEventMsg m;
            m.down = down != 0;
            r.u32(m.keysym);
            return client_parse::done(kKeyEventSize, m);
        }
        case client_msg::kPointerEvent: {
            if (in.size() < kPointerEventSize) return client_parse::need(kPointerEventSize);
            PointerEventMsg m;
            r.u8(m.buttons);
            r.u16(m.x);
            r.u16(m.y);
            return client_parse::done(kPointerEventSize, m);
        }
        case client_msg::kClientCutText: {
            if (in.size() < kClientCutTextHeader) return client_parse::need(kClientCutTextHeader);
            r.skip(3);
            uint32_t raw = 0;
            r.u32(raw);
            // The length is an S32; negative means ExtendedClipboard with |length| bytes.
            // 0 - raw in unsigned arithmetic is |length| even for INT32_MIN.
            const bool extended = (raw & 0x80000000u) != 0;
            const size_t len = extended ? size_t{0u - raw} : size_t{raw};
            if (len > limits_.max_cut_text)
                return client_parse::fail("ClientCutText: " + std::to_string(len) +
                                              " bytes exceed the limit of " +
                                              std::to_string(limits_.max_cut_text),
                                          LimitKind::kCutText);
            if (extended && len < cut_text::kExtendedFlagsSize)
                return client_parse::fail("ClientCutText: extended clipboard payload of " +
                                          std::to_string(len) + " bytes has no flags");
            const size_t total = kClientCutTextHeader + len;
            if (in.size() < total) return client_parse::need(total);
            std::span<const uint8_t> body;
            r.bytes(len, body);
            ClientCutTextMsg m;
            m.extended = extended;
            if (extended)
                m.extended_payload.assign(body.begin(), body.end());
            else
                m.latin1.assign(body.begin(), body.end());
            return client_parse::done(total, std::move(m));
        }
        case client_msg::kEnableContinuousUpdates: {
            if (in.size() < kContinuousUpdatesSize)
                return client_parse::need(kContinuousUpdatesSize);
            uint8_t enable = 0;
            r.u8(enable);
            EnableContinuousUpdatesMsg m;
            m.enable = enable != 0;
            m.area = read_area(r);
            return client_parse::done(kContinuousUpdatesSize, m);
        }
        case client_msg::kClientFence: {
            if (in.size() < kClientFenceHeader) return client_parse::need(kClientFenceHeader);
            r.skip(3);
            ClientFenceMsg m;
            uint8_t len = 0;
            r.u32(m.flags);
            r.u8(len);
            if (len > limits_.max_fence_payload)
                return client_parse::fail("ClientFence: payload of " + std::to_string(len) +
                                              " bytes exceeds " +
                                              std::to_string(limits_.max_fence_payload),
                                          LimitKind::kFence);
            const size_t total = kClientFenceHeader + len;
            if (in.size() < total) return client_parse::need(total);
            std::span<const uint8_t> body;
            r.bytes(len, body);
            m.payload.assign(body.begin(), body.end());
            return client_parse::done(total, std::move(m));
        }
        case client_msg::kQemu: {
            if (in.size() < kQemuHeader) return client_parse::need(kQemuHeader);
            uint8_t sub = 0;
            r.u8(sub);
            if (sub != 0)
                return client_parse::fail("QEMU client message: unsupported submessage " +
                                          std::to_string(sub));
            if (in.size() < kQemuKeyEventSize) return client_parse::need(kQemuKeyEventSize);
            uint16_t down = 0;
            r.u16(down);
            QemuKeyEventMsg m;
            m.down = down != 0;
            r.u32(m.keysym);
            r.u32(m.keycode);
            return client_parse::done(kQemuKeyEventSize, m);
        }
        case client_msg::kSetDesktopSize: {
            if (in.size() < kSetDesktopSizeHeader) return client_parse::need(kSetDesktopSizeHeader);
            SetDesktopSizeMsg m;
            uint8_t count = 0;
            r.skip(1);
            r.u16(m.width);
            r.u16(m.height);
            r.u8(count);
            r.skip(1);
            if (count > limits::kMaxScreens)
                return client_parse::fail("SetDesktopSize: " + std::to_string(count) +
                                              " screens exceed " +
                                              std::to_string(limits::kMaxScreens),
                                          LimitKind::kScreens);
            const size_t total = kSetDesktopSizeHeader + size_t{count} * kScreenWireSize;
            if (in.size() < total) return client_parse::need(total);
            m.screens.resize(count);
            for (auto& s : m.screens)
                read_screen(r, s);
            return client_parse::done(total, std::move(m));
        }
        default:
            return client_parse::fail("unknown client message type " + std::to_string(type));
    }
}

}  // namespace rfb
