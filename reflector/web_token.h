#pragma once
#include <cstdint>
#include <string>
#include <string_view>

// Browser links that carry their own permission (issue 8): a teacher shares one link that opens
// the class screen view-only and another with control, without handing out a VNC password.
//
// Two kinds, both passed as ?token=... on the page and the WebSocket URL:
//  - static: a session's web_view_token_file / web_control_token_file hold a fixed token;
//  - signed: with a key (web_token_key_file), "<expiry>.<v|c>.<mac>" where
//      mac = first 32 hex digits of HMAC-SHA256(key, "rfbcast-web:" session ":" v|c ":" expiry)
//    and expiry is a Unix time in seconds. It names its session, so a link for one session
//    opens no other, and it stops working at its expiry without any state on the server.
namespace rfbcast {

enum class WebAccess { kNone, kView, kControl };
const char* to_string(WebAccess a);

// A signed token; empty when the key is empty or the MAC fails.
std::string make_web_token(std::string_view key, std::string_view session, WebAccess access,
                           int64_t expiry_unix);

enum class WebTokenCheck { kValid, kExpired, kInvalid };
// Checks a signed token for `session` at `now_unix`; on kValid `access` is what it grants. Takes
// the same time whatever bytes of the MAC differ.
WebTokenCheck check_web_token(std::string_view key, std::string_view session,
                              std::string_view token, int64_t now_unix, WebAccess& access);

// Constant-time equality for static tokens (the length may leak; the content does not).
bool web_token_equal(std::string_view expected, std::string_view presented);

}  // namespace rfbcast
