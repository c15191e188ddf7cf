#pragma once
#include <cstddef>
#include <string>
#include <string_view>

namespace rfbcast {

// Text from outside (configuration entries, a peer's reply) quoted in a message: every byte
// outside printable ASCII (0x20-0x7e) becomes '?', so that no control byte or escape sequence
// reaches a terminal or splits a log line. At most max_length bytes of it are kept.
inline std::string printable_ascii(std::string_view text,
                                   size_t max_length = std::string_view::npos) {
    std::string out(text.substr(0, max_length));
    for (char& c : out)
        if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) c = '?';
    return out;
}

}  // namespace rfbcast
