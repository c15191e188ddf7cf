#include "reflector/web_token.h"

#include <nettle/memops.h>

#include <charconv>

#include "reflector/hmac_hex.h"

namespace rfbcast {
namespace {

constexpr size_t kMacHexDigits = 32;

std::string mac_hex(std::string_view key, std::string_view session, char access,
                    std::string_view expiry) {
    std::string message = "rfbcast-web:";
    message.append(session);
    message += ':';
    message += access;
    message += ':';
    message.append(expiry);
    return hmac_sha256_hex(key, message, kMacHexDigits);
}

}  // namespace

const char* to_string(WebAccess a) {
    switch (a) {
        case WebAccess::kView:
            return "view";
        case WebAccess::kControl:
            return "control";
        default:
            return "none";
    }
}

std::string make_web_token(std::string_view key, std::string_view session, WebAccess access,
                           int64_t expiry_unix) {
    if (key.empty() || access == WebAccess::kNone) return {};
    const char a = access == WebAccess::kControl ? 'c' : 'v';
    const std::string expiry = std::to_string(expiry_unix);
    const std::string mac = mac_hex(key, session, a, expiry);
    if (mac.empty()) return {};
    return expiry + "." + a + "." + mac;
}

bool web_token_equal(std::string_view expected, std::string_view presented) {
    return expected.size() == presented.size() && !expected.empty() &&
           memeql_sec(expected.data(), presented.data(), expected.size()) != 0;
}

WebTokenCheck check_web_token(std::string_view key, std::string_view session,
                              std::string_view token, int64_t now_unix, WebAccess& access) {
    if (key.empty()) return WebTokenCheck::kInvalid;
    const size_t dot1 = token.find('.');
    if (dot1 == std::string_view::npos || dot1 == 0 || dot1 > 19) return WebTokenCheck::kInvalid;
    const std::string_view expiry = token.substr(0, dot1);
    if (token.size() != dot1 + 3 + kMacHexDigits || token[dot1 + 2] != '.')
        return WebTokenCheck::kInvalid;
    const char a = token[dot1 + 1];
    if (a != 'v' && a != 'c') return WebTokenCheck::kInvalid;
    int64_t when = 0;
    const auto [end, ec] = std::from_chars(expiry.data(), expiry.data() + expiry.size(), when);
    if (ec != std::errc() || end != expiry.data() + expiry.size() || when < 0)
        return WebTokenCheck::kInvalid;
    // The MAC first: an expired token is only reported as such when it is genuine.
    if (!web_token_equal(mac_hex(key, session, a, expiry), token.substr(dot1 + 3)))
        return WebTokenCheck::kInvalid;
    if (now_unix >= when) return WebTokenCheck::kExpired;
    access = a == 'c' ? WebAccess::kControl : WebAccess::kView;
    return WebTokenCheck::kValid;
}

}  // namespace rfbcast
