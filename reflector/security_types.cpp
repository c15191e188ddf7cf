#include "reflector/security_types.h"

#include <array>
#include <cctype>
#include <utility>

#include "codec/rfb_constants.h"

namespace rfbcast {
namespace {

struct Named {
    const char* name;
    uint32_t bit;
};
constexpr std::array<Named, 8> kNames{{{"none", kSecNone},
                                       {"vncauth", kSecVncAuth},
                                       {"tlsnone", kSecTlsNone},
                                       {"tlsvnc", kSecTlsVnc},
                                       {"tlsplain", kSecTlsPlain},
                                       {"x509none", kSecX509None},
                                       {"x509vnc", kSecX509Vnc},
                                       {"x509plain", kSecX509Plain}}};

}  // namespace

uint32_t security_bit_of_subtype(uint32_t subtype) {
    namespace v = rfb::vencrypt;
    switch (subtype) {
        case v::kTLSNone:
            return kSecTlsNone;
        case v::kTLSVnc:
            return kSecTlsVnc;
        case v::kTLSPlain:
            return kSecTlsPlain;
        case v::kX509None:
            return kSecX509None;
        case v::kX509Vnc:
            return kSecX509Vnc;
        case v::kX509Plain:
            return kSecX509Plain;
        default:
            return 0;
    }
}

bool parse_security_types(const std::vector<std::string>& names, uint32_t& mask,
                          std::string& error) {
    if (names.empty()) {
        error = "an empty list would refuse every viewer";
        return false;
    }
    uint32_t m = 0;
    for (const std::string& raw : names) {
        std::string n;
        for (char c : raw)
            n += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (n == "vnc") n = "vncauth";
        uint32_t bit = 0;
        for (const Named& k : kNames)
            if (n == k.name) bit = k.bit;
        if (!bit) {
            error = "unknown security type \"" + raw +
                    "\" (none, vncauth, tlsnone, tlsvnc, tlsplain, x509none, x509vnc, x509plain)";
            return false;
        }
        m |= bit;
    }
    mask = m;
    return true;
}

std::string format_security_types(uint32_t mask) {
    if ((mask & kAllSecurityTypes) == kAllSecurityTypes) return "all";
    std::string out;
    for (const Named& k : kNames) {
        if (!(mask & k.bit)) continue;
        if (!out.empty()) out += ',';
        out += k.name;
    }
    return out;
}

}  // namespace rfbcast
