#include "reflector/log_fields.h"

namespace rfbcast {
namespace {

bool is_key_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-';
}

std::string ascii_lower(std::string_view s) {
    std::string out(s);
    for (char& c : out)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return out;
}

// Length of the key at `at` when `s[at..]` starts with `key=`, else 0.
size_t key_length_at(std::string_view s, size_t at) {
    size_t k = at;
    while (k < s.size() && is_key_char(s[k]))
        ++k;
    if (k == at || k >= s.size() || s[k] != '=') return 0;
    return k - at;
}

// Parses the value starting at `v` (just after '='). Returns false when the value is quoted and
// its closing quote is followed by something other than a space: not a pair this parser can
// split without guessing.
bool parse_value(std::string_view s, size_t v, LogField& f) {
    const size_t n = s.size();
    f.raw_begin = v;
    if (v < n && s[v] == '"') {
        size_t j = v + 1;
        bool closed = false;
        while (j < n) {
            const char c = s[j];
            if (c == '\\' && j + 1 < n && (s[j + 1] == '"' || s[j + 1] == '\\')) {
                f.value += s[j + 1];
                j += 2;
                continue;
            }
            ++j;
            if (c == '"') {
                closed = true;
                break;
            }
            f.value += c;
        }
        if (closed && j < n && s[j] != ' ') return false;
        f.raw_end = j;
        return true;
    }
    size_t j = v;
    while (j < n && s[j] != ' ')
        ++j;
    f.value.assign(s.substr(v, j - v));
    f.raw_end = j;
    return true;
}

// Offset of the value of the first secret-looking "key=" in free text, or npos.
size_t secret_in_free_text(std::string_view text) {
    for (size_t p = 0; p < text.size(); ++p) {
        if (p > 0 && is_key_char(text[p - 1])) continue;
        const size_t len = key_length_at(text, p);
        if (len != 0 && is_secret_log_key(text.substr(p, len))) return p + len + 1;
    }
    return std::string_view::npos;
}

}  // namespace

std::vector<LogField> parse_log_fields(std::string_view s) {
    std::vector<LogField> out;
    const size_t n = s.size();
    size_t i = 0;
    auto skip_spaces = [&] {
        while (i < n && s[i] == ' ')
            ++i;
    };
    skip_spaces();
    while (i < n && out.size() < kLogMaxFields - 1) {
        const size_t key_len = key_length_at(s, i);
        if (key_len == 0) break;
        LogField f;
        f.key.assign(s.substr(i, key_len));
        if (!parse_value(s, i + key_len + 1, f)) break;
        i = f.raw_end;
        out.push_back(std::move(f));
        skip_spaces();
    }
    if (i < n) {
        size_t end = n;
        while (end > i && s[end - 1] == ' ')
            --end;
        LogField f;
        f.key = kLogFreeTextKey;
        f.value.assign(s.substr(i, end - i));
        f.raw_begin = i;
        f.raw_end = end;
        f.free_text = true;
        out.push_back(std::move(f));
    }
    return out;
}

bool is_secret_log_key(std::string_view key) {
    const std::string k = ascii_lower(key);
    if (k.find("password") != std::string::npos || k.find("secret") != std::string::npos ||
        k.find("token") != std::string::npos)
        return true;
    for (size_t p = k.find("key"); p != std::string::npos; p = k.find("key", p + 1)) {
        const std::string_view rest = std::string_view(k).substr(p);
        if (!rest.starts_with("keysym") && !rest.starts_with("keycode")) return true;
    }
    return false;
}

std::string redact_log_fields(std::string_view details, std::vector<LogField>& fields) {
    std::string text;
    size_t copied = 0;
    for (LogField& f : fields) {
        if (f.free_text) {
            const size_t at = secret_in_free_text(f.value);
            if (at == std::string_view::npos) continue;
            f.value.resize(at);
            f.value += kLogRedacted;
            f.raw_begin += at;
        } else if (is_secret_log_key(f.key)) {
            f.value = kLogRedacted;
        } else {
            continue;
        }
        f.redacted = true;
        // Spans come from parse_log_fields on this same string, in order. Should a caller pass
        // anything else, redact the rest of the line rather than risk printing the secret.
        if (f.raw_begin < copied || f.raw_end < f.raw_begin || f.raw_end > details.size()) {
            text += kLogRedacted;
            return text;
        }
        text.append(details.substr(copied, f.raw_begin - copied));
        text += kLogRedacted;
        copied = f.raw_end;
    }
    text.append(details.substr(copied));
    return text;
}

std::string log_escape_quoted(std::string_view value) {
    std::string out;
    out.reserve(value.size());
    for (const char c : value) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    return out;
}

}  // namespace rfbcast
