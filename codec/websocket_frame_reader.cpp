#include "codec/websocket_frame_reader.h"

#include <algorithm>
#include <cstring>

namespace rfb {
namespace {

constexpr uint8_t kOpContinuation = 0x0;
constexpr uint8_t kOpText = 0x1;
constexpr uint8_t kOpBinary = 0x2;
constexpr uint8_t kOpClose = 0x8;
constexpr uint8_t kOpPing = 0x9;
constexpr uint8_t kOpPong = 0xA;

}  // namespace

bool WebSocketFrameReader::fail(uint16_t code, const char* why) {
    final_ = WsEvent{};
    final_.kind = WsEvent::kError;
    final_.close_code = code;
    final_.error = why;
    return false;
}

bool WebSocketFrameReader::check_header_byte() {
    const uint8_t b0 = header_[0];
    const bool fin = (b0 & 0x80) != 0;
    if (header_len_ == 1) {
        if ((b0 & 0x70) != 0) return fail(kWsCloseProtocolError, "reserved bits set");
        opcode_ = b0 & 0x0F;
        switch (opcode_) {
            case kOpContinuation:
            case kOpText:
            case kOpBinary:
            case kOpClose:
            case kOpPing:
            case kOpPong:
                break;
            default:
                return fail(kWsCloseProtocolError, "unknown opcode");
        }
        if (ws_is_control_opcode(opcode_)) {
            if (!fin) return fail(kWsCloseProtocolError, "fragmented control frame");
            return true;
        }
        if (opcode_ == kOpContinuation && !in_message_)
            return fail(kWsCloseProtocolError, "continuation frame outside a message");
        if (opcode_ != kOpContinuation && in_message_)
            return fail(kWsCloseProtocolError, "new message inside a fragmented message");
        if (opcode_ == kOpText) return fail(kWsCloseUnsupportedData, "text frames not supported");
        in_message_ = !fin;
        return true;
    }

    const uint8_t b1 = header_[1];
    const uint8_t len7 = b1 & 0x7F;
    const size_t ext = len7 == 126 ? 2 : len7 == 127 ? 8 : 0;
    if (header_len_ == 2) {
        if ((b1 & 0x80) == 0) return fail(kWsCloseProtocolError, "unmasked client frame");
        if (ws_is_control_opcode(opcode_)) {
            if (len7 > kWsMaxControlPayload)
                return fail(kWsCloseProtocolError, "control frame longer than 125 bytes");
            if (opcode_ == kOpClose && len7 == 1)
                return fail(kWsCloseProtocolError, "close frame with a 1-byte payload");
        } else if (ext == 0 && len7 > max_frame_payload_) {
            return fail(kWsCloseMessageTooBig, "data frame too large");
        }
        header_needed_ = 2 + ext + 4;
        payload_len_ = len7;
    }
    if (ext != 0 && header_len_ == 2 + ext) {
        uint64_t len = 0;
        for (size_t k = 0; k < ext; ++k)
            len = (len << 8) | header_[2 + k];
        if (ext == 8 && (len >> 63) != 0)
            return fail(kWsCloseProtocolError, "64-bit length with the top bit set");
        if ((ext == 2 && len < 126) || (ext == 8 && len <= 0xFFFF))
            return fail(kWsCloseProtocolError, "length not in its shortest form");
        if (len > max_frame_payload_) return fail(kWsCloseMessageTooBig, "data frame too large");
        payload_len_ = len;
    }
    return true;
}

WsEvent WebSocketFrameReader::finish_frame() {
    WsEvent e;
    const size_t len = static_cast<size_t>(payload_len_);  // <= 125 for control frames
    switch (opcode_) {
        case kOpPing:
            e.kind = WsEvent::kPing;
            e.payload = std::span<const uint8_t>(control_.data(), len);
            break;
        case kOpPong:
            e.kind = WsEvent::kPong;
            e.payload = std::span<const uint8_t>(control_.data(), len);
            break;
        case kOpClose:
            if (len == 0) {
                e.close_code = kWsCloseNoStatus;
            } else {
                e.close_code = static_cast<uint16_t>((control_[0] << 8) | control_[1]);
                e.payload = std::span<const uint8_t>(control_.data() + 2, len - 2);
                if (!ws_close_code_valid(e.close_code)) {
                    fail(kWsCloseProtocolError, "invalid close code");
                    return final_;
                }
                if (!ws_utf8_valid(e.payload)) {
                    fail(kWsCloseInvalidPayload, "close reason not valid UTF-8");
                    return final_;
                }
            }
            e.kind = WsEvent::kClose;
            final_ = e;
            break;
        default:
            break;  // data: already delivered
    }
    return e;
}

WsEvent WebSocketFrameReader::feed(std::span<const uint8_t> in, std::vector<uint8_t>& data) {
    if (finished()) {
        WsEvent again = final_;
        again.consumed = 0;
        return again;
    }
    size_t pos = 0;
    while (true) {
        if (!have_header_) {
            while (header_len_ < header_needed_ && pos < in.size()) {
                header_[header_len_++] = in[pos++];
                if (!check_header_byte()) return final_;
            }
            if (header_len_ < header_needed_) break;
            std::memcpy(mask_.data(), header_.data() + header_needed_ - 4, 4);
            have_header_ = true;
            payload_done_ = 0;
        }

        const size_t n =
            static_cast<size_t>(std::min<uint64_t>(payload_len_ - payload_done_, in.size() - pos));
        if (n > 0) {
            const uint8_t* src = in.data() + pos;
            std::span<uint8_t> dst;
            if (ws_is_control_opcode(opcode_)) {
                dst = std::span<uint8_t>(control_.data() + payload_done_, n);
                std::memcpy(dst.data(), src, n);
            } else {
                const size_t old = data.size();
                data.insert(data.end(), src, src + n);
                dst = std::span<uint8_t>(data.data() + old, n);
            }
            ws_apply_mask(dst, mask_, payload_done_);
            pos += n;
            payload_done_ += n;
        }
        if (payload_done_ < payload_len_) break;

        WsEvent e = finish_frame();
        have_header_ = false;
        header_len_ = 0;
        header_needed_ = 2;
        payload_len_ = 0;
        payload_done_ = 0;
        if (e.kind == WsEvent::kError) return final_;
        if (e.kind != WsEvent::kNeedMore) {
            e.consumed = pos;
            return e;
        }
        if (pos == in.size()) break;
    }
    WsEvent more;
    more.consumed = pos;
    return more;
}

}  // namespace rfb
