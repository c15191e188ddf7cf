#include "reflector/address_allow_list.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstddef>
#include <cstring>

#include "reflector/printable_text.h"
#include "reflector/socket_address.h"

namespace rfbcast {
namespace {

constexpr size_t kMaxHostNameLength = 253;

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

char lower(char c) {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

bool is_name_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '.' ||
           c == '-' || c == '_';
}

bool parse_number(std::string_view digits, uint32_t max, uint32_t& value) {
    if (digits.empty() || digits.size() > 5) return false;
    value = 0;
    for (char c : digits) {
        if (!is_digit(c)) return false;
        value = value * 10 + static_cast<uint32_t>(c - '0');
    }
    return value <= max;
}

// inet_pton wants a NUL-terminated string; anything longer than an address is not one.
bool pton(int family, std::string_view text, void* out) {
    char buf[64];
    if (text.empty() || text.size() >= sizeof buf) return false;
    std::memcpy(buf, text.data(), text.size());
    buf[text.size()] = '\0';
    return inet_pton(family, buf, out) == 1;
}

uint8_t prefix_mask(unsigned prefix, size_t byte_index) {
    const long bits = static_cast<long>(prefix) - static_cast<long>(8 * byte_index);
    if (bits >= 8) return 0xff;
    if (bits <= 0) return 0;
    return static_cast<uint8_t>(0xff << (8 - bits));
}

std::string address_text(bool v4, const std::array<uint8_t, 16>& bytes) {
    char buf[INET6_ADDRSTRLEN] = "?";
    inet_ntop(v4 ? AF_INET : AF_INET6, bytes.data(), buf, sizeof buf);
    return buf;
}

}  // namespace

bool AddressAllowList::parse_entry(std::string_view entry, Entry& out, std::string& problem) {
    if (entry.empty()) {
        problem = "empty entry";
        return false;
    }
    for (char c : entry) {
        const auto b = static_cast<unsigned char>(c);
        if (b <= 0x20 || b >= 0x7f) {
            problem = "contains a space, control or non-ASCII character";
            return false;
        }
    }
    std::string_view addr, prefix_text, ports;
    bool has_prefix = false, has_ports = false, bracketed = false;
    auto split_prefix = [&](std::string_view text) {
        const size_t slash = text.find('/');
        addr = text.substr(0, slash);
        if (slash != std::string_view::npos) {
            has_prefix = true;
            prefix_text = text.substr(slash + 1);
        }
    };
    if (entry[0] == '[') {
        bracketed = true;
        const size_t close = entry.find(']');
        if (close == std::string_view::npos) {
            problem = "'[' without ']'";
            return false;
        }
        split_prefix(entry.substr(1, close - 1));
        std::string_view after = entry.substr(close + 1);
        if (!after.empty() && after[0] == '/') {
            if (has_prefix) {
                problem = "two prefix lengths";
                return false;
            }
            const size_t colon = after.find(':');
            has_prefix = true;
            prefix_text = after.substr(1, colon == std::string_view::npos ? colon : colon - 1);
            after = colon == std::string_view::npos ? std::string_view() : after.substr(colon);
        }
        if (!after.empty()) {
            if (after[0] != ':') {
                problem = "unexpected text after ']'";
                return false;
            }
            has_ports = true;
            ports = after.substr(1);
        }
    } else {
        const size_t colons = static_cast<size_t>(std::count(entry.begin(), entry.end(), ':'));
        if (colons == 1) {
            const size_t colon = entry.find(':');
            split_prefix(entry.substr(0, colon));
            has_ports = true;
            ports = entry.substr(colon + 1);
        } else {
            split_prefix(entry);  // no colon, or an unbracketed IPv6 address (no port possible)
        }
    }
    if (addr.empty()) {
        problem = "no address";
        return false;
    }

    Entry e;
    in_addr v4;
    in6_addr v6;
    if (!bracketed && pton(AF_INET, addr, &v4)) {
        e.kind = Entry::kV4;
        std::memcpy(e.addr.data(), &v4, 4);
    } else if (addr.find(':') != std::string_view::npos || bracketed) {
        if (!pton(AF_INET6, addr, &v6)) {
            problem = addr.find('%') != std::string_view::npos
                          ? "zone indices ('%') are not supported"
                          : "'" + std::string(addr) + "' is not an IPv6 address";
            return false;
        }
        e.kind = Entry::kV6;
        std::memcpy(e.addr.data(), &v6, 16);
    } else if (std::all_of(addr.begin(), addr.end(),
                           [](char c) { return is_digit(c) || c == '.'; })) {
        problem = "'" + std::string(addr) + "' is not a dotted-quad IPv4 address";
        return false;
    } else {
        if (!std::all_of(addr.begin(), addr.end(), is_name_char)) {
            problem = "host name may only hold letters, digits, '.', '-' and '_'";
            return false;
        }
        if (addr.size() > kMaxHostNameLength) {
            problem = "host name is longer than 253 characters";
            return false;
        }
        if (has_prefix) {
            problem = "a host name takes no prefix length";
            return false;
        }
        e.kind = Entry::kName;
        e.name.resize(addr.size());
        std::transform(addr.begin(), addr.end(), e.name.begin(), lower);
    }

    if (e.kind != Entry::kName) {
        const unsigned max = e.kind == Entry::kV4 ? 32 : 128;
        uint32_t prefix = max;
        if (has_prefix && !parse_number(prefix_text, max, prefix)) {
            problem = "bad prefix length '/" + std::string(prefix_text) + "' (0-" +
                      std::to_string(max) + " for " + (max == 32 ? "IPv4" : "IPv6") + ")";
            return false;
        }
        e.prefix = prefix;
        const size_t bytes = max / 8;
        std::array<uint8_t, 16> network{};
        for (size_t i = 0; i < bytes; ++i)
            network[i] = e.addr[i] & prefix_mask(e.prefix, i);
        if (!std::equal(network.begin(), network.begin() + static_cast<ptrdiff_t>(bytes),
                        e.addr.begin())) {
            const bool is_v4 = e.kind == Entry::kV4;
            problem = "host bits set after /" + std::to_string(e.prefix) + ": did you mean " +
                      address_text(is_v4, network) + "/" + std::to_string(e.prefix) + " or " +
                      address_text(is_v4, e.addr) + "/" + std::to_string(max) + "?";
            return false;
        }
        // ::ffff:a.b.c.d/N (N >= 96) is the IPv4 network a.b.c.d/(N-96); addresses are folded
        // the same way, so both spellings match a dual-stack socket's mapped peers.
        if (e.kind == Entry::kV6 && e.prefix >= 96 && is_ipv4_mapped(e.addr.data())) {
            e.kind = Entry::kV4;
            std::array<uint8_t, 16> folded{};
            std::copy(e.addr.begin() + 12, e.addr.end(), folded.begin());
            e.addr = folded;
            e.prefix -= 96;
        }
    }

    if (has_ports) {
        const size_t dash = ports.find('-');
        const std::string_view low = ports.substr(0, dash);
        const std::string_view high = dash == std::string_view::npos ? low : ports.substr(dash + 1);
        uint32_t lo = 0, hi = 0;
        if (!parse_number(low, 65535, lo) || !parse_number(high, 65535, hi) || lo == 0 || hi == 0) {
            problem = "bad port '" + std::string(ports) + "' (1-65535, or a range LOW-HIGH)";
            return false;
        }
        if (lo > hi) {
            problem = "port range '" + std::string(ports) + "' runs backwards";
            return false;
        }
        e.any_port = false;
        e.port_low = static_cast<uint16_t>(lo);
        e.port_high = static_cast<uint16_t>(hi);
    }
    out = std::move(e);
    return true;
}

bool AddressAllowList::add(std::string_view entry, std::string& error) {
    Entry e;
    std::string problem;
    if (!parse_entry(entry, e, problem)) {
        error = "'" + printable_ascii(entry) + "': " + problem;
        return false;
    }
    entries_.push_back(std::move(e));
    return true;
}

bool AddressAllowList::parse(const std::vector<std::string>& entries, std::string& error) {
    AddressAllowList fresh;
    for (const std::string& entry : entries)
        if (!fresh.add(entry, error)) return false;
    entries_ = std::move(fresh.entries_);
    return true;
}

bool AddressAllowList::has_ports() const {
    return std::any_of(entries_.begin(), entries_.end(),
                       [](const Entry& e) { return !e.any_port; });
}

bool AddressAllowList::from_sockaddr(const sockaddr* addr, Address& out, uint16_t& port) {
    if (addr == nullptr) return false;
    out = Address{};
    if (addr->sa_family == AF_INET) {
        sockaddr_in in;
        std::memcpy(&in, addr, sizeof in);
        out.v4 = true;
        std::memcpy(out.bytes.data(), &in.sin_addr, 4);
        port = ntohs(in.sin_port);
        return true;
    }
    if (addr->sa_family == AF_INET6) {
        sockaddr_in6 in6;
        std::memcpy(&in6, addr, sizeof in6);
        const auto* b = reinterpret_cast<const uint8_t*>(&in6.sin6_addr);
        if (is_ipv4_mapped(b)) {
            out.v4 = true;
            std::copy(b + 12, b + 16, out.bytes.begin());
        } else {
            std::copy(b, b + 16, out.bytes.begin());
        }
        port = ntohs(in6.sin6_port);
        return true;
    }
    return false;
}

bool AddressAllowList::from_text(std::string_view host, Address& out) {
    out = Address{};
    in_addr v4;
    in6_addr v6;
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
        if (!pton(AF_INET6, host.substr(1, host.size() - 2), &v6)) return false;
    } else if (pton(AF_INET, host, &v4)) {
        out.v4 = true;
        std::memcpy(out.bytes.data(), &v4, 4);
        return true;
    } else if (!pton(AF_INET6, host, &v6)) {
        return false;
    }
    const auto* b = reinterpret_cast<const uint8_t*>(&v6);
    if (is_ipv4_mapped(b)) {
        out.v4 = true;
        std::copy(b + 12, b + 16, out.bytes.begin());
    } else {
        std::copy(b, b + 16, out.bytes.begin());
    }
    return true;
}

bool AddressAllowList::address_matches(const Entry& e, const Address& a) {
    if (e.kind == Entry::kName || (e.kind == Entry::kV4) != a.v4) return false;
    const size_t bytes = a.v4 ? 4 : 16;
    for (size_t i = 0; i < bytes; ++i) {
        const uint8_t mask = prefix_mask(e.prefix, i);
        if ((a.bytes[i] & mask) != e.addr[i]) return false;
    }
    return true;
}

bool AddressAllowList::port_matches(const Entry& e, uint16_t port) {
    return e.any_port || (port >= e.port_low && port <= e.port_high);
}

bool AddressAllowList::contains(const sockaddr* addr) const {
    Address a;
    uint16_t port = 0;
    if (!from_sockaddr(addr, a, port)) return false;
    return std::any_of(entries_.begin(), entries_.end(), [&](const Entry& e) {
        return address_matches(e, a) && port_matches(e, port);
    });
}

bool AddressAllowList::contains_address(const sockaddr* addr) const {
    Address a;
    uint16_t port = 0;
    if (!from_sockaddr(addr, a, port)) return false;
    return std::any_of(entries_.begin(), entries_.end(),
                       [&](const Entry& e) { return address_matches(e, a); });
}

bool AddressAllowList::allows_host(std::string_view host, uint16_t port) const {
    Address a;
    if (from_text(host, a)) {
        return std::any_of(entries_.begin(), entries_.end(), [&](const Entry& e) {
            return address_matches(e, a) && port_matches(e, port);
        });
    }
    return std::any_of(entries_.begin(), entries_.end(), [&](const Entry& e) {
        return e.kind == Entry::kName && port_matches(e, port) && e.name.size() == host.size() &&
               std::equal(host.begin(), host.end(), e.name.begin(),
                          [](char h, char n) { return lower(h) == n; });
    });
}

std::string AddressAllowList::entry_text(const Entry& e) {
    std::string out;
    if (e.kind == Entry::kName)
        out = e.name;
    else if (e.kind == Entry::kV4)
        out = address_text(true, e.addr) + "/" + std::to_string(e.prefix);
    else
        out = "[" + address_text(false, e.addr) + "]/" + std::to_string(e.prefix);
    if (!e.any_port) {
        out += ":" + std::to_string(e.port_low);
        if (e.port_high != e.port_low) out += "-" + std::to_string(e.port_high);
    }
    return out;
}

std::string AddressAllowList::describe() const {
    std::string out;
    for (const Entry& e : entries_) {
        if (!out.empty()) out += ", ";
        out += entry_text(e);
    }
    return out;
}

}  // namespace rfbcast
