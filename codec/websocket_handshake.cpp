#include "codec/websocket_handshake.h"

#include <nettle/base64.h>
#include <nettle/sha1.h>

#include <vector>

#include "codec/http_response.h"

namespace rfb {
namespace {

constexpr std::string_view kGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

bool is_base64_char(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/';
}

WsHandshakeResult refuse(int status, std::string why, bool head_only,
                         const std::vector<HttpField>& extra = {}) {
    WsHandshakeResult r;
    r.status = status;
    r.error = std::move(why);
    r.response = http_error_response(status, head_only, extra);
    return r;
}

bool origin_allowed(const HttpRequest& request, std::span<const std::string> allowed) {
    if (allowed.empty()) return true;
    const size_t count = request.header_count("Origin");
    if (count == 0) return true;
    if (count > 1) return false;
    const std::string& origin = *request.header("Origin");
    for (const std::string& a : allowed)
        if (http_name_equal(origin, a)) return true;
    return false;
}

}  // namespace

bool is_websocket_upgrade(const HttpRequest& request) {
    return request.header_has_token("Upgrade", "websocket");
}

bool websocket_key_valid(std::string_view key) {
    // 16 bytes are 22 base64 characters and "==".
    if (key.size() != 24 || key[22] != '=' || key[23] != '=') return false;
    for (size_t i = 0; i < 22; ++i)
        if (!is_base64_char(key[i])) return false;
    base64_decode_ctx ctx;
    base64_decode_init(&ctx);
    uint8_t decoded[BASE64_DECODE_LENGTH(24)];
    size_t decoded_len = 0;
    if (!base64_decode_update(&ctx, &decoded_len, decoded, key.size(), key.data())) return false;
    return base64_decode_final(&ctx) && decoded_len == 16;
}

std::string websocket_accept_value(std::string_view key) {
    sha1_ctx ctx;
    sha1_init(&ctx);
    sha1_update(&ctx, key.size(), reinterpret_cast<const uint8_t*>(key.data()));
    sha1_update(&ctx, kGuid.size(), reinterpret_cast<const uint8_t*>(kGuid.data()));
    uint8_t digest[SHA1_DIGEST_SIZE];
    sha1_digest(&ctx, sizeof digest, digest);
    char out[BASE64_ENCODE_RAW_LENGTH(SHA1_DIGEST_SIZE)];
    base64_encode_raw(out, sizeof digest, digest);
    return std::string(out, sizeof out);
}

WsHandshakeResult websocket_handshake(const HttpRequest& request,
                                      const WsHandshakeOptions& options) {
    const bool head_only = request.head_only();
    if (request.method != "GET") return refuse(400, "WebSocket upgrade must be GET", head_only);
    if (request.version != HttpVersion::k11)
        return refuse(400, "WebSocket upgrade needs HTTP/1.1", head_only);
    if (request.header_count("Host") != 1) return refuse(400, "no Host header", head_only);
    if (!request.header_has_token("Upgrade", "websocket"))
        return refuse(400, "Upgrade does not name websocket", head_only);
    if (!request.header_has_token("Connection", "Upgrade"))
        return refuse(400, "Connection does not contain Upgrade", head_only);

    const std::string* version = request.header("Sec-WebSocket-Version");
    if (request.header_count("Sec-WebSocket-Version") != 1 || *version != "13")
        return refuse(426, "unsupported Sec-WebSocket-Version", head_only,
                      {{"Sec-WebSocket-Version", "13"}, {"Upgrade", "websocket"}});

    const std::string* key = request.header("Sec-WebSocket-Key");
    if (request.header_count("Sec-WebSocket-Key") != 1 || !websocket_key_valid(*key))
        return refuse(400, "invalid Sec-WebSocket-Key", head_only);

    if (!origin_allowed(request, options.allowed_origins))
        return refuse(403, "Origin not allowed", head_only);

    // Subprotocol names are compared exactly: the client checks our answer against its offer.
    const std::vector<std::string_view> offered = request.header_tokens("Sec-WebSocket-Protocol");
    bool binary = false;
    for (std::string_view p : offered)
        if (p == "binary") binary = true;
    if (!offered.empty() && !binary)
        return refuse(400, "no supported subprotocol offered (only binary is)", head_only);

    WsHandshakeResult r;
    r.ok = true;
    r.status = 101;
    r.binary_subprotocol = binary;
    HttpResponseHead head;
    head.status = 101;
    head.cache_control.clear();
    head.connection = "Upgrade";
    head.nosniff = false;
    head.referrer_policy.clear();
    head.extra.push_back({"Upgrade", "websocket"});
    head.extra.push_back({"Sec-WebSocket-Accept", websocket_accept_value(*key)});
    if (binary) head.extra.push_back({"Sec-WebSocket-Protocol", "binary"});
    append_http_response_head(head, r.response);  // fixed fields, a checked key: cannot fail
    return r;
}

}  // namespace rfb
