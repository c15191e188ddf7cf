#pragma once
#include <cstddef>
#include <cstdint>

namespace rfb {

// Zeroes secret material (keys, passwords, shared secrets) so that it does not outlive its use;
// stores through a volatile pointer, which the compiler may not drop as dead.
inline void secure_wipe(void* p, size_t n) {
    volatile uint8_t* v = static_cast<volatile uint8_t*>(p);
    for (size_t i = 0; i < n; ++i)
        v[i] = 0;
}

}  // namespace rfb
