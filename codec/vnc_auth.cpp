#include "codec/vnc_auth.h"

#include <nettle/des.h>

#include <cstring>

#include "codec/secure_wipe.h"

namespace rfb {

namespace {

uint8_t reverse_bits(uint8_t b) {
    uint8_t r = 0;
    for (int i = 0; i < 8; ++i) {
        r = static_cast<uint8_t>((r << 1) | (b & 1));
        b = static_cast<uint8_t>(b >> 1);
    }
    return r;
}

}  // namespace

std::array<uint8_t, 16> vnc_auth_response(std::span<const uint8_t, 16> challenge,
                                          std::string_view password) {
    uint8_t key[DES_KEY_SIZE] = {};
    for (size_t i = 0; i < DES_KEY_SIZE && i < password.size(); ++i)
        key[i] = reverse_bits(static_cast<uint8_t>(password[i]));

    // des_set_key returns 0 for the weak keys, but nettle (>= 2.0) expands every key anyway
    // and ignores the parity bits. Weak keys are real VNC keys: the empty password gives the
    // all-zero key. So the return value is deliberately ignored; the unit tests pin the
    // weak-key results against an independent DES.
    struct des_ctx ctx;
    (void)des_set_key(&ctx, key);
    std::array<uint8_t, 16> out{};
    des_encrypt(&ctx, out.size(), out.data(), challenge.data());
    secure_wipe(&ctx, sizeof ctx);
    secure_wipe(key, sizeof key);
    return out;
}

bool vnc_auth_check(std::span<const uint8_t, 16> challenge, std::span<const uint8_t, 16> response,
                    std::string_view password) {
    std::array<uint8_t, 16> expected = vnc_auth_response(challenge, password);
    uint8_t diff = 0;
    for (size_t i = 0; i < expected.size(); ++i)
        diff |= expected[i] ^ response[i];
    secure_wipe(expected.data(), expected.size());
    return diff == 0;
}

}  // namespace rfb
