#include "codec/repeater_header.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

#include "codec/ascii.h"

namespace rfb {
namespace {

bool is_id_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-';
}

bool is_host_char(char c) {
    return is_id_char(c);
}

bool starts_with_id_prefix(std::string_view text) {
    return text.size() >= 3 && (text[0] == 'I' || text[0] == 'i') &&
           (text[1] == 'D' || text[1] == 'd') && text[2] == ':';
}

// Digits only, no sign or spaces (sscanf would take " 12x"); false past 65535.
bool parse_number(std::string_view digits, uint32_t& value) {
    if (digits.empty()) return false;
    value = 0;
    for (char c : digits) {
        if (!is_ascii_digit(c)) return false;
        value = value * 10 + static_cast<uint32_t>(c - '0');
        if (value > 65535) return false;
    }
    return true;
}

bool parse_id(std::string_view rest, RepeaterTarget& out, std::string& error) {
    const size_t colon = rest.find(':');
    const std::string_view id = rest.substr(0, colon);
    if (id.empty()) {
        error = "repeater ID is empty";
        return false;
    }
    if (id.size() > kRepeaterMaxIdLength) {
        error = "repeater ID is longer than 64 characters";
        return false;
    }
    if (!std::all_of(id.begin(), id.end(), is_id_char)) {
        error = "repeater ID may only hold letters, digits, '_', '.' and '-'";
        return false;
    }
    std::string_view secret;
    if (colon != std::string_view::npos) {
        secret = rest.substr(colon + 1);
        if (secret.empty()) {
            error = "repeater ID secret after ':' is empty";
            return false;
        }
        if (secret.size() > kRepeaterMaxSecretLength) {
            error = "repeater ID secret is longer than 128 characters";
            return false;
        }
        // Printable non-space ASCII was checked for the whole text; only ':' is left to refuse.
        if (secret.find(':') != std::string_view::npos) {
            error = "repeater ID secret may not contain ':'";
            return false;
        }
    }
    out = RepeaterTarget{};
    out.kind = RepeaterTarget::kId;
    out.id = std::string(id);
    out.secret = std::string(secret);
    return true;
}

// "" -> 5900, ":N" -> display N below 100 else port N, "::N" -> port N.
bool parse_port_suffix(std::string_view suffix, uint16_t& port, std::string& error) {
    if (suffix.empty()) {
        port = kRepeaterDefaultPort;
        return true;
    }
    if (suffix[0] != ':') {
        error = "repeater destination has text after the host that is not a port";
        return false;
    }
    const bool literal_port = suffix.size() >= 2 && suffix[1] == ':';
    uint32_t value = 0;
    if (!parse_number(suffix.substr(literal_port ? 2 : 1), value)) {
        error = "repeater destination port is not a number from 0 to 65535";
        return false;
    }
    if (!literal_port && value < 100) value += kRepeaterDefaultPort;  // a display number
    if (value == 0) {
        error = "repeater destination port is 0";
        return false;
    }
    port = static_cast<uint16_t>(value);
    return true;
}

bool parse_host_port(std::string_view text, RepeaterTarget& out, std::string& error) {
    std::string_view host, suffix;
    bool bracketed = false;
    if (text[0] == '[') {
        const size_t close = text.find(']');
        if (close == std::string_view::npos) {
            error = "repeater destination has '[' without ']'";
            return false;
        }
        host = text.substr(1, close - 1);
        suffix = text.substr(close + 1);
        bracketed = true;
    } else {
        const size_t colon = text.find(':');
        host = text.substr(0, colon);
        if (colon != std::string_view::npos) suffix = text.substr(colon);
    }
    if (host.empty()) {
        error = "repeater destination host is empty";
        return false;
    }
    if (host.size() > kRepeaterMaxHostLength) {
        error = "repeater destination host is longer than 253 characters";
        return false;
    }
    if (bracketed) {
        char buf[64];
        in6_addr addr;
        if (host.size() >= sizeof buf) {
            error = "repeater destination in brackets is not an IPv6 address";
            return false;
        }
        std::memcpy(buf, host.data(), host.size());
        buf[host.size()] = '\0';
        if (inet_pton(AF_INET6, buf, &addr) != 1) {
            error = "repeater destination in brackets is not an IPv6 address";
            return false;
        }
    } else {
        if (!std::all_of(host.begin(), host.end(), is_host_char)) {
            error = "repeater destination host may only hold letters, digits, '_', '.' and '-'";
            return false;
        }
        const bool numeric = std::all_of(host.begin(), host.end(),
                                         [](char c) { return is_ascii_digit(c) || c == '.'; });
        if (numeric) {
            char buf[32];
            in_addr addr;
            bool ok = host.size() < sizeof buf;
            if (ok) {
                std::memcpy(buf, host.data(), host.size());
                buf[host.size()] = '\0';
                ok = inet_pton(AF_INET, buf, &addr) == 1;
            }
            if (!ok) {
                error = "repeater destination host is numeric but not a dotted-quad IPv4 address";
                return false;
            }
        }
    }
    uint16_t port = 0;
    if (!parse_port_suffix(suffix, port, error)) return false;
    out = RepeaterTarget{};
    out.kind = RepeaterTarget::kHostPort;
    out.host = std::string(host);
    out.port = port;
    return true;
}

}  // namespace

bool is_repeater_greeting(std::span<const uint8_t> version) {
    return version.size() == kRepeaterGreetingSize &&
           std::equal(version.begin(), version.end(), kRepeaterGreeting.begin());
}

bool parse_repeater_header(std::span<const uint8_t> field, RepeaterTarget& out,
                           std::string& error) {
    if (field.size() != kRepeaterHeaderSize) {
        error = "repeater header must be 250 bytes, got " + std::to_string(field.size());
        return false;
    }
    const auto nul = std::find(field.begin(), field.end(), uint8_t{0});
    const size_t length = static_cast<size_t>(nul - field.begin());
    if (length == 0) {
        error = "repeater header is empty";
        return false;
    }
    for (size_t i = 0; i < length; ++i) {
        const uint8_t b = field[i];
        if (b <= 0x20 || b >= 0x7f) {
            error = "repeater header holds a space, control or non-ASCII byte at offset " +
                    std::to_string(i);
            return false;
        }
    }
    const std::string_view text(reinterpret_cast<const char*>(field.data()), length);
    if (starts_with_id_prefix(text)) return parse_id(text.substr(3), out, error);
    return parse_host_port(text, out, error);
}

std::string repeater_text(const RepeaterTarget& target) {
    if (target.kind == RepeaterTarget::kId)
        return "ID:" + target.id + (target.secret.empty() ? "" : ":" + target.secret);
    const bool v6 = target.host.find(':') != std::string::npos;
    const std::string host = v6 ? "[" + target.host + "]" : target.host;
    // The shortest spelling, so that any target parsed from 250 bytes fits in 250 again.
    const uint16_t port = target.port;
    if (port == kRepeaterDefaultPort) return host;
    if (port > kRepeaterDefaultPort && port < kRepeaterDefaultPort + 100)
        return host + ":" + std::to_string(port - kRepeaterDefaultPort);
    return host + (port < 100 ? "::" : ":") + std::to_string(port);
}

std::vector<uint8_t> make_repeater_header(std::string_view text) {
    std::vector<uint8_t> field(kRepeaterHeaderSize, 0);
    std::copy_n(text.begin(), std::min(text.size(), kRepeaterHeaderSize), field.begin());
    return field;
}

}  // namespace rfb
