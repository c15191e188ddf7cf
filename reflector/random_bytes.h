#pragma once
#include <cstdint>
#include <span>

namespace rfbcast {

// Fills `out` from the kernel's random source (getrandom, retried on EINTR and short reads).
// False if the kernel refuses: callers needing secrets (challenges, salts, client nonces) must
// then not go on.
bool fill_random(std::span<uint8_t> out);

}  // namespace rfbcast
