#include "reflector/config_file.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include <toml++/toml.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>

#include "reflector/address_allow_list.h"
#include "reflector/socket_address.h"

namespace rfbcast {
namespace {

constexpr size_t kMaxFileBytes = 1 << 20;
constexpr size_t kMaxSessionNameLength = 64;
// The repeater handshake carries "ID:" and the ID in a 250-byte, NUL-padded field.
constexpr size_t kMaxRepeaterIdLength = 64;

constexpr const char* kGlobalKeys[] = {
    "listen",         "repeater_listen", "allow_dynamic_ids",  "display_base",
    "log_level",      "log_format",      "cache_mb",           "encode_threads",
    "stats_interval", "session",         "mode1_allow",        "dynamic_id_key_file",
    "http_listen",    "web_root",        "web_token_key_file", "web_origins",
    "metrics_listen", "drain_timeout",   "http_on_viewer_port"};
constexpr const char* kSessionKeys[] = {"name",
                                        "upstream",
                                        "repeater_id",
                                        "listen",
                                        "password_file",
                                        "viewonly_password_file",
                                        "upstream_password_file",
                                        "upstream_username_file",
                                        "reverse_listen",
                                        "repeater_secret_file",
                                        "web_view_token_file",
                                        "web_control_token_file",
                                        "web_require_token",
                                        "display",
                                        "allow",
                                        "deny"};
constexpr const char* kLimitKeys[] = {
    "view_only_default", "max_viewers",     "max_fps",           "min_quality",
    "max_quality",       "viewer_max_kbps", "session_max_kbps",  "keep_upstream_without_viewers",
    "idle_timeout",      "input_policy",    "clipboard",         "input_idle_timeout",
    "require_tls",       "security_types",  "handshake_timeout", "max_cut_text",
    "max_framebuffer",   "max_cursor",      "max_fence_payload"};

bool check_address_entry(const std::string& entry, std::string& error) {
    AddressAllowList list;
    if (!list.add(entry, error)) return false;
    if (list.has_ports()) {
        error = "'" + entry + "': a port means nothing for a client's address";
        return false;
    }
    return true;
}

bool check_mode1_entry(const std::string& entry, std::string& error) {
    AddressAllowList list;
    return list.add(entry, error);
}

template <size_t N>
bool one_of(std::string_view key, const char* const (&keys)[N]) {
    return std::any_of(std::begin(keys), std::end(keys), [&](const char* k) { return key == k; });
}

size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<size_t> row(b.size() + 1);
    for (size_t j = 0; j <= b.size(); ++j)
        row[j] = j;
    for (size_t i = 1; i <= a.size(); ++i) {
        size_t diagonal = row[0];
        row[0] = i;
        for (size_t j = 1; j <= b.size(); ++j) {
            const size_t above = row[j];
            row[j] =
                std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0u : 1u)});
            diagonal = above;
        }
    }
    return row[b.size()];
}

bool valid_name_char(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-';
}

bool valid_name(std::string_view s, size_t max_length) {
    return !s.empty() && s.size() <= max_length && std::all_of(s.begin(), s.end(), valid_name_char);
}

// Keys and values are echoed in messages: keep control bytes off the terminal. Bytes from 0x80
// up stay (values may be UTF-8).
std::string without_control_bytes(std::string_view s) {
    std::string out(s);
    for (char& c : out)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
    return out;
}

std::string format_number(double v) {
    char buf[64];
    if (std::floor(v) == v && std::fabs(v) < 1e15)
        std::snprintf(buf, sizeof buf, "%.0f", v);
    else
        std::snprintf(buf, sizeof buf, "%g", v);
    return buf;
}

const char* type_name(const toml::node& n) {
    switch (n.type()) {
        case toml::node_type::string:
            return "a string";
        case toml::node_type::integer:
            return "an integer";
        case toml::node_type::floating_point:
            return "a float";
        case toml::node_type::boolean:
            return "a boolean";
        case toml::node_type::table:
            return "a table";
        case toml::node_type::array:
            return "an array";
        case toml::node_type::date:
        case toml::node_type::time:
        case toml::node_type::date_time:
            return "a date/time";
        default:
            return "nothing";
    }
}

bool parse_input_policy(std::string_view s, InputPolicy& out) {
    if (s == "first")
        out = InputPolicy::kFirst;
    else if (s == "last-wins")
        out = InputPolicy::kLastWins;
    else if (s == "shared")
        out = InputPolicy::kShared;
    else
        return false;
    return true;
}

bool parse_clipboard(std::string_view s, ClipboardPolicy& out) {
    if (s == "both")
        out = ClipboardPolicy::kBoth;
    else if (s == "to-viewers")
        out = ClipboardPolicy::kToViewers;
    else if (s == "to-server")
        out = ClipboardPolicy::kToServer;
    else if (s == "off")
        out = ClipboardPolicy::kOff;
    else
        return false;
    return true;
}

uint16_t port_of(const sockaddr_storage& a) {
    if (a.ss_family == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in&>(a).sin_port);
    return ntohs(reinterpret_cast<const sockaddr_in6&>(a).sin6_port);
}

bool is_wildcard(const sockaddr_storage& a) {
    if (a.ss_family == AF_INET)
        return reinterpret_cast<const sockaddr_in&>(a).sin_addr.s_addr == htonl(INADDR_ANY);
    const auto& addr = reinterpret_cast<const sockaddr_in6&>(a).sin6_addr;
    return std::memcmp(&addr, &in6addr_any, sizeof addr) == 0;
}

bool same_address(const sockaddr_storage& a, const sockaddr_storage& b) {
    if (a.ss_family != b.ss_family) return false;
    if (a.ss_family == AF_INET)
        return reinterpret_cast<const sockaddr_in&>(a).sin_addr.s_addr ==
               reinterpret_cast<const sockaddr_in&>(b).sin_addr.s_addr;
    return std::memcmp(&reinterpret_cast<const sockaddr_in6&>(a).sin6_addr,
                       &reinterpret_cast<const sockaddr_in6&>(b).sin6_addr, sizeof(in6_addr)) == 0;
}

// Whether two listeners could not both bind. The listener leaves IPV6_V6ONLY at Linux's default
// (off), so [::]:P takes 0.0.0.0:P too.
bool endpoints_clash(const sockaddr_storage& a, const sockaddr_storage& b) {
    if (port_of(a) != port_of(b)) return false;
    if (a.ss_family == b.ss_family) return same_address(a, b) || is_wildcard(a) || is_wildcard(b);
    const sockaddr_storage& v6 = a.ss_family == AF_INET6 ? a : b;
    return is_wildcard(v6);
}

struct Problem {
    uint32_t line = 0, column = 0;
    std::string text;  // "key: problem"
};

struct Endpoint {
    sockaddr_storage addr{};
    std::string owner;                        // "session 'lab1' (line 5)"
    std::optional<toml::source_position> at;  // empty: a default, written nowhere
};

class Loader {
  public:
    explicit Loader(std::string_view source) : source_(source.empty() ? "<config>" : source) {}

    ConfigResult load(std::string_view text);

  private:
    std::string source_;
    std::vector<Problem> problems_;
    Config config_;
    // Where each limit key was written at the top level.
    std::map<std::string, toml::source_position, std::less<>> global_limit_at_;
    // Where each session wrote its name, repeater_id and listen (its header when it did not),
    // for the checks across sessions.
    std::vector<toml::source_position> name_at_, repeater_id_at_, listen_at_, reverse_at_;

    void add(const toml::source_position& at, std::string_view key, const std::string& what) {
        problems_.push_back({at.line, at.column, without_control_bytes(key) + ": " + what});
    }
    std::string origin(const toml::source_position& at) const {
        return source_ + ":" + std::to_string(at.line) + ":" + std::to_string(at.column);
    }

    std::optional<std::string> string_value(const toml::node& v, std::string_view key);
    std::optional<std::string> nonempty_string(const toml::node& v, std::string_view key);
    std::optional<int64_t> integer_value(const toml::node& v, std::string_view key, int64_t lo,
                                         int64_t hi);
    std::optional<double> number_value(const toml::node& v, std::string_view key, double lo,
                                       double hi);
    std::optional<bool> bool_value(const toml::node& v, std::string_view key);
    void read_address_list(const toml::node& v, std::string_view key,
                           std::vector<std::string>& out);
    std::optional<sockaddr_storage> listen_value(const toml::node& v, std::string_view key,
                                                 std::string& out);

    bool read_limit(std::string_view key, const toml::node& v, SessionLimitOverrides& o);
    void unknown_key(const toml::key& k, bool in_session);
    void read_global(const toml::table& root);
    void read_sessions(const toml::node& node);
    void read_session(const toml::table& t);
    void check_sessions();
    void check_quality(const SessionLimits& limits, const SessionLimitOverrides& own,
                       const std::map<std::string, toml::source_position, std::less<>>& at,
                       bool is_session);
    void check_endpoints(const toml::table& root);
};

std::optional<std::string> Loader::string_value(const toml::node& v, std::string_view key) {
    const auto* s = v.as_string();
    if (!s) {
        add(v.source().begin, key, std::string("expected a string, got ") + type_name(v));
        return std::nullopt;
    }
    const std::string& text = s->get();
    if (text.find('\0') != std::string::npos) {
        add(v.source().begin, key, "contains a NUL character");
        return std::nullopt;
    }
    return text;
}

std::optional<std::string> Loader::nonempty_string(const toml::node& v, std::string_view key) {
    auto s = string_value(v, key);
    if (s && s->empty()) {
        add(v.source().begin, key, "is empty (leave the key out instead)");
        return std::nullopt;
    }
    return s;
}

std::optional<int64_t> Loader::integer_value(const toml::node& v, std::string_view key, int64_t lo,
                                             int64_t hi) {
    const auto* i = v.as_integer();
    if (!i) {
        add(v.source().begin, key, std::string("expected an integer, got ") + type_name(v));
        return std::nullopt;
    }
    const int64_t value = i->get();
    if (value < lo || value > hi) {
        add(v.source().begin, key,
            std::to_string(value) + " is out of range " + std::to_string(lo) + ".." +
                std::to_string(hi));
        return std::nullopt;
    }
    return value;
}

std::optional<double> Loader::number_value(const toml::node& v, std::string_view key, double lo,
                                           double hi) {
    double value = 0;
    if (const auto* i = v.as_integer())
        value = static_cast<double>(i->get());
    else if (const auto* f = v.as_floating_point())
        value = f->get();
    else {
        add(v.source().begin, key, std::string("expected a number, got ") + type_name(v));
        return std::nullopt;
    }
    if (!(value >= lo && value <= hi)) {  // also refuses nan
        add(v.source().begin, key,
            format_number(value) + " is out of range " + format_number(lo) + ".." +
                format_number(hi));
        return std::nullopt;
    }
    return value;
}

void Loader::read_address_list(const toml::node& v, std::string_view key,
                               std::vector<std::string>& out) {
    const auto* list = v.as_array();
    if (!list) {
        add(v.source().begin, key,
            std::string("expected an array of CIDR strings, got ") + type_name(v));
        return;
    }
    for (const toml::node& e : *list) {
        if (auto text = nonempty_string(e, key)) {
            std::string error;
            if (check_address_entry(*text, error))
                out.push_back(*text);
            else
                add(e.source().begin, key, error);
        }
    }
}

std::optional<bool> Loader::bool_value(const toml::node& v, std::string_view key) {
    const auto* b = v.as_boolean();
    if (!b) {
        add(v.source().begin, key, std::string("expected true or false, got ") + type_name(v));
        return std::nullopt;
    }
    return b->get();
}

std::optional<sockaddr_storage> Loader::listen_value(const toml::node& v, std::string_view key,
                                                     std::string& out) {
    auto text = nonempty_string(v, key);
    if (!text) return std::nullopt;
    sockaddr_storage addr{};
    socklen_t len = 0;
    std::string error;
    if (!parse_listen_address(*text, addr, len, error)) {
        add(v.source().begin, key, error);
        return std::nullopt;
    }
    out = *text;
    return addr;
}

bool Loader::read_limit(std::string_view key, const toml::node& v, SessionLimitOverrides& o) {
    if (key == "view_only_default") {
        o.view_only_default = bool_value(v, key);
    } else if (key == "max_viewers") {
        if (auto n = integer_value(v, key, 1, 100000)) o.max_viewers = static_cast<size_t>(*n);
    } else if (key == "max_fps") {
        o.max_fps = number_value(v, key, 0.5, 240);
    } else if (key == "min_quality") {
        if (auto n = integer_value(v, key, 0, 9)) o.min_quality = static_cast<int>(*n);
    } else if (key == "max_quality") {
        if (auto n = integer_value(v, key, 0, 9)) o.max_quality = static_cast<int>(*n);
    } else if (key == "viewer_max_kbps") {
        o.viewer_max_kbps = number_value(v, key, 0, 1e8);
    } else if (key == "session_max_kbps") {
        o.session_max_kbps = number_value(v, key, 0, 1e9);
    } else if (key == "keep_upstream_without_viewers") {
        o.keep_upstream_without_viewers = bool_value(v, key);
    } else if (key == "idle_timeout") {
        if (auto n = integer_value(v, key, 0, 7 * 86400)) o.idle_timeout_s = static_cast<int>(*n);
    } else if (key == "require_tls") {
        o.require_tls = bool_value(v, key);
    } else if (key == "handshake_timeout") {
        if (auto n = integer_value(v, key, 1, 3600)) o.handshake_timeout_s = static_cast<int>(*n);
    } else if (key == "max_cut_text") {
        if (auto n = integer_value(v, key, kMinCutTextLimit, kMaxCutTextLimit))
            o.max_cut_text = static_cast<size_t>(*n);
    } else if (key == "max_framebuffer") {
        if (auto n = integer_value(v, key, 16, rfb::limits::kMaxFramebufferDim))
            o.max_framebuffer = static_cast<uint32_t>(*n);
    } else if (key == "max_cursor") {
        if (auto n = integer_value(v, key, 1, rfb::limits::kMaxCursorDim))
            o.max_cursor = static_cast<uint32_t>(*n);
    } else if (key == "max_fence_payload") {
        if (auto n = integer_value(v, key, 0, rfb::limits::kMaxFencePayload))
            o.max_fence_payload = static_cast<size_t>(*n);
    } else if (key == "security_types") {
        const auto* list = v.as_array();
        if (!list) {
            add(v.source().begin, key,
                std::string("expected an array of security type names, got ") + type_name(v));
            return true;
        }
        std::vector<std::string> names;
        for (const toml::node& e : *list)
            if (auto text = nonempty_string(e, key)) names.push_back(*text);
        uint32_t mask = 0;
        std::string error;
        if (names.size() != list->size()) return true;  // already reported
        if (parse_security_types(names, mask, error))
            o.security_types = mask;
        else
            add(v.source().begin, key, error);
    } else if (key == "input_idle_timeout") {
        if (auto n = integer_value(v, key, 0, 86400)) o.input_idle_timeout_s = static_cast<int>(*n);
    } else if (key == "input_policy") {
        if (auto s = string_value(v, key)) {
            InputPolicy p{};
            if (parse_input_policy(*s, p))
                o.input_policy = p;
            else
                add(v.source().begin, key,
                    "expected \"first\", \"last-wins\" or \"shared\", got \"" + *s + "\"");
        }
    } else if (key == "clipboard") {
        if (auto s = string_value(v, key)) {
            ClipboardPolicy p{};
            if (parse_clipboard(*s, p))
                o.clipboard = p;
            else
                add(v.source().begin, key,
                    "expected \"both\", \"to-viewers\", \"to-server\" or \"off\", got \"" + *s +
                        "\"");
        }
    } else {
        return false;
    }
    return true;
}

void Loader::unknown_key(const toml::key& k, bool in_session) {
    const std::string_view key = k.str();
    std::string what = "unknown key";
    if (!in_session && one_of(key, kSessionKeys)) {
        what += " at the top level (it belongs in a [[session]] table)";
    } else if (in_session && one_of(key, kGlobalKeys)) {
        what += " in a [[session]] (global keys go at the top, before the first [[session]])";
    } else if (!in_session && key == "global") {
        what += " (global settings are top-level keys, before the first [[session]])";
    } else if (key.size() <= 64) {
        std::string_view best;
        size_t best_distance = 3;  // suggest only close misspellings
        auto consider = [&](const char* candidate) {
            if (in_session && std::string_view(candidate) == "session") return;
            const size_t d = edit_distance(key, candidate);
            if (d < best_distance) best_distance = d, best = candidate;
        };
        for (const char* c : kLimitKeys)
            consider(c);
        if (in_session)
            for (const char* c : kSessionKeys)
                consider(c);
        else
            for (const char* c : kGlobalKeys)
                consider(c);
        if (!best.empty()) what += " (did you mean '" + std::string(best) + "'?)";
    }
    add(k.source().begin, key, what);
}

void Loader::read_global(const toml::table& root) {
    GlobalConfig& g = config_.global;
    for (auto&& [k, v] : root) {
        const std::string_view key = k.str();
        if (key == "session") continue;  // read after the defaults are known
        if (read_limit(key, v, g.default_overrides)) {
            global_limit_at_.emplace(std::string(key), v.source().begin);
            continue;
        }
        if (key == "listen") {
            // Empty is allowed here: no shared viewer port.
            if (auto s = string_value(v, key)) {
                if (s->empty()) {
                    g.listen.clear();
                } else {
                    std::string text;
                    if (listen_value(v, key, text)) g.listen = text;
                }
            }
        } else if (key == "repeater_listen") {
            std::string text;
            if (listen_value(v, key, text)) g.repeater_listen = text;
        } else if (key == "allow_dynamic_ids") {
            if (auto b = bool_value(v, key)) g.allow_dynamic_ids = *b;
        } else if (key == "display_base") {
            if (auto n = integer_value(v, key, 1, 65535)) g.display_base = static_cast<int>(*n);
        } else if (key == "log_level") {
            if (auto s = string_value(v, key)) {
                if (!parse_log_level(*s, g.log_level))
                    add(v.source().begin, key,
                        "expected \"debug\", \"info\", \"warn\" or \"error\", got \"" + *s + "\"");
            }
        } else if (key == "log_format") {
            if (auto s = string_value(v, key)) {
                if (*s == "text")
                    g.log_format = LogFormat::kText;
                else if (*s == "json")
                    g.log_format = LogFormat::kJson;
                else
                    add(v.source().begin, key, "expected \"text\" or \"json\", got \"" + *s + "\"");
            }
        } else if (key == "cache_mb") {
            if (auto n = integer_value(v, key, 1, 65536)) g.cache_mb = static_cast<size_t>(*n);
        } else if (key == "encode_threads") {
            if (auto n = integer_value(v, key, 0, 256)) g.encode_threads = static_cast<int>(*n);
        } else if (key == "stats_interval") {
            if (auto n = integer_value(v, key, 0, 86400)) g.stats_interval_s = static_cast<int>(*n);
        } else if (key == "allow" || key == "deny" || key == "trusted_proxies") {
            std::vector<std::string>& out = key == "allow"  ? g.allow
                                            : key == "deny" ? g.deny
                                                            : g.trusted_proxies;
            read_address_list(v, key, out);
        } else if (key == "max_preauth") {
            if (auto n = integer_value(v, key, 1, 100000)) g.max_preauth = static_cast<size_t>(*n);
        } else if (key == "max_preauth_per_address") {
            if (auto n = integer_value(v, key, 1, 100000))
                g.max_preauth_per_address = static_cast<size_t>(*n);
        } else if (key == "max_total_viewers") {
            if (auto n = integer_value(v, key, 1, 1000000))
                g.max_total_viewers = static_cast<size_t>(*n);
        } else if (key == "users_file") {
            if (auto p = nonempty_string(v, key)) g.users_file = *p;
        } else if (key == "http_listen") {
            // Empty: no HTTP listener.
            if (auto text = string_value(v, key)) {
                if (text->empty())
                    g.http_listen.clear();
                else
                    listen_value(v, key, g.http_listen);
            }
        } else if (key == "metrics_listen") {
            // Empty: no metrics listener.
            if (auto text = string_value(v, key)) {
                if (text->empty())
                    g.metrics_listen.clear();
                else
                    listen_value(v, key, g.metrics_listen);
            }
        } else if (key == "http_on_viewer_port") {
            if (auto b = bool_value(v, key)) g.http_on_viewer_port = *b;
        } else if (key == "drain_timeout") {
            if (auto n = integer_value(v, key, 0, 3600)) g.drain_timeout_s = static_cast<int>(*n);
        } else if (key == "web_root") {
            if (auto p = nonempty_string(v, key)) g.web_root = *p;
        } else if (key == "web_token_key_file") {
            if (auto p = nonempty_string(v, key)) g.web_token_key_file = *p;
        } else if (key == "web_origins") {
            const auto* list = v.as_array();
            if (!list)
                add(v.source().begin, key,
                    std::string("expected an array of origins, got ") + type_name(v));
            else
                for (const toml::node& e : *list)
                    if (auto text = nonempty_string(e, key)) g.web_origins.push_back(*text);
        } else if (key == "dynamic_id_key_file") {
            if (auto p = nonempty_string(v, key)) g.dynamic_id_key_file = *p;
        } else if (key == "mode1_allow") {
            const auto* list = v.as_array();
            if (!list) {
                add(v.source().begin, key,
                    std::string("expected an array of \"CIDR[:port]\" strings, got ") +
                        type_name(v));
                continue;
            }
            for (const toml::node& e : *list) {
                if (auto text = nonempty_string(e, key)) {
                    std::string error;
                    if (check_mode1_entry(*text, error))
                        g.mode1_allow.push_back(*text);
                    else
                        add(e.source().begin, key, error);
                }
            }
        } else {
            unknown_key(k, false);
        }
    }
    g.defaults = apply_overrides(SessionLimits{}, g.default_overrides);
}

void Loader::read_sessions(const toml::node& node) {
    const auto* array = node.as_array();
    if (!array) {
        add(node.source().begin, "session",
            node.is_table() ? "is a single [session] table; sessions are [[session]] tables "
                              "(double brackets)"
                            : std::string("expected [[session]] tables, got ") + type_name(node));
        return;
    }
    for (const toml::node& element : *array) {
        if (const auto* t = element.as_table())
            read_session(*t);
        else
            add(element.source().begin, "session",
                std::string("expected a table, got ") + type_name(element));
    }
}

void Loader::read_session(const toml::table& t) {
    SessionConfig s;
    const toml::source_position at = t.source().begin;
    s.origin = origin(at);
    std::map<std::string, toml::source_position, std::less<>> limit_at;
    toml::source_position name_at = at, repeater_id_at = at, listen_at = at, reverse_at = at;
    bool reverse_named = false;
    bool name_seen = false;
    for (auto&& [k, v] : t) {
        const std::string_view key = k.str();
        if (read_limit(key, v, s.overrides)) {
            limit_at.emplace(std::string(key), v.source().begin);
            continue;
        }
        if (key == "name") {
            name_seen = true;
            name_at = v.source().begin;
            if (auto n = string_value(v, key)) {
                if (valid_name(*n, kMaxSessionNameLength))
                    s.name = *n;
                else
                    add(name_at, key,
                        "\"" + *n + "\" is not a name: 1 to " +
                            std::to_string(kMaxSessionNameLength) + " of A-Z a-z 0-9 _ . -");
            }
        } else if (key == "upstream" && v.value<std::string>() == std::string("demo")) {
            s.upstream = "demo";
        } else if (key == "upstream" && v.value<std::string>() == std::string("reverse")) {
            // The spelling of "the server dials in": the same as no upstream.
            reverse_named = true;
        } else if (key == "upstream") {
            if (auto u = nonempty_string(v, key)) {
                std::string host, error;
                uint16_t port = 0;
                if (!split_host_port(*u, host, port, error))
                    add(v.source().begin, key, error);
                else if (host.empty())
                    add(v.source().begin, key, "no host in '" + *u + "'");
                else
                    s.upstream = *u;
            }
        } else if (key == "repeater_id") {
            repeater_id_at = v.source().begin;
            std::optional<std::string> id;
            if (const auto* i = v.as_integer()) {
                // repeater_id = 1234 means what "1234" does.
                if (i->get() < 0)
                    add(repeater_id_at, key, "is negative");
                else
                    id = std::to_string(i->get());
            } else if (v.is_string()) {
                id = string_value(v, key);
            } else {
                add(repeater_id_at, key,
                    std::string("expected a string or an integer, got ") + type_name(v));
            }
            if (id) {
                if (id->size() > 3 && id->compare(0, 3, "ID:") == 0)
                    add(repeater_id_at, key,
                        "write the ID without its 'ID:' prefix (\"" + id->substr(3) + "\")");
                else if (!valid_name(*id, kMaxRepeaterIdLength))
                    add(repeater_id_at, key,
                        "\"" + *id + "\" is not an ID: 1 to " +
                            std::to_string(kMaxRepeaterIdLength) + " of A-Z a-z 0-9 _ . -");
                else
                    s.repeater_id = *id;
            }
        } else if (key == "listen") {
            listen_at = v.source().begin;
            listen_value(v, key, s.listen);
        } else if (key == "reverse_listen") {
            reverse_at = v.source().begin;
            listen_value(v, key, s.reverse_listen);
        } else if (key == "allow" || key == "deny") {
            read_address_list(v, key, key == "allow" ? s.allow : s.deny);
        } else if (key == "display") {
            if (auto n = integer_value(v, key, 0, 9999)) s.display = static_cast<int>(*n);
        } else if (key == "repeater_secret_file") {
            if (auto p = nonempty_string(v, key)) s.repeater_secret_file = *p;
        } else if (key == "web_view_token_file") {
            if (auto p = nonempty_string(v, key)) s.web_view_token_file = *p;
        } else if (key == "web_control_token_file") {
            if (auto p = nonempty_string(v, key)) s.web_control_token_file = *p;
        } else if (key == "web_require_token") {
            if (auto b = bool_value(v, key)) s.web_require_token = *b;
        } else if (key == "password_file" || key == "viewonly_password_file" ||
                   key == "upstream_password_file" || key == "upstream_username_file") {
            if (auto p = nonempty_string(v, key)) {
                if (key == "password_file")
                    s.password_file = *p;
                else if (key == "viewonly_password_file")
                    s.viewonly_password_file = *p;
                else if (key == "upstream_password_file")
                    s.upstream_password_file = *p;
                else
                    s.upstream_username_file = *p;
            }
        } else {
            unknown_key(k, true);
        }
    }
    if (!name_seen) add(at, "name", "missing: every [[session]] needs a name");
    const bool has_upstream = t.contains("upstream") && !reverse_named,
               has_id = t.contains("repeater_id");
    if (reverse_named && !has_id && !t.contains("reverse_listen"))
        add(at, "upstream",
            "\"reverse\" means the server dials in: give the session a repeater_id or a "
            "reverse_listen port to dial");
    if (!has_upstream && !has_id && !t.contains("reverse_listen") && !reverse_named)
        add(at, "upstream",
            "missing: set upstream (HOST:PORT to connect to, or \"demo\"), repeater_id (for a "
            "server that dials in with an ID) or reverse_listen (a port servers dial)");
    if (has_upstream && t.contains("reverse_listen"))
        add(reverse_at, "reverse_listen",
            "a session has one upstream: either rfbcast dials it (upstream) or it dials in "
            "(reverse_listen), not both");
    if (!s.repeater_secret_file.empty() && !has_id)
        add(at, "repeater_secret_file", "only means something with a repeater_id");
    s.limits = apply_overrides(config_.global.defaults, s.overrides);
    check_quality(s.limits, s.overrides, limit_at, true);
    if (config_.global.listen.empty() && !t.contains("listen"))
        add(at, "listen",
            "missing: there is no shared viewer port (the top-level listen is \"\"), so the "
            "session needs its own");
    config_.sessions.push_back(std::move(s));
    name_at_.push_back(name_at);
    repeater_id_at_.push_back(repeater_id_at);
    listen_at_.push_back(listen_at);
    reverse_at_.push_back(reverse_at);
}

void Loader::check_quality(const SessionLimits& limits, const SessionLimitOverrides& own,
                           const std::map<std::string, toml::source_position, std::less<>>& at,
                           bool is_session) {
    if (limits.min_quality <= limits.max_quality) return;
    // Report where this table wrote one of the two; when it wrote neither, the top level's own
    // check already did.
    const bool own_min = own.min_quality.has_value(), own_max = own.max_quality.has_value();
    if (!own_min && !own_max) return;
    const char* key = own_min ? "min_quality" : "max_quality";
    const auto where = at.find(key);
    if (where == at.end()) return;
    std::string what = "min_quality " + std::to_string(limits.min_quality) +
                       " is above max_quality " + std::to_string(limits.max_quality);
    if (is_session && own_min != own_max) {
        const char* other = own_min ? "max_quality" : "min_quality";
        const auto global = global_limit_at_.find(other);
        what += std::string(" (") + other + " inherited from " +
                (global != global_limit_at_.end() ? "line " + std::to_string(global->second.line)
                                                  : std::string("the built-in default")) +
                ")";
    }
    add(where->second, key, what);
}

void Loader::check_sessions() {
    std::map<std::string, size_t, std::less<>> names, ids;
    for (size_t i = 0; i < config_.sessions.size(); ++i) {
        const SessionConfig& s = config_.sessions[i];
        if (!s.name.empty()) {
            const auto [it, inserted] = names.emplace(s.name, i);
            if (!inserted)
                add(name_at_[i], "name",
                    "\"" + s.name + "\" is already the name of the session at line " +
                        std::to_string(name_at_[it->second].line));
        }
        if (!s.repeater_id.empty()) {
            const auto [it, inserted] = ids.emplace(s.repeater_id, i);
            if (!inserted)
                add(repeater_id_at_[i], "repeater_id",
                    "\"" + s.repeater_id + "\" is already the ID of session '" +
                        config_.sessions[it->second].name + "' (line " +
                        std::to_string(repeater_id_at_[it->second].line) + ")");
        }
    }
}

void Loader::check_endpoints(const toml::table& root) {
    GlobalConfig& g = config_.global;
    const bool servers_dial_in =
        g.allow_dynamic_ids ||
        std::any_of(config_.sessions.begin(), config_.sessions.end(), [](const SessionConfig& s) {
            return s.server_dials_in() && !s.repeater_id.empty();
        });
    const bool repeater_defaulted = g.repeater_listen.empty() && servers_dial_in;
    if (repeater_defaulted) g.repeater_listen = kDefaultRepeaterListen;

    std::vector<Endpoint> endpoints;
    // A clash is reported where the later of the two is written; the defaulted repeater port is
    // written nowhere, so it goes first.
    auto add_endpoint = [&](const std::string& text, std::string owner,
                            std::optional<toml::source_position> at, const char* key) {
        Endpoint e;
        socklen_t len = 0;
        std::string error;
        if (text.empty() || !parse_listen_address(text, e.addr, len, error)) return;
        e.owner = std::move(owner);
        e.at = at;
        for (const Endpoint& other : endpoints) {
            if (!e.at || !endpoints_clash(e.addr, other.addr)) continue;
            add(*e.at, key,
                "'" + text + "' clashes with " + other.owner + "; each needs its own port");
            break;
        }
        endpoints.push_back(std::move(e));
    };
    auto line_of = [](const toml::node* n) { return std::to_string(n->source().begin.line); };
    const toml::node* repeater_node = root.get("repeater_listen");
    if (repeater_defaulted)
        add_endpoint(g.repeater_listen,
                     std::string("the repeater port (") + kDefaultRepeaterListen +
                         ", the default when a server dials in)",
                     std::nullopt, "repeater_listen");
    if (const toml::node* n = root.get("listen"))
        add_endpoint(g.listen, "the shared viewer port (listen, line " + line_of(n) + ")",
                     n->source().begin, "listen");
    else
        add_endpoint(g.listen,
                     std::string("the shared viewer port (") + kDefaultListen + ", the default)",
                     std::nullopt, "listen");
    if (repeater_node && !repeater_defaulted)
        add_endpoint(g.repeater_listen,
                     "the repeater port (repeater_listen, line " + line_of(repeater_node) + ")",
                     repeater_node->source().begin, "repeater_listen");
    for (size_t i = 0; i < config_.sessions.size(); ++i) {
        const SessionConfig& s = config_.sessions[i];
        add_endpoint(s.listen,
                     "session '" + s.name + "' (line " + std::to_string(listen_at_[i].line) + ")",
                     listen_at_[i], "listen");
        add_endpoint(s.reverse_listen,
                     "the reverse port of session '" + s.name + "' (line " +
                         std::to_string(reverse_at_[i].line) + ")",
                     reverse_at_[i], "reverse_listen");
    }
}

ConfigResult Loader::load(std::string_view text) {
    ConfigResult result;
    toml::table root;
    try {
        root = toml::parse(text, std::string_view(source_));
    } catch (const toml::parse_error& e) {
        const auto& at = e.source().begin;
        // toml++ says "Error while parsing X: ..."; keep one word for error.
        std::string what(e.description());
        const std::string_view prefix = "Error while ";
        if (what.compare(0, prefix.size(), prefix) == 0)
            what = "syntax error while " + what.substr(prefix.size());
        else
            what = "syntax error: " + what;
        result.errors.push_back(origin(at) + ": " + without_control_bytes(what));
        return result;
    }
    read_global(root);
    if (const toml::node* sessions = root.get("session")) read_sessions(*sessions);
    check_quality(config_.global.defaults, config_.global.default_overrides, global_limit_at_,
                  false);
    check_sessions();
    check_endpoints(root);
    std::stable_sort(problems_.begin(), problems_.end(), [](const Problem& a, const Problem& b) {
        return a.line != b.line ? a.line < b.line : a.column < b.column;
    });
    for (const Problem& p : problems_)
        result.errors.push_back(source_ + ":" + std::to_string(p.line) + ":" +
                                std::to_string(p.column) + ": " + without_control_bytes(p.text));
    if (result.errors.empty()) result.config = std::move(config_);
    return result;
}

void append_value(std::string& out, const char* key, const std::string& value) {
    out += ' ';
    out += key;
    out += '=';
    const bool quote = value.empty() || value.find_first_of(" \t\"\\") != std::string::npos;
    if (!quote) {
        out += without_control_bytes(value);
        return;
    }
    out += '"';
    for (char c : without_control_bytes(value)) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    out += '"';
}

void append_limits(std::string& out, const SessionLimits& l) {
    append_value(out, "view_only_default", l.view_only_default ? "true" : "false");
    append_value(out, "max_viewers", std::to_string(l.max_viewers));
    append_value(out, "max_fps", format_number(l.max_fps));
    append_value(out, "min_quality", std::to_string(l.min_quality));
    append_value(out, "max_quality", std::to_string(l.max_quality));
    append_value(out, "viewer_max_kbps", format_number(l.viewer_max_kbps));
    append_value(out, "session_max_kbps", format_number(l.session_max_kbps));
    append_value(out, "keep_upstream_without_viewers",
                 l.keep_upstream_without_viewers ? "true" : "false");
    append_value(out, "idle_timeout", std::to_string(l.idle_timeout_s));
    append_value(out, "input_idle_timeout", std::to_string(l.input_idle_timeout_s));
    append_value(out, "input_policy", to_string(l.input_policy));
    append_value(out, "clipboard", to_string(l.clipboard));
    if (l.require_tls) append_value(out, "require_tls", "true");
    if (l.security_types != kAllSecurityTypes)
        append_value(out, "security_types", format_security_types(l.security_types));
    // The peer limits only when changed: few configurations touch them.
    const SessionLimits d;
    if (l.handshake_timeout_s != d.handshake_timeout_s)
        append_value(out, "handshake_timeout", std::to_string(l.handshake_timeout_s));
    if (l.max_cut_text != d.max_cut_text)
        append_value(out, "max_cut_text", std::to_string(l.max_cut_text));
    if (l.max_framebuffer != d.max_framebuffer)
        append_value(out, "max_framebuffer", std::to_string(l.max_framebuffer));
    if (l.max_cursor != d.max_cursor) append_value(out, "max_cursor", std::to_string(l.max_cursor));
    if (l.max_fence_payload != d.max_fence_payload)
        append_value(out, "max_fence_payload", std::to_string(l.max_fence_payload));
}

}  // namespace

const char* to_string(InputPolicy p) {
    switch (p) {
        case InputPolicy::kFirst:
            return "first";
        case InputPolicy::kLastWins:
            return "last-wins";
        case InputPolicy::kShared:
            return "shared";
    }
    return "?";
}

const char* to_string(ClipboardPolicy p) {
    switch (p) {
        case ClipboardPolicy::kBoth:
            return "both";
        case ClipboardPolicy::kToViewers:
            return "to-viewers";
        case ClipboardPolicy::kToServer:
            return "to-server";
        case ClipboardPolicy::kOff:
            return "off";
    }
    return "?";
}

SessionLimits apply_overrides(SessionLimits l, const SessionLimitOverrides& o) {
    l.view_only_default = o.view_only_default.value_or(l.view_only_default);
    l.max_viewers = o.max_viewers.value_or(l.max_viewers);
    l.max_fps = o.max_fps.value_or(l.max_fps);
    l.min_quality = o.min_quality.value_or(l.min_quality);
    l.max_quality = o.max_quality.value_or(l.max_quality);
    l.viewer_max_kbps = o.viewer_max_kbps.value_or(l.viewer_max_kbps);
    l.session_max_kbps = o.session_max_kbps.value_or(l.session_max_kbps);
    l.keep_upstream_without_viewers =
        o.keep_upstream_without_viewers.value_or(l.keep_upstream_without_viewers);
    l.idle_timeout_s = o.idle_timeout_s.value_or(l.idle_timeout_s);
    l.input_idle_timeout_s = o.input_idle_timeout_s.value_or(l.input_idle_timeout_s);
    l.require_tls = o.require_tls.value_or(l.require_tls);
    l.security_types = o.security_types.value_or(l.security_types);
    l.input_policy = o.input_policy.value_or(l.input_policy);
    l.clipboard = o.clipboard.value_or(l.clipboard);
    l.handshake_timeout_s = o.handshake_timeout_s.value_or(l.handshake_timeout_s);
    l.max_cut_text = o.max_cut_text.value_or(l.max_cut_text);
    l.max_framebuffer = o.max_framebuffer.value_or(l.max_framebuffer);
    l.max_cursor = o.max_cursor.value_or(l.max_cursor);
    l.max_fence_payload = o.max_fence_payload.value_or(l.max_fence_payload);
    return l;
}

ConfigResult load_config(std::string_view text, std::string_view source_name) {
    return Loader(source_name).load(text);
}

ConfigResult load_config_file(const std::string& path) {
    ConfigResult result;
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        result.errors.push_back(path + ": cannot open: " + std::strerror(errno));
        return result;
    }
    std::string text;
    char buf[64 * 1024];
    while (in.read(buf, sizeof buf) || in.gcount() > 0) {
        text.append(buf, static_cast<size_t>(in.gcount()));
        if (text.size() > kMaxFileBytes) {
            result.errors.push_back(path + ": larger than " + std::to_string(kMaxFileBytes >> 20) +
                                    " MiB; not a config file?");
            return result;
        }
    }
    if (in.bad()) {
        result.errors.push_back(path + ": cannot read: " + std::strerror(errno));
        return result;
    }
    return load_config(text, path);
}

std::vector<std::string> inherit_defaults(Config& config) {
    std::vector<std::string> problems;
    const SessionLimits& d = config.global.defaults;
    if (d.min_quality > d.max_quality)
        problems.push_back("min_quality: " + std::to_string(d.min_quality) +
                           " is above max_quality " + std::to_string(d.max_quality));
    for (SessionConfig& s : config.sessions) {
        s.limits = apply_overrides(d, s.overrides);
        if (s.limits.min_quality > s.limits.max_quality && d.min_quality <= d.max_quality)
            problems.push_back("session '" + s.name + "': min_quality " +
                               std::to_string(s.limits.min_quality) + " is above max_quality " +
                               std::to_string(s.limits.max_quality));
    }
    return problems;
}

void append_list(std::string& out, const char* key, const std::vector<std::string>& list) {
    if (list.empty()) return;
    std::string joined;
    for (const std::string& e : list)
        joined += (joined.empty() ? "" : ",") + e;
    append_value(out, key, joined);
}

std::string describe(const Config& config) {
    const GlobalConfig& g = config.global;
    std::string out = "global:";
    append_value(out, "listen", g.listen);
    append_value(out, "repeater_listen", g.repeater_listen);
    append_value(out, "allow_dynamic_ids", g.allow_dynamic_ids ? "true" : "false");
    if (g.display_base > 0) append_value(out, "display_base", std::to_string(g.display_base));
    append_value(out, "log_level", log_level_name(g.log_level));
    append_value(out, "log_format", g.log_format == LogFormat::kJson ? "json" : "text");
    append_value(out, "cache_mb", std::to_string(g.cache_mb));
    append_value(out, "encode_threads",
                 g.encode_threads < 0 ? "auto" : std::to_string(g.encode_threads));
    append_value(out, "stats_interval", std::to_string(g.stats_interval_s));
    if (!g.mode1_allow.empty()) {
        std::string list;
        for (const std::string& e : g.mode1_allow)
            list += (list.empty() ? "" : ",") + e;
        append_value(out, "mode1_allow", list);
    }
    if (!g.dynamic_id_key_file.empty())
        append_value(out, "dynamic_id_key_file", g.dynamic_id_key_file);
    append_list(out, "allow", g.allow);
    append_list(out, "deny", g.deny);
    append_list(out, "trusted_proxies", g.trusted_proxies);
    append_value(out, "max_preauth", std::to_string(g.max_preauth));
    append_value(out, "max_preauth_per_address", std::to_string(g.max_preauth_per_address));
    append_value(out, "max_total_viewers", std::to_string(g.max_total_viewers));
    if (!g.users_file.empty()) append_value(out, "users_file", g.users_file);
    append_value(out, "http_listen", g.http_listen.empty() ? "(none)" : g.http_listen);
    if (!g.web_root.empty()) append_value(out, "web_root", g.web_root);
    if (!g.web_token_key_file.empty())
        append_value(out, "web_token_key_file", g.web_token_key_file);
    append_list(out, "web_origins", g.web_origins);
    append_value(out, "metrics_listen", g.metrics_listen.empty() ? "(none)" : g.metrics_listen);
    append_value(out, "drain_timeout", std::to_string(g.drain_timeout_s));
    append_value(out, "http_on_viewer_port", g.http_on_viewer_port ? "true" : "false");

    append_limits(out, g.defaults);
    out += '\n';
    for (const SessionConfig& s : config.sessions) {
        out += "session " + without_control_bytes(s.name) + ":";
        if (!s.upstream.empty()) append_value(out, "upstream", s.upstream);
        if (!s.repeater_id.empty()) append_value(out, "repeater_id", s.repeater_id);
        append_value(out, "listen", s.listen.empty() ? "shared" : s.listen);
        if (!s.password_file.empty()) append_value(out, "password_file", s.password_file);
        if (!s.viewonly_password_file.empty())
            append_value(out, "viewonly_password_file", s.viewonly_password_file);
        if (!s.upstream_password_file.empty())
            append_value(out, "upstream_password_file", s.upstream_password_file);
        if (!s.upstream_username_file.empty())
            append_value(out, "upstream_username_file", s.upstream_username_file);
        if (!s.reverse_listen.empty()) append_value(out, "reverse_listen", s.reverse_listen);
        if (!s.repeater_secret_file.empty())
            append_value(out, "repeater_secret_file", s.repeater_secret_file);
        if (!s.web_view_token_file.empty())
            append_value(out, "web_view_token_file", s.web_view_token_file);
        if (!s.web_control_token_file.empty())
            append_value(out, "web_control_token_file", s.web_control_token_file);
        if (s.web_require_token) append_value(out, "web_require_token", "true");
        if (s.display >= 0) append_value(out, "display", std::to_string(s.display));
        append_list(out, "allow", s.allow);
        append_list(out, "deny", s.deny);
        append_limits(out, s.limits);
        out += '\n';
    }
    if (config.sessions.empty()) out += "no sessions\n";
    return out;
}

}  // namespace rfbcast
