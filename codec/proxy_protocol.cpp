#include "codec/proxy_protocol.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>
#include <string_view>

#include "codec/ascii.h"

namespace rfb {
namespace {

constexpr std::string_view kV1Prefix = "PROXY ";
constexpr uint8_t kV2CommandLocal = 0x0;
constexpr uint8_t kV2CommandProxy = 0x1;
constexpr size_t kV2Ipv4Block = 2 * 4 + 2 * 2;
constexpr size_t kV2Ipv6Block = 2 * 16 + 2 * 2;
constexpr size_t kV2UnixBlock = 2 * 108;

// Results, qualified at each use: other parsers have helpers of the same names.
namespace proxy_parse {

ProxyParseResult need_more() {
    return {};
}

ProxyParseResult fail(std::string reason) {
    ProxyParseResult r;
    r.status = ProxyParseResult::kError;
    r.error = std::move(reason);
    return r;
}

ProxyParseResult done(size_t consumed, const ProxyHeader& header) {
    ProxyParseResult r;
    r.status = ProxyParseResult::kDone;
    r.consumed = consumed;
    r.header = header;
    return r;
}

}  // namespace proxy_parse

uint16_t be16(const uint8_t* p) {
    return static_cast<uint16_t>((p[0] << 8) | p[1]);
}

// Decimal 0..max without leading zeroes ("0" itself is fine), as the spec requires: a leading zero
// could be read as octal by someone else.
bool parse_decimal(std::string_view s, unsigned max, unsigned& out) {
    if (s.empty() || s.size() > 5) return false;
    if (s.size() > 1 && s[0] == '0') return false;
    unsigned v = 0;
    for (char c : s) {
        if (!is_ascii_digit(c)) return false;
        v = v * 10 + static_cast<unsigned>(c - '0');
    }
    if (v > max) return false;
    out = v;
    return true;
}

bool parse_ipv4(std::string_view s, std::array<uint8_t, 16>& out) {
    out = {};
    for (int i = 0; i < 4; ++i) {
        size_t dot = i < 3 ? s.find('.') : s.size();
        if (dot == std::string_view::npos) return false;
        unsigned v = 0;
        if (dot > 3 || !parse_decimal(s.substr(0, dot), 255, v)) return false;
        out[static_cast<size_t>(i)] = static_cast<uint8_t>(v);
        s.remove_prefix(i < 3 ? dot + 1 : dot);
    }
    return s.empty();
}

bool parse_ipv6(std::string_view s, std::array<uint8_t, 16>& out) {
    out = {};
    // inet_pton wants a C string; the longest text form ("ffff:...:255.255.255.255") is 45.
    char text[46];
    if (s.empty() || s.size() >= sizeof text) return false;
    for (char c : s) {
        const bool hex = is_ascii_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
        if (!hex && c != ':' && c != '.') return false;
    }
    std::memcpy(text, s.data(), s.size());
    text[s.size()] = '\0';
    in6_addr a;
    if (inet_pton(AF_INET6, text, &a) != 1) return false;
    std::memcpy(out.data(), &a, 16);
    return true;
}

// Splits `line` at single spaces; an empty field (two spaces, or a space at either end) is an
// error, as "exactly one space" requires.
bool split_fields(std::string_view line, std::vector<std::string_view>& fields, size_t max) {
    fields.clear();
    while (true) {
        if (fields.size() == max) return false;
        const size_t sp = line.find(' ');
        const std::string_view f = line.substr(0, sp);
        if (f.empty()) return false;
        fields.push_back(f);
        if (sp == std::string_view::npos) return true;
        line.remove_prefix(sp + 1);
    }
}

ProxyParseResult parse_v1_line(std::string_view line, size_t consumed) {
    // line is "PROXY ..." without the CRLF.
    ProxyHeader h;
    h.version = 1;
    const std::string_view rest = line.substr(kV1Prefix.size());
    if (rest == "UNKNOWN" || rest.starts_with("UNKNOWN ")) {
        // The spec: the receiver must ignore anything after UNKNOWN before the CRLF.
        h.kind = ProxyHeader::kUnknown;
        return proxy_parse::done(consumed, h);
    }
    std::vector<std::string_view> f;
    if (!split_fields(rest, f, 5) || f.size() != 5) {
        if (!rest.starts_with("TCP4 ") && !rest.starts_with("TCP6 "))
            return proxy_parse::fail("PROXY v1: unknown protocol (TCP4, TCP6 or UNKNOWN expected)");
        return proxy_parse::fail(
            "PROXY v1: expected '<proto> <src> <dst> <sport> <dport>' with single spaces");
    }
    if (f[0] == "TCP4") {
        h.family = ProxyHeader::kIPv4;
        if (!parse_ipv4(f[1], h.source))
            return proxy_parse::fail("PROXY v1: bad IPv4 source address");
        if (!parse_ipv4(f[2], h.destination))
            return proxy_parse::fail("PROXY v1: bad IPv4 destination address");
    } else if (f[0] == "TCP6") {
        h.family = ProxyHeader::kIPv6;
        if (!parse_ipv6(f[1], h.source))
            return proxy_parse::fail("PROXY v1: bad IPv6 source address");
        if (!parse_ipv6(f[2], h.destination))
            return proxy_parse::fail("PROXY v1: bad IPv6 destination address");
    } else {
        return proxy_parse::fail("PROXY v1: unknown protocol (TCP4, TCP6 or UNKNOWN expected)");
    }
    unsigned sport = 0, dport = 0;
    if (!parse_decimal(f[3], 65535, sport)) return proxy_parse::fail("PROXY v1: bad source port");
    if (!parse_decimal(f[4], 65535, dport))
        return proxy_parse::fail("PROXY v1: bad destination port");
    h.source_port = static_cast<uint16_t>(sport);
    h.destination_port = static_cast<uint16_t>(dport);
    h.kind = ProxyHeader::kProxied;
    return proxy_parse::done(consumed, h);
}

ProxyParseResult parse_v1(std::span<const uint8_t> data) {
    const size_t prefix = std::min(data.size(), kV1Prefix.size());
    if (std::memcmp(data.data(), kV1Prefix.data(), prefix) != 0)
        return proxy_parse::fail("not a PROXY protocol header");
    // The CRLF must end within the first 107 bytes; no byte before it may be a lone CR or LF or
    // anything but printable ASCII.
    const size_t scan = std::min(data.size(), kProxyV1MaxLength);
    for (size_t i = 0; i < scan; ++i) {
        const uint8_t c = data[i];
        if (c == '\r') {
            if (i + 2 > kProxyV1MaxLength)
                return proxy_parse::fail("PROXY v1: line longer than 107 bytes");
            if (i + 1 == data.size()) return proxy_parse::need_more();
            if (data[i + 1] != '\n') return proxy_parse::fail("PROXY v1: CR without LF");
            if (i < kV1Prefix.size()) return proxy_parse::fail("PROXY v1: line ends too early");
            const std::string_view line(reinterpret_cast<const char*>(data.data()), i);
            return parse_v1_line(line, i + 2);
        }
        if (c == '\n') return proxy_parse::fail("PROXY v1: LF without CR");
        if (c < 0x20 || c > 0x7e)
            return proxy_parse::fail("PROXY v1: byte outside printable ASCII");
    }
    if (data.size() >= kProxyV1MaxLength)
        return proxy_parse::fail("PROXY v1: line longer than 107 bytes");
    return proxy_parse::need_more();
}

// Checks that [p, end) is a sequence of whole TLVs (type, 16-bit length, value).
bool tlvs_well_formed(const uint8_t* p, const uint8_t* end) {
    while (p != end) {
        if (end - p < 3) return false;
        const size_t len = be16(p + 1);
        p += 3;
        if (static_cast<size_t>(end - p) < len) return false;
        p += len;
    }
    return true;
}

ProxyParseResult parse_v2(std::span<const uint8_t> data, size_t max_length) {
    const size_t prefix = std::min(data.size(), kProxyV2Signature.size());
    if (std::memcmp(data.data(), kProxyV2Signature.data(), prefix) != 0)
        return proxy_parse::fail("not a PROXY protocol header (bad v2 signature)");
    if (data.size() <= 12) return proxy_parse::need_more();

    const uint8_t ver_cmd = data[12];
    if ((ver_cmd >> 4) != 2) return proxy_parse::fail("PROXY v2: unsupported version");
    const uint8_t command = ver_cmd & 0x0f;
    if (command != kV2CommandLocal && command != kV2CommandProxy)
        return proxy_parse::fail("PROXY v2: unknown command");
    if (data.size() <= 13) return proxy_parse::need_more();

    // LOCAL ignores the family byte altogether (spec 2.2); PROXY needs a known one.
    const uint8_t fam = data[13];
    const uint8_t family = fam >> 4;
    const uint8_t transport = fam & 0x0f;
    if (command == kV2CommandProxy && (family > 3 || transport > 2))
        return proxy_parse::fail("PROXY v2: unknown address family or transport");
    if (data.size() < kProxyV2FixedLength) return proxy_parse::need_more();

    const size_t length = be16(&data[14]);
    const size_t total = kProxyV2FixedLength + length;
    if (total > max_length)
        return proxy_parse::fail("PROXY v2: header longer than the configured limit");

    ProxyHeader h;
    h.version = 2;
    size_t address_block = 0;
    if (command == kV2CommandLocal) {
        h.kind = ProxyHeader::kLocal;
    } else if (family == 0 || transport == 0) {
        h.kind = ProxyHeader::kUnknown;  // UNSPEC: address information is to be ignored
    } else {
        address_block = family == 1 ? kV2Ipv4Block : family == 2 ? kV2Ipv6Block : kV2UnixBlock;
        // TCP over IPv4/IPv6 is what a reflector can use; UDP and AF_UNIX fall back to UNSPEC.
        h.kind = (transport == 1 && family != 3) ? ProxyHeader::kProxied : ProxyHeader::kUnknown;
    }
    if (length < address_block)
        return proxy_parse::fail("PROXY v2: length shorter than the address block");
    if (data.size() < total) return proxy_parse::need_more();

    if (address_block != 0 &&
        !tlvs_well_formed(data.data() + kProxyV2FixedLength + address_block, data.data() + total))
        return proxy_parse::fail("PROXY v2: malformed TLV");

    if (h.kind == ProxyHeader::kProxied) {
        const uint8_t* a = data.data() + kProxyV2FixedLength;
        const size_t n = family == 1 ? 4 : 16;
        h.family = family == 1 ? ProxyHeader::kIPv4 : ProxyHeader::kIPv6;
        std::memcpy(h.source.data(), a, n);
        std::memcpy(h.destination.data(), a + n, n);
        h.source_port = be16(a + 2 * n);
        h.destination_port = be16(a + 2 * n + 2);
    }
    return proxy_parse::done(total, h);
}

size_t clamp_v2_max(size_t v2_max_length) {
    return std::clamp(v2_max_length, kProxyV2FixedLength + kV2Ipv6Block, kProxyV2MaxLength);
}

}  // namespace

ProxyParseResult parse_proxy_header(std::span<const uint8_t> data, size_t v2_max_length) {
    if (data.empty()) return proxy_parse::need_more();
    if (data[0] == kProxyV2Signature[0]) return parse_v2(data, clamp_v2_max(v2_max_length));
    if (data[0] == static_cast<uint8_t>(kV1Prefix[0])) return parse_v1(data);
    return proxy_parse::fail("not a PROXY protocol header");
}

const ProxyParseResult& ProxyHeaderReader::feed(std::span<const uint8_t> chunk) {
    if (done()) {
        result_.consumed = 0;
        return result_;
    }
    // The header never exceeds `limit` bytes, so nothing beyond that is worth keeping: the parser
    // decides (kDone or kError) before the buffer could need more.
    const size_t limit = std::max(kProxyV1MaxLength, clamp_v2_max(v2_max_length_));
    const size_t before = buffer_.size();
    const size_t take = std::min(chunk.size(), limit - before);
    buffer_.insert(buffer_.end(), chunk.begin(), chunk.begin() + static_cast<ptrdiff_t>(take));
    result_ = parse_proxy_header(buffer_, v2_max_length_);
    if (result_.status == ProxyParseResult::kDone) {
        // Incomplete before this chunk, so the header ends inside it.
        result_.consumed -= before;
    }
    if (done()) {
        buffer_.clear();
        buffer_.shrink_to_fit();
    }
    return result_;
}

bool proxy_source_sockaddr(const ProxyHeader& header, sockaddr_storage& out, socklen_t& len) {
    out = {};
    if (header.kind != ProxyHeader::kProxied) return false;
    if (header.family == ProxyHeader::kIPv4) {
        sockaddr_in in{};
        in.sin_family = AF_INET;
        in.sin_port = htons(header.source_port);
        std::memcpy(&in.sin_addr, header.source.data(), 4);
        std::memcpy(&out, &in, sizeof in);
        len = sizeof in;
        return true;
    }
    if (header.family == ProxyHeader::kIPv6) {
        sockaddr_in6 in6{};
        in6.sin6_family = AF_INET6;
        in6.sin6_port = htons(header.source_port);
        std::memcpy(&in6.sin6_addr, header.source.data(), 16);
        std::memcpy(&out, &in6, sizeof in6);
        len = sizeof in6;
        return true;
    }
    return false;
}

std::string make_proxy_v1(const ProxyHeader& header) {
    if (header.kind != ProxyHeader::kProxied ||
        (header.family != ProxyHeader::kIPv4 && header.family != ProxyHeader::kIPv6))
        return "PROXY UNKNOWN\r\n";
    const bool v4 = header.family == ProxyHeader::kIPv4;
    const int af = v4 ? AF_INET : AF_INET6;
    char src[INET6_ADDRSTRLEN];
    char dst[INET6_ADDRSTRLEN];
    if (inet_ntop(af, header.source.data(), src, sizeof src) == nullptr ||
        inet_ntop(af, header.destination.data(), dst, sizeof dst) == nullptr)
        return "PROXY UNKNOWN\r\n";
    std::string line = v4 ? "PROXY TCP4 " : "PROXY TCP6 ";
    line += src;
    line += ' ';
    line += dst;
    line += ' ';
    line += std::to_string(header.source_port);
    line += ' ';
    line += std::to_string(header.destination_port);
    line += "\r\n";
    return line;
}

std::vector<uint8_t> make_proxy_v2(const ProxyHeader& header, std::span<const uint8_t> tlvs) {
    std::vector<uint8_t> out(kProxyV2Signature.begin(), kProxyV2Signature.end());
    std::vector<uint8_t> block;
    uint8_t ver_cmd = 0x21;
    uint8_t fam = 0x00;
    if (header.kind == ProxyHeader::kLocal) {
        ver_cmd = 0x20;
    } else if (header.kind == ProxyHeader::kProxied && header.family != ProxyHeader::kNone) {
        const size_t n = header.family == ProxyHeader::kIPv4 ? 4 : 16;
        fam = header.family == ProxyHeader::kIPv4 ? 0x11 : 0x21;
        block.insert(block.end(), header.source.begin(), header.source.begin() + n);
        block.insert(block.end(), header.destination.begin(), header.destination.begin() + n);
        for (uint16_t port : {header.source_port, header.destination_port}) {
            block.push_back(static_cast<uint8_t>(port >> 8));
            block.push_back(static_cast<uint8_t>(port));
        }
    }
    block.insert(block.end(), tlvs.begin(), tlvs.end());
    const size_t length = std::min<size_t>(block.size(), 65535);
    out.push_back(ver_cmd);
    out.push_back(fam);
    out.push_back(static_cast<uint8_t>(length >> 8));
    out.push_back(static_cast<uint8_t>(length));
    out.insert(out.end(), block.begin(), block.begin() + static_cast<ptrdiff_t>(length));
    return out;
}

}  // namespace rfb
