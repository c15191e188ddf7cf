#pragma once
#include <sys/socket.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace rfbcast {

// A list of address entries, each optionally limited to a port or port range. The same matcher
// serves allow-lists (Mode I destinations, listener allow lists, PROXY-protocol trusted peers)
// and deny lists: it only answers "is this on the list".
//
// Entries:
//   "10.0.0.0/8"  "192.168.1.7"  "::1"  "fd00::/8"  "[fd00::]/8"  "[fd00::/8]"  "pi.local"
// each optionally followed by ":PORT" or ":LOW-HIGH":
//   "10.0.0.0/8:5900-5999"  "[::1]:5901"  "127.0.0.1/32:5900"  "pi.local:5900"
// An IPv6 entry with a port must be bracketed ("::1:5900" is itself an IPv6 address).
// Decisions:
//   - A prefix with host bits set ("192.168.1.7/24") is an error, not silently widened or
//     narrowed: in an allow-list a typo must not open a whole network. The error names both
//     readings.
//   - IPv4-mapped IPv6 (::ffff:a.b.c.d) is IPv4, for addresses and entries alike, so a
//     dual-stack socket's peer ::ffff:10.0.0.1 matches "10.0.0.0/8". So "::/0" is every IPv6
//     address but no IPv4 one; write "0.0.0.0/0" too for everything.
//   - A host name entry matches only that name, case-insensitively, given as text (a Mode I
//     destination); never a socket address. Names made only of digits and dots are refused:
//     they are mistyped addresses, and resolvers read forms like "010.0.0.1" as octal.
//   - Zone indices ("fe80::1%eth0"), empty entries and whitespace are errors.
class AddressAllowList {
  public:
    // Replaces the whole list with `entries` (as from a config file, also on reload). On error
    // the list is left as it was and `error` is "'<entry>': <problem>" for the first bad entry.
    bool parse(const std::vector<std::string>& entries, std::string& error);
    // Appends one entry; on error the list is unchanged.
    bool add(std::string_view entry, std::string& error);

    bool empty() const { return entries_.empty(); }
    size_t size() const { return entries_.size(); }
    // True when some entry carries a port: callers matching a peer's source address (where the
    // port means nothing) can refuse such a list at configuration time.
    bool has_ports() const;

    // `addr` is a sockaddr_in or sockaddr_in6 (others never match); its address and port must
    // both match one entry. For destinations.
    bool contains(const sockaddr* addr) const;
    // As above, ignoring the entries' ports: for a peer's source address.
    bool contains_address(const sockaddr* addr) const;
    // A Mode I destination as the repeater header gave it: a numeric IPv4 or IPv6 address
    // (brackets allowed) is matched as an address and port; anything else is a host name and
    // matches only a name entry spelling it (case-insensitively) with a matching port. The
    // caller should then dial a numeric host as exactly that address (AI_NUMERICHOST), so what
    // was checked is what is dialled.
    bool allows_host(std::string_view host, uint16_t port) const;

    // The entries in canonical form ("10.0.0.0/8:5900-5999, [::1]/128, pi.local"), for summaries;
    // each one parses back to the same entry.
    std::string describe() const;

  private:
    struct Entry {
        enum Kind { kV4, kV6, kName } kind = kV4;
        std::array<uint8_t, 16> addr{};  // kV4 uses the first 4 bytes
        unsigned prefix = 0;
        std::string name;  // kName, lower case
        uint16_t port_low = 1;
        uint16_t port_high = 65535;
        bool any_port = true;
    };
    struct Address {
        bool v4 = false;
        std::array<uint8_t, 16> bytes{};
    };

    static bool parse_entry(std::string_view entry, Entry& out, std::string& problem);
    static bool from_sockaddr(const sockaddr* addr, Address& out, uint16_t& port);
    static bool from_text(std::string_view host, Address& out);
    static bool address_matches(const Entry& e, const Address& a);
    static bool port_matches(const Entry& e, uint16_t port);
    static std::string entry_text(const Entry& e);

    std::vector<Entry> entries_;
};

}  // namespace rfbcast
