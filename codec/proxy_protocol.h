#pragma once
#include <sys/socket.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

// The HAProxy PROXY protocol (haproxy doc/proxy-protocol.txt, versions 1 and 2): a header a
// trusted load balancer or TLS terminator puts in front of a relayed connection to say who the
// real client is. It is read before anything else on a listener configured for it, and only from
// peers in the trusted list: anyone else could simply write a header naming any address.
//
// Version 1, one text line of at most 107 bytes including CRLF:
//   "PROXY TCP4 192.0.2.1 198.51.100.7 56324 5900\r\n"   "PROXY TCP6 <v6> <v6> <port> <port>\r\n"
//   "PROXY UNKNOWN[ anything]\r\n"
// Version 2, binary: the 12-byte signature, version/command, family/protocol, a 16-bit length of
// what follows (addresses, then TLVs).
//
// Decisions:
//   - The receiver must not guess whether a header is present (spec section 2), so anything that
//     does not start like a v1 or v2 header is an error as soon as the first wrong byte arrives.
//   - v1 is parsed strictly as the spec writes it: single spaces, dotted-quad IPv4 without leading
//     zeroes, ports 0..65535 without leading zeroes, both addresses of the announced family, CRLF
//     only (a lone CR or LF is an error), nothing but printable ASCII.
//   - v2 TLVs are skipped, but their framing is checked (each must fit in the header): a header
//     whose declared length disagrees with its own contents is not from a sane proxy.
//   - v2 PROXY over UDP or AF_UNIX, and AF_UNSPEC, are valid but carry no TCP client address: they
//     are reported as kUnknown, as the spec's fallback says, like v1 UNKNOWN. v2 LOCAL (a health
//     check by the proxy itself) is kLocal. For both the caller uses the socket's own peer.
//   - v2 headers are capped (kProxyV2DefaultMaxLength, configurable): the 16-bit length allows
//     64 KiB, which no proxy needs for two addresses and a few TLVs. The length is checked as soon
//     as the fixed 16 bytes are in, so a huge length is refused without waiting for its bytes.
//   - Nothing past the header is ever consumed: the bytes after it are the client's RFB bytes.
// Error texts never quote the input (it is attacker-controlled and would reach the log).
namespace rfb {

inline constexpr size_t kProxyV1MaxLength = 107;  // "PROXY UNKNOWN <v6> <v6> 65535 65535\r\n"
inline constexpr size_t kProxyV2FixedLength = 16;
inline constexpr size_t kProxyV2DefaultMaxLength = 1024;  // fixed part included
inline constexpr size_t kProxyV2MaxLength = kProxyV2FixedLength + 65535;
inline constexpr std::array<uint8_t, 12> kProxyV2Signature = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
                                                              0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};

struct ProxyHeader {
    // kProxied: source/destination are the relayed TCP connection's endpoints.
    // kLocal: v2 LOCAL, the proxy's own connection (health check); use the socket's peer.
    // kUnknown: v1 UNKNOWN or a v2 PROXY without a TCP address; use the socket's peer.
    enum Kind { kProxied, kLocal, kUnknown };
    enum Family { kNone, kIPv4, kIPv6 };
    Kind kind = kUnknown;
    int version = 0;  // 1 or 2
    Family family = kNone;
    // Network byte order; kIPv4 uses the first 4 bytes. Zero unless kProxied.
    std::array<uint8_t, 16> source{};
    std::array<uint8_t, 16> destination{};
    uint16_t source_port = 0;
    uint16_t destination_port = 0;
};

struct ProxyParseResult {
    enum Status { kNeedMore, kDone, kError };
    Status status = kNeedMore;
    // kDone: how many bytes of the input the header took (the rest is the client's data).
    size_t consumed = 0;
    ProxyHeader header;  // kDone only
    std::string error;   // kError only
};

// Parses the header at the start of `data`, everything received so far on the connection.
// kNeedMore: `data` is a valid beginning of a header; call again with more. Never reads past
// `data`, and on kDone never past the header. `v2_max_length` caps a v2 header (fixed 16 bytes
// included; values below 16 + 36 are raised to that, above 16 + 65535 lowered).
ProxyParseResult parse_proxy_header(std::span<const uint8_t> data,
                                    size_t v2_max_length = kProxyV2DefaultMaxLength);

// Incremental form for a socket reader that does not keep its own buffer: feed() each received
// chunk. It keeps at most the header's bytes (bounded by the caps above), never the client's
// data. On kDone, `consumed` counts bytes of the chunk just fed, so chunk[consumed..] is the
// client's data. After kDone or kError the result is final and further feeds return it again
// with consumed = 0.
class ProxyHeaderReader {
  public:
    explicit ProxyHeaderReader(size_t v2_max_length = kProxyV2DefaultMaxLength)
        : v2_max_length_(v2_max_length) {}

    const ProxyParseResult& feed(std::span<const uint8_t> chunk);
    const ProxyParseResult& result() const { return result_; }
    bool done() const { return result_.status != ProxyParseResult::kNeedMore; }

  private:
    size_t v2_max_length_;
    std::vector<uint8_t> buffer_;
    ProxyParseResult result_;
};

// The header's source as a sockaddr_in / sockaddr_in6 (false unless kProxied).
bool proxy_source_sockaddr(const ProxyHeader& header, sockaddr_storage& out, socklen_t& len);

// Builders, for tests, seeds and a proxy-in-front test harness.
std::string make_proxy_v1(const ProxyHeader& header);  // kUnknown -> "PROXY UNKNOWN\r\n"
// kProxied with kIPv4/kIPv6 -> PROXY over TCP; kLocal -> LOCAL/UNSPEC; kUnknown -> PROXY/UNSPEC.
// `tlvs` is appended after the addresses as is.
std::vector<uint8_t> make_proxy_v2(const ProxyHeader& header, std::span<const uint8_t> tlvs = {});

}  // namespace rfb
