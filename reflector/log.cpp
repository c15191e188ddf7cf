#include "reflector/log.h"

#include <cstdio>
#include <ctime>
#include <string>

namespace rfbcast {

namespace {
LogLevel g_level = LogLevel::kInfo;
LogFormat g_format = LogFormat::kText;

void json_escape(const char* s, std::string& out) {
    for (; *s; ++s) {
        const unsigned char c = static_cast<unsigned char>(*s);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += static_cast<char>(c);
        } else if (c < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", c);
            out += buf;
        } else {
            out += static_cast<char>(c);
        }
    }
}
}  // namespace

const char* log_level_name(LogLevel l) {
    switch (l) {
        case LogLevel::kDebug:
            return "debug";
        case LogLevel::kInfo:
            return "info";
        case LogLevel::kWarn:
            return "warn";
        default:
            return "error";
    }
}

void log_configure(LogLevel level, LogFormat format) {
    g_level = level;
    g_format = format;
}

bool log_enabled(LogLevel level) {
    return level >= g_level;
}

bool parse_log_level(const std::string& s, LogLevel& out) {
    if (s == "debug")
        out = LogLevel::kDebug;
    else if (s == "info")
        out = LogLevel::kInfo;
    else if (s == "warn" || s == "warning")
        out = LogLevel::kWarn;
    else if (s == "error")
        out = LogLevel::kError;
    else
        return false;
    return true;
}

void log_event(LogLevel level, const char* event, const char* fmt, ...) {
    char details[2048] = "";
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        std::vsnprintf(details, sizeof details, fmt, ap);
        va_end(ap);
    }
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    tm t{};
    gmtime_r(&ts.tv_sec, &t);
    char when[96];
    std::snprintf(when, sizeof when, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", t.tm_year + 1900,
                  t.tm_mon + 1, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec, ts.tv_nsec / 1000000);
    std::string line;
    if (g_format == LogFormat::kJson) {
        line = std::string("{\"ts\":\"") + when + "\",\"level\":\"" + log_level_name(level) +
               "\",\"event\":\"";
        json_escape(event, line);
        line += "\",\"details\":\"";
        json_escape(details, line);
        line += "\"}\n";
    } else {
        line = std::string(when) + " " + log_level_name(level) + " " + event;
        if (details[0]) line += std::string(" ") + details;
        line += "\n";
    }
    std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace rfbcast
