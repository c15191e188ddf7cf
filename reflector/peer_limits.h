#pragma once
#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>

#include "codec/client_handshake.h"
#include "codec/client_message_parser.h"
#include "codec/rfb_constants.h"
#include "codec/server_message_reader.h"
#include "reflector/event_loop.h"

namespace rfbcast {

// What a session's peers may send (issue 7's configurable limits): the time from accept to the
// end of authentication, and the caps its viewers' parser and its upstream's reader enforce.
// Each cap can be lowered from the protocol's own bound, never raised past it.
struct PeerLimits {
    Clock::duration handshake_timeout =
        std::chrono::seconds(rfb::limits::kDefaultHandshakeTimeoutSeconds);
    size_t max_cut_text = rfb::limits::kDefaultMaxCutText;
    uint32_t max_framebuffer = rfb::limits::kMaxFramebufferDim;
    uint32_t max_cursor = rfb::limits::kMaxCursorDim;
    size_t max_fence_payload = rfb::limits::kMaxFencePayload;

    rfb::ClientParserLimits viewer_parser() const {
        rfb::ClientParserLimits l;
        l.max_cut_text = max_cut_text;
        l.max_fence_payload = max_fence_payload;
        return l;
    }
    rfb::ServerReaderLimits upstream_reader() const {
        rfb::ServerReaderLimits l;
        l.max_cut_text = max_cut_text;
        l.max_framebuffer_dim = max_framebuffer;
        l.max_cursor_dim = max_cursor;
        l.max_fence_payload = max_fence_payload;
        return l;
    }
    // A viewer's input buffer holds one whole message (the largest is a ClientCutText), and
    // never less than the 512 KiB it had before it joined a session.
    size_t viewer_rx_cap() const {
        return std::max<size_t>(512 * 1024,
                                rfb::ClientMessageParser(viewer_parser()).max_message_size());
    }
};

}  // namespace rfbcast
