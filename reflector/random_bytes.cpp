#include "reflector/random_bytes.h"

#include <sys/random.h>

#include <cerrno>

namespace rfbcast {

bool fill_random(std::span<uint8_t> out) {
    size_t got = 0;
    while (got < out.size()) {
        const ssize_t n = ::getrandom(out.data() + got, out.size() - got, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        got += static_cast<size_t>(n);
    }
    return true;
}

}  // namespace rfbcast
