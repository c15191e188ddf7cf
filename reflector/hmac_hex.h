#pragma once
#include <cstddef>
#include <string>
#include <string_view>

namespace rfbcast {

// The first `hex_digits` (even, at most 64) lower-case hex digits of HMAC-SHA256(key, message):
// the form of rfbcast's signed repeater IDs and browser links. Empty when the key is empty (an
// empty key would make every token public) or the MAC fails.
std::string hmac_sha256_hex(std::string_view key, std::string_view message, size_t hex_digits);

}  // namespace rfbcast
