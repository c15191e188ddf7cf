#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

// Which viewer security types a listener or session may offer (issue 7: "per listener: which
// security types are offered"). Names are TigerVNC's -SecurityTypes spellings, lower-cased, so
// an operator can write the list a viewer documents.
namespace rfbcast {

enum SecurityTypeBit : uint32_t {
    kSecNone = 1u << 0,     // security type None (only without passwords)
    kSecVncAuth = 1u << 1,  // VNC Authentication, in clear
    kSecTlsNone = 1u << 2,
    kSecTlsVnc = 1u << 3,
    kSecTlsPlain = 1u << 4,
    kSecX509None = 1u << 5,
    kSecX509Vnc = 1u << 6,
    kSecX509Plain = 1u << 7,
};
inline constexpr uint32_t kAllSecurityTypes = (1u << 8) - 1;

// The bit of a VeNCrypt sub-type (rfb::vencrypt::k*); 0 for anything else.
uint32_t security_bit_of_subtype(uint32_t subtype);

// Parses names ("none", "vncauth", "tlsnone", "tlsvnc", "tlsplain", "x509none", "x509vnc",
// "x509plain"; "vnc" is also accepted for vncauth), case-insensitive. An empty list or an
// unknown name is an error naming it.
bool parse_security_types(const std::vector<std::string>& names, uint32_t& mask,
                          std::string& error);
// "tlsvnc,x509vnc" in the order above; "all" for every type.
std::string format_security_types(uint32_t mask);

}  // namespace rfbcast
