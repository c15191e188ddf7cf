#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "codec/byte_reader.h"
#include "codec/byte_writer.h"
#include "codec/pixel_format.h"
#include "codec/rect.h"

// What an RFB viewer (client) sends to a server: one struct per message, and a writer that
// produces the exact wire bytes. rfbcast parses these from viewers and writes them upstream.
namespace rfb {

struct SetPixelFormatMsg {
    PixelFormat format;
    bool operator==(const SetPixelFormatMsg&) const = default;
};

struct SetEncodingsMsg {
    std::vector<int32_t> encodings;
    bool operator==(const SetEncodingsMsg&) const = default;
};

// FramebufferUpdateRequest. `area` is as sent; the server crops it to the framebuffer.
struct UpdateRequestMsg {
    bool incremental = false;
    Rect area;
    bool operator==(const UpdateRequestMsg&) const = default;
};

struct KeyEventMsg {
    bool down = false;
    uint32_t keysym = 0;
    bool operator==(const KeyEventMsg&) const = default;
};

struct PointerEventMsg {
    uint8_t buttons = 0;
    uint16_t x = 0, y = 0;
    bool operator==(const PointerEventMsg&) const = default;
};

// ClientCutText. A negative wire length means ExtendedClipboard: then `extended` is set and
// `extended_payload` holds the raw payload (4-byte flags followed by the data), untouched,
// so that it can be relayed without being understood.
struct ClientCutTextMsg {
    std::string latin1;
    bool extended = false;
    std::vector<uint8_t> extended_payload;
    bool operator==(const ClientCutTextMsg&) const = default;
};

struct EnableContinuousUpdatesMsg {
    bool enable = false;
    Rect area;
    bool operator==(const EnableContinuousUpdatesMsg&) const = default;
};

struct ClientFenceMsg {
    uint32_t flags = 0;
    std::vector<uint8_t> payload;  // at most limits::kMaxFencePayload (64) bytes
    bool operator==(const ClientFenceMsg&) const = default;
};

// QEMU Extended Key Event: message type 255, submessage 0.
struct QemuKeyEventMsg {
    bool down = false;
    uint32_t keysym = 0;
    uint32_t keycode = 0;  // XT scancode, 0xe0-prefixed codes with the high bit set
    bool operator==(const QemuKeyEventMsg&) const = default;
};

// One SCREEN of SetDesktopSize / ExtendedDesktopSize.
struct Screen {
    uint32_t id = 0;
    uint16_t x = 0, y = 0, w = 0, h = 0;
    uint32_t flags = 0;
    bool operator==(const Screen&) const = default;
};

inline constexpr size_t kScreenWireSize = 16;
void write_screen(ByteWriter& w, const Screen& s);
// Reads 16 bytes; false (nothing read) when fewer are available.
bool read_screen(ByteReader& r, Screen& s);

struct SetDesktopSizeMsg {
    uint16_t width = 0, height = 0;
    std::vector<Screen> screens;
    bool operator==(const SetDesktopSizeMsg&) const = default;
};

using ClientMessage =
    std::variant<SetPixelFormatMsg, SetEncodingsMsg, UpdateRequestMsg, KeyEventMsg, PointerEventMsg,
                 ClientCutTextMsg, EnableContinuousUpdatesMsg, ClientFenceMsg, QemuKeyEventMsg,
                 SetDesktopSizeMsg>;

// Appends the exact wire bytes of `msg`, padding zeroed. The output is always well-formed:
// values that cannot be represented are clamped (rect fields to 0xFFFF, encodings to 65535
// entries, fence payloads to 64 bytes, screens to 255, cut text to 2^31-1 bytes).
void write_client_message(ByteWriter& w, const ClientMessage& msg);

// ClientCutText with a negative length (ExtendedClipboard): `payload` is flags + data as-is
// (codec/extended_clipboard.h builds them), cut at 2^31-1 bytes.
void write_client_cut_text_extended(ByteWriter& w, std::span<const uint8_t> payload);

}  // namespace rfb
