#pragma once
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "codec/client_messages.h"
#include "codec/limit_kind.h"
#include "codec/rfb_constants.h"

namespace rfb {

struct ClientParserLimits {
    size_t max_cut_text = limits::kDefaultMaxCutText;  // also caps ExtendedClipboard payloads
    size_t max_encodings = limits::kMaxEncodings;
    size_t max_fence_payload = limits::kMaxFencePayload;  // lowered only: 64 is the protocol's
};

struct ClientParse {
    enum Status { kNeedMore, kMessage, kError } status = kNeedMore;
    size_t consumed = 0;  // bytes of the message (kMessage only)
    ClientMessage message;
    std::string error;  // why (kError only); safe to log, never contains input text
    LimitKind limit = LimitKind::kNone;  // kError: the cap the message broke, if that was why
    // kNeedMore: the total size of the message when it is already known from its header,
    // else the size needed to learn more (so a reader knows how much to wait for).
    size_t needed = 0;
};

// Parses what a viewer sends once the handshake is over (rfbcast plays the server).
// Stateless: parse() looks at the start of `buffered` and reports one message, asks for more
// bytes (consuming nothing), or rejects the stream. A length over a limit is rejected as soon
// as the length field is readable, without waiting for the bytes it announces.
class ClientMessageParser {
  public:
    explicit ClientMessageParser(ClientParserLimits limits = {});

    ClientParse parse(std::span<const uint8_t> buffered) const;
    // The most bytes one acceptable message can take: what a reader must be able to buffer.
    size_t max_message_size() const;

  private:
    ClientParserLimits limits_;
};

}  // namespace rfb
