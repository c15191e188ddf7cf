#include "reflector/repeater_token.h"

#include "reflector/hmac_hex.h"

namespace rfbcast {

std::string repeater_token(std::string_view key, std::string_view id) {
    std::string message(kRepeaterTokenContext);
    message.append(id);
    return hmac_sha256_hex(key, message, kRepeaterTokenLength);
}

bool repeater_token_matches(std::string_view key, std::string_view id, std::string_view presented) {
    const std::string expected = repeater_token(key, id);
    // The length is public (always 32); only the content must not leak through timing.
    if (expected.empty() || presented.size() != expected.size()) return false;
    unsigned diff = 0;
    for (size_t i = 0; i < expected.size(); ++i) {
        unsigned char c = static_cast<unsigned char>(presented[i]);
        // Fold 'A'-'F' to lower case without a data-dependent branch; other bytes keep their
        // value, and 0x20 set on a non-letter cannot turn it into a hex digit it was not.
        const unsigned is_upper_hex = static_cast<unsigned>((c >= 'A') & (c <= 'F'));
        c = static_cast<unsigned char>(c | (is_upper_hex << 5));
        diff |= c ^ static_cast<unsigned char>(expected[i]);
    }
    return diff == 0;
}

}  // namespace rfbcast
