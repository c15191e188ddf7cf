#include "codec/http_response.h"

#include <algorithm>
#include <cstring>

namespace rfb {
namespace {

bool valid_name(std::string_view name) {
    if (name.empty()) return false;
    for (char ch : name) {
        const auto c = static_cast<unsigned char>(ch);
        const bool alnum =
            (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
        if (!alnum && (c == 0 || std::strchr("!#$%&'*+-.^_`|~", c) == nullptr)) return false;
    }
    return true;
}

// Visible ASCII, SP, HTAB and bytes >= 0x80; no leading or trailing whitespace (it would be
// trimmed by the reader and so change nothing, but a value we write should read back as is).
bool valid_value(std::string_view value) {
    for (char ch : value) {
        const auto c = static_cast<unsigned char>(ch);
        if ((c < 0x20 && c != '\t') || c == 0x7f) return false;
    }
    if (!value.empty()) {
        const char first = value.front(), last = value.back();
        if (first == ' ' || first == '\t' || last == ' ' || last == '\t') return false;
    }
    return true;
}

void field(std::string& out, std::string_view name, std::string_view value) {
    out.append(name);
    out.append(": ");
    out.append(value);
    out.append("\r\n");
}

}  // namespace

std::string_view http_reason_phrase(int status) {
    switch (status) {
        case 101:
            return "Switching Protocols";
        case 200:
            return "OK";
        case 204:
            return "No Content";
        case 301:
            return "Moved Permanently";
        case 302:
            return "Found";
        case 304:
            return "Not Modified";
        case 307:
            return "Temporary Redirect";
        case 308:
            return "Permanent Redirect";
        case 400:
            return "Bad Request";
        case 401:
            return "Unauthorized";
        case 403:
            return "Forbidden";
        case 404:
            return "Not Found";
        case 405:
            return "Method Not Allowed";
        case 408:
            return "Request Timeout";
        case 413:
            return "Content Too Large";
        case 414:
            return "URI Too Long";
        case 426:
            return "Upgrade Required";
        case 429:
            return "Too Many Requests";
        case 431:
            return "Request Header Fields Too Large";
        case 500:
            return "Internal Server Error";
        case 501:
            return "Not Implemented";
        case 503:
            return "Service Unavailable";
        case 505:
            return "HTTP Version Not Supported";
        default:
            break;
    }
    if (status >= 100 && status < 200) return "Informational";
    if (status >= 200 && status < 300) return "Success";
    if (status >= 300 && status < 400) return "Redirection";
    if (status >= 400 && status < 500) return "Client Error";
    return "Server Error";
}

bool append_http_response_head(const HttpResponseHead& head, std::string& out) {
    for (std::string_view v :
         {std::string_view(head.content_type), std::string_view(head.cache_control),
          std::string_view(head.connection), std::string_view(head.referrer_policy),
          std::string_view(head.content_security_policy)})
        if (!valid_value(v)) return false;
    for (const HttpField& f : head.extra)
        if (!valid_name(f.name) || !valid_value(f.value)) return false;

    const int status = head.status >= 100 && head.status <= 599 ? head.status : 500;
    std::string h = "HTTP/1.1 ";
    h += std::to_string(status);
    h += ' ';
    h += http_reason_phrase(status);
    h += "\r\n";
    if (!head.content_type.empty()) field(h, "Content-Type", head.content_type);
    if (head.content_length) field(h, "Content-Length", std::to_string(*head.content_length));
    if (!head.cache_control.empty()) field(h, "Cache-Control", head.cache_control);
    if (!head.connection.empty()) field(h, "Connection", head.connection);
    if (head.nosniff) field(h, "X-Content-Type-Options", "nosniff");
    if (!head.referrer_policy.empty()) field(h, "Referrer-Policy", head.referrer_policy);
    if (!head.content_security_policy.empty())
        field(h, "Content-Security-Policy", head.content_security_policy);
    for (const HttpField& f : head.extra)
        field(h, f.name, f.value);
    h += "\r\n";
    out += h;
    return true;
}

std::string http_error_response(int status, bool head_only, const std::vector<HttpField>& extra) {
    const int code = status >= 100 && status <= 599 ? status : 500;
    std::string body = std::to_string(code);
    body += ' ';
    body += http_reason_phrase(code);
    body += '\n';

    HttpResponseHead head;
    head.status = code;
    head.content_type = "text/plain; charset=utf-8";
    head.content_length = body.size();
    head.content_security_policy = std::string(kStrictCsp);
    if (code == 405) head.extra.push_back({"Allow", "GET, HEAD"});
    for (const HttpField& f : extra) {
        if (!valid_name(f.name) || !valid_value(f.value)) continue;
        head.extra.push_back(f);
        // RFC 9110 §7.8: whoever sends Upgrade also lists it in Connection (426 does both).
        if (http_name_equal(f.name, "Upgrade")) head.connection = "Upgrade, close";
    }

    std::string out;
    append_http_response_head(head, out);  // every field here was checked above
    if (!head_only) out += body;
    return out;
}

std::string html_escape(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (char c : text) {
        switch (c) {
            case '&':
                out += "&amp;";
                break;
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '"':
                out += "&quot;";
                break;
            case '\'':
                out += "&#39;";
                break;
            default:
                out += c;
                break;
        }
    }
    return out;
}

std::string percent_encode(std::string_view text) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(text.size());
    for (char ch : text) {
        const auto c = static_cast<unsigned char>(ch);
        const bool unreserved = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
                                (c >= 'A' && c <= 'Z') || c == '-' || c == '.' || c == '_' ||
                                c == '~';
        if (unreserved) {
            out += ch;
        } else {
            out += '%';
            out += kHex[c >> 4];
            out += kHex[c & 0xf];
        }
    }
    return out;
}

}  // namespace rfb
