#pragma once
#include <span>
#include <string>
#include <string_view>

#include "codec/http_request.h"

// The server's side of the RFC 6455 opening handshake (§4.2.1, §4.2.2), on a request head that
// HttpRequestParser accepted. Checked, in this order:
//   GET (400 otherwise; HEAD cannot upgrade), HTTP/1.1 (400), Host present (400), Upgrade
//   containing "websocket" and Connection containing "Upgrade", case-insensitive (400),
//   exactly one Sec-WebSocket-Version and it is 13 (426 with Sec-WebSocket-Version: 13 and
//   Upgrade: websocket, as RFC 6455 §4.4 and RFC 9110 §15.5.22 ask), exactly one
//   Sec-WebSocket-Key that is base64 of 16 bytes (400), the Origin (403, below), the subprotocol
//   (400, below).
// Origin: with an allowed list, a request that carries Origin must match one entry exactly
// (ASCII case-insensitive; "null" only if listed). A request without Origin is let through: only
// browsers send it, and they always do, so its absence means a non-browser client, which could
// have sent any Origin it liked; the check exists to stop other web pages, not other programs.
// Subprotocol: RFB inside binary frames is all we speak. A client offering "binary" (noVNC
// before 1.0 offered "binary" and "base64") gets "binary"; one offering only others (a
// "base64" client would send text frames) is refused; one offering none (noVNC >= 1.2,
// websockify clients) gets no Sec-WebSocket-Protocol. Offered extensions are never accepted
// (so RSV bits stay unused).
namespace rfb {

struct WsHandshakeOptions {
    std::span<const std::string> allowed_origins;  // empty: any origin
};

struct WsHandshakeResult {
    bool ok = false;
    int status = 400;                 // 101 when ok
    std::string error;                // why it was refused, for the log (never quotes the request)
    bool binary_subprotocol = false;  // the 101 names "binary"
    // What to send: the 101 head (after which WebSocket frames follow), or a complete error
    // response (head and body; the caller then closes the connection).
    std::string response;
};

// Whether the request asks for a WebSocket (Upgrade contains "websocket"), so that the listener
// hands it to websocket_handshake() rather than serving a file.
bool is_websocket_upgrade(const HttpRequest& request);

WsHandshakeResult websocket_handshake(const HttpRequest& request,
                                      const WsHandshakeOptions& options = {});

// Sec-WebSocket-Key: 24 characters of base64 ('+' '/' alphabet, "==" padding) that decode to 16
// bytes.
bool websocket_key_valid(std::string_view key);
// Sec-WebSocket-Accept for a key: base64(SHA-1(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")).
std::string websocket_accept_value(std::string_view key);

}  // namespace rfb
