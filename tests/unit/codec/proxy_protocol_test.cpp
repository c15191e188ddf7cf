#include "codec/proxy_protocol.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace rfb {
namespace {

using Bytes = std::vector<uint8_t>;

Bytes bytes(std::string_view s) {
    return Bytes(s.begin(), s.end());
}

Bytes cat(Bytes a, const Bytes& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

// The v2 signature written out from the spec, not taken from the header under test.
const Bytes kSig = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};

// A v2 header by hand: signature, ver/cmd, fam, 16-bit length, body.
Bytes v2(uint8_t ver_cmd, uint8_t fam, const Bytes& body) {
    Bytes out = kSig;
    out.push_back(ver_cmd);
    out.push_back(fam);
    out.push_back(static_cast<uint8_t>(body.size() >> 8));
    out.push_back(static_cast<uint8_t>(body.size()));
    return cat(out, body);
}

// 192.0.2.1:56324 -> 198.51.100.7:5900
const Bytes kV4Body = {192, 0, 2, 1, 198, 51, 100, 7, 0xDC, 0x04, 0x17, 0x0C};
// 2001:db8::1:56324 -> 2001:db8::2:5900
Bytes v6_body() {
    Bytes b(36, 0);
    b[0] = 0x20;
    b[1] = 0x01;
    b[2] = 0x0d;
    b[3] = 0xb8;
    b[15] = 1;
    b[16] = 0x20;
    b[17] = 0x01;
    b[18] = 0x0d;
    b[19] = 0xb8;
    b[31] = 2;
    b[32] = 0xDC;
    b[33] = 0x04;
    b[34] = 0x17;
    b[35] = 0x0C;
    return b;
}

std::array<uint8_t, 16> v4addr(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
    return {a, b, c, d};
}

std::array<uint8_t, 16> v6addr(const char* text) {
    std::array<uint8_t, 16> out{};
    EXPECT_EQ(inet_pton(AF_INET6, text, out.data()), 1) << text;
    return out;
}

ProxyParseResult parse(const Bytes& b, size_t cap = kProxyV2DefaultMaxLength) {
    return parse_proxy_header(b, cap);
}

void expect_error(const Bytes& b, size_t cap = kProxyV2DefaultMaxLength) {
    const ProxyParseResult r = parse(b, cap);
    EXPECT_EQ(r.status, ProxyParseResult::kError) << std::string(b.begin(), b.end());
    EXPECT_FALSE(r.error.empty());
}

void expect_error(std::string_view s) {
    expect_error(bytes(s));
}

// Every proper prefix of a valid header needs more; the whole gives `expected` and `size`.
void expect_prefixes_need_more(const Bytes& header) {
    for (size_t n = 0; n < header.size(); ++n) {
        const Bytes prefix(header.begin(), header.begin() + static_cast<ptrdiff_t>(n));
        EXPECT_EQ(parse(prefix).status, ProxyParseResult::kNeedMore) << "prefix " << n;
    }
}

bool same(const ProxyHeader& a, const ProxyHeader& b) {
    return a.kind == b.kind && a.version == b.version && a.family == b.family &&
           a.source == b.source && a.destination == b.destination &&
           a.source_port == b.source_port && a.destination_port == b.destination_port;
}

// Feeds `stream` to a ProxyHeaderReader in pieces cut at `cuts`, and checks the result and that
// the bytes after the header are exactly the ones the reader did not consume.
void expect_split(const Bytes& stream, const std::vector<size_t>& cuts,
                  const ProxyParseResult& want, const Bytes& after) {
    ProxyHeaderReader reader;
    Bytes leftover;
    size_t from = 0;
    bool finished = false;
    std::vector<size_t> all = cuts;
    all.push_back(stream.size());
    for (size_t to : all) {
        std::span<const uint8_t> chunk(stream.data() + from, to - from);
        from = to;
        if (finished) {
            leftover.insert(leftover.end(), chunk.begin(), chunk.end());
            continue;
        }
        const ProxyParseResult& r = reader.feed(chunk);
        if (r.status == ProxyParseResult::kNeedMore) continue;
        finished = true;
        ASSERT_EQ(r.status, want.status);
        if (r.status == ProxyParseResult::kDone) {
            ASSERT_LE(r.consumed, chunk.size());
            leftover.insert(leftover.end(), chunk.begin() + static_cast<ptrdiff_t>(r.consumed),
                            chunk.end());
            EXPECT_TRUE(same(r.header, want.header));
        }
    }
    ASSERT_TRUE(finished);
    if (want.status == ProxyParseResult::kDone) {
        EXPECT_EQ(leftover, after);
    }
}

// ---- version 1 ----

TEST(ProxyProtocolV1, Tcp4) {
    const Bytes h = bytes("PROXY TCP4 192.0.2.1 198.51.100.7 56324 5900\r\n");
    const ProxyParseResult r = parse(h);
    ASSERT_EQ(r.status, ProxyParseResult::kDone) << r.error;
    EXPECT_EQ(r.consumed, h.size());
    EXPECT_EQ(r.header.version, 1);
    EXPECT_EQ(r.header.kind, ProxyHeader::kProxied);
    EXPECT_EQ(r.header.family, ProxyHeader::kIPv4);
    EXPECT_EQ(r.header.source, v4addr(192, 0, 2, 1));
    EXPECT_EQ(r.header.destination, v4addr(198, 51, 100, 7));
    EXPECT_EQ(r.header.source_port, 56324);
    EXPECT_EQ(r.header.destination_port, 5900);
    expect_prefixes_need_more(h);
}

TEST(ProxyProtocolV1, Tcp6) {
    const Bytes h = bytes("PROXY TCP6 2001:db8::1 2001:DB8:0:0:0:0:0:2 65535 0\r\n");
    const ProxyParseResult r = parse(h);
    ASSERT_EQ(r.status, ProxyParseResult::kDone) << r.error;
    EXPECT_EQ(r.consumed, h.size());
    EXPECT_EQ(r.header.family, ProxyHeader::kIPv6);
    EXPECT_EQ(r.header.source, v6addr("2001:db8::1"));
    EXPECT_EQ(r.header.destination, v6addr("2001:db8::2"));
    EXPECT_EQ(r.header.source_port, 65535);
    EXPECT_EQ(r.header.destination_port, 0);
    expect_prefixes_need_more(h);
}

TEST(ProxyProtocolV1, Tcp6MappedAndLongestForm) {
    const Bytes mapped = bytes("PROXY TCP6 ::ffff:192.0.2.1 ::1 1 2\r\n");
    const ProxyParseResult r = parse(mapped);
    ASSERT_EQ(r.status, ProxyParseResult::kDone) << r.error;
    EXPECT_EQ(r.header.source, v6addr("::ffff:192.0.2.1"));

    // The spec's longest TCP6 line, 104 bytes.
    const std::string f = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff";
    const Bytes longest = bytes("PROXY TCP6 " + f + " " + f + " 65535 65535\r\n");
    ASSERT_EQ(longest.size(), 104u);
    const ProxyParseResult l = parse(longest);
    ASSERT_EQ(l.status, ProxyParseResult::kDone) << l.error;
    EXPECT_EQ(l.consumed, 104u);
}

TEST(ProxyProtocolV1, Unknown) {
    for (std::string_view s : {"PROXY UNKNOWN\r\n", "PROXY UNKNOWN whatever is here 1 2\r\n"}) {
        const ProxyParseResult r = parse(bytes(s));
        ASSERT_EQ(r.status, ProxyParseResult::kDone) << s;
        EXPECT_EQ(r.consumed, s.size());
        EXPECT_EQ(r.header.kind, ProxyHeader::kUnknown);
        EXPECT_EQ(r.header.version, 1);
        EXPECT_EQ(r.header.family, ProxyHeader::kNone);
    }
    // The spec's worst case, exactly 107 bytes, is accepted.
    const std::string f = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff";
    const Bytes worst = bytes("PROXY UNKNOWN " + f + " " + f + " 65535 65535\r\n");
    ASSERT_EQ(worst.size(), 107u);
    EXPECT_EQ(parse(worst).status, ProxyParseResult::kDone);
}

TEST(ProxyProtocolV1, StopsAtTheHeader) {
    const Bytes h = bytes("PROXY TCP4 10.1.2.3 10.0.0.1 1000 5900\r\n");
    const Bytes stream = cat(h, bytes("RFB 003.008\n"));
    const ProxyParseResult r = parse(stream);
    ASSERT_EQ(r.status, ProxyParseResult::kDone);
    EXPECT_EQ(r.consumed, h.size());
}

TEST(ProxyProtocolV1, OverLongLines) {
    // 108 bytes with the CRLF: one too many.
    const std::string f = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff";
    const Bytes too_long = bytes("PROXY UNKNOWN " + f + " " + f + " 65535 655350\r\n");
    ASSERT_EQ(too_long.size(), 108u);
    expect_error(too_long);
    // Without the LF yet: the CR at offset 106 already cannot end a 107-byte line.
    expect_error(Bytes(too_long.begin(), too_long.end() - 1));
    // 107 bytes and no CR at all: no need to wait for more.
    Bytes no_crlf = bytes("PROXY UNKNOWN ");
    no_crlf.resize(107, 'a');
    expect_error(no_crlf);
    Bytes just_short = no_crlf;
    just_short.pop_back();
    EXPECT_EQ(parse(just_short).status, ProxyParseResult::kNeedMore);
}

TEST(ProxyProtocolV1, LineEndings) {
    expect_error("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n");
    expect_error("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rX");
    expect_error("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\r\n");
    expect_error("PROXY UNKNOWN\n");
    expect_error("PROXY \r\n");
    expect_error(std::string_view("PROXY TCP4 1.2.3.4\0 5.6.7.8 1 2\r\n", 33));
    expect_error("PROXY TCP4 1.2.3.4\t5.6.7.8 1 2\r\n");
    expect_error("PROXY UNKNOWN \x80\r\n");
}

TEST(ProxyProtocolV1, BadSignature) {
    expect_error("GET / HTTP/1.1\r\n");
    expect_error("RFB 003.008\n");
    expect_error("PROX\n");
    expect_error("proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n");
    expect_error("PROXYTCP4 1.2.3.4 5.6.7.8 1 2\r\n");
    // Wrong from the first differing byte, without waiting for a line end.
    expect_error("PROXX");
    expect_error("X");
}

TEST(ProxyProtocolV1, BadFields) {
    expect_error("PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n");
    expect_error("PROXY tcp4 1.2.3.4 5.6.7.8 1 2\r\n");
    expect_error("PROXY UNKNOWNX\r\n");
    expect_error("PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n");
    expect_error("PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n");
    expect_error("PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n");
    expect_error("PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n");
    expect_error("PROXY  TCP4 1.2.3.4 5.6.7.8 1 2\r\n");
    expect_error("PROXY TCP4\r\n");
}

TEST(ProxyProtocolV1, BadAddresses) {
    for (std::string_view a :
         {"256.1.1.1", "1.2.3", "1.2.3.4.5", "01.2.3.4", "1.2.3.04", "1..3.4", "1.2.3.4.", ".1.2.3",
          "1.2.3.-4", "0x1.2.3.4", "1234.1.1.1", "::1", "", "a.b.c.d"}) {
        SCOPED_TRACE(std::string(a));
        expect_error("PROXY TCP4 " + std::string(a) + " 5.6.7.8 1 2\r\n");
        expect_error("PROXY TCP4 5.6.7.8 " + std::string(a) + " 1 2\r\n");
    }
    for (std::string_view a : {"1.2.3.4", "2001:db8:::1", "2001:db8::1%eth0", "[::1]", "g::1",
                               "1:2:3:4:5:6:7:8:9", "12345::1", "::ffff:1.2.3.256"}) {
        SCOPED_TRACE(std::string(a));
        expect_error("PROXY TCP6 " + std::string(a) + " ::2 1 2\r\n");
        expect_error("PROXY TCP6 ::2 " + std::string(a) + " 1 2\r\n");
    }
    // Family mismatch between the addresses and the protocol.
    expect_error("PROXY TCP4 ::1 ::2 1 2\r\n");
    expect_error("PROXY TCP6 1.2.3.4 ::2 1 2\r\n");
}

TEST(ProxyProtocolV1, BadPorts) {
    for (std::string_view p : {"65536", "99999", "01", "00", "-1", "+1", "1a", "123456", "0x10"}) {
        SCOPED_TRACE(std::string(p));
        expect_error("PROXY TCP4 1.2.3.4 5.6.7.8 " + std::string(p) + " 2\r\n");
        expect_error("PROXY TCP4 1.2.3.4 5.6.7.8 2 " + std::string(p) + "\r\n");
    }
    EXPECT_EQ(parse(bytes("PROXY TCP4 1.2.3.4 5.6.7.8 0 65535\r\n")).status,
              ProxyParseResult::kDone);
}

// ---- version 2 ----

TEST(ProxyProtocolV2, Tcp4) {
    const Bytes h = v2(0x21, 0x11, kV4Body);
    ASSERT_EQ(h.size(), 28u);
    const ProxyParseResult r = parse(h);
    ASSERT_EQ(r.status, ProxyParseResult::kDone) << r.error;
    EXPECT_EQ(r.consumed, 28u);
    EXPECT_EQ(r.header.version, 2);
    EXPECT_EQ(r.header.kind, ProxyHeader::kProxied);
    EXPECT_EQ(r.header.family, ProxyHeader::kIPv4);
    EXPECT_EQ(r.header.source, v4addr(192, 0, 2, 1));
    EXPECT_EQ(r.header.destination, v4addr(198, 51, 100, 7));
    EXPECT_EQ(r.header.source_port, 56324);
    EXPECT_EQ(r.header.destination_port, 5900);
    expect_prefixes_need_more(h);
}

TEST(ProxyProtocolV2, Tcp6) {
    const Bytes h = v2(0x21, 0x21, v6_body());
    ASSERT_EQ(h.size(), 52u);
    const ProxyParseResult r = parse(h);
    ASSERT_EQ(r.status, ProxyParseResult::kDone) << r.error;
    EXPECT_EQ(r.consumed, 52u);
    EXPECT_EQ(r.header.family, ProxyHeader::kIPv6);
    EXPECT_EQ(r.header.source, v6addr("2001:db8::1"));
    EXPECT_EQ(r.header.destination, v6addr("2001:db8::2"));
    EXPECT_EQ(r.header.source_port, 56324);
    EXPECT_EQ(r.header.destination_port, 5900);
    expect_prefixes_need_more(h);
}

TEST(ProxyProtocolV2, TlvsAreSkipped) {
    // PP2_TYPE_ALPN "vnc", PP2_TYPE_NOOP with no value, PP2_TYPE_UNIQUE_ID of 4 bytes.
    const Bytes tlvs = {0x01, 0x00, 0x03, 'v',  'n', 'c', 0x04, 0x00,
                        0x00, 0x05, 0x00, 0x04, 1,   2,   3,    4};
    const Bytes h = v2(0x21, 0x11, cat(kV4Body, tlvs));
    const ProxyParseResult r = parse(cat(h, bytes("RFB")));
    ASSERT_EQ(r.status, ProxyParseResult::kDone) << r.error;
    EXPECT_EQ(r.consumed, h.size());
    EXPECT_EQ(r.header.source, v4addr(192, 0, 2, 1));
    expect_prefixes_need_more(h);
}

TEST(ProxyProtocolV2, MalformedTlvs) {
    expect_error(v2(0x21, 0x11, cat(kV4Body, {0x01})));
    expect_error(v2(0x21, 0x11, cat(kV4Body, {0x01, 0x00})));
    expect_error(v2(0x21, 0x11, cat(kV4Body, {0x01, 0x00, 0x02, 'x'})));
    expect_error(v2(0x21, 0x11, cat(kV4Body, {0x04, 0x00, 0x00, 0x01, 0xff, 0xff})));
}

TEST(ProxyProtocolV2, Local) {
    const Bytes h = v2(0x20, 0x00, {});
    const ProxyParseResult r = parse(h);
    ASSERT_EQ(r.status, ProxyParseResult::kDone) << r.error;
    EXPECT_EQ(r.consumed, 16u);
    EXPECT_EQ(r.header.kind, ProxyHeader::kLocal);
    EXPECT_EQ(r.header.family, ProxyHeader::kNone);
    // LOCAL with an address block (the spec: receivers must skip `length` bytes, whatever the
    // family byte says) and even an unassigned family byte.
    const Bytes with_block = v2(0x20, 0x11, kV4Body);
    const ProxyParseResult b = parse(with_block);
    ASSERT_EQ(b.status, ProxyParseResult::kDone);
    EXPECT_EQ(b.consumed, 28u);
    EXPECT_EQ(b.header.kind, ProxyHeader::kLocal);
    EXPECT_EQ(b.header.source, (std::array<uint8_t, 16>{}));
    EXPECT_EQ(parse(v2(0x20, 0xff, {1, 2, 3})).status, ProxyParseResult::kDone);
}

TEST(ProxyProtocolV2, UnspecAndUnsupportedFamiliesAreUnknown) {
    struct Case {
        uint8_t fam;
        size_t block;
    };
    for (Case c : {Case{0x00, 0}, Case{0x00, 12}, Case{0x12, 12}, Case{0x22, 36}, Case{0x31, 216},
                   Case{0x32, 216}, Case{0x10, 5}}) {
        SCOPED_TRACE(c.fam);
        const ProxyParseResult r = parse(v2(0x21, c.fam, Bytes(c.block, 7)));
        ASSERT_EQ(r.status, ProxyParseResult::kDone) << r.error;
        EXPECT_EQ(r.consumed, 16 + c.block);
        EXPECT_EQ(r.header.kind, ProxyHeader::kUnknown);
        EXPECT_EQ(r.header.family, ProxyHeader::kNone);
    }
}

TEST(ProxyProtocolV2, BadSignature) {
    for (size_t i = 0; i < kSig.size(); ++i) {
        Bytes h = v2(0x21, 0x11, kV4Body);
        h[i] ^= 0x40;
        SCOPED_TRACE(i);
        expect_error(h);
        // Detected as soon as the wrong byte arrives.
        expect_error(Bytes(h.begin(), h.begin() + static_cast<ptrdiff_t>(i) + 1));
    }
}

TEST(ProxyProtocolV2, BadVersionCommandFamily) {
    expect_error(v2(0x11, 0x11, kV4Body));  // version 1 in the binary form
    expect_error(v2(0x31, 0x11, kV4Body));
    expect_error(v2(0x22, 0x11, kV4Body));  // command 2 unassigned
    expect_error(v2(0x2f, 0x11, kV4Body));
    expect_error(v2(0x21, 0x41, kV4Body));  // family 4
    expect_error(v2(0x21, 0x13, kV4Body));  // transport 3
    // Known from the 13th/14th byte alone.
    Bytes h = v2(0x22, 0x11, kV4Body);
    expect_error(Bytes(h.begin(), h.begin() + 13));
    h = v2(0x21, 0x41, kV4Body);
    expect_error(Bytes(h.begin(), h.begin() + 14));
}

TEST(ProxyProtocolV2, LengthShorterThanAddresses) {
    expect_error(v2(0x21, 0x11, Bytes(kV4Body.begin(), kV4Body.end() - 1)));
    expect_error(v2(0x21, 0x21, Bytes(35, 0)));
    expect_error(v2(0x21, 0x12, Bytes(11, 0)));
    expect_error(v2(0x21, 0x31, Bytes(215, 0)));
    // Known from the fixed 16 bytes alone.
    const Bytes h = v2(0x21, 0x21, Bytes(35, 0));
    expect_error(Bytes(h.begin(), h.begin() + 16));
}

TEST(ProxyProtocolV2, LengthCap) {
    // 0xffff from the fixed part alone: refused at once, not after 64 KiB arrive.
    Bytes huge = kSig;
    huge.insert(huge.end(), {0x21, 0x11, 0xff, 0xff});
    expect_error(huge);
    // Exactly at the default cap is fine, one more is not.
    const size_t body = kProxyV2DefaultMaxLength - 16 - kV4Body.size() - 3;
    Bytes noop = {0x04, static_cast<uint8_t>(body >> 8), static_cast<uint8_t>(body)};
    noop.resize(3 + body, 0);
    const Bytes at_cap = v2(0x21, 0x11, cat(kV4Body, noop));
    ASSERT_EQ(at_cap.size(), kProxyV2DefaultMaxLength);
    EXPECT_EQ(parse(at_cap).status, ProxyParseResult::kDone);
    noop = {0x04, static_cast<uint8_t>((body + 1) >> 8), static_cast<uint8_t>(body + 1)};
    noop.resize(3 + body + 1, 0);
    expect_error(v2(0x21, 0x11, cat(kV4Body, noop)));
    // A configured cap; values below an IPv6 header are raised to it, above 64 KiB lowered.
    EXPECT_EQ(parse(v2(0x21, 0x11, kV4Body), 28).status, ProxyParseResult::kDone);
    EXPECT_EQ(parse(v2(0x21, 0x21, v6_body()), 0).status, ProxyParseResult::kDone);
    expect_error(v2(0x21, 0x21, cat(v6_body(), {0x04, 0, 0})), 52);
    EXPECT_EQ(parse(huge, SIZE_MAX).status, ProxyParseResult::kNeedMore);
}

TEST(ProxyProtocolV2, Truncated) {
    // Every cut of each valid header needs more, never errs (the caller's deadline closes it).
    for (const Bytes& h : {v2(0x21, 0x11, kV4Body), v2(0x21, 0x21, v6_body()), v2(0x20, 0x00, {}),
                           v2(0x21, 0x11, cat(kV4Body, {0x04, 0, 1, 9}))}) {
        expect_prefixes_need_more(h);
        EXPECT_EQ(parse(h).status, ProxyParseResult::kDone);
    }
}

// ---- incremental reader, every split ----

TEST(ProxyHeaderReader, EverySplitGivesTheSameResult) {
    const Bytes after = bytes("RFB 003.008\nmore client bytes");
    const std::vector<Bytes> headers = {
        bytes("PROXY TCP4 192.0.2.1 198.51.100.7 56324 5900\r\n"),
        bytes("PROXY TCP6 2001:db8::1 2001:db8::2 56324 5900\r\n"),
        bytes("PROXY UNKNOWN\r\n"),
        v2(0x21, 0x11, kV4Body),
        v2(0x21, 0x21, cat(v6_body(), {0x01, 0x00, 0x03, 'v', 'n', 'c'})),
        v2(0x20, 0x00, {}),
    };
    for (const Bytes& h : headers) {
        const Bytes stream = cat(h, after);
        const ProxyParseResult want = parse(stream);
        ASSERT_EQ(want.status, ProxyParseResult::kDone);
        ASSERT_EQ(want.consumed, h.size());
        for (size_t a = 0; a <= stream.size(); ++a) {
            SCOPED_TRACE(a);
            expect_split(stream, {a}, want, after);
            for (size_t b = a; b <= std::min(stream.size(), a + 20); ++b)
                expect_split(stream, {a, b}, want, after);
        }
        // One byte at a time.
        std::vector<size_t> cuts;
        for (size_t i = 1; i < stream.size(); ++i)
            cuts.push_back(i);
        expect_split(stream, cuts, want, after);
    }
}

TEST(ProxyHeaderReader, ErrorsAtEverySplit) {
    const std::vector<Bytes> bad = {
        bytes("PROXY TCP4 1.2.3.4 5.6.7.8 1 65536\r\nRFB"),
        bytes("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\nRFB"),
        cat(v2(0x21, 0x11, Bytes(kV4Body.begin(), kV4Body.end() - 2)), bytes("RFB")),
        bytes("RFB 003.008\n"),
    };
    ProxyParseResult want;
    want.status = ProxyParseResult::kError;
    for (const Bytes& b : bad) {
        EXPECT_EQ(parse(b).status, ProxyParseResult::kError);
        for (size_t a = 0; a <= b.size(); ++a)
            expect_split(b, {a}, want, {});
    }
}

TEST(ProxyHeaderReader, ResultIsFinal) {
    ProxyHeaderReader reader;
    const Bytes h = bytes("PROXY UNKNOWN\r\nRFB");
    const ProxyParseResult& r = reader.feed(h);
    ASSERT_EQ(r.status, ProxyParseResult::kDone);
    EXPECT_EQ(r.consumed, 15u);
    EXPECT_TRUE(reader.done());
    const ProxyParseResult& again = reader.feed(bytes("more"));
    EXPECT_EQ(again.status, ProxyParseResult::kDone);
    EXPECT_EQ(again.consumed, 0u);

    ProxyHeaderReader bad;
    EXPECT_EQ(bad.feed(bytes("GET")).status, ProxyParseResult::kError);
    EXPECT_EQ(bad.feed(bytes("PROXY UNKNOWN\r\n")).status, ProxyParseResult::kError);
}

TEST(ProxyHeaderReader, BigChunkAfterAHeaderStart) {
    // A chunk far longer than any header: only the header is consumed, the rest is left.
    Bytes stream = v2(0x21, 0x11, kV4Body);
    stream.resize(stream.size() + 100000, 0xAB);
    ProxyHeaderReader reader;
    const ProxyParseResult& r1 = reader.feed(std::span<const uint8_t>(stream.data(), 5));
    ASSERT_EQ(r1.status, ProxyParseResult::kNeedMore);
    const ProxyParseResult& r2 = reader.feed(std::span<const uint8_t>(stream).subspan(5));
    ASSERT_EQ(r2.status, ProxyParseResult::kDone);
    EXPECT_EQ(r2.consumed, 28u - 5u);
}

// ---- helpers ----

TEST(ProxyProtocol, SourceSockaddr) {
    sockaddr_storage ss;
    socklen_t len = 0;
    const ProxyParseResult r4 = parse(v2(0x21, 0x11, kV4Body));
    ASSERT_TRUE(proxy_source_sockaddr(r4.header, ss, len));
    ASSERT_EQ(len, sizeof(sockaddr_in));
    const auto* in = reinterpret_cast<const sockaddr_in*>(&ss);
    EXPECT_EQ(in->sin_family, AF_INET);
    EXPECT_EQ(ntohs(in->sin_port), 56324);
    EXPECT_EQ(ntohl(in->sin_addr.s_addr), 0xC0000201u);

    const ProxyParseResult r6 = parse(bytes("PROXY TCP6 2001:db8::1 ::1 443 5900\r\n"));
    ASSERT_TRUE(proxy_source_sockaddr(r6.header, ss, len));
    ASSERT_EQ(len, sizeof(sockaddr_in6));
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&ss);
    EXPECT_EQ(in6->sin6_family, AF_INET6);
    EXPECT_EQ(ntohs(in6->sin6_port), 443);
    EXPECT_EQ(std::memcmp(&in6->sin6_addr, v6addr("2001:db8::1").data(), 16), 0);

    EXPECT_FALSE(proxy_source_sockaddr(parse(v2(0x20, 0, {})).header, ss, len));
    EXPECT_FALSE(proxy_source_sockaddr(parse(bytes("PROXY UNKNOWN\r\n")).header, ss, len));
}

TEST(ProxyProtocol, BuildersMatchHandWrittenHeaders) {
    ProxyHeader h;
    h.kind = ProxyHeader::kProxied;
    h.family = ProxyHeader::kIPv4;
    h.source = v4addr(192, 0, 2, 1);
    h.destination = v4addr(198, 51, 100, 7);
    h.source_port = 56324;
    h.destination_port = 5900;
    EXPECT_EQ(make_proxy_v1(h), "PROXY TCP4 192.0.2.1 198.51.100.7 56324 5900\r\n");
    EXPECT_EQ(make_proxy_v2(h), v2(0x21, 0x11, kV4Body));
    h.family = ProxyHeader::kIPv6;
    h.source = v6addr("2001:db8::1");
    h.destination = v6addr("2001:db8::2");
    EXPECT_EQ(make_proxy_v1(h), "PROXY TCP6 2001:db8::1 2001:db8::2 56324 5900\r\n");
    EXPECT_EQ(make_proxy_v2(h), v2(0x21, 0x21, v6_body()));
    h.kind = ProxyHeader::kLocal;
    EXPECT_EQ(make_proxy_v2(h), v2(0x20, 0x00, {}));
    h.kind = ProxyHeader::kUnknown;
    EXPECT_EQ(make_proxy_v1(h), "PROXY UNKNOWN\r\n");
    EXPECT_EQ(make_proxy_v2(h), v2(0x21, 0x00, {}));
}

TEST(ProxyProtocol, RandomInputNeverCrashes) {
    std::mt19937 rng(7);
    const std::vector<Bytes> bases = {bytes("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n"),
                                      v2(0x21, 0x11, kV4Body), v2(0x21, 0x21, v6_body())};
    for (int i = 0; i < 20000; ++i) {
        Bytes b = bases[static_cast<size_t>(i) % bases.size()];
        const int flips = 1 + static_cast<int>(rng() % 4);
        for (int f = 0; f < flips; ++f)
            b[rng() % b.size()] = static_cast<uint8_t>(rng());
        if (rng() % 3 == 0) b.resize(rng() % (b.size() + 1));
        const ProxyParseResult r = parse(b);
        if (r.status == ProxyParseResult::kDone) {
            EXPECT_LE(r.consumed, b.size());
        }
        if (r.status == ProxyParseResult::kError) {
            EXPECT_FALSE(r.error.empty());
        }
    }
}

}  // namespace
}  // namespace rfb
