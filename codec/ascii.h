#pragma once

// Character classes for the text parts of wire protocols (PROXY headers, repeater IDs), which are
// ASCII whatever the locale: <cctype> would consult the locale, and takes an int that must not
// be a negative char.
namespace rfb {

inline bool is_ascii_digit(char c) {
    return c >= '0' && c <= '9';
}

}  // namespace rfb
