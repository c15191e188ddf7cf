#include "codec/websocket_handshake.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace rfb {
namespace {

// A request as Chromium sends it for `new WebSocket("ws://127.0.0.1:6080/websockify")`.
const std::vector<std::string> kChromiumHeaders = {
    "Host: 127.0.0.1:6080",
    "Connection: Upgrade",
    "Pragma: no-cache",
    "Cache-Control: no-cache",
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36",
    "Upgrade: websocket",
    "Origin: http://127.0.0.1:6080",
    "Sec-WebSocket-Version: 13",
    "Accept-Encoding: gzip, deflate, br",
    "Accept-Language: en-US,en;q=0.9",
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
    "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits",
};

HttpRequest request(const std::vector<std::string>& headers,
                    std::string_view request_line = "GET /websockify HTTP/1.1") {
    std::string text(request_line);
    text += "\r\n";
    for (const std::string& h : headers)
        text += h + "\r\n";
    text += "\r\n";
    HttpRequestParser p;
    const HttpParseResult& r = p.feed(
        std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
    EXPECT_EQ(r.status, HttpParseResult::kDone) << r.error << "\n" << text;
    return p.request();
}

// kChromiumHeaders with every line starting with `name` removed and `replacements` added.
std::vector<std::string> with(std::string_view name, const std::vector<std::string>& replacements) {
    std::vector<std::string> out;
    for (const std::string& h : kChromiumHeaders)
        if (!http_name_equal(std::string_view(h).substr(0, h.find(':')), name)) out.push_back(h);
    out.insert(out.end(), replacements.begin(), replacements.end());
    return out;
}

void expect_refused(const HttpRequest& req, int status, const WsHandshakeOptions& opt = {}) {
    const WsHandshakeResult r = websocket_handshake(req, opt);
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.status, status) << r.error;
    EXPECT_FALSE(r.error.empty());
    EXPECT_EQ(r.response.find("HTTP/1.1 " + std::to_string(status) + " "), 0u) << r.response;
    EXPECT_NE(r.response.find("\r\nConnection: "), std::string::npos);
    EXPECT_EQ(r.response.find("Sec-WebSocket-Accept"), std::string::npos);
}

TEST(WebSocketHandshakeTest, Rfc6455ExampleKey) {
    EXPECT_EQ(websocket_accept_value("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    EXPECT_EQ(websocket_accept_value("x3JJHMbDL1EzLkh9GBhXDw=="), "HSmrc0sMlYUkAGmm5OPpG2HaGWk=");
}

TEST(WebSocketHandshakeTest, ChromiumRequestIsAccepted) {
    const HttpRequest req = request(kChromiumHeaders);
    EXPECT_TRUE(is_websocket_upgrade(req));
    const WsHandshakeResult r = websocket_handshake(req);
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.status, 101);
    EXPECT_FALSE(r.binary_subprotocol);
    // No extension is accepted (permessage-deflate is ignored), no subprotocol was offered.
    EXPECT_EQ(r.response,
              "HTTP/1.1 101 Switching Protocols\r\n"
              "Connection: Upgrade\r\n"
              "Upgrade: websocket\r\n"
              "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
              "\r\n");
}

TEST(WebSocketHandshakeTest, FirefoxConnectionHeaderAndCaseInsensitiveTokens) {
    // Firefox sends "Connection: keep-alive, Upgrade".
    const HttpRequest req = request(with("Connection", {"Connection: keep-alive, Upgrade"}));
    EXPECT_TRUE(websocket_handshake(req).ok);
    const HttpRequest upper = request(with("Upgrade", {"Upgrade: WebSocket"}));
    EXPECT_TRUE(websocket_handshake(upper).ok);
    const HttpRequest lower = request(with("Connection", {"Connection: upgrade"}));
    EXPECT_TRUE(websocket_handshake(lower).ok);
}

TEST(WebSocketHandshakeTest, BinarySubprotocol) {
    for (const char* offer :
         {"Sec-WebSocket-Protocol: binary", "Sec-WebSocket-Protocol: base64, binary",
          "Sec-WebSocket-Protocol: base64\r\nSec-WebSocket-Protocol: binary"}) {
        const WsHandshakeResult r = websocket_handshake(request(with("X-None", {offer})));
        ASSERT_TRUE(r.ok) << offer << ": " << r.error;
        EXPECT_TRUE(r.binary_subprotocol);
        EXPECT_EQ(r.response,
                  "HTTP/1.1 101 Switching Protocols\r\n"
                  "Connection: Upgrade\r\n"
                  "Upgrade: websocket\r\n"
                  "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
                  "Sec-WebSocket-Protocol: binary\r\n"
                  "\r\n");
    }
}

TEST(WebSocketHandshakeTest, OtherSubprotocolsOnlyAreRefused) {
    expect_refused(request(with("X-None", {"Sec-WebSocket-Protocol: base64"})), 400);
    expect_refused(request(with("X-None", {"Sec-WebSocket-Protocol: chat, superchat"})), 400);
    // Subprotocol names compare exactly: the client checks our answer against its own offer.
    expect_refused(request(with("X-None", {"Sec-WebSocket-Protocol: Binary"})), 400);
}

TEST(WebSocketHandshakeTest, MethodAndVersion) {
    expect_refused(request(kChromiumHeaders, "HEAD /websockify HTTP/1.1"), 400);
    expect_refused(request(kChromiumHeaders, "GET /websockify HTTP/1.0"), 400);
}

TEST(WebSocketHandshakeTest, HostRequired) {
    // HTTP/1.1 without Host never gets past the parser; a hand-built request checks it here.
    HttpRequest req = request(kChromiumHeaders);
    req.headers.erase(req.headers.begin());
    ASSERT_EQ(req.header("Host"), nullptr);
    expect_refused(req, 400);
}

TEST(WebSocketHandshakeTest, UpgradeAndConnection) {
    const HttpRequest no_upgrade = request(with("Upgrade", {}));
    EXPECT_FALSE(is_websocket_upgrade(no_upgrade));
    expect_refused(no_upgrade, 400);
    const HttpRequest h2c = request(with("Upgrade", {"Upgrade: h2c"}));
    EXPECT_FALSE(is_websocket_upgrade(h2c));
    expect_refused(h2c, 400);
    expect_refused(request(with("Connection", {})), 400);
    expect_refused(request(with("Connection", {"Connection: keep-alive"})), 400);
    expect_refused(request(with("Connection", {"Connection: Upgraded"})), 400);
}

TEST(WebSocketHandshakeTest, VersionOtherThan13Is426) {
    for (const std::vector<std::string>& v :
         {std::vector<std::string>{"Sec-WebSocket-Version: 8"},
          std::vector<std::string>{"Sec-WebSocket-Version: 13, 8"},
          std::vector<std::string>{"Sec-WebSocket-Version: 13", "Sec-WebSocket-Version: 13"},
          std::vector<std::string>{}}) {
        const WsHandshakeResult r = websocket_handshake(request(with("Sec-WebSocket-Version", v)));
        EXPECT_FALSE(r.ok);
        EXPECT_EQ(r.status, 426);
        EXPECT_NE(r.response.find("\r\nSec-WebSocket-Version: 13\r\n"), std::string::npos)
            << r.response;
        EXPECT_NE(r.response.find("\r\nUpgrade: websocket\r\n"), std::string::npos);
        EXPECT_NE(r.response.find("\r\nConnection: Upgrade, close\r\n"), std::string::npos);
    }
}

TEST(WebSocketHandshakeTest, KeyValidation) {
    EXPECT_TRUE(websocket_key_valid("dGhlIHNhbXBsZSBub25jZQ=="));
    EXPECT_TRUE(websocket_key_valid("AAAAAAAAAAAAAAAAAAAAAA=="));
    EXPECT_TRUE(websocket_key_valid("/+/+/+/+/+/+/+/+/+/+/w=="));
    for (const char* bad :
         {"", "dGhlIHNhbXBsZSBub25jZQ=", "dGhlIHNhbXBsZSBub25jZQ", "dGhlIHNhbXBsZSBub25jZQ===",
          "dGhlIHNhbXBsZSBub25jZ-==", "dGhlIHNhbXBsZSBub25jZ_==", "dGhlIHNhbXBsZSBub25 ZQ==",
          "dGhlIHNhbXBsZSBub25j====", "AAAAAAAAAAAAAAAAAAAAAAAAAAA=", "dGhlIHNhbXBsZSBub25jZQ=A"})
        EXPECT_FALSE(websocket_key_valid(bad)) << bad;

    expect_refused(request(with("Sec-WebSocket-Key", {})), 400);
    expect_refused(request(with("Sec-WebSocket-Key", {"Sec-WebSocket-Key: c2hvcnQ="})), 400);
    expect_refused(
        request(with("Sec-WebSocket-Key", {"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
                                           "Sec-WebSocket-Key: x3JJHMbDL1EzLkh9GBhXDw=="})),
        400);
}

TEST(WebSocketHandshakeTest, Origins) {
    const std::vector<std::string> allowed = {"https://vnc.example.com", "http://127.0.0.1:6080"};
    WsHandshakeOptions opt;
    opt.allowed_origins = allowed;

    EXPECT_TRUE(websocket_handshake(request(kChromiumHeaders), opt).ok);
    EXPECT_TRUE(
        websocket_handshake(request(with("Origin", {"Origin: HTTPS://VNC.example.com"})), opt).ok);
    // Non-browser clients send no Origin; they could have sent any.
    EXPECT_TRUE(websocket_handshake(request(with("Origin", {})), opt).ok);

    expect_refused(request(with("Origin", {"Origin: https://evil.example"})), 403, opt);
    expect_refused(request(with("Origin", {"Origin: https://vnc.example.com.evil"})), 403, opt);
    expect_refused(request(with("Origin", {"Origin: http://127.0.0.1:6081"})), 403, opt);
    expect_refused(request(with("Origin", {"Origin: null"})), 403, opt);
    expect_refused(request(with("Origin", {"Origin: https://vnc.example.com",
                                           "Origin: https://evil.example"})),
                   403, opt);

    // No list: any origin.
    EXPECT_TRUE(websocket_handshake(request(with("Origin", {"Origin: https://evil.example"}))).ok);
}

TEST(WebSocketHandshakeTest, RefusalDoesNotQuoteTheRequest) {
    const WsHandshakeResult r =
        websocket_handshake(request(with("Origin", {"Origin: https://<script>evil</script>"})),
                            WsHandshakeOptions{std::span<const std::string>()});
    EXPECT_TRUE(r.ok);  // no list
    const std::vector<std::string> allowed = {"https://a"};
    const WsHandshakeResult refused =
        websocket_handshake(request(with("Origin", {"Origin: https://<script>evil</script>"})),
                            WsHandshakeOptions{allowed});
    EXPECT_FALSE(refused.ok);
    EXPECT_EQ(refused.response.find("script"), std::string::npos);
    EXPECT_EQ(refused.error.find("script"), std::string::npos);
}

}  // namespace
}  // namespace rfb
