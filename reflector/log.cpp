#include "reflector/log.h"

#include "reflector/log_fields.h"

#include <atomic>
#include <cstdio>
#include <ctime>
#include <string>
#include <vector>

namespace rfbcast {

namespace {
LogLevel g_level = LogLevel::kInfo;
LogFormat g_format = LogFormat::kText;
std::atomic<LogSink> g_sink{nullptr};

// Length of the well-formed UTF-8 sequence at s[i] (RFC 3629: no overlongs, no surrogates,
// nothing above U+10FFFF), or 0.
size_t utf8_sequence_length(std::string_view s, size_t i) {
    const auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
    const unsigned char c = byte(i);
    if (c < 0x80) return 1;
    size_t len = 0;
    unsigned char lo = 0x80, hi = 0xbf;  // range of the second byte
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        if (c == 0xe0) lo = 0xa0;
        if (c == 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        if (c == 0xf0) lo = 0x90;
        if (c == 0xf4) hi = 0x8f;
    } else {
        return 0;
    }
    if (len > s.size() - i) return 0;
    if (byte(i + 1) < lo || byte(i + 1) > hi) return 0;
    for (size_t k = 2; k < len; ++k)
        if ((byte(i + k) & 0xc0) != 0x80) return 0;
    return len;
}

// Peers choose some of these bytes (desktop names, reasons), so the output must be valid JSON
// whatever they are: each byte of a malformed sequence becomes U+FFFD.
void json_escape(std::string_view s, std::string& out) {
    for (size_t i = 0; i < s.size();) {
        const unsigned char c = static_cast<unsigned char>(s[i]);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += static_cast<char>(c);
            ++i;
        } else if (c < 0x20 || c == 0x7f) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", c);
            out += buf;
            ++i;
        } else if (const size_t len = utf8_sequence_length(s, i); len != 0) {
            out.append(s.substr(i, len));
            i += len;
        } else {
            out += "\\ufffd";
            ++i;
        }
    }
}

void json_member(std::string_view key, std::string_view value, std::string& out) {
    out += out.size() > 1 ? ",\"" : "\"";
    json_escape(key, out);
    out += "\":\"";
    json_escape(value, out);
    out += '"';
}

// A repeated name keeps its value under name_2, name_3, …: JSON parsers disagree on duplicate
// names (first wins, last wins, error), and dropping either value could hide what happened.
std::string unique_key(const std::string& key, const std::vector<std::string>& used) {
    const auto taken = [&](const std::string& k) {
        for (const std::string& u : used)
            if (u == k) return true;
        return false;
    };
    if (!taken(key)) return key;
    // At most kLogMaxFields + 3 names exist, so a free suffix is found within that many tries.
    for (size_t n = 2;; ++n) {
        std::string candidate = key + "_" + std::to_string(n);
        if (!taken(candidate)) return candidate;
    }
}

std::string json_line(const char* when, LogLevel level, const char* event,
                      const std::vector<LogField>& fields) {
    std::string line = "{";
    std::vector<std::string> used = {"ts", "level", "event"};
    json_member("ts", when, line);
    json_member("level", log_level_name(level), line);
    json_member("event", event, line);
    for (const LogField& f : fields) {
        used.push_back(unique_key(f.key, used));
        json_member(used.back(), f.value, line);
    }
    line += "}\n";
    return line;
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
    std::vector<LogField> fields = parse_log_fields(details);
    const std::string redacted = redact_log_fields(details, fields);
    std::string line;
    if (g_format == LogFormat::kJson) {
        line = json_line(when, level, event, fields);
    } else {
        line = std::string(when) + " " + log_level_name(level) + " " + event;
        if (!redacted.empty()) line += " " + redacted;
        line += "\n";
    }
    if (const LogSink sink = g_sink.load(std::memory_order_acquire); sink != nullptr)
        sink(line);
    else
        std::fwrite(line.data(), 1, line.size(), stderr);
}

void log_set_sink(LogSink sink) {
    g_sink.store(sink, std::memory_order_release);
}

}  // namespace rfbcast
