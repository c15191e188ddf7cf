#include "codec/websocket_frame_writer.h"

#include <algorithm>
#include <cstring>

namespace rfb {
namespace {

bool known_opcode(WsOpcode op) {
    switch (op) {
        case WsOpcode::kContinuation:
        case WsOpcode::kText:
        case WsOpcode::kBinary:
        case WsOpcode::kClose:
        case WsOpcode::kPing:
        case WsOpcode::kPong:
            return true;
    }
    return false;
}

}  // namespace

bool ws_close_code_valid(uint16_t code) {
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
           (code >= 3000 && code <= 4999);
}

bool ws_utf8_valid(std::span<const uint8_t> s) {
    size_t i = 0;
    while (i < s.size()) {
        const uint8_t c = s[i];
        if (c < 0x80) {
            ++i;
            continue;
        }
        size_t n = 0;
        uint8_t lo = 0x80, hi = 0xBF;  // bounds of the second byte
        if (c >= 0xC2 && c <= 0xDF) {
            n = 1;
        } else if (c == 0xE0) {
            n = 2;
            lo = 0xA0;  // no overlong 3-byte forms
        } else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) {
            n = 2;
        } else if (c == 0xED) {
            n = 2;
            hi = 0x9F;  // no surrogates
        } else if (c == 0xF0) {
            n = 3;
            lo = 0x90;  // no overlong 4-byte forms
        } else if (c >= 0xF1 && c <= 0xF3) {
            n = 3;
        } else if (c == 0xF4) {
            n = 3;
            hi = 0x8F;  // nothing above U+10FFFF
        } else {
            return false;
        }
        if (s.size() - i <= n) return false;
        if (s[i + 1] < lo || s[i + 1] > hi) return false;
        for (size_t k = 2; k <= n; ++k)
            if (s[i + k] < 0x80 || s[i + k] > 0xBF) return false;
        i += n + 1;
    }
    return true;
}

void ws_apply_mask(std::span<uint8_t> data, std::array<uint8_t, 4> key, uint64_t offset) {
    uint8_t rotated[8];
    for (size_t k = 0; k < 8; ++k)
        rotated[k] = key[(offset + k) % 4];
    uint64_t mask;
    std::memcpy(&mask, rotated, 8);
    size_t i = 0;
    // Eight bytes at a time: the key repeats every 4, so the rotated 8-byte mask lines up with
    // every 8-byte block.
    for (; i + 8 <= data.size(); i += 8) {
        uint64_t v;
        std::memcpy(&v, data.data() + i, 8);
        v ^= mask;
        std::memcpy(data.data() + i, &v, 8);
    }
    for (; i < data.size(); ++i)
        data[i] ^= rotated[i % 8];
}

size_t write_ws_frame_header(std::span<uint8_t, kWsMaxServerHeaderSize> out, WsOpcode opcode,
                             uint64_t payload_len, bool fin) {
    if (!known_opcode(opcode)) return 0;
    if (ws_is_control_opcode(static_cast<uint8_t>(opcode)) &&
        (payload_len > kWsMaxControlPayload || !fin))
        return 0;
    if (payload_len >> 63) return 0;
    out[0] = static_cast<uint8_t>((fin ? 0x80 : 0x00) | static_cast<uint8_t>(opcode));
    if (payload_len <= 125) {
        out[1] = static_cast<uint8_t>(payload_len);
        return 2;
    }
    if (payload_len <= 0xFFFF) {
        out[1] = 126;
        out[2] = static_cast<uint8_t>(payload_len >> 8);
        out[3] = static_cast<uint8_t>(payload_len);
        return 4;
    }
    out[1] = 127;
    for (size_t k = 0; k < 8; ++k)
        out[2 + k] = static_cast<uint8_t>(payload_len >> (56 - 8 * k));
    return 10;
}

bool append_ws_frame(std::vector<uint8_t>& out, WsOpcode opcode, std::span<const uint8_t> payload,
                     bool fin) {
    std::array<uint8_t, kWsMaxServerHeaderSize> header;
    const size_t n = write_ws_frame_header(header, opcode, payload.size(), fin);
    if (n == 0) return false;
    out.insert(out.end(), header.begin(), header.begin() + static_cast<std::ptrdiff_t>(n));
    out.insert(out.end(), payload.begin(), payload.end());
    return true;
}

void append_ws_binary_frame(std::vector<uint8_t>& out, std::span<const uint8_t> payload) {
    append_ws_frame(out, WsOpcode::kBinary, payload);  // cannot fail: a span is < 2^63 bytes
}

bool append_ws_ping_frame(std::vector<uint8_t>& out, std::span<const uint8_t> payload) {
    return append_ws_frame(out, WsOpcode::kPing, payload);
}

bool append_ws_pong_frame(std::vector<uint8_t>& out, std::span<const uint8_t> payload) {
    return append_ws_frame(out, WsOpcode::kPong, payload);
}

bool append_ws_close_frame(std::vector<uint8_t>& out, uint16_t code, std::string_view reason) {
    if (code == kWsCloseNoStatus) return append_ws_frame(out, WsOpcode::kClose, {});
    if (!ws_close_code_valid(code)) return false;
    std::span<const uint8_t> text(reinterpret_cast<const uint8_t*>(reason.data()), reason.size());
    if (!ws_utf8_valid(text)) text = {};
    size_t len = std::min(text.size(), kWsMaxCloseReason);
    // Back up over continuation bytes so that the cut falls between characters.
    if (len < text.size())
        while (len > 0 && (text[len] & 0xC0) == 0x80)
            --len;
    uint8_t payload[kWsMaxControlPayload];
    payload[0] = static_cast<uint8_t>(code >> 8);
    payload[1] = static_cast<uint8_t>(code);
    if (len > 0) std::memcpy(payload + 2, text.data(), len);
    return append_ws_frame(out, WsOpcode::kClose, std::span<const uint8_t>(payload, 2 + len));
}

bool append_ws_masked_frame(std::vector<uint8_t>& out, WsOpcode opcode,
                            std::span<const uint8_t> payload, std::array<uint8_t, 4> mask_key,
                            bool fin) {
    std::array<uint8_t, kWsMaxServerHeaderSize> header;
    const size_t n = write_ws_frame_header(header, opcode, payload.size(), fin);
    if (n == 0) return false;
    header[1] |= 0x80;
    out.insert(out.end(), header.begin(), header.begin() + static_cast<std::ptrdiff_t>(n));
    out.insert(out.end(), mask_key.begin(), mask_key.end());
    const size_t start = out.size();
    out.insert(out.end(), payload.begin(), payload.end());
    ws_apply_mask(std::span<uint8_t>(out).subspan(start), mask_key, 0);
    return true;
}

}  // namespace rfb
