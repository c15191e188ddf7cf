#pragma once
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

// Incremental, sans-I/O parser for an HTTP/1.x request head (RFC 9112), for the listener that
// serves the noVNC page and accepts WebSocket upgrades. Only what that needs, strictly:
//
//   - GET and HEAD only. Other methods that RFC 9110 defines (POST, PUT, ...) get 405, which tells
//     the client the resource exists but not for that method (the response carries Allow);
//     anything else is a method we do not implement at all: 501, as RFC 9110 §9.1 says.
//   - No request bodies: Content-Length other than 0 is 413 (we accept at most 0 bytes), any
//     Transfer-Encoding is 501 (we implement no transfer coding), an unparsable Content-Length
//     is 400. A body we did not read would otherwise be parsed as the next layer's bytes.
//   - Lines end in CRLF. A bare LF is refused (400): browsers always send CRLF, and accepting what
//     a proxy in front might frame differently is how request smuggling starts (RFC 9112 §2.2
//     allows either choice). A CR anywhere but before the LF is refused too.
//   - Obsolete line folding (a header line starting with SP or HTAB) is 400 (RFC 9112 §5.2).
//   - Empty lines before the request line are skipped (RFC 9112 §2.2 SHOULD); they count
//     towards the head cap.
//   - The target must be origin-form ("/path?query"). Absolute-form ("http://host/..."), which
//     RFC 9112 says a server must accept, is refused (400): browsers and WebSocket clients only
//     send it to proxies, and it would let a target contradict Host.
//   - HTTP/1.0 and HTTP/1.1; HTTP/1.2-1.9 are treated as 1.1 (RFC 9110 §2.5); other majors 505.
//   - HTTP/1.1 without Host, or any request with more than one Host, is 400 (RFC 9112 §3.2).
//   - Header names are tokens with no space before the colon; values are trimmed of SP/HTAB and
//     may hold visible ASCII, SP, HTAB and bytes >= 0x80, no other control bytes.
//
// Caps: the head (from its first byte to the final CRLF) <= 8192 bytes (431), the request line
// including its CRLF <= 2048 (414), <= 64 header lines (431), <= 32 query parameters (400).
// Every error is decided as soon as the bytes that cause it arrive, from those bytes alone, so
// split delivery gives the same answer as one-shot delivery.
// Error texts never quote the input (it is attacker-controlled and would reach the log).
namespace rfb {

inline constexpr size_t kHttpMaxHeadSize = 8192;
inline constexpr size_t kHttpMaxRequestLine = 2048;  // including CRLF
inline constexpr size_t kHttpMaxHeaderLines = 64;
inline constexpr size_t kHttpMaxQueryParams = 32;

enum class HttpVersion : uint8_t { k10, k11 };

struct HttpField {
    std::string name;   // as received (compare with http_name_equal)
    std::string value;  // trimmed; for query parameters, percent-decoded with '+' as space
};

struct HttpRequest {
    std::string method;  // "GET" or "HEAD"
    std::string target;  // raw, as on the request line
    // Percent-decoded; starts with '/'; never holds a control byte or a ".." segment.
    std::string path;
    std::string query;                    // raw, after the first '?' (without it); empty if none
    std::vector<HttpField> query_params;  // in order, empty "&&" pieces skipped
    HttpVersion version = HttpVersion::k11;
    std::vector<HttpField> headers;  // in order

    bool head_only() const { return method == "HEAD"; }
    // RFC 9112 §9.3: HTTP/1.1 stays open unless the client says "Connection: close"; 1.0
    // closes unless it asked for keep-alive.
    bool keep_alive() const;
    // First header line with this name (ASCII case-insensitive), or nullptr.
    const std::string* header(std::string_view name) const;
    size_t header_count(std::string_view name) const;
    // The comma-separated elements of every line with this name, trimmed, empty ones skipped
    // (RFC 9110 §5.3: several lines are one list). Views into `headers`.
    std::vector<std::string_view> header_tokens(std::string_view name) const;
    // Whether one of those elements equals `token`, ASCII case-insensitive
    // (e.g. Connection: keep-alive, Upgrade contains "upgrade").
    bool header_has_token(std::string_view name, std::string_view token) const;
    // First query parameter with this exact (decoded, case-sensitive) name, or nullptr.
    const std::string* query_param(std::string_view name) const;
};

struct HttpParseResult {
    enum Status { kNeedMore, kDone, kError };
    Status status = kNeedMore;
    // kDone: bytes of the chunk just fed that were head; chunk[consumed..] belongs to the next
    // layer (e.g. WebSocket frames sent right after the upgrade request). 0 on kError.
    size_t consumed = 0;
    int http_status = 0;  // kError: the status to answer with (400, 405, 413, 414, 431, 501, 505)
    std::string error;    // kError: short reason for the log
};

// Feed each chunk as it is received. Only head bytes are kept (at most kHttpMaxHeadSize). After
// kDone or kError the result is final: further feeds return it again with consumed = 0.
class HttpRequestParser {
  public:
    const HttpParseResult& feed(std::span<const uint8_t> chunk);
    const HttpParseResult& result() const { return result_; }
    bool done() const { return result_.status != HttpParseResult::kNeedMore; }
    // kDone only.
    const HttpRequest& request() const { return request_; }
    // Bytes of the head so far (all of it once kDone).
    size_t head_size() const { return head_size_; }

  private:
    bool finish_line();
    bool parse_request_line(std::string_view line);
    bool parse_header_line(std::string_view line);
    bool finish_head();
    bool fail(int http_status, std::string reason);

    std::string line_;
    size_t head_size_ = 0;
    bool have_request_line_ = false;
    HttpRequest request_;
    HttpParseResult result_;
};

// For a port that serves both RFB and HTTP: what the first bytes a client sent say.
enum class HttpPeek { kHttp, kNotHttp, kUndecided };
// kHttp: starts with "GET ". kNotHttp: some byte differs from "GET ". kUndecided: empty or a
// proper prefix of "GET ".
HttpPeek classify_first_bytes(std::span<const uint8_t> first);

// ASCII case-insensitive equality, as header names and most header tokens compare.
bool http_name_equal(std::string_view a, std::string_view b);

}  // namespace rfb
