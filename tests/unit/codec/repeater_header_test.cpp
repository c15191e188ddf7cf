#include "codec/repeater_header.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace rfb {
namespace {

using Bytes = std::vector<uint8_t>;

// A 250-byte field built by hand (not with make_repeater_header), NUL padded like memset/calloc.
Bytes padded(std::string_view text) {
    Bytes field(250, 0);
    for (size_t i = 0; i < text.size() && i < field.size(); ++i)
        field[i] = static_cast<uint8_t>(text[i]);
    return field;
}

struct Parsed {
    bool ok = false;
    RepeaterTarget target;
    std::string error;
};

Parsed parse(const Bytes& field) {
    Parsed p;
    p.ok = parse_repeater_header(field, p.target, p.error);
    return p;
}

Parsed parse_text(std::string_view text) {
    return parse(padded(text));
}

void expect_id(std::string_view text, const std::string& id, const std::string& secret = "") {
    SCOPED_TRACE(std::string(text));
    const Parsed p = parse_text(text);
    ASSERT_TRUE(p.ok) << p.error;
    EXPECT_TRUE(p.error.empty());
    EXPECT_EQ(p.target.kind, RepeaterTarget::kId);
    EXPECT_EQ(p.target.id, id);
    EXPECT_EQ(p.target.secret, secret);
    EXPECT_TRUE(p.target.host.empty());
    EXPECT_EQ(p.target.port, 0);
}

void expect_host(std::string_view text, const std::string& host, uint16_t port) {
    SCOPED_TRACE(std::string(text));
    const Parsed p = parse_text(text);
    ASSERT_TRUE(p.ok) << p.error;
    EXPECT_EQ(p.target.kind, RepeaterTarget::kHostPort);
    EXPECT_EQ(p.target.host, host);
    EXPECT_EQ(p.target.port, port);
    EXPECT_TRUE(p.target.id.empty());
    EXPECT_TRUE(p.target.secret.empty());
}

// The error must say what is wrong (`contains`) and must not repeat the secret.
void expect_refused(const Bytes& field, std::string_view contains) {
    const Parsed p = parse(field);
    EXPECT_FALSE(p.ok);
    EXPECT_NE(p.error.find(contains), std::string::npos) << "error: " << p.error;
}
void expect_refused(std::string_view text, std::string_view contains) {
    SCOPED_TRACE(std::string(text));
    expect_refused(padded(text), contains);
}

TEST(RepeaterGreeting, ExactlyTheTwelveBytes) {
    const Bytes greeting{'R', 'F', 'B', ' ', '0', '0', '0', '.', '0', '0', '0', '\n'};
    EXPECT_TRUE(is_repeater_greeting(greeting));
    EXPECT_EQ(kRepeaterGreeting.size(), kRepeaterGreetingSize);
    const std::string v38 = "RFB 003.008\n";
    EXPECT_FALSE(is_repeater_greeting(Bytes(v38.begin(), v38.end())));
    EXPECT_FALSE(is_repeater_greeting(Bytes(greeting.begin(), greeting.end() - 1)));
    Bytes longer = greeting;
    longer.push_back('\n');
    EXPECT_FALSE(is_repeater_greeting(longer));
    Bytes no_newline = greeting;
    no_newline[11] = '\r';
    EXPECT_FALSE(is_repeater_greeting(no_newline));
    EXPECT_FALSE(is_repeater_greeting({}));
}

// libvncclient's ConnectToRFBRepeater: memset(tmphost, 0, 250), snprintf "%s:%d" of destHost
// and destPort, write all 250. A viewer asking for ID 1234 sets destHost "ID", destPort 1234.
TEST(RepeaterHeader, LibvncclientViewerModeTwo) {
    Bytes field(250, 0);
    const char text[] = {'I', 'D', ':', '1', '2', '3', '4'};
    std::copy(std::begin(text), std::end(text), field.begin());
    const Parsed p = parse(field);
    ASSERT_TRUE(p.ok) << p.error;
    EXPECT_EQ(p.target.kind, RepeaterTarget::kId);
    EXPECT_EQ(p.target.id, "1234");
    EXPECT_EQ(p.target.secret, "");
}

// libvncclient in Mode I: destHost and destPort as given, "%s:%d".
TEST(RepeaterHeader, LibvncclientViewerModeOne) {
    expect_host("10.0.0.5:5901", "10.0.0.5", 5901);
    expect_host("pi.local:5900", "pi.local", 5900);
    // destPort below 100 becomes a display number, as every UltraVNC repeater reads it.
    expect_host("10.0.0.5:1", "10.0.0.5", 5901);
}

// x11vnc -connect repeater=ID:1234+rfbcast:5500: calloc(251), snprintf(p, 250, "%s", "ID:1234"),
// then all 250 bytes are written.
TEST(RepeaterHeader, X11vncServer) {
    expect_id("ID:1234", "1234");
    // rfbcast's secret suffix rides the same string: repeater=ID:1234:s3cret+host:5500.
    expect_id("ID:1234:s3cret", "1234", "s3cret");
}

// libvncserver's old examples/repeater.c: snprintf(id, sizeof(id) - 1, "ID:%s", ...) into an
// uninitialised stack buffer, so whatever follows the NUL is garbage. It must be ignored.
TEST(RepeaterHeader, GarbageAfterTheNulIsIgnored) {
    Bytes field(250, 0xcc);
    const std::string text = "ID:42";
    std::copy(text.begin(), text.end(), field.begin());
    field[text.size()] = 0;
    field[200] = '\n';
    field[249] = 0x80;
    const Parsed p = parse(field);
    ASSERT_TRUE(p.ok) << p.error;
    EXPECT_EQ(p.target.id, "42");

    // Printable text after the NUL does not leak into the ID either.
    Bytes field2 = padded("ID:7");
    const std::string more = ":not-a-secret";
    std::copy(more.begin(), more.end(), field2.begin() + 5);
    const Parsed p2 = parse(field2);
    ASSERT_TRUE(p2.ok) << p2.error;
    EXPECT_EQ(p2.target.id, "7");
    EXPECT_EQ(p2.target.secret, "");
}

// UltraVNC's repeaters read 250 bytes into a 251-byte buffer that ends in NUL: a field with no
// NUL is 250 characters of text.
TEST(RepeaterHeader, NoNulMeansAllTwoHundredFiftyBytesAreText) {
    Bytes host(250, 'a');
    const Parsed p = parse(host);
    ASSERT_TRUE(p.ok) << p.error;
    EXPECT_EQ(p.target.kind, RepeaterTarget::kHostPort);
    EXPECT_EQ(p.target.host, std::string(250, 'a'));
    EXPECT_EQ(p.target.port, 5900);

    // The last byte counts: "ID:" + 246 digits + 'x' is refused for the 'x' (after the length).
    Bytes id(250, '1');
    id[0] = 'I', id[1] = 'D', id[2] = ':';
    expect_refused(id, "longer than 64");
}

TEST(RepeaterHeader, IdForms) {
    expect_id("ID:1", "1");
    expect_id("ID:" + std::string(64, '9'), std::string(64, '9'));
    expect_id("ID:lab-1_a.B", "lab-1_a.B");  // case kept; letters are rfbcast's extension
    expect_id("id:1234", "1234");            // UltraVNC wants "ID:"; rfbcast takes any case
    expect_id("Id:1234", "1234");
    expect_id("iD:1234", "1234");
    expect_id("ID:0001", "0001");  // kept as text: UltraVNC would read the number 1
    expect_id("ID:x:" + std::string(128, 's'), "x", std::string(128, 's'));
    expect_id("ID:x:!\"#$%&'()*+,-./;<=>?@[\\]^_`{|}~", "x", "!\"#$%&'()*+,-./;<=>?@[\\]^_`{|}~");
}

TEST(RepeaterHeader, IdRejections) {
    expect_refused("ID:", "ID is empty");
    expect_refused("ID::secret", "ID is empty");
    expect_refused("ID:" + std::string(65, '1'), "longer than 64");
    expect_refused("ID:12/34", "may only hold");
    expect_refused("ID:12+34", "may only hold");
    expect_refused("ID:1234:", "secret after ':' is empty");
    expect_refused("ID:1:" + std::string(129, 's'), "longer than 128");
    expect_refused("ID:1:a:b", "may not contain ':'");
}

TEST(RepeaterHeader, SecretNeverInTheError) {
    const std::string secrets[] = {"hunter2:x", std::string(129, 'h')};
    for (const std::string& s : secrets) {
        const Parsed p = parse_text("ID:1:" + s);
        ASSERT_FALSE(p.ok);
        EXPECT_EQ(p.error.find("hunter"), std::string::npos) << p.error;
        EXPECT_EQ(p.error.find("hhhh"), std::string::npos) << p.error;
    }
}

// UltraVNC's ParseDisplay: no colon -> 5900, one colon -> display below 100, two -> port.
TEST(RepeaterHeader, ModeOnePortRules) {
    expect_host("server", "server", 5900);
    expect_host("server:0", "server", 5900);
    expect_host("server:99", "server", 5999);
    expect_host("server:100", "server", 100);
    expect_host("server:5901", "server", 5901);
    expect_host("server:65535", "server", 65535);
    expect_host("server::1", "server", 1);
    expect_host("server::99", "server", 99);
    expect_host("server::5900", "server", 5900);
    expect_host("server::65535", "server", 65535);
    expect_host("server:007", "server", 5907);
    expect_host("192.168.1.7::22", "192.168.1.7", 22);
    expect_host("a_b-c.d", "a_b-c.d", 5900);
    expect_host("ID", "ID", 5900);  // no ':' after "ID": a host named ID
}

TEST(RepeaterHeader, ModeOneIpv6NeedsBrackets) {
    expect_host("[::1]", "::1", 5900);
    expect_host("[::1]:1", "::1", 5901);
    expect_host("[::1]:5901", "::1", 5901);
    expect_host("[fd00::7]::22", "fd00::7", 22);
    expect_host("[::ffff:10.0.0.1]::5900", "::ffff:10.0.0.1", 5900);
    expect_refused("::1", "host is empty");
    expect_refused("[::1", "without ']'");
    expect_refused("[]:5900", "host is empty");
    expect_refused("[10.0.0.1]::5900", "not an IPv6 address");
    expect_refused("[pi.local]", "not an IPv6 address");
    expect_refused("[fe80::1%eth0]", "not an IPv6 address");
    expect_refused("[::1]5900", "not a port");
    expect_refused("[::1]x", "not a port");
    // Unbracketed, the first ':' ends the host exactly as ParseDisplay splits it: "fe80::1" is
    // host "fe80", port 1. An allow-list sees the host "fe80", which only a literal entry allows.
    expect_host("fe80::1", "fe80", 1);
}

TEST(RepeaterHeader, ModeOneRejections) {
    expect_refused(":5900", "host is empty");
    expect_refused("::5900", "host is empty");
    expect_refused("server:", "not a number");
    expect_refused("server::", "not a number");
    expect_refused("server::0", "port is 0");
    expect_refused("server::65536", "not a number");
    expect_refused("server:65536", "not a number");
    expect_refused("server:99999999999999999999", "not a number");
    expect_refused("server:abc", "not a number");
    expect_refused("server:-1", "not a number");
    expect_refused("server:+5", "not a number");
    expect_refused("server:5x", "not a number");
    expect_refused("server:::5", "not a number");
    expect_refused("server:1:2", "not a number");
    expect_refused("ser/ver:1", "may only hold");
    expect_refused("ser@ver", "may only hold");
    expect_refused("ser%ver", "may only hold");
    // Resolvers read these as 127.0.0.1 or octal; only dotted quads are numeric hosts.
    expect_refused("2130706433::5900", "not a dotted-quad");
    expect_refused("010.0.0.1::5900", "not a dotted-quad");
    expect_refused("127.1::5900", "not a dotted-quad");
    expect_refused("1.2.3.4.5", "not a dotted-quad");
    expect_refused("256.0.0.1", "not a dotted-quad");
    expect_refused("...", "not a dotted-quad");
}

TEST(RepeaterHeader, ByteLevelRejections) {
    expect_refused(Bytes(250, 0), "empty");
    expect_refused("ID:1234\n", "offset 7");  // a trailing newline is a control character
    expect_refused("ID:1234\r\n", "offset 7");
    expect_refused("ID: 1234", "offset 3");
    expect_refused(" ID:1234", "offset 0");
    expect_refused("ID:12\t34", "offset 5");
    expect_refused("ID:\x7f", "offset 3");
    expect_refused("ID:1\xc3\xa9", "offset 4");
    expect_refused("\xff", "offset 0");
}

TEST(RepeaterHeader, OnlyExactlyTwoHundredFiftyBytes) {
    const Bytes full = padded("ID:1234");
    for (size_t n = 0; n < 250; ++n) {
        SCOPED_TRACE(n);
        const Parsed p = parse(Bytes(full.begin(), full.begin() + static_cast<ptrdiff_t>(n)));
        EXPECT_FALSE(p.ok);
        EXPECT_EQ(p.error, "repeater header must be 250 bytes, got " + std::to_string(n));
    }
    Bytes longer = full;
    longer.push_back(0);
    expect_refused(longer, "got 251");
    EXPECT_TRUE(parse(full).ok);
}

TEST(RepeaterHeader, MakeHeaderPadsAndCuts) {
    const Bytes field = make_repeater_header("ID:1234");
    ASSERT_EQ(field.size(), 250u);
    EXPECT_EQ(field, padded("ID:1234"));
    EXPECT_EQ(make_repeater_header(""), Bytes(250, 0));
    const std::string long_text(300, 'h');
    EXPECT_EQ(make_repeater_header(long_text), Bytes(250, 'h'));
}

TEST(RepeaterHeader, TextRoundTrips) {
    const char* texts[] = {"ID:1234",     "ID:a.b-c_d:s!cr3t", "host:1",    "host::1",
                           "10.0.0.1:99", "[::1]:5901",        "[fd00::1]", "pi.local::7"};
    for (const char* text : texts) {
        SCOPED_TRACE(text);
        const Parsed first = parse_text(text);
        ASSERT_TRUE(first.ok) << first.error;
        const Parsed again = parse(make_repeater_header(repeater_text(first.target)));
        ASSERT_TRUE(again.ok) << again.error;
        EXPECT_EQ(again.target.kind, first.target.kind);
        EXPECT_EQ(again.target.id, first.target.id);
        EXPECT_EQ(again.target.secret, first.target.secret);
        EXPECT_EQ(again.target.host, first.target.host);
        EXPECT_EQ(again.target.port, first.target.port);
    }
    RepeaterTarget t;
    t.kind = RepeaterTarget::kHostPort;
    t.host = "::1";
    t.port = 22;
    EXPECT_EQ(repeater_text(t), "[::1]::22");
    t.host = "pi";
    EXPECT_EQ(repeater_text(t), "pi::22");
    t.port = 5900;
    EXPECT_EQ(repeater_text(t), "pi");
    t.port = 5901;
    EXPECT_EQ(repeater_text(t), "pi:1");
    t.port = 5999;
    EXPECT_EQ(repeater_text(t), "pi:99");
    t.port = 6000;
    EXPECT_EQ(repeater_text(t), "pi:6000");
    t.port = 100;
    EXPECT_EQ(repeater_text(t), "pi:100");
    t.port = 5899;
    EXPECT_EQ(repeater_text(t), "pi:5899");
    t = RepeaterTarget{};
    t.id = "9";
    EXPECT_EQ(repeater_text(t), "ID:9");
    t.secret = "k";
    EXPECT_EQ(repeater_text(t), "ID:9:k");
}

bool all_in(const std::string& s, std::string_view extra) {
    for (char c : s) {
        const bool alnum =
            (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!alnum && extra.find(c) == std::string_view::npos) return false;
    }
    return true;
}

// Random fields biased towards the interesting bytes: parsing never crashes (the sanitizer build
// checks memory), and every success keeps the promises of RepeaterTarget.
TEST(RepeaterHeader, RandomFieldsKeepThePromises) {
    std::mt19937 rng(20240606);
    const std::string alphabet = "ID:id[]0123456789.-_ab:/%\x01\xff\x7f";
    size_t accepted = 0;
    for (int iter = 0; iter < 50000; ++iter) {
        Bytes field(250, 0);
        const size_t length = rng() % 251;
        const int style = static_cast<int>(rng() % 4);
        for (size_t i = 0; i < length; ++i) {
            if (style == 0)
                field[i] = static_cast<uint8_t>(rng());
            else
                field[i] = static_cast<uint8_t>(alphabet[rng() % alphabet.size()]);
        }
        if (style == 2 && length >= 3) field[0] = 'I', field[1] = 'D', field[2] = ':';
        if (style == 3 && length > 0) field[0] = '[';
        RepeaterTarget target;
        target.id = "stale";
        std::string error;
        const bool ok = parse_repeater_header(field, target, error);
        if (!ok) {
            ASSERT_FALSE(error.empty());
            continue;
        }
        ++accepted;
        ASSERT_TRUE(error.empty());
        if (target.kind == RepeaterTarget::kId) {
            ASSERT_GE(target.id.size(), 1u);
            ASSERT_LE(target.id.size(), 64u);
            ASSERT_TRUE(all_in(target.id, "_.-"));
            ASSERT_LE(target.secret.size(), 128u);
            for (char c : target.secret)
                ASSERT_TRUE(c >= '!' && c <= '~' && c != ':');
            ASSERT_TRUE(target.host.empty());
            ASSERT_EQ(target.port, 0);
        } else {
            ASSERT_GE(target.host.size(), 1u);
            ASSERT_LE(target.host.size(), 250u);
            ASSERT_NE(target.port, 0);
            ASSERT_TRUE(target.id.empty());
            ASSERT_TRUE(target.secret.empty());
        }
        RepeaterTarget again;
        ASSERT_TRUE(
            parse_repeater_header(make_repeater_header(repeater_text(target)), again, error))
            << error;
        ASSERT_EQ(again.kind, target.kind);
        ASSERT_EQ(again.id, target.id);
        ASSERT_EQ(again.secret, target.secret);
        ASSERT_EQ(again.host, target.host);
        ASSERT_EQ(again.port, target.port);
    }
    EXPECT_GT(accepted, 100u);  // the bias must reach the success paths too
}

}  // namespace
}  // namespace rfb
