// libFuzzer target: HttpRequestParser, the HTTP/1.x request head in front of the noVNC page and
// WebSocket upgrades, then websocket_handshake on what it accepts.
//
// Input: parameter bytes, then the stream.
//   0     chunk count for the split parser (1 + value % 8)
//   1-2   split seed
//   3     bit 0: check the Origin against an allowed list ("http://127.0.0.1:6080")
//   next  the bytes as received, copied into a buffer of their exact size so that any read past
//         them is caught
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "codec/http_request.h"
#include "codec/http_response.h"
#include "codec/websocket_handshake.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

bool same_fields(const std::vector<rfb::HttpField>& a, const std::vector<rfb::HttpField>& b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i)
        if (a[i].name != b[i].name || a[i].value != b[i].value) return false;
    return true;
}

bool same(const rfb::HttpRequest& a, const rfb::HttpRequest& b) {
    return a.method == b.method && a.target == b.target && a.path == b.path && a.query == b.query &&
           a.version == b.version && same_fields(a.headers, b.headers) &&
           same_fields(a.query_params, b.query_params);
}

std::span<const uint8_t> as_bytes(std::string_view s) {
    return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

bool has_control(std::string_view s) {
    for (char c : s)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return true;
    return false;
}

// The head and nothing else: exactly one empty line, at its end.
void check_response_head(std::string_view r, std::string_view status_line) {
    FUZZ_CHECK(r.substr(0, status_line.size()) == status_line);
    const size_t end = r.find("\r\n\r\n");
    FUZZ_CHECK(end != std::string_view::npos);
    std::string_view head = r.substr(0, end + 2);
    // Every line of the head is "Name: value" with no stray CR or LF (nothing was injected).
    head.remove_prefix(head.find("\r\n") + 2);
    while (!head.empty()) {
        const size_t eol = head.find("\r\n");
        FUZZ_CHECK(eol != std::string_view::npos);
        const std::string_view line = head.substr(0, eol);
        FUZZ_CHECK(line.find(": ") != std::string_view::npos);
        for (char c : line)
            FUZZ_CHECK(c != '\r' && c != '\n' && c != '\0');
        head.remove_prefix(eol + 2);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    rfb::fuzz::Params p(data, size);
    const size_t chunks = 1 + p.u8() % 8;
    const uint16_t seed = p.u16();
    const uint8_t flags = p.u8();
    const auto rest = p.rest();
    const std::vector<uint8_t> stream(rest.begin(), rest.end());

    // The shared-port peek agrees with the text it looks at.
    const rfb::HttpPeek peek = rfb::classify_first_bytes(stream);
    const std::string_view get = "GET ";
    const std::string_view start(reinterpret_cast<const char*>(stream.data()),
                                 std::min<size_t>(stream.size(), 4));
    if (start == get.substr(0, start.size()))
        FUZZ_CHECK(peek == (start.size() == 4 ? rfb::HttpPeek::kHttp : rfb::HttpPeek::kUndecided));
    else
        FUZZ_CHECK(peek == rfb::HttpPeek::kNotHttp);

    rfb::HttpRequestParser whole;
    const rfb::HttpParseResult r = whole.feed(stream);
    if (rfb::fuzz::verbose())
        std::fprintf(stderr, "status %d consumed %zu http %d: %s\n", static_cast<int>(r.status),
                     r.consumed, r.http_status, r.error.c_str());

    // Split delivery: the same status, error and request; on kDone the same head length.
    rfb::HttpRequestParser split;
    size_t offset = 0;
    bool finished = false;
    for (std::span<const uint8_t> chunk : rfb::fuzz::split(stream, chunks, seed)) {
        if (!finished) {
            const rfb::HttpParseResult& s = split.feed(chunk);
            FUZZ_CHECK(s.consumed <= chunk.size());
            if (s.status != rfb::HttpParseResult::kNeedMore) {
                finished = true;
                FUZZ_CHECK(s.status == r.status);
                FUZZ_CHECK(s.http_status == r.http_status);
                FUZZ_CHECK(s.error == r.error);
                if (s.status == rfb::HttpParseResult::kDone) {
                    FUZZ_CHECK(offset + s.consumed == r.consumed);
                    FUZZ_CHECK(same(split.request(), whole.request()));
                }
            }
        }
        offset += chunk.size();
    }
    FUZZ_CHECK(finished == (r.status != rfb::HttpParseResult::kNeedMore));

    // Final: a further feed takes nothing and changes nothing.
    const uint8_t more[] = {'G', 'E', 'T', ' ', '/', '\r', '\n'};
    const rfb::HttpParseResult again = whole.feed(more);
    FUZZ_CHECK(again.consumed == 0 || r.status == rfb::HttpParseResult::kNeedMore);
    if (r.status != rfb::HttpParseResult::kNeedMore) {
        FUZZ_CHECK(again.status == r.status && again.http_status == r.http_status);
    }

    switch (r.status) {
        case rfb::HttpParseResult::kNeedMore:
            // Undecided only while within the head cap.
            FUZZ_CHECK(stream.size() <= rfb::kHttpMaxHeadSize);
            FUZZ_CHECK(r.error.empty() && r.consumed == 0);
            return 0;
        case rfb::HttpParseResult::kError: {
            FUZZ_CHECK(!r.error.empty() && r.consumed == 0);
            const int s = r.http_status;
            FUZZ_CHECK(s == 400 || s == 405 || s == 413 || s == 414 || s == 431 || s == 501 ||
                       s == 505);
            check_response_head(rfb::http_error_response(s), "HTTP/1.1 " + std::to_string(s));
            return 0;
        }
        case rfb::HttpParseResult::kDone:
            break;
    }

    const rfb::HttpRequest& req = whole.request();
    FUZZ_CHECK(r.error.empty());
    FUZZ_CHECK(r.consumed >= 4 && r.consumed <= stream.size());
    FUZZ_CHECK(whole.head_size() == r.consumed && r.consumed <= rfb::kHttpMaxHeadSize);
    FUZZ_CHECK(req.method == "GET" || req.method == "HEAD");
    FUZZ_CHECK(!req.target.empty() && req.target.size() < rfb::kHttpMaxRequestLine);
    FUZZ_CHECK(!req.path.empty() && req.path[0] == '/' && !has_control(req.path));
    FUZZ_CHECK(req.path.find("/../") == std::string::npos);
    FUZZ_CHECK(req.path.size() < 3 || req.path.substr(req.path.size() - 3) != "/..");
    FUZZ_CHECK(req.headers.size() <= rfb::kHttpMaxHeaderLines);
    FUZZ_CHECK(req.query_params.size() <= rfb::kHttpMaxQueryParams);
    for (const rfb::HttpField& h : req.headers) {
        FUZZ_CHECK(!h.name.empty() && h.name.find(':') == std::string::npos);
        for (char c : h.value)
            FUZZ_CHECK(c == '\t' || !has_control(std::string_view(&c, 1)));
    }
    FUZZ_CHECK(req.header_count("Host") <= 1);
    FUZZ_CHECK(req.header_count("Transfer-Encoding") == 0);

    // The head alone parses the same; one byte less needs more.
    const std::span<const uint8_t> head(stream.data(), r.consumed);
    rfb::HttpRequestParser alone;
    FUZZ_CHECK(alone.feed(head).status == rfb::HttpParseResult::kDone);
    FUZZ_CHECK(alone.result().consumed == r.consumed && same(alone.request(), req));
    rfb::HttpRequestParser shorter;
    FUZZ_CHECK(shorter.feed(head.first(r.consumed - 1)).status == rfb::HttpParseResult::kNeedMore);

    // Written out again in canonical form (no leading empty lines, HTTP/1.x as parsed, single
    // spaces, no whitespace around values), it reads back as the same request.
    std::string canonical =
        req.method + " " + req.target +
        (req.version == rfb::HttpVersion::k10 ? " HTTP/1.0\r\n" : " HTTP/1.1\r\n");
    for (const rfb::HttpField& h : req.headers)
        canonical += h.name + ": " + h.value + "\r\n";
    canonical += "\r\n";
    rfb::HttpRequestParser reparsed;
    FUZZ_CHECK(reparsed.feed(as_bytes(canonical)).status == rfb::HttpParseResult::kDone);
    FUZZ_CHECK(reparsed.result().consumed == canonical.size());
    FUZZ_CHECK(same(reparsed.request(), req));

    // The handshake on whatever was accepted: a 101 only for a valid upgrade, never a response
    // with an injected line.
    const std::vector<std::string> origins = {"http://127.0.0.1:6080"};
    rfb::WsHandshakeOptions opt;
    if (flags & 1) opt.allowed_origins = origins;
    const rfb::WsHandshakeResult hs = rfb::websocket_handshake(req, opt);
    if (hs.ok) {
        FUZZ_CHECK(hs.status == 101);
        FUZZ_CHECK(req.method == "GET" && req.version == rfb::HttpVersion::k11);
        FUZZ_CHECK(rfb::is_websocket_upgrade(req));
        const std::string* key = req.header("Sec-WebSocket-Key");
        FUZZ_CHECK(key != nullptr && rfb::websocket_key_valid(*key));
        FUZZ_CHECK(hs.response.find(
                       "\r\nSec-WebSocket-Accept: " + rfb::websocket_accept_value(*key) + "\r\n") !=
                   std::string::npos);
        FUZZ_CHECK(hs.response.size() >= 4 &&
                   hs.response.substr(hs.response.size() - 4) == "\r\n\r\n");
        check_response_head(hs.response, "HTTP/1.1 101 Switching Protocols\r\n");
    } else {
        FUZZ_CHECK(hs.status == 400 || hs.status == 403 || hs.status == 426);
        FUZZ_CHECK(!hs.error.empty());
        check_response_head(hs.response, "HTTP/1.1 " + std::to_string(hs.status));
    }
    return 0;
}
