#pragma once
#include <cstdarg>
#include <string>
#include <string_view>

namespace rfbcast {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };
enum class LogFormat { kText, kJson };

// Process-wide logger writing one line per event to stderr. Call sites pass an event name and
// printf-style key=value details (reflector/log_fields.h says how they are split); secrets must
// never be passed in.
//
// Text: `<ts> <level> <event> <details>`. JSON: one flat object per line, every value a string:
// {"ts":"…","level":"…","event":"…","<key>":"<value>",…} with the details' keys in the order
// written and free text that did not parse under "msg". A key that repeats (or that is ts, level
// or event) is suffixed _2, _3, … so no value is dropped and the object has no duplicate names.
// Bytes that are not valid UTF-8 become U+FFFD, control bytes six-character escapes (backslash
// u00XX). In both formats a secret-looking key (is_secret_log_key) has its value replaced with
// [redacted].
void log_configure(LogLevel level, LogFormat format);
bool log_enabled(LogLevel level);
bool parse_log_level(const std::string& s, LogLevel& out);
const char* log_level_name(LogLevel level);
void log_event(LogLevel level, const char* event, const char* fmt = nullptr, ...)
    __attribute__((format(printf, 3, 4)));

// Where finished lines go: stderr unless a sink is set (tests capture lines this way). The sink
// gets each whole line, newline included; nullptr restores stderr. Set it while nothing logs.
using LogSink = void (*)(std::string_view line);
void log_set_sink(LogSink sink);

#define RFB_LOG(level, event, ...)                                                          \
    do {                                                                                    \
        if (::rfbcast::log_enabled(level)) ::rfbcast::log_event(level, event, __VA_ARGS__); \
    } while (0)
#define LOG_DEBUG(event, ...) RFB_LOG(::rfbcast::LogLevel::kDebug, event, __VA_ARGS__)
#define LOG_INFO(event, ...) RFB_LOG(::rfbcast::LogLevel::kInfo, event, __VA_ARGS__)
#define LOG_WARN(event, ...) RFB_LOG(::rfbcast::LogLevel::kWarn, event, __VA_ARGS__)
#define LOG_ERROR(event, ...) RFB_LOG(::rfbcast::LogLevel::kError, event, __VA_ARGS__)

}  // namespace rfbcast
