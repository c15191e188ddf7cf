#pragma once
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace rfbcast {

// One key=value pair of a log line's details, in the order written.
struct LogField {
    std::string key;
    std::string value;  // quotes removed, \" and \\ unescaped
    // Where the value stands in the details string as written (quotes included), so that the
    // text format can replace a redacted value without re-rendering the rest of the line.
    size_t raw_begin = 0;
    size_t raw_end = 0;
    bool free_text = false;  // the "msg" field that holds what did not parse as key=value
    bool redacted = false;
};

// At most this many fields per line; the last one is reserved for the unparsed remainder, so at
// most kLogMaxFields - 1 key=value pairs are split out and anything after them stays in "msg".
constexpr size_t kLogMaxFields = 64;
constexpr std::string_view kLogFreeTextKey = "msg";
constexpr std::string_view kLogRedacted = "[redacted]";

// Splits details such as `session=lab1 reason="bad \"x\""` into ordered pairs. Pairs are
// separated by spaces; a key is [A-Za-z0-9_.-]+; a value is bare (up to the next space) or
// double-quoted with \" and \\ escapes (other backslashes are kept as written). A quote left open
// (the line was cut at log.cpp's cap) ends the value at the end of the input. From the first
// token that is not a well-formed pair (free text, or text glued to a closing quote) the rest of
// the input, trailing spaces removed, becomes one field "msg" with free_text set: nothing is
// lost. Keys may repeat; the caller decides what duplicates mean.
std::vector<LogField> parse_log_fields(std::string_view details);

// True when a key names a secret: it contains (case-insensitively) "password", "secret", "token"
// or "key", where "key" inside "keysym" or "keycode" does not count.
bool is_secret_log_key(std::string_view key);

// Last line of defence against a call site that logs a secret: replaces the value of every
// secret field with kLogRedacted (and sets `redacted`), and returns `details` with the same
// values replaced, everything else byte for byte as written. In the free-text field, everything
// from the first secret-looking "key=" on is redacted, since where such a value ends is unknown.
std::string redact_log_fields(std::string_view details, std::vector<LogField>& fields);

// For call sites that put text a peer chose between quotes (reason=\"%s\"): escapes " and \ so
// that the value parses back exactly and cannot close the quotes early to forge other fields.
std::string log_escape_quoted(std::string_view value);

}  // namespace rfbcast
