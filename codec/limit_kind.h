#pragma once
#include <cstdint>

namespace rfb {

// Which size cap a parser refused input for, so the reflector can count it (issue 9) without
// reading the error text. kNone: the error was not a cap (malformed input).
enum class LimitKind : uint8_t {
    kNone,
    kCutText,
    kFramebufferSize,
    kCursorSize,
    kFence,
    kEncodings,
    kDesktopName,
    kScreens,
};

}  // namespace rfb
