#include "codec/http_response.h"

#include <gtest/gtest.h>

#include <string>

namespace rfb {
namespace {

TEST(HttpResponseTest, ReasonPhrases) {
    EXPECT_EQ(http_reason_phrase(101), "Switching Protocols");
    EXPECT_EQ(http_reason_phrase(200), "OK");
    EXPECT_EQ(http_reason_phrase(400), "Bad Request");
    EXPECT_EQ(http_reason_phrase(403), "Forbidden");
    EXPECT_EQ(http_reason_phrase(404), "Not Found");
    EXPECT_EQ(http_reason_phrase(405), "Method Not Allowed");
    EXPECT_EQ(http_reason_phrase(413), "Content Too Large");
    EXPECT_EQ(http_reason_phrase(414), "URI Too Long");
    EXPECT_EQ(http_reason_phrase(426), "Upgrade Required");
    EXPECT_EQ(http_reason_phrase(431), "Request Header Fields Too Large");
    EXPECT_EQ(http_reason_phrase(501), "Not Implemented");
    EXPECT_EQ(http_reason_phrase(503), "Service Unavailable");
    EXPECT_EQ(http_reason_phrase(505), "HTTP Version Not Supported");
    EXPECT_EQ(http_reason_phrase(418), "Client Error");
    EXPECT_EQ(http_reason_phrase(299), "Success");
}

TEST(HttpResponseTest, FullHead) {
    HttpResponseHead h;
    h.status = 200;
    h.content_type = "text/html; charset=utf-8";
    h.content_length = 1234;
    h.content_security_policy = std::string(kStrictCsp);
    h.extra.push_back({"ETag", "\"abc\""});
    std::string out = "prefix|";
    ASSERT_TRUE(append_http_response_head(h, out));
    EXPECT_EQ(out,
              "prefix|"
              "HTTP/1.1 200 OK\r\n"
              "Content-Type: text/html; charset=utf-8\r\n"
              "Content-Length: 1234\r\n"
              "Cache-Control: no-store\r\n"
              "Connection: close\r\n"
              "X-Content-Type-Options: nosniff\r\n"
              "Referrer-Policy: no-referrer\r\n"
              "Content-Security-Policy: default-src 'none'; style-src 'unsafe-inline'; "
              "frame-ancestors 'none'; base-uri 'none'; form-action 'none'\r\n"
              "ETag: \"abc\"\r\n"
              "\r\n");
}

TEST(HttpResponseTest, MinimalHead) {
    HttpResponseHead h;
    h.status = 304;
    h.cache_control.clear();
    h.connection.clear();
    h.nosniff = false;
    h.referrer_policy.clear();
    std::string out;
    ASSERT_TRUE(append_http_response_head(h, out));
    EXPECT_EQ(out, "HTTP/1.1 304 Not Modified\r\n\r\n");
}

TEST(HttpResponseTest, OutOfRangeStatusIs500) {
    HttpResponseHead h;
    h.status = 1200;
    h.cache_control.clear();
    h.connection.clear();
    h.nosniff = false;
    h.referrer_policy.clear();
    std::string out;
    ASSERT_TRUE(append_http_response_head(h, out));
    EXPECT_EQ(out, "HTTP/1.1 500 Internal Server Error\r\n\r\n");
}

TEST(HttpResponseTest, UnsafeFieldsAreRefusedAndNothingIsWritten) {
    const std::vector<HttpField> bad = {
        {"X-A", "v\r\nSet-Cookie: x=1"},
        {"X-A", "v\nx"},
        {"X-A", "v\rx"},
        {"X-A", std::string("v\0x", 3)},
        {"X-A", "v\x7f"},
        {"X-A", " leading"},
        {"X-A", "trailing\t"},
        {"X A", "v"},
        {"X:A", "v"},
        {"", "v"},
        {"X-\xc3\xa9", "v"},
    };
    for (const HttpField& f : bad) {
        HttpResponseHead h;
        h.extra.push_back(f);
        std::string out = "keep";
        EXPECT_FALSE(append_http_response_head(h, out)) << f.name << "|" << f.value;
        EXPECT_EQ(out, "keep");
    }
    HttpResponseHead h;
    h.content_type = "text/html\r\nX: y";
    std::string out;
    EXPECT_FALSE(append_http_response_head(h, out));
    EXPECT_TRUE(out.empty());

    // A tab inside a value and bytes >= 0x80 are legal field content.
    HttpResponseHead ok;
    ok.extra.push_back({"X-A", "a\tb caf\xc3\xa9"});
    EXPECT_TRUE(append_http_response_head(ok, out));
}

TEST(HttpResponseTest, ErrorResponse) {
    EXPECT_EQ(http_error_response(404),
              "HTTP/1.1 404 Not Found\r\n"
              "Content-Type: text/plain; charset=utf-8\r\n"
              "Content-Length: 14\r\n"
              "Cache-Control: no-store\r\n"
              "Connection: close\r\n"
              "X-Content-Type-Options: nosniff\r\n"
              "Referrer-Policy: no-referrer\r\n"
              "Content-Security-Policy: default-src 'none'; style-src 'unsafe-inline'; "
              "frame-ancestors 'none'; base-uri 'none'; form-action 'none'\r\n"
              "\r\n"
              "404 Not Found\n");
}

TEST(HttpResponseTest, ErrorResponseToHeadHasNoBody) {
    const std::string r = http_error_response(404, /*head_only=*/true);
    EXPECT_NE(r.find("Content-Length: 14\r\n"), std::string::npos);
    EXPECT_EQ(r.substr(r.size() - 4), "\r\n\r\n");
    EXPECT_EQ(r.find("404 Not Found\n"), std::string::npos);
}

TEST(HttpResponseTest, MethodNotAllowedNamesTheAllowedMethods) {
    const std::string r = http_error_response(405);
    EXPECT_NE(r.find("\r\nAllow: GET, HEAD\r\n"), std::string::npos) << r;
    EXPECT_EQ(r.substr(r.size() - 23), "405 Method Not Allowed\n");
}

TEST(HttpResponseTest, UpgradeRequiredListsUpgradeInConnection) {
    const std::string r = http_error_response(
        426, false, {{"Sec-WebSocket-Version", "13"}, {"Upgrade", "websocket"}});
    EXPECT_EQ(r.find("HTTP/1.1 426 Upgrade Required\r\n"), 0u);
    EXPECT_NE(r.find("\r\nConnection: Upgrade, close\r\n"), std::string::npos) << r;
    EXPECT_NE(r.find("\r\nSec-WebSocket-Version: 13\r\n"), std::string::npos);
    EXPECT_NE(r.find("\r\nUpgrade: websocket\r\n"), std::string::npos);
}

TEST(HttpResponseTest, ErrorResponseDropsUnsafeExtras) {
    const std::string r =
        http_error_response(400, false, {{"X-Bad", "a\r\nInjected: 1"}, {"X-Good", "1"}});
    EXPECT_EQ(r.find("Injected"), std::string::npos);
    EXPECT_EQ(r.find("X-Bad"), std::string::npos);
    EXPECT_NE(r.find("\r\nX-Good: 1\r\n"), std::string::npos);
}

TEST(HttpResponseTest, HtmlEscape) {
    EXPECT_EQ(html_escape("<script>alert(\"x&y\")</script>'"),
              "&lt;script&gt;alert(&quot;x&amp;y&quot;)&lt;/script&gt;&#39;");
    EXPECT_EQ(html_escape("plain caf\xc3\xa9"), "plain caf\xc3\xa9");
    EXPECT_EQ(html_escape(""), "");
    EXPECT_EQ(html_escape("&amp;"), "&amp;amp;");
}

TEST(HttpResponseTest, PercentEncode) {
    EXPECT_EQ(percent_encode("a b/c?d#\xc3\xa9&=+%"), "a%20b%2Fc%3Fd%23%C3%A9%26%3D%2B%25");
    EXPECT_EQ(percent_encode("Az09-._~"), "Az09-._~");
    EXPECT_EQ(percent_encode(std::string("\0\xff", 2)), "%00%FF");
}

}  // namespace
}  // namespace rfb
