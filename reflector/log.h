#pragma once
#include <cstdarg>
#include <string>

namespace rfbcast {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };
enum class LogFormat { kText, kJson };

// Process-wide logger writing one line per event to stderr. Call sites pass an event name and
// printf-style key=value details; secrets must never be passed in.
void log_configure(LogLevel level, LogFormat format);
bool log_enabled(LogLevel level);
bool parse_log_level(const std::string& s, LogLevel& out);
const char* log_level_name(LogLevel level);
void log_event(LogLevel level, const char* event, const char* fmt = nullptr, ...)
    __attribute__((format(printf, 3, 4)));

#define RFB_LOG(level, event, ...)                                                          \
    do {                                                                                    \
        if (::rfbcast::log_enabled(level)) ::rfbcast::log_event(level, event, __VA_ARGS__); \
    } while (0)
#define LOG_DEBUG(event, ...) RFB_LOG(::rfbcast::LogLevel::kDebug, event, __VA_ARGS__)
#define LOG_INFO(event, ...) RFB_LOG(::rfbcast::LogLevel::kInfo, event, __VA_ARGS__)
#define LOG_WARN(event, ...) RFB_LOG(::rfbcast::LogLevel::kWarn, event, __VA_ARGS__)
#define LOG_ERROR(event, ...) RFB_LOG(::rfbcast::LogLevel::kError, event, __VA_ARGS__)

}  // namespace rfbcast
