#pragma once
#include <cstdint>
#include <memory>
#include <vector>

namespace rfb {

// Immutable bytes shared by every viewer that sends them (an encoded tile, a cut-text message).
using SharedBytes = std::shared_ptr<const std::vector<uint8_t>>;

inline SharedBytes make_shared_bytes(std::vector<uint8_t>&& v) {
    return std::make_shared<const std::vector<uint8_t>>(std::move(v));
}

}  // namespace rfb
