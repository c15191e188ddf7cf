#include "reflector/hmac_hex.h"

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include <algorithm>
#include <array>
#include <cstdint>

namespace rfbcast {

std::string hmac_sha256_hex(std::string_view key, std::string_view message, size_t hex_digits) {
    if (key.empty()) return {};
    std::array<uint8_t, 32> mac{};
    if (gnutls_hmac_fast(GNUTLS_MAC_SHA256, key.data(), key.size(), message.data(), message.size(),
                         mac.data()) != 0)
        return {};
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    const size_t bytes = std::min(hex_digits / 2, mac.size());
    out.reserve(bytes * 2);
    for (size_t i = 0; i < bytes; ++i) {
        out.push_back(kHex[mac[i] >> 4]);
        out.push_back(kHex[mac[i] & 0xf]);
    }
    return out;
}

}  // namespace rfbcast
