#pragma once
#include <string>
#include <string_view>

namespace rfbcast {

// Per-ID secrets for dynamic repeater IDs. With a key file configured, a server proves it may
// claim ID X by dialling in as "ID:X:<token>", where the token is derived from the key, so
// nobody has to hand out or store one secret per ID:
//   token = first 32 hex digits (lower case) of HMAC-SHA256(key, "rfbcast-repeater-id:" + X)
// 128 bits cannot be guessed, and the 32 characters fit the repeater header's secret field.
inline constexpr std::string_view kRepeaterTokenContext = "rfbcast-repeater-id:";
inline constexpr size_t kRepeaterTokenLength = 32;

// The token for `id`; empty if `key` is empty (a configuration error the caller must refuse:
// an empty key would make every token public) or if the MAC fails.
std::string repeater_token(std::string_view key, std::string_view id);

// True when `presented` is the token for `id`. Hex digits compare without regard to case. Takes
// the same time whatever bytes differ, so a server cannot time its way to a token. False for an
// empty key.
bool repeater_token_matches(std::string_view key, std::string_view id, std::string_view presented);

// The name the helper brief used; same function.
inline bool token_matches(std::string_view key, std::string_view id, std::string_view presented) {
    return repeater_token_matches(key, id, presented);
}

}  // namespace rfbcast
