#include "codec/http_request.h"

#include <algorithm>
#include <cstring>

namespace rfb {
namespace {

bool is_tchar(unsigned char c) {
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
    return c != 0 && std::strchr("!#$%&'*+-.^_`|~", c) != nullptr;
}

bool is_token(std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
        return is_tchar(static_cast<unsigned char>(c));
    });
}

char ascii_lower(char c) {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string_view trim_ows(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
        s.remove_suffix(1);
    return s;
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

bool is_control(unsigned char c) {
    return c < 0x20 || c == 0x7f;
}

// False on a '%' not followed by two hex digits.
bool percent_decode(std::string_view in, bool plus_is_space, std::string& out) {
    out.clear();
    out.reserve(in.size());
    for (size_t i = 0; i < in.size(); ++i) {
        const char c = in[i];
        if (c == '%') {
            if (in.size() - i < 3) return false;
            const int hi = hex_value(in[i + 1]);
            const int lo = hex_value(in[i + 2]);
            if (hi < 0 || lo < 0) return false;
            out.push_back(static_cast<char>(hi * 16 + lo));
            i += 2;
        } else if (c == '+' && plus_is_space) {
            out.push_back(' ');
        } else {
            out.push_back(c);
        }
    }
    return true;
}

bool has_dot_dot_segment(std::string_view path) {
    while (!path.empty()) {
        const size_t slash = path.find('/');
        const std::string_view segment = path.substr(0, slash);
        if (segment == "..") return true;
        if (slash == std::string_view::npos) break;
        path.remove_prefix(slash + 1);
    }
    return false;
}

// Methods RFC 9110 defines (plus PATCH, RFC 5789): refused with 405 rather than 501.
bool is_known_method(std::string_view m) {
    for (std::string_view known : {"POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"})
        if (m == known) return true;
    return false;
}

}  // namespace

bool http_name_equal(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i)
        if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
    return true;
}

const std::string* HttpRequest::header(std::string_view name) const {
    for (const HttpField& f : headers)
        if (http_name_equal(f.name, name)) return &f.value;
    return nullptr;
}

size_t HttpRequest::header_count(std::string_view name) const {
    return static_cast<size_t>(
        std::count_if(headers.begin(), headers.end(),
                      [&](const HttpField& f) { return http_name_equal(f.name, name); }));
}

std::vector<std::string_view> HttpRequest::header_tokens(std::string_view name) const {
    std::vector<std::string_view> out;
    for (const HttpField& f : headers) {
        if (!http_name_equal(f.name, name)) continue;
        std::string_view rest = f.value;
        while (true) {
            const size_t comma = rest.find(',');
            const std::string_view element = trim_ows(rest.substr(0, comma));
            if (!element.empty()) out.push_back(element);
            if (comma == std::string_view::npos) break;
            rest.remove_prefix(comma + 1);
        }
    }
    return out;
}

bool HttpRequest::keep_alive() const {
    if (header_has_token("Connection", "close")) return false;
    if (version == HttpVersion::k10) return header_has_token("Connection", "keep-alive");
    return true;
}

bool HttpRequest::header_has_token(std::string_view name, std::string_view token) const {
    for (std::string_view t : header_tokens(name))
        if (http_name_equal(t, token)) return true;
    return false;
}

const std::string* HttpRequest::query_param(std::string_view name) const {
    for (const HttpField& p : query_params)
        if (p.name == name) return &p.value;
    return nullptr;
}

bool HttpRequestParser::fail(int http_status, std::string reason) {
    result_.status = HttpParseResult::kError;
    result_.consumed = 0;
    result_.http_status = http_status;
    result_.error = std::move(reason);
    request_ = HttpRequest{};
    line_.clear();
    line_.shrink_to_fit();
    return false;
}

const HttpParseResult& HttpRequestParser::feed(std::span<const uint8_t> chunk) {
    if (done()) {
        result_.consumed = 0;
        return result_;
    }
    size_t pos = 0;
    while (pos < chunk.size()) {
        const uint8_t* start = chunk.data() + pos;
        const size_t avail = chunk.size() - pos;
        const void* lf = std::memchr(start, '\n', avail);
        const size_t take = lf != nullptr
                                ? static_cast<size_t>(static_cast<const uint8_t*>(lf) - start) + 1
                                : avail;
        // Decided at the first byte past a cap, wherever the chunk boundaries fall.
        const size_t head_room = kHttpMaxHeadSize - head_size_;
        const size_t line_room =
            have_request_line_ ? head_room : kHttpMaxRequestLine - line_.size();
        if (take > std::min(head_room, line_room)) {
            if (!have_request_line_ && line_room <= head_room) {
                fail(414, "request line too long");
            } else {
                fail(431, "request head too large");
            }
            return result_;
        }
        line_.append(reinterpret_cast<const char*>(start), take);
        head_size_ += take;
        pos += take;
        if (line_.back() != '\n') break;
        if (!finish_line()) return result_;
        if (result_.status == HttpParseResult::kDone) {
            result_.consumed = pos;
            return result_;
        }
    }
    return result_;
}

bool HttpRequestParser::finish_line() {
    if (line_.size() < 2 || line_[line_.size() - 2] != '\r')
        return fail(400, "line not ended by CRLF");
    const std::string_view line(line_.data(), line_.size() - 2);
    bool ok = true;
    if (!have_request_line_) {
        if (!line.empty()) ok = parse_request_line(line);  // empty: skipped (RFC 9112 §2.2)
    } else if (line.empty()) {
        ok = finish_head();
    } else {
        ok = parse_header_line(line);
    }
    if (ok) line_.clear();
    return ok;
}

bool HttpRequestParser::parse_request_line(std::string_view line) {
    const size_t sp1 = line.find(' ');
    if (sp1 == std::string_view::npos) return fail(400, "malformed request line");
    const std::string_view method = line.substr(0, sp1);
    const std::string_view rest = line.substr(sp1 + 1);
    const size_t sp2 = rest.find(' ');
    if (sp2 == std::string_view::npos) return fail(400, "malformed request line");
    const std::string_view target = rest.substr(0, sp2);
    const std::string_view version = rest.substr(sp2 + 1);
    if (!is_token(method) || target.empty()) return fail(400, "malformed request line");

    // HTTP-version = "HTTP/" DIGIT "." DIGIT, case-sensitive.
    if (version.size() != 8 || version.substr(0, 5) != "HTTP/" || version[6] != '.' ||
        version[5] < '0' || version[5] > '9' || version[7] < '0' || version[7] > '9')
        return fail(400, "malformed HTTP version");
    if (version[5] != '1') return fail(505, "HTTP version not supported");
    request_.version = version[7] == '0' ? HttpVersion::k10 : HttpVersion::k11;

    if (method != "GET" && method != "HEAD") {
        if (is_known_method(method)) return fail(405, "method not allowed");
        return fail(501, "method not implemented");
    }

    for (char c : target) {
        const auto u = static_cast<unsigned char>(c);
        if (u <= 0x20 || u >= 0x7f || c == '#') return fail(400, "invalid byte in request target");
    }
    if (target[0] != '/') return fail(400, "request target is not a path");
    const size_t q = target.find('?');
    const std::string_view raw_path = target.substr(0, q);
    if (!percent_decode(raw_path, false, request_.path))
        return fail(400, "invalid percent-encoding in path");
    for (char c : request_.path)
        if (is_control(static_cast<unsigned char>(c))) return fail(400, "control byte in path");
    if (has_dot_dot_segment(request_.path)) return fail(400, "'..' segment in path");

    if (q != std::string_view::npos) {
        request_.query = std::string(target.substr(q + 1));
        std::string_view rest_q = request_.query;
        while (true) {
            const size_t amp = rest_q.find('&');
            const std::string_view piece = rest_q.substr(0, amp);
            if (!piece.empty()) {
                if (request_.query_params.size() == kHttpMaxQueryParams)
                    return fail(400, "too many query parameters");
                const size_t eq = piece.find('=');
                HttpField param;
                if (!percent_decode(piece.substr(0, eq), true, param.name) ||
                    (eq != std::string_view::npos &&
                     !percent_decode(piece.substr(eq + 1), true, param.value)))
                    return fail(400, "invalid percent-encoding in query");
                if (param.name.find('\0') != std::string::npos ||
                    param.value.find('\0') != std::string::npos)
                    return fail(400, "NUL in query");
                request_.query_params.push_back(std::move(param));
            }
            if (amp == std::string_view::npos) break;
            rest_q.remove_prefix(amp + 1);
        }
    }
    request_.method = std::string(method);
    request_.target = std::string(target);
    have_request_line_ = true;
    return true;
}

bool HttpRequestParser::parse_header_line(std::string_view line) {
    if (line[0] == ' ' || line[0] == '\t') return fail(400, "obsolete line folding");
    if (request_.headers.size() == kHttpMaxHeaderLines) return fail(431, "too many header lines");
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) return fail(400, "header line without colon");
    const std::string_view name = line.substr(0, colon);
    if (!is_token(name)) return fail(400, "invalid header name");
    const std::string_view raw_value = line.substr(colon + 1);
    for (char c : raw_value) {
        const auto u = static_cast<unsigned char>(c);
        if (c != '\t' && is_control(u)) return fail(400, "control byte in header value");
    }
    request_.headers.push_back(HttpField{std::string(name), std::string(trim_ows(raw_value))});
    return true;
}

bool HttpRequestParser::finish_head() {
    const size_t hosts = request_.header_count("Host");
    if (hosts > 1) return fail(400, "more than one Host header");
    if (hosts == 0 && request_.version == HttpVersion::k11) return fail(400, "no Host header");
    if (request_.header_count("Transfer-Encoding") != 0)
        return fail(501, "request with Transfer-Encoding");
    for (const HttpField& f : request_.headers) {
        if (!http_name_equal(f.name, "Content-Length")) continue;
        const std::string& v = f.value;
        if (v.empty() ||
            !std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; }))
            return fail(400, "invalid Content-Length");
        if (v.find_first_not_of('0') != std::string::npos) return fail(413, "request with a body");
    }
    line_.shrink_to_fit();
    result_.status = HttpParseResult::kDone;
    return true;
}

HttpPeek classify_first_bytes(std::span<const uint8_t> first) {
    static constexpr char kGet[] = "GET ";
    const size_t n = std::min<size_t>(first.size(), 4);
    for (size_t i = 0; i < n; ++i)
        if (first[i] != static_cast<uint8_t>(kGet[i])) return HttpPeek::kNotHttp;
    return n == 4 ? HttpPeek::kHttp : HttpPeek::kUndecided;
}

}  // namespace rfb
