#include "reflector/web_token.h"

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include <array>
#include <charconv>

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
    std::array<uint8_t, 32> mac{};
    if (gnutls_hmac_fast(GNUTLS_MAC_SHA256, key.data(), key.size(), message.data(), message.size(),
                         mac.data()) != 0)
        return {};
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    for (size_t i = 0; i < kMacHexDigits / 2; ++i) {
        out.push_back(kHex[mac[i] >> 4]);
        out.push_back(kHex[mac[i] & 0xf]);
    }
    return out;
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
    if (expected.size() != presented.size() || expected.empty()) return false;
    unsigned diff = 0;
    for (size_t i = 0; i < expected.size(); ++i)
        diff |= static_cast<unsigned char>(expected[i]) ^ static_cast<unsigned char>(presented[i]);
    return diff == 0;
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
