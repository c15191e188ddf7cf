#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "codec/http_request.h"

// Builds HTTP/1.1 response heads and the small bodies the listener sends itself (errors, the
// session listing). Every field is checked before it is written: a name must be a token and a
// value must hold no control byte, so nothing taken from a request can split the head or start
// a new header. Bodies written here quote nothing from the request; a page that shows request
// or session data escapes it with html_escape.
namespace rfb {

// For pages the listener writes itself: nothing loads, nothing frames it, no form goes anywhere;
// inline <style> only (html_escape makes injected markup impossible, this is the second wall).
inline constexpr std::string_view kStrictCsp =
    "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'none'";

struct HttpResponseHead {
    int status = 200;                        // outside 100..599 is written as 500
    std::string content_type;                // empty: no Content-Type
    std::optional<uint64_t> content_length;  // none: no Content-Length (101, or 304)
    std::string cache_control = "no-store";  // empty: none
    std::string connection = "close";        // empty: none (e.g. 101 writes its own)
    bool nosniff = true;                     // X-Content-Type-Options: nosniff
    // Referrer-Policy: no-referrer, so that a token in the page's query string never leaves in
    // a Referer header. Empty: none.
    std::string referrer_policy = "no-referrer";
    std::string content_security_policy;  // empty: none; kStrictCsp for our own pages
    std::vector<HttpField> extra;         // written last, in order
};

// The standard reason phrase ("Not Found"); a generic one for a code not listed.
std::string_view http_reason_phrase(int status);

// Appends the head (status line, fields, empty line) to `out`. False, with `out` unchanged, if a
// field name is not a token or a value holds CR, LF, NUL or another control byte.
bool append_http_response_head(const HttpResponseHead& head, std::string& out);

// A complete response for an error or a refusal: text/plain body "<code> <reason>\n", kStrictCsp,
// Connection: close (with Upgrade added when `extra` has Upgrade), Allow: GET, HEAD on 405.
// `head_only`: the request was HEAD, so the head only (Content-Length still that of the body).
// `extra` is appended to the head (e.g. 426's Sec-WebSocket-Version); an invalid field there is
// dropped, never written.
std::string http_error_response(int status, bool head_only = false,
                                const std::vector<HttpField>& extra = {});

// For text inside HTML elements and quoted attribute values: & < > " ' become entities.
std::string html_escape(std::string_view text);

// Percent-encodes everything but RFC 3986 unreserved characters (A-Z a-z 0-9 - . _ ~), for one
// path segment or query value in a link the listener writes (a session name, say).
std::string percent_encode(std::string_view text);

}  // namespace rfb
