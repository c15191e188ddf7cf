#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "codec/websocket_frame_writer.h"

// Server-side RFC 6455 frame parser, incremental and streaming: the payload of binary frames is
// unmasked and appended to the caller's vector as its bytes arrive, so a data frame is never
// buffered whole (RFB is a byte stream; message boundaries carry no meaning for it). Control
// frames (at most 125 bytes) are buffered and reported as events.
//
// No extension is ever negotiated, so:
//   1002 protocol error: an unmasked frame; RSV1-3 set; an unknown opcode; a control frame longer
//        than 125 bytes or not final; a continuation outside a message; a new data frame inside a
//        fragmented one; a 64-bit length with the top bit set; a length not in its shortest form
//        (RFC 6455 §5.2 "the minimal number of bytes MUST be used"); a close payload of 1 byte;
//        a close code that may not be sent (ws_close_code_valid).
//   1003 unsupported data: a text frame (RFB is binary only).
//   1007 invalid payload: a close reason that is not valid UTF-8.
//   1009 message too big: a data frame longer than the configured cap (default 16 MiB). It is a
//        cap per frame: fragments of a message are streamed, never collected, so a message's
//        total costs nothing here.
// Each is decided from the header bytes that show it, as soon as they arrive (a length check as
// soon as the length is complete), so split delivery gives the same events as one-shot delivery.
// After a close frame or an error nothing more is parsed.
namespace rfb {

inline constexpr size_t kWsDefaultMaxFramePayload = size_t{16} << 20;

struct WsEvent {
    enum Kind {
        kNeedMore,  // the input is used up; data may have been appended
        kPing,      // answer with a pong carrying `payload`
        kPong,
        kClose,  // the peer closes; echo its code (or kWsCloseNormal) and close the connection
        kError,  // send a close frame with `close_code`, then close the connection
    };
    Kind kind = kNeedMore;
    // Bytes of this feed's input that were used. After kPing or kPong, feed the rest again.
    size_t consumed = 0;
    // kPing, kPong: the payload; kClose: the reason (valid UTF-8). Points into the reader and
    // stays valid until the next feed().
    std::span<const uint8_t> payload;
    // kClose: the code received (kWsCloseNoStatus for an empty close frame).
    // kError: the code to send.
    uint16_t close_code = 0;
    const char* error = "";  // kError: why, for the log (never quotes input)

    std::string_view reason() const {
        return {reinterpret_cast<const char*>(payload.data()), payload.size()};
    }
};

class WebSocketFrameReader {
  public:
    explicit WebSocketFrameReader(size_t max_frame_payload = kWsDefaultMaxFramePayload)
        : max_frame_payload_(max_frame_payload) {}

    // Parses `in`, appending unmasked data payload to `data`, until the input is used up or an
    // event other than kNeedMore arises. Appends at most in.size() bytes. After kClose or
    // kError the reader is finished: further feeds return the same event with consumed = 0.
    WsEvent feed(std::span<const uint8_t> in, std::vector<uint8_t>& data);

    bool finished() const { return final_.kind != WsEvent::kNeedMore; }
    // Whether a fragmented data message is open (a non-final data frame has been seen).
    bool in_message() const { return in_message_; }
    // The frame being read: its declared payload length and how much of it has arrived (both 0
    // while its header is incomplete).
    uint64_t frame_payload_length() const { return have_header_ ? payload_len_ : 0; }
    uint64_t frame_payload_received() const { return have_header_ ? payload_done_ : 0; }

  private:
    // Checks the header byte just added; false (and final_ set) on a violation.
    bool check_header_byte();
    // The frame's payload is complete: an event for a control frame, kNeedMore for data.
    WsEvent finish_frame();
    bool fail(uint16_t code, const char* why);

    size_t max_frame_payload_;
    std::array<uint8_t, kWsMaxClientHeaderSize> header_{};
    size_t header_len_ = 0;
    size_t header_needed_ = 2;
    bool have_header_ = false;
    uint8_t opcode_ = 0;
    uint64_t payload_len_ = 0;
    uint64_t payload_done_ = 0;
    std::array<uint8_t, 4> mask_{};
    bool in_message_ = false;
    std::array<uint8_t, kWsMaxControlPayload> control_{};
    WsEvent final_;
};

}  // namespace rfb
