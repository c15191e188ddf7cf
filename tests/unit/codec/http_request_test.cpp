#include "codec/http_request.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

namespace rfb {
namespace {

std::span<const uint8_t> bytes(std::string_view s) {
    return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// What Chromium 120 sends for `new WebSocket("ws://127.0.0.1:6080/websockify?token=abc")` from
// a page on http://127.0.0.1:6080 (captured, key replaced by the RFC 6455 example).
const std::string kChromiumUpgrade =
    "GET /websockify?token=abc HTTP/1.1\r\n"
    "Host: 127.0.0.1:6080\r\n"
    "Connection: Upgrade\r\n"
    "Pragma: no-cache\r\n"
    "Cache-Control: no-cache\r\n"
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36\r\n"
    "Upgrade: websocket\r\n"
    "Origin: http://127.0.0.1:6080\r\n"
    "Sec-WebSocket-Version: 13\r\n"
    "Accept-Encoding: gzip, deflate, br\r\n"
    "Accept-Language: en-US,en;q=0.9\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
    "\r\n";

struct Outcome {
    HttpParseResult::Status status = HttpParseResult::kNeedMore;
    size_t consumed_total = 0;  // bytes of the whole input taken as head
    int http_status = 0;
    std::string error;
    HttpRequest request;
};

// Feeds `input` cut at `cuts` (ascending offsets), as a socket might deliver it.
Outcome parse_split(std::string_view input, const std::vector<size_t>& cuts) {
    HttpRequestParser p;
    Outcome o;
    size_t from = 0;
    std::vector<size_t> ends = cuts;
    ends.push_back(input.size());
    for (size_t end : ends) {
        const HttpParseResult& r = p.feed(bytes(input.substr(from, end - from)));
        if (r.status == HttpParseResult::kDone) {
            o.consumed_total = from + r.consumed;
            break;
        }
        if (r.status == HttpParseResult::kError) break;
        from = end;
    }
    o.status = p.result().status;
    o.http_status = p.result().http_status;
    o.error = p.result().error;
    if (o.status == HttpParseResult::kDone) {
        o.request = p.request();
        EXPECT_EQ(p.head_size(), o.consumed_total);
    }
    return o;
}

Outcome parse(std::string_view input) {
    return parse_split(input, {});
}

void expect_error(std::string_view input, int http_status) {
    const Outcome o = parse(input);
    const std::string_view shown = input.substr(0, 200);
    EXPECT_EQ(o.status, HttpParseResult::kError) << shown;
    EXPECT_EQ(o.http_status, http_status) << shown;
    EXPECT_FALSE(o.error.empty()) << shown;
}

std::string get(std::string_view target, std::string_view extra_headers = "") {
    return "GET " + std::string(target) + " HTTP/1.1\r\nHost: h\r\n" + std::string(extra_headers) +
           "\r\n";
}

void expect_same(const Outcome& a, const Outcome& b, const std::string& what) {
    EXPECT_EQ(a.status, b.status) << what;
    EXPECT_EQ(a.consumed_total, b.consumed_total) << what;
    EXPECT_EQ(a.http_status, b.http_status) << what;
    EXPECT_EQ(a.error, b.error) << what;
    EXPECT_EQ(a.request.target, b.request.target) << what;
    EXPECT_EQ(a.request.path, b.request.path) << what;
    ASSERT_EQ(a.request.headers.size(), b.request.headers.size()) << what;
    for (size_t i = 0; i < a.request.headers.size(); ++i) {
        EXPECT_EQ(a.request.headers[i].name, b.request.headers[i].name) << what;
        EXPECT_EQ(a.request.headers[i].value, b.request.headers[i].value) << what;
    }
}

// One cut at every position, then every byte on its own.
void expect_split_invariant(std::string_view input) {
    const Outcome whole = parse(input);
    for (size_t cut = 0; cut <= input.size(); ++cut)
        expect_same(whole, parse_split(input, {cut}), "cut at " + std::to_string(cut));
    std::vector<size_t> every;
    for (size_t i = 1; i < input.size(); ++i)
        every.push_back(i);
    expect_same(whole, parse_split(input, every), "byte by byte");
}

TEST(HttpRequestTest, ChromiumWebSocketUpgrade) {
    const std::string input = kChromiumUpgrade + "\x81\x85\x37\xfa";  // frames follow at once
    HttpRequestParser p;
    const HttpParseResult& r = p.feed(bytes(input));
    ASSERT_EQ(r.status, HttpParseResult::kDone) << r.error;
    EXPECT_EQ(r.consumed, kChromiumUpgrade.size());
    EXPECT_EQ(p.head_size(), kChromiumUpgrade.size());
    const HttpRequest& req = p.request();
    EXPECT_EQ(req.method, "GET");
    EXPECT_FALSE(req.head_only());
    EXPECT_EQ(req.target, "/websockify?token=abc");
    EXPECT_EQ(req.path, "/websockify");
    EXPECT_EQ(req.query, "token=abc");
    ASSERT_EQ(req.query_params.size(), 1u);
    EXPECT_EQ(req.query_params[0].name, "token");
    EXPECT_EQ(req.query_params[0].value, "abc");
    EXPECT_EQ(req.version, HttpVersion::k11);
    EXPECT_EQ(req.headers.size(), 12u);
    ASSERT_NE(req.header("host"), nullptr);
    EXPECT_EQ(*req.header("HOST"), "127.0.0.1:6080");
    EXPECT_EQ(*req.header("sec-websocket-key"), "dGhlIHNhbXBsZSBub25jZQ==");
    EXPECT_EQ(*req.header("Sec-WebSocket-Extensions"),
              "permessage-deflate; client_max_window_bits");
    EXPECT_TRUE(req.header_has_token("connection", "upgrade"));
    EXPECT_TRUE(req.header_has_token("Upgrade", "WebSocket"));
    EXPECT_FALSE(req.header_has_token("Upgrade", "websock"));
    const std::vector<std::string_view> enc = req.header_tokens("Accept-Encoding");
    ASSERT_EQ(enc.size(), 3u);
    EXPECT_EQ(enc[0], "gzip");
    EXPECT_EQ(enc[1], "deflate");
    EXPECT_EQ(enc[2], "br");
    EXPECT_EQ(req.header("X-Missing"), nullptr);
    EXPECT_EQ(req.header_count("Host"), 1u);

    // Final: the next feed takes nothing.
    const HttpParseResult& again = p.feed(bytes("more"));
    EXPECT_EQ(again.status, HttpParseResult::kDone);
    EXPECT_EQ(again.consumed, 0u);
}

TEST(HttpRequestTest, SplitAtEveryBoundaryGivesTheSameRequest) {
    expect_split_invariant(kChromiumUpgrade + "trailing frame bytes");
    expect_split_invariant("\r\n" + get("/a%20b?x=1+2&y=%41", "Connection: keep-alive\r\n"));
}

TEST(HttpRequestTest, SplitAtEveryBoundaryGivesTheSameError) {
    expect_split_invariant("POST / HTTP/1.1\r\nHost: h\r\n\r\n");
    expect_split_invariant("GET / HTTP/1.1\nHost: h\n\n");
    expect_split_invariant("GET /../x HTTP/1.1\r\nHost: h\r\n\r\n");
    expect_split_invariant("GET / HTTP/1.1\r\nHost: h\r\n folded\r\n\r\n");
    expect_split_invariant("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc");
    expect_split_invariant("GET /" + std::string(3000, 'a') + " HTTP/1.1\r\n\r\n");
}

TEST(HttpRequestTest, EveryProperPrefixNeedsMore) {
    const std::string& in = kChromiumUpgrade;
    for (size_t n = 0; n < in.size(); ++n) {
        HttpRequestParser p;
        const HttpParseResult& r = p.feed(bytes(std::string_view(in).substr(0, n)));
        EXPECT_EQ(r.status, HttpParseResult::kNeedMore) << n;
        EXPECT_EQ(r.consumed, 0u) << n;
    }
}

TEST(HttpRequestTest, HeadAndHttp10) {
    const Outcome o = parse("HEAD /index.html HTTP/1.0\r\n\r\n");
    ASSERT_EQ(o.status, HttpParseResult::kDone) << o.error;
    EXPECT_TRUE(o.request.head_only());
    EXPECT_EQ(o.request.version, HttpVersion::k10);
    EXPECT_EQ(o.request.path, "/index.html");
    EXPECT_TRUE(o.request.headers.empty());
}

TEST(HttpRequestTest, KeepAliveFollowsTheVersionAndConnectionHeader) {
    auto keep = [](const std::string& head) {
        const Outcome o = parse(head);
        EXPECT_EQ(o.status, HttpParseResult::kDone) << o.error;
        return o.request.keep_alive();
    };
    EXPECT_TRUE(keep("GET / HTTP/1.1\r\nHost: h\r\n\r\n"));
    EXPECT_FALSE(keep("GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"));
    EXPECT_FALSE(keep("GET / HTTP/1.1\r\nHost: h\r\nConnection: Upgrade, CLOSE\r\n\r\n"));
    EXPECT_FALSE(keep("GET / HTTP/1.0\r\n\r\n"));
    EXPECT_TRUE(keep("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"));
    EXPECT_FALSE(keep("GET / HTTP/1.0\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n"));
}

TEST(HttpRequestTest, HigherHttp1MinorIsTreatedAs11) {
    const Outcome o = parse("GET / HTTP/1.7\r\nHost: h\r\n\r\n");
    ASSERT_EQ(o.status, HttpParseResult::kDone) << o.error;
    EXPECT_EQ(o.request.version, HttpVersion::k11);
}

TEST(HttpRequestTest, LeadingEmptyLinesAreSkippedAndCounted) {
    const std::string in = "\r\n\r\n" + get("/");
    const Outcome o = parse(in);
    ASSERT_EQ(o.status, HttpParseResult::kDone) << o.error;
    EXPECT_EQ(o.consumed_total, in.size());
    EXPECT_EQ(o.request.path, "/");
}

TEST(HttpRequestTest, PathIsPercentDecoded) {
    const Outcome o = parse(get("/a%20b/c%2Fd/%C3%A9+x/..a/a../."));
    ASSERT_EQ(o.status, HttpParseResult::kDone) << o.error;
    EXPECT_EQ(o.request.path, "/a b/c/d/\xC3\xA9+x/..a/a../.");  // '+' is literal in a path
    EXPECT_EQ(o.request.target, "/a%20b/c%2Fd/%C3%A9+x/..a/a../.");
    EXPECT_TRUE(o.request.query.empty());
    EXPECT_TRUE(o.request.query_params.empty());
}

TEST(HttpRequestTest, QueryParameters) {
    const Outcome o =
        parse(get("/vnc.html?host=a&port=5900&path=websockify%3Ftoken%3Dabc&name=a+b%2B&empty="
                  "&flag&&=v&x=%41%7e&x=2"));
    ASSERT_EQ(o.status, HttpParseResult::kDone) << o.error;
    const auto& q = o.request.query_params;
    ASSERT_EQ(q.size(), 9u);
    const std::pair<std::string, std::string> want[] = {
        {"host", "a"},    {"port", "5900"}, {"path", "websockify?token=abc"},
        {"name", "a b+"}, {"empty", ""},    {"flag", ""},
        {"", "v"},        {"x", "A~"},      {"x", "2"}};
    for (size_t i = 0; i < 9; ++i) {
        EXPECT_EQ(q[i].name, want[i].first) << i;
        EXPECT_EQ(q[i].value, want[i].second) << i;
    }
    ASSERT_NE(o.request.query_param("x"), nullptr);
    EXPECT_EQ(*o.request.query_param("x"), "A~");
    EXPECT_EQ(o.request.query_param("X"), nullptr);
    EXPECT_EQ(o.request.path, "/vnc.html");
}

TEST(HttpRequestTest, QueryParameterCap) {
    std::string q32, q33;
    for (int i = 0; i < 32; ++i)
        q32 += "&p" + std::to_string(i) + "=1";
    q33 = q32 + "&last=1";
    const Outcome ok = parse(get("/?" + q32.substr(1)));
    ASSERT_EQ(ok.status, HttpParseResult::kDone) << ok.error;
    EXPECT_EQ(ok.request.query_params.size(), 32u);
    expect_error(get("/?" + q33.substr(1)), 400);
}

TEST(HttpRequestTest, DotDotSegmentsAreRefused) {
    for (const char* t : {"/..", "/../etc/passwd", "/a/..", "/a/../b", "/a/%2e%2e/b", "/a/%2E%2E",
                          "/a%2F..%2Fb", "/a/.%2e/b"})
        expect_error(get(t), 400);
}

TEST(HttpRequestTest, ControlBytesInPathAreRefused) {
    for (const char* t : {"/a%00b", "/%0a", "/%0D%0AX-Injected:%201", "/%7f", "/%09"})
        expect_error(get(t), 400);
    expect_error(get("/?a=%00"), 400);
    expect_error(get("/?%00=a"), 400);
}

TEST(HttpRequestTest, InvalidPercentEncodingIsRefused) {
    for (const char* t : {"/%", "/a%4", "/%zz", "/%4g", "/?a=%", "/?a=%g0", "/?%1=b"})
        expect_error(get(t), 400);
}

TEST(HttpRequestTest, TargetMustBeAnOriginFormPath) {
    for (const char* t : {"*", "http://example.com/", "x", "?a=b", "/a#frag"})
        expect_error(get(t), 400);
    expect_error("GET /a\x7f HTTP/1.1\r\nHost: h\r\n\r\n", 400);
    expect_error("GET /\xc3\xa9 HTTP/1.1\r\nHost: h\r\n\r\n", 400);
    expect_error("GET /a\tb HTTP/1.1\r\nHost: h\r\n\r\n", 400);
}

TEST(HttpRequestTest, MethodsOtherThanGetAndHead) {
    for (const char* m : {"POST", "PUT", "DELETE", "OPTIONS", "TRACE", "CONNECT", "PATCH"})
        expect_error(std::string(m) + " / HTTP/1.1\r\nHost: h\r\n\r\n", 405);
    for (const char* m : {"BREW", "get", "Get", "PROPFIND"})
        expect_error(std::string(m) + " / HTTP/1.1\r\nHost: h\r\n\r\n", 501);
    expect_error("G(T / HTTP/1.1\r\nHost: h\r\n\r\n", 400);  // not a token
}

TEST(HttpRequestTest, MalformedRequestLines) {
    for (const char* line : {"GET /", "GET  / HTTP/1.1", "GET / HTTP/1.1 ", "GET / HTTP/1",
                             "GET / http/1.1", "GET / HTTP/1.10", "GET / HTTP/a.1",
                             " GET / HTTP/1.1", "GET\t/ HTTP/1.1", "GET / HTTP/1.1 extra"})
        expect_error(std::string(line) + "\r\nHost: h\r\n\r\n", 400);
}

TEST(HttpRequestTest, UnsupportedVersions) {
    expect_error("GET / HTTP/2.0\r\nHost: h\r\n\r\n", 505);
    expect_error("GET / HTTP/0.9\r\n\r\n", 505);
    expect_error("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505);  // HTTP/2 prior-knowledge preface
}

TEST(HttpRequestTest, HostRules) {
    expect_error("GET / HTTP/1.1\r\n\r\n", 400);
    expect_error("GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n", 400);
    expect_error("GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n", 400);
    const Outcome o = parse("GET / HTTP/1.1\r\nHost:\r\n\r\n");  // empty Host is legal
    ASSERT_EQ(o.status, HttpParseResult::kDone) << o.error;
    EXPECT_EQ(*o.request.header("Host"), "");
}

TEST(HttpRequestTest, LineEndings) {
    expect_error("GET / HTTP/1.1\nHost: h\r\n\r\n", 400);
    expect_error("GET / HTTP/1.1\r\nHost: h\n\r\n", 400);
    expect_error("GET / HTTP/1.1\r\nHost: h\r\n\n", 400);
    expect_error("\nGET / HTTP/1.1\r\nHost: h\r\n\r\n", 400);
    expect_error("GET / HTTP/1.1\r\nHost: h\rX: y\r\n\r\n", 400);  // bare CR
    expect_error("GET / HTTP/1.1\r\r\nHost: h\r\n\r\n", 400);
}

TEST(HttpRequestTest, HeaderLineSyntax) {
    expect_error(get("/", "X-A: 1\r\n continued\r\n"), 400);  // obsolete folding
    expect_error(get("/", "X-A: 1\r\n\tcontinued\r\n"), 400);
    expect_error(get("/", "X-A : 1\r\n"), 400);  // space before colon
    expect_error(get("/", "X A: 1\r\n"), 400);
    expect_error(get("/", ": 1\r\n"), 400);
    expect_error(get("/", "NoColon\r\n"), 400);
    expect_error(get("/", "X-A: a\x01z\r\n"), 400);
    expect_error(get("/", std::string("X-A: a\0z\r\n", 9)), 400);
    expect_error(get("/", "X-A: a\x7fz\r\n"), 400);

    const Outcome o = parse(get("/", "X-Tab:\t a\tb \t\r\nX-Latin: caf\xe9\r\nX-Empty:\r\n"));
    ASSERT_EQ(o.status, HttpParseResult::kDone) << o.error;
    EXPECT_EQ(*o.request.header("x-tab"), "a\tb");
    EXPECT_EQ(*o.request.header("x-latin"), "caf\xe9");
    EXPECT_EQ(*o.request.header("x-empty"), "");
}

TEST(HttpRequestTest, RequestsWithABodyAreRefused) {
    const Outcome zero = parse(get("/", "Content-Length: 0\r\n"));
    EXPECT_EQ(zero.status, HttpParseResult::kDone) << zero.error;
    const Outcome zeros = parse(get("/", "Content-Length: 000\r\n"));
    EXPECT_EQ(zeros.status, HttpParseResult::kDone) << zeros.error;
    expect_error(get("/", "Content-Length: 5\r\n"), 413);
    expect_error(get("/", "Content-Length: 99999999999999999999999999\r\n"), 413);
    expect_error(get("/", "Content-Length: 0\r\ncontent-length: 1\r\n"), 413);
    expect_error(get("/", "Content-Length: abc\r\n"), 400);
    expect_error(get("/", "Content-Length: -1\r\n"), 400);
    expect_error(get("/", "Content-Length: 0, 0\r\n"), 400);
    expect_error(get("/", "Content-Length:\r\n"), 400);
    expect_error(get("/", "Transfer-Encoding: chunked\r\n"), 501);
    expect_error(get("/", "transfer-encoding: identity\r\n"), 501);
}

TEST(HttpRequestTest, RequestLineCap) {
    // 2048 bytes including CRLF is the most allowed.
    const std::string prefix = "GET /";
    const std::string suffix = " HTTP/1.1\r\n";
    const std::string fill(kHttpMaxRequestLine - prefix.size() - suffix.size(), 'a');
    const std::string line = prefix + fill + suffix;
    ASSERT_EQ(line.size(), 2048u);
    const Outcome ok = parse(line + "Host: h\r\n\r\n");
    EXPECT_EQ(ok.status, HttpParseResult::kDone) << ok.error;

    const std::string longer = prefix + fill + "a" + suffix;
    expect_error(longer + "Host: h\r\n\r\n", 414);
    // Decided at the 2049th byte, without waiting for the end of the line.
    HttpRequestParser p;
    EXPECT_EQ(p.feed(bytes(std::string_view(longer).substr(0, 2048))).status,
              HttpParseResult::kNeedMore);
    EXPECT_EQ(p.feed(bytes(std::string_view(longer).substr(2048, 1))).http_status, 414);
}

TEST(HttpRequestTest, HeadSizeCap) {
    // Exactly 8192 bytes of head is allowed, one more is 431 as soon as it arrives.
    const std::string start = "GET / HTTP/1.1\r\nHost: h\r\n";
    std::string pad = "X-Pad: ";
    const size_t fixed = start.size() + pad.size() + 2 + 2;  // pad line's CRLF, final CRLF
    pad += std::string(kHttpMaxHeadSize - fixed, 'p') + "\r\n";
    const std::string head = start + pad + "\r\n";
    ASSERT_EQ(head.size(), 8192u);
    const Outcome ok = parse(head);
    ASSERT_EQ(ok.status, HttpParseResult::kDone) << ok.error;
    EXPECT_EQ(ok.consumed_total, 8192u);

    const std::string over = start + "X-Pad: p" + pad.substr(7) + "\r\n";
    ASSERT_EQ(over.size(), 8193u);
    expect_error(over, 431);
    HttpRequestParser p;
    EXPECT_EQ(p.feed(bytes(std::string_view(over).substr(0, 8192))).status,
              HttpParseResult::kNeedMore);
    EXPECT_EQ(p.feed(bytes(std::string_view(over).substr(8192))).http_status, 431);

    // Without any line end at all.
    expect_error("GET / HTTP/1.1\r\nX: " + std::string(9000, 'x'), 431);
}

TEST(HttpRequestTest, HeaderLineCap) {
    std::string lines;
    for (int i = 0; i < 63; ++i)
        lines += "X-" + std::to_string(i) + ": v\r\n";
    const Outcome ok = parse(get("/", lines));  // Host + 63 = 64
    ASSERT_EQ(ok.status, HttpParseResult::kDone) << ok.error;
    EXPECT_EQ(ok.request.headers.size(), 64u);
    expect_error(get("/", lines + "X-Last: v\r\n"), 431);
}

TEST(HttpRequestTest, ErrorIsFinal) {
    HttpRequestParser p;
    const HttpParseResult& r = p.feed(bytes("DELETE / HTTP/1.1\r\n"));
    EXPECT_EQ(r.status, HttpParseResult::kError);
    EXPECT_EQ(r.http_status, 405);
    EXPECT_EQ(r.consumed, 0u);
    const HttpParseResult& again = p.feed(bytes(get("/")));
    EXPECT_EQ(again.status, HttpParseResult::kError);
    EXPECT_EQ(again.http_status, 405);
    EXPECT_EQ(again.consumed, 0u);
}

TEST(HttpRequestTest, ErrorTextsDoNotQuoteTheInput) {
    for (const std::string& in : {get("/%00secret"), std::string("SECRET / HTTP/1.1\r\n\r\n"),
                                  get("/", "Secret-Name : v\r\n")}) {
        const Outcome o = parse(in);
        ASSERT_EQ(o.status, HttpParseResult::kError);
        EXPECT_EQ(o.error.find("ecret"), std::string::npos) << o.error;
        EXPECT_EQ(o.error.find("SECRET"), std::string::npos) << o.error;
    }
}

TEST(HttpRequestTest, HeaderTokensAcrossLines) {
    const Outcome o = parse(get("/",
                                "Connection: keep-alive\r\nconnection: , ,Upgrade , \r\n"
                                "X-List: Upgradex\r\n"));
    ASSERT_EQ(o.status, HttpParseResult::kDone) << o.error;
    const std::vector<std::string_view> t = o.request.header_tokens("Connection");
    ASSERT_EQ(t.size(), 2u);
    EXPECT_EQ(t[0], "keep-alive");
    EXPECT_EQ(t[1], "Upgrade");
    EXPECT_TRUE(o.request.header_has_token("CONNECTION", "KEEP-ALIVE"));
    EXPECT_TRUE(o.request.header_has_token("Connection", "upgrade"));
    EXPECT_FALSE(o.request.header_has_token("X-List", "upgrade"));
    EXPECT_FALSE(o.request.header_has_token("X-None", "upgrade"));
    EXPECT_EQ(o.request.header_count("connection"), 2u);
}

TEST(HttpRequestTest, NameEquality) {
    EXPECT_TRUE(http_name_equal("Sec-WebSocket-Key", "sec-websocket-key"));
    EXPECT_FALSE(http_name_equal("Host", "Hos"));
    EXPECT_FALSE(http_name_equal("Host", "Hosu"));
    // Only ASCII letters fold: '[' is not '{' lowered.
    EXPECT_FALSE(http_name_equal("[", "{"));
}

TEST(HttpRequestTest, ClassifyFirstBytes) {
    auto c = [](std::string_view s) { return classify_first_bytes(bytes(s)); };
    EXPECT_EQ(c(""), HttpPeek::kUndecided);
    EXPECT_EQ(c("G"), HttpPeek::kUndecided);
    EXPECT_EQ(c("GE"), HttpPeek::kUndecided);
    EXPECT_EQ(c("GET"), HttpPeek::kUndecided);
    EXPECT_EQ(c("GET "), HttpPeek::kHttp);
    EXPECT_EQ(c("GET /websockify HTTP/1.1\r\n"), HttpPeek::kHttp);
    EXPECT_EQ(c("RFB 003.008\n"), HttpPeek::kNotHttp);
    EXPECT_EQ(c("GEX"), HttpPeek::kNotHttp);
    EXPECT_EQ(c("GETX"), HttpPeek::kNotHttp);
    EXPECT_EQ(c("get "), HttpPeek::kNotHttp);
    EXPECT_EQ(c("HEAD / HTTP/1.1"), HttpPeek::kNotHttp);
    EXPECT_EQ(c(std::string_view("\0", 1)), HttpPeek::kNotHttp);
    EXPECT_EQ(c("\x16\x03\x01"), HttpPeek::kNotHttp);  // a TLS ClientHello
}

}  // namespace
}  // namespace rfb
