#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

// RFC 6455 §5 frames as the server writes them (unmasked), plus a masking client-side writer for
// tests and the conformance tool. Also the definitions the frame reader shares: opcodes, close
// codes, masking and the UTF-8 check for close reasons.
//
// RFB travels as binary frames. A large payload (an encoded update) need not be copied into a
// frame: write_ws_frame_header() gives the 2-10 header bytes, and the caller sends header and
// payload as two pieces of one scatter-gather write.
namespace rfb {

enum class WsOpcode : uint8_t {
    kContinuation = 0x0,
    kText = 0x1,
    kBinary = 0x2,
    kClose = 0x8,
    kPing = 0x9,
    kPong = 0xA,
};

// Opcodes 0x8 to 0xF are control frames (RFC 6455 section 5.5), defined or not.
inline bool ws_is_control_opcode(uint8_t opcode) {
    return (opcode & 0x8) != 0;
}

inline constexpr size_t kWsMaxServerHeaderSize = 10;  // 2 + 8-byte length
inline constexpr size_t kWsMaxClientHeaderSize = 14;  // ... + 4-byte mask key
inline constexpr size_t kWsMaxControlPayload = 125;
inline constexpr size_t kWsMaxCloseReason = kWsMaxControlPayload - 2;

// Close codes (RFC 6455 §7.4.1, IANA registry).
inline constexpr uint16_t kWsCloseNormal = 1000;
inline constexpr uint16_t kWsCloseGoingAway = 1001;
inline constexpr uint16_t kWsCloseProtocolError = 1002;
inline constexpr uint16_t kWsCloseUnsupportedData = 1003;
inline constexpr uint16_t kWsCloseNoStatus = 1005;  // never sent: "the close frame had no code"
inline constexpr uint16_t kWsCloseInvalidPayload = 1007;
inline constexpr uint16_t kWsClosePolicyViolation = 1008;
inline constexpr uint16_t kWsCloseMessageTooBig = 1009;
inline constexpr uint16_t kWsCloseInternalError = 1011;
inline constexpr uint16_t kWsCloseTryAgainLater = 1013;

// Whether a close frame may carry this code: 1000-1003, 1007-1014 (1012-1014 registered after
// RFC 6455), 3000-4999. 1004-1006 and 1015 are reserved, the rest unassigned.
bool ws_close_code_valid(uint16_t code);

// Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing above U+10FFFF.
bool ws_utf8_valid(std::span<const uint8_t> text);

// XORs `data` with the mask key, `offset` being the position of data[0] within the payload.
void ws_apply_mask(std::span<uint8_t> data, std::array<uint8_t, 4> key, uint64_t offset);

// Writes a server frame header for a payload of `payload_len` bytes and returns its size (2, 4
// or 10). Returns 0, writing nothing, for what no valid frame has: a control frame longer than
// 125 bytes or not final, an opcode not listed above, or a length with the top bit set.
size_t write_ws_frame_header(std::span<uint8_t, kWsMaxServerHeaderSize> out, WsOpcode opcode,
                             uint64_t payload_len, bool fin = true);

// Append a whole server frame to `out`. False (nothing appended) where write_ws_frame_header
// would return 0.
bool append_ws_frame(std::vector<uint8_t>& out, WsOpcode opcode, std::span<const uint8_t> payload,
                     bool fin = true);
void append_ws_binary_frame(std::vector<uint8_t>& out, std::span<const uint8_t> payload);
bool append_ws_ping_frame(std::vector<uint8_t>& out, std::span<const uint8_t> payload);
bool append_ws_pong_frame(std::vector<uint8_t>& out, std::span<const uint8_t> payload);
// kWsCloseNoStatus writes an empty close frame. Other codes must be ws_close_code_valid (else
// false). The reason is cut to 123 bytes at a character boundary; a reason that is not valid
// UTF-8 is left out (the peer would have to fail the connection over it).
bool append_ws_close_frame(std::vector<uint8_t>& out, uint16_t code, std::string_view reason = {});

// Client side (masked), for tests and the conformance tool. Same refusals as append_ws_frame.
bool append_ws_masked_frame(std::vector<uint8_t>& out, WsOpcode opcode,
                            std::span<const uint8_t> payload, std::array<uint8_t, 4> mask_key,
                            bool fin = true);

}  // namespace rfb
