#pragma once
#include <array>
#include <cstdint>
#include <span>
#include <string_view>

namespace rfb {

inline constexpr size_t kVncAuthChallengeSize = 16;

// The 16-byte VNC Authentication response: the challenge DES-ECB-encrypted with a key made from
// the first 8 password bytes (zero-padded), each byte bit-reversed as VNC has always done.
// Bytes of the password beyond the eighth are ignored, as every VNC implementation does.
std::array<uint8_t, 16> vnc_auth_response(std::span<const uint8_t, 16> challenge,
                                          std::string_view password);

// True when `response` is the right answer to `challenge` for `password`. The comparison
// takes the same time whatever bytes differ, so a peer cannot time its way to the answer.
bool vnc_auth_check(std::span<const uint8_t, 16> challenge, std::span<const uint8_t, 16> response,
                    std::string_view password);

}  // namespace rfb
