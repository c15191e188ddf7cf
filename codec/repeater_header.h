#pragma once
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

// The UltraVNC repeater handshake: a repeater greets viewers with "RFB 000.000\n"; then viewers
// (after the greeting) and servers (at once) send a fixed 250-byte field naming where they want to
// go. The text is everything before the first NUL. Real peers:
//   - libvncclient (ConnectToRFBRepeater): "%s:%d" of destHost and destPort, memset to NUL first,
//     so a viewer asking for ID 1234 sends "ID:1234" and 243 NULs.
//   - x11vnc -connect repeater=ID:1234+host:5500: snprintf into a calloc'ed 250 bytes (at most
//     249 characters, NUL padded).
//   - libvncserver's old examples/repeater.c: snprintf into an uninitialised stack buffer, so the
//     bytes after the NUL are garbage. That is why bytes after the first NUL are ignored.
//   - UltraVNC's own repeaters read the 250 bytes, stop at the first NUL (a field without one is
//     all text), require "ID:" plus digits for Mode II and parse anything else as Mode I
//     host[:display | ::port].
namespace rfb {

inline constexpr size_t kRepeaterHeaderSize = 250;
inline constexpr std::string_view kRepeaterGreeting = "RFB 000.000\n";
inline constexpr size_t kRepeaterGreetingSize = 12;

inline constexpr size_t kRepeaterMaxIdLength = 64;
inline constexpr size_t kRepeaterMaxSecretLength = 128;
inline constexpr size_t kRepeaterMaxHostLength = 253;  // a DNS name's limit
// Mode I without a port, and the base a display number is added to (UltraVNC, RealVNC).
inline constexpr uint16_t kRepeaterDefaultPort = 5900;

// True when `version` is exactly the 12 bytes a repeater sends instead of an RFB version.
bool is_repeater_greeting(std::span<const uint8_t> version);

struct RepeaterTarget {
    // kId: UltraVNC Mode II, "ID:<id>" or rfbcast's "ID:<id>:<secret>".
    // kHostPort: UltraVNC Mode I, a destination the repeater would dial.
    enum Kind { kId, kHostPort };
    Kind kind = kId;
    std::string id;      // kId: [A-Za-z0-9_.-]{1,64}, case kept as sent
    std::string secret;  // kId: empty, or [!-~]{1,128} without ':'
    std::string host;    // kHostPort: a name, dotted-quad IPv4, or IPv6 without its brackets
    uint16_t port = 0;   // kHostPort: 1..65535
};

// Parses the 250-byte field (any other size is an error). Rules, and why:
//   - The text ends at the first NUL; what follows is ignored (see above). No NUL: all 250 bytes
//     are text. Empty text, spaces, control characters and bytes >= 0x7f are errors.
//   - "ID:" in any case is Mode II. UltraVNC matches it case-sensitively and takes digits only;
//     rfbcast also takes "id:" and letters, since no peer means a host called "id".
//   - Anything else is Mode I, parsed as UltraVNC's ParseDisplay does: "host" is port 5900,
//     "host:N" is display N (port 5900 + N) when N < 100 and port N otherwise, "host::N" is port N.
//     rfbcast adds "[v6addr]" with the same suffixes; an IPv6 address must be bracketed.
//   - A host made only of digits and dots must be a dotted-quad IPv4 address, so that a resolver's
//     looser forms ("2130706433", "010.0.0.1") cannot slip past an address allow-list.
// Error texts never repeat the field's bytes (the secret, or hostile text, would reach the log).
bool parse_repeater_header(std::span<const uint8_t> field, RepeaterTarget& out, std::string& error);

// The shortest text that parses back to `target`: "ID:<id>[:<secret>]", or the host (IPv6 in
// brackets) with no port for 5900, ":N" for display N (5901-5999), "::N" below 100, else ":N".
std::string repeater_text(const RepeaterTarget& target);

// `text` NUL-padded to 250 bytes (cut at 250 if longer), as libvncclient and x11vnc send it.
std::vector<uint8_t> make_repeater_header(std::string_view text);

}  // namespace rfb
