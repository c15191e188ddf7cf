#include "codec/server_handshake.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "codec/rfb_constants.h"
#include "codec/vnc_auth.h"

namespace rfb {
namespace {

using Bytes = std::vector<uint8_t>;

Bytes text(std::string_view s) {
    return Bytes(s.begin(), s.end());
}
Bytes cat(std::initializer_list<Bytes> parts) {
    Bytes out;
    for (const Bytes& p : parts)
        out.insert(out.end(), p.begin(), p.end());
    return out;
}
Bytes u32(uint32_t v) {
    return Bytes{static_cast<uint8_t>(v >> 24), static_cast<uint8_t>(v >> 16),
                 static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v)};
}

std::array<uint8_t, 16> challenge() {
    std::array<uint8_t, 16> c{};
    for (size_t i = 0; i < 16; ++i)
        c[i] = static_cast<uint8_t>(i);
    return c;
}
Bytes challenge_bytes() {
    const auto c = challenge();
    return Bytes(c.begin(), c.end());
}
// vnc_auth_response(00..0f, "password"), from an independent DES (see vnc_auth_test.cpp).
const Bytes kPasswordResponse = {0xb8, 0x66, 0x92, 0x41, 0x25, 0xc8, 0xee, 0xbb,
                                 0x9d, 0xeb, 0xc1, 0xdb, 0x61, 0xc5, 0x38, 0xe2};

ServerHandshakeConfig passwords(std::optional<std::string> full, std::optional<std::string> view) {
    ServerHandshakeConfig c;
    c.full_password = std::move(full);
    c.viewonly_password = std::move(view);
    c.challenge = challenge();
    return c;
}
ServerHandshakeConfig no_password() {
    return passwords(std::nullopt, std::nullopt);
}

struct Outcome {
    HandshakeStep step;
    Bytes out;        // everything the server sent, including its version
    size_t consumed;  // total over all feeds
};

// Feeds the viewer's bytes in chunks cut at `cuts`, keeping unconsumed bytes like a socket
// reader would, and stops at the first non-kContinue step.
Outcome run(ServerHandshake& hs, const Bytes& in, std::vector<size_t> cuts = {}) {
    Outcome r{};
    hs.start(r.out);
    Bytes buf;
    size_t from = 0;
    cuts.push_back(in.size());
    for (size_t end : cuts) {
        buf.insert(buf.end(), in.begin() + from, in.begin() + end);
        from = end;
        r.step = hs.feed(buf, r.out);
        EXPECT_LE(r.step.consumed, buf.size());
        r.consumed += r.step.consumed;
        buf.erase(buf.begin(), buf.begin() + r.step.consumed);
        if (r.step.status != HandshakeStep::kContinue) break;
    }
    return r;
}

const Bytes kV8 = text("RFB 003.008\n");
const Bytes kV7 = text("RFB 003.007\n");
const Bytes kV3 = text("RFB 003.003\n");

TEST(ServerHandshake, StartSendsVersion38) {
    ServerHandshake hs(no_password());
    Bytes out;
    hs.start(out);
    EXPECT_EQ(out, kV8);
    EXPECT_EQ(hs.minor_version(), 0);
}

TEST(ServerHandshake, None38) {
    ServerHandshake hs(no_password());
    Outcome r = run(hs, cat({kV8, {1}, {1}}));
    EXPECT_EQ(r.step.status, HandshakeStep::kDone) << r.step.error;
    EXPECT_EQ(r.out, cat({kV8, {1, 1}, u32(0)}));
    EXPECT_EQ(r.consumed, 14u);
    EXPECT_EQ(hs.minor_version(), 8);
    EXPECT_EQ(hs.access(), AccessLevel::kFull);
    EXPECT_TRUE(hs.shared_flag());
}

TEST(ServerHandshake, None37HasNoSecurityResult) {
    ServerHandshake hs(no_password());
    Outcome r = run(hs, cat({kV7, {1}, {0}}));
    EXPECT_EQ(r.step.status, HandshakeStep::kDone) << r.step.error;
    EXPECT_EQ(r.out, cat({kV8, {1, 1}}));
    EXPECT_EQ(hs.minor_version(), 7);
    EXPECT_FALSE(hs.shared_flag());
}

TEST(ServerHandshake, None33ServerPicksTheType) {
    ServerHandshake hs(no_password());
    Outcome r = run(hs, cat({kV3, {1}}));
    EXPECT_EQ(r.step.status, HandshakeStep::kDone) << r.step.error;
    EXPECT_EQ(r.out, cat({kV8, u32(1)}));
    EXPECT_EQ(hs.minor_version(), 3);
}

TEST(ServerHandshake, VncAuth38FullAndViewOnly) {
    {
        ServerHandshake hs(passwords("password", "viewer"));
        Outcome r = run(hs, cat({kV8, {2}, kPasswordResponse, {1}}));
        ASSERT_EQ(r.step.status, HandshakeStep::kDone) << r.step.error;
        EXPECT_EQ(r.out, cat({kV8, {1, 2}, challenge_bytes(), u32(0)}));
        EXPECT_EQ(hs.access(), AccessLevel::kFull);
        EXPECT_EQ(hs.security_type(), 2);
    }
    {
        ServerHandshake hs(passwords("other", "password"));
        Outcome r = run(hs, cat({kV8, {2}, kPasswordResponse, {1}}));
        ASSERT_EQ(r.step.status, HandshakeStep::kDone) << r.step.error;
        EXPECT_EQ(hs.access(), AccessLevel::kViewOnly);
    }
    {
        ServerHandshake hs(passwords(std::nullopt, "password"));
        Outcome r = run(hs, cat({kV8, {2}, kPasswordResponse, {1}}));
        ASSERT_EQ(r.step.status, HandshakeStep::kDone) << r.step.error;
        EXPECT_EQ(hs.access(), AccessLevel::kViewOnly);
    }
}

// One port, several sessions: the password a viewer answers with picks the route and access.
TEST(ServerHandshake, CredentialsRouteByPassword) {
    ServerHandshakeConfig c = passwords("lab1ctl", std::nullopt);
    c.credentials = {{"lab2view", AccessLevel::kViewOnly, 2},
                     {"password", AccessLevel::kViewOnly, 3},
                     {"lab3ctl", AccessLevel::kFull, 3}};
    ServerHandshake hs(std::move(c));
    Outcome r = run(hs, cat({kV8, {2}, kPasswordResponse, {1}}));
    ASSERT_EQ(r.step.status, HandshakeStep::kDone) << r.step.error;
    EXPECT_EQ(r.out, cat({kV8, {1, 2}, challenge_bytes(), u32(0)}));
    EXPECT_EQ(hs.route(), 3u);
    EXPECT_EQ(hs.access(), AccessLevel::kViewOnly);
}

TEST(ServerHandshake, CredentialsAloneOfferVncAuth) {
    ServerHandshakeConfig c = no_password();
    c.credentials = {{"other", AccessLevel::kFull, 1}};
    ServerHandshake hs(std::move(c));
    Outcome r = run(hs, cat({kV8, {2}, kPasswordResponse}));
    EXPECT_EQ(r.step.status, HandshakeStep::kFailed);
    EXPECT_EQ(
        r.out,
        cat({kV8, {1, 2}, challenge_bytes(), u32(1), u32(21), text("Authentication failed")}));
}

TEST(ServerHandshake, NoneAccessCanBeViewOnly) {
    ServerHandshakeConfig c = no_password();
    c.none_access = AccessLevel::kViewOnly;
    ServerHandshake hs(std::move(c));
    Outcome r = run(hs, cat({kV8, {1}, {1}}));
    ASSERT_EQ(r.step.status, HandshakeStep::kDone) << r.step.error;
    EXPECT_EQ(hs.access(), AccessLevel::kViewOnly);
    EXPECT_EQ(hs.route(), 0u);
}

// A refused viewer learns why in the failure format of its own version.
TEST(ServerHandshake, RefuseReasonPerVersion) {
    const std::string why = "unknown repeater ID";
    for (const Bytes& version : {kV8, kV7, kV3}) {
        ServerHandshakeConfig c = passwords("password", std::nullopt);
        c.refuse_reason = why;
        ServerHandshake hs(std::move(c));
        Outcome r = run(hs, version);
        EXPECT_EQ(r.step.status, HandshakeStep::kFailed);
        EXPECT_NE(r.step.error.find(why), std::string::npos) << r.step.error;
        const Bytes head = version == kV3 ? u32(0) : Bytes{0};
        EXPECT_EQ(r.out, cat({kV8, head, u32(static_cast<uint32_t>(why.size())), text(why)}));
    }
}

// Feeds one message and returns what the server answered to it.
Bytes step(ServerHandshake& hs, const Bytes& in, HandshakeStep* result = nullptr) {
    Bytes out;
    const HandshakeStep st = hs.feed(in, out);
    EXPECT_EQ(st.consumed, st.status == HandshakeStep::kFailed ? st.consumed : in.size());
    if (result) *result = st;
    return out;
}

ServerHandshakeConfig vencrypt_config() {
    ServerHandshakeConfig c = passwords("password", std::nullopt);
    c.vencrypt_subtypes = {vencrypt::kX509Vnc, vencrypt::kTLSVnc, vencrypt::kTLSPlain};
    c.plain_enabled = true;
    return c;
}

// TigerVNC's default: VeNCrypt with TLSVnc, the VNC challenge inside TLS.
TEST(ServerHandshake, VeNCryptTlsVncRunsTheChallengeAfterTls) {
    ServerHandshake hs(vencrypt_config());
    Bytes out;
    hs.start(out);
    EXPECT_EQ(step(hs, kV8), (Bytes{2, 19, 2}));  // VeNCrypt first, then VNC auth
    EXPECT_EQ(step(hs, {19}), (Bytes{0, 2}));     // VeNCrypt 0.2
    EXPECT_EQ(step(hs, {0, 2}), cat({{0, 3}, u32(261), u32(258), u32(259)}));
    EXPECT_EQ(hs.tls_needed(), TlsKind::kNone);
    EXPECT_EQ(step(hs, u32(258)), Bytes{1});  // accepted: TLS from the next byte
    EXPECT_EQ(hs.tls_needed(), TlsKind::kAnonymous);
    // Bytes before the caller switched are not consumed (they are TLS records).
    Bytes ignored;
    EXPECT_EQ(hs.feed(Bytes{0x16, 3, 1}, ignored).consumed, 0u);
    Bytes inside;
    hs.tls_started(inside);
    EXPECT_EQ(inside, challenge_bytes());
    EXPECT_EQ(hs.tls_needed(), TlsKind::kNone);
    EXPECT_EQ(step(hs, kPasswordResponse), u32(0));
    HandshakeStep done;
    step(hs, {1}, &done);
    EXPECT_EQ(done.status, HandshakeStep::kDone);
    EXPECT_EQ(hs.access(), AccessLevel::kFull);
    EXPECT_EQ(hs.vencrypt_subtype(), vencrypt::kTLSVnc);
}

TEST(ServerHandshake, VeNCryptPlainChecksTheUserInsideTls) {
    for (const bool right : {true, false}) {
        ServerHandshake hs(vencrypt_config());
        Bytes out;
        hs.start(out);
        step(hs, kV8);
        step(hs, {19});
        step(hs, {0, 2});
        EXPECT_EQ(step(hs, u32(vencrypt::kTLSPlain)), Bytes{1});
        Bytes inside;
        hs.tls_started(inside);
        EXPECT_TRUE(inside.empty());  // Plain: the viewer speaks first
        const std::string pw = right ? "wonder" : "wander";
        HandshakeStep st;
        // The credentials go to the caller, once, and nothing is answered until it decides.
        EXPECT_TRUE(step(hs, cat({u32(5), u32(6), text("alice"), text(pw)}), &st).empty());
        EXPECT_EQ(st.status, HandshakeStep::kContinue);
        auto creds = hs.take_plain_check();
        ASSERT_TRUE(creds.has_value());
        EXPECT_EQ(creds->first, "alice");
        EXPECT_EQ(creds->second, pw);
        EXPECT_FALSE(hs.take_plain_check().has_value());
        EXPECT_TRUE(step(hs, {}, &st).empty());  // still waiting
        hs.set_plain_result(creds->second == "wonder" ? AccessLevel::kViewOnly
                                                      : AccessLevel::kNone);
        const Bytes reply = step(hs, {}, &st);
        if (right) {
            EXPECT_EQ(reply, u32(0));
            step(hs, {1}, &st);
            EXPECT_EQ(st.status, HandshakeStep::kDone);
            EXPECT_EQ(hs.access(), AccessLevel::kViewOnly);
            EXPECT_EQ(hs.username(), "alice");
        } else {
            EXPECT_EQ(st.status, HandshakeStep::kFailed);
            EXPECT_TRUE(hs.auth_failed());
            EXPECT_EQ(reply, cat({u32(1), u32(21), text("Authentication failed")}));
        }
    }
}

TEST(ServerHandshake, VeNCryptRefusals) {
    {  // a version other than 0.2
        ServerHandshake hs(vencrypt_config());
        Bytes out;
        hs.start(out);
        step(hs, kV8);
        step(hs, {19});
        HandshakeStep st;
        EXPECT_EQ(step(hs, {0, 1}, &st), Bytes{1});
        EXPECT_EQ(st.status, HandshakeStep::kFailed);
        EXPECT_FALSE(hs.auth_failed());
    }
    {  // a sub-type not offered, and plain-text Plain (never offered)
        for (uint32_t t : {vencrypt::kX509None, vencrypt::kPlain, 0xffffffffu}) {
            ServerHandshake hs(vencrypt_config());
            Bytes out;
            hs.start(out);
            step(hs, kV8);
            step(hs, {19});
            step(hs, {0, 2});
            HandshakeStep st;
            EXPECT_EQ(step(hs, u32(t), &st), Bytes{0});
            EXPECT_EQ(st.status, HandshakeStep::kFailed);
        }
    }
    {  // over-long Plain fields are refused before they are buffered
        ServerHandshake hs(vencrypt_config());
        Bytes out;
        hs.start(out);
        step(hs, kV8);
        step(hs, {19});
        step(hs, {0, 2});
        step(hs, u32(vencrypt::kTLSPlain));
        hs.tls_started(out);
        HandshakeStep st;
        step(hs, cat({u32(5), u32(0xffffffffu)}), &st);
        EXPECT_EQ(st.status, HandshakeStep::kFailed);
        EXPECT_NE(st.error.find("longer than"), std::string::npos) << st.error;
    }
}

// require_tls: only VeNCrypt is offered, and a 3.3 viewer (which cannot choose) is told why.
TEST(ServerHandshake, RequiredTlsOffersOnlyVeNCrypt) {
    ServerHandshakeConfig c = vencrypt_config();
    c.offer_without_tls = false;
    {
        ServerHandshake hs(c);
        Bytes out;
        hs.start(out);
        EXPECT_EQ(step(hs, kV8), (Bytes{1, 19}));
        HandshakeStep st;
        step(hs, {2}, &st);  // VNC auth outside TLS: not offered
        EXPECT_EQ(st.status, HandshakeStep::kFailed);
    }
    {
        ServerHandshake hs(c);
        Bytes out;
        hs.start(out);
        HandshakeStep st;
        const Bytes reply = step(hs, kV3, &st);
        EXPECT_EQ(st.status, HandshakeStep::kFailed);
        ASSERT_GE(reply.size(), 8u);
        EXPECT_EQ(Bytes(reply.begin(), reply.begin() + 4), u32(0));
        EXPECT_NE(std::string(reply.begin() + 8, reply.end()).find("requires TLS"),
                  std::string::npos);
    }
}

TEST(ServerHandshake, WrongVncPasswordCountsAsAuthFailure) {
    ServerHandshake hs(passwords("other", std::nullopt));
    Outcome r = run(hs, cat({kV8, {2}, kPasswordResponse}));
    EXPECT_EQ(r.step.status, HandshakeStep::kFailed);
    EXPECT_TRUE(hs.auth_failed());
    ServerHandshake proto(passwords("other", std::nullopt));
    run(proto, cat({kV8, {7}}));
    EXPECT_FALSE(proto.auth_failed());
}

TEST(ServerHandshake, WrongPasswordPerVersion) {
    const Bytes reason = text("Authentication failed");
    const Bytes ch = challenge_bytes();
    {
        ServerHandshake hs(passwords("secret", std::nullopt));
        Outcome r = run(hs, cat({kV8, {2}, kPasswordResponse, {1}}));
        EXPECT_EQ(r.step.status, HandshakeStep::kFailed);
        EXPECT_FALSE(r.step.error.empty());
        EXPECT_EQ(r.out, cat({kV8, {1, 2}, ch, u32(1), u32(21), reason}));
        EXPECT_EQ(hs.access(), AccessLevel::kNone);
    }
    {
        ServerHandshake hs(passwords("secret", std::nullopt));
        Outcome r = run(hs, cat({kV7, {2}, kPasswordResponse, {1}}));
        EXPECT_EQ(r.step.status, HandshakeStep::kFailed);
        EXPECT_EQ(r.out, cat({kV8, {1, 2}, ch, u32(1)}));
    }
    {
        ServerHandshake hs(passwords("secret", std::nullopt));
        Outcome r = run(hs, cat({kV3, kPasswordResponse, {1}}));
        EXPECT_EQ(r.step.status, HandshakeStep::kFailed);
        EXPECT_EQ(r.out, cat({kV8, u32(2), ch, u32(1)}));
    }
}

TEST(ServerHandshake, VncAuth33) {
    ServerHandshake hs(passwords("password", std::nullopt));
    Outcome r = run(hs, cat({kV3, kPasswordResponse, {1}}));
    ASSERT_EQ(r.step.status, HandshakeStep::kDone) << r.step.error;
    EXPECT_EQ(r.out, cat({kV8, u32(2), challenge_bytes(), u32(0)}));
}

TEST(ServerHandshake, VersionQuirks) {
    struct Case {
        const char* v;
        int minor;
    } cases[] = {{"RFB 003.003\n", 3}, {"RFB 003.004\n", 3}, {"RFB 003.005\n", 3},
                 {"RFB 003.006\n", 3}, {"RFB 003.007\n", 7}, {"RFB 003.008\n", 8},
                 {"RFB 003.889\n", 8}, {"RFB 003.009\n", 8}, {"RFB 004.000\n", 8},
                 {"RFB 005.000\n", 8}};
    for (const Case& c : cases) {
        ServerHandshake hs(no_password());
        Outcome r = run(hs, text(c.v));
        EXPECT_EQ(r.step.status, HandshakeStep::kContinue) << c.v;
        EXPECT_EQ(hs.minor_version(), c.minor) << c.v;
    }
}

TEST(ServerHandshake, BadVersions) {
    for (const char* v : {"RFB 003.002\n", "RFB 002.009\n", "RFB 000.000\n"}) {
        ServerHandshake hs(no_password());
        Outcome r = run(hs, text(v));
        EXPECT_EQ(r.step.status, HandshakeStep::kFailed) << v;
        // 3.3-style "connection failed": U32 0 then a reason.
        const Bytes reason = text("Unsupported RFB protocol version");
        EXPECT_EQ(r.out, cat({kV8, u32(0), u32(static_cast<uint32_t>(reason.size())), reason}))
            << v;
    }
    for (const char* v : {"RFB 003.00x\n", "GET / HTTP/1.", "RFB 003.008\r", "rfb 003.008\n",
                          "RFB 03.008\n\n", "RFB 003-008\n", "\0\0\0\0\0\0\0\0\0\0\0\0"}) {
        ServerHandshake hs(no_password());
        Outcome r = run(hs, Bytes(v, v + 12));
        EXPECT_EQ(r.step.status, HandshakeStep::kFailed) << v;
        EXPECT_EQ(r.out, kV8) << "nothing more is sent to a non-RFB peer";
    }
}

TEST(ServerHandshake, SecurityTypeNotOffered) {
    {
        ServerHandshake hs(no_password());
        Outcome r = run(hs, cat({kV8, {2}}));
        EXPECT_EQ(r.step.status, HandshakeStep::kFailed);
        const Bytes reason = text("Authentication failed");
        EXPECT_EQ(r.out, cat({kV8, {1, 1}, u32(1), u32(21), reason}));
    }
    {
        ServerHandshake hs(passwords("x", std::nullopt));
        Outcome r = run(hs, cat({kV7, {1}}));  // None when a password is required
        EXPECT_EQ(r.step.status, HandshakeStep::kFailed);
        EXPECT_EQ(r.out, cat({kV8, {1, 2}, u32(1)}));
        EXPECT_EQ(hs.access(), AccessLevel::kNone);
    }
    {
        ServerHandshake hs(no_password());
        Outcome r = run(hs, cat({kV8, {0}}));
        EXPECT_EQ(r.step.status, HandshakeStep::kFailed);
    }
}

TEST(ServerHandshake, SplitAtEveryByteGivesTheSameResult) {
    const Bytes viewer = cat({kV8, {2}, kPasswordResponse, {1}});
    ServerHandshake ref(passwords("password", std::nullopt));
    const Outcome whole = run(ref, viewer);
    ASSERT_EQ(whole.step.status, HandshakeStep::kDone);
    for (size_t cut = 1; cut < viewer.size(); ++cut) {
        ServerHandshake hs(passwords("password", std::nullopt));
        Outcome r = run(hs, viewer, {cut});
        ASSERT_EQ(r.step.status, HandshakeStep::kDone) << cut;
        EXPECT_EQ(r.out, whole.out) << cut;
        EXPECT_EQ(r.consumed, viewer.size()) << cut;
    }
    std::vector<size_t> every;
    for (size_t i = 1; i < viewer.size(); ++i)
        every.push_back(i);
    ServerHandshake hs(passwords("password", std::nullopt));
    Outcome r = run(hs, viewer, every);
    EXPECT_EQ(r.step.status, HandshakeStep::kDone);
    EXPECT_EQ(r.out, whole.out);
    EXPECT_EQ(hs.access(), AccessLevel::kFull);
}

TEST(ServerHandshake, PipelinedBytesAfterClientInitAreLeft) {
    ServerHandshake hs(no_password());
    Bytes out;
    hs.start(out);
    const Bytes in = cat({kV8, {1}, {1}, {3, 0, 0, 0, 0, 0, 0, 10, 0, 10}});
    HandshakeStep s = hs.feed(in, out);
    EXPECT_EQ(s.status, HandshakeStep::kDone);
    EXPECT_EQ(s.consumed, 14u);
    // Further feeds consume nothing.
    s = hs.feed(Bytes(in.begin() + 14, in.end()), out);
    EXPECT_EQ(s.status, HandshakeStep::kDone);
    EXPECT_EQ(s.consumed, 0u);
}

TEST(ServerHandshake, FeedBeforeStartOrAfterFailure) {
    ServerHandshake hs(no_password());
    Bytes out;
    EXPECT_EQ(hs.feed(kV8, out).status, HandshakeStep::kFailed);
    ServerHandshake hs2(no_password());
    hs2.start(out);
    EXPECT_EQ(hs2.feed(text("XXXXXXXXXXXX"), out).status, HandshakeStep::kFailed);
    const HandshakeStep again = hs2.feed(kV8, out);
    EXPECT_EQ(again.status, HandshakeStep::kFailed);
    EXPECT_EQ(again.consumed, 0u);
}

TEST(ServerHandshake, ParseProtocolVersion) {
    ProtocolVersion v;
    ASSERT_TRUE(parse_protocol_version(text("RFB 003.889\n"), v));
    EXPECT_EQ(v.major, 3);
    EXPECT_EQ(v.minor, 889);
    EXPECT_FALSE(parse_protocol_version(text("RFB 003.008"), v));
    EXPECT_FALSE(parse_protocol_version(text("RFB 003.008\n\n"), v));
    EXPECT_FALSE(parse_protocol_version(text("RFB +03.008\n"), v));
}

TEST(ServerHandshake, MutatedInputNeverCrashes) {
    const Bytes good = cat({kV8, {2}, kPasswordResponse, {1}});
    std::mt19937 rng(7);
    for (int iter = 0; iter < 5000; ++iter) {
        Bytes b = good;
        for (int i = 0; i < 1 + static_cast<int>(rng() % 3); ++i)
            b[rng() % b.size()] = static_cast<uint8_t>(rng());
        ServerHandshake hs(passwords("password", "view"));
        Bytes ignored;
        hs.start(ignored);
        Bytes buf;
        for (uint8_t byte : b) {
            buf.push_back(byte);
            HandshakeStep s = hs.feed(buf, ignored);
            ASSERT_LE(s.consumed, buf.size());
            buf.erase(buf.begin(), buf.begin() + s.consumed);
            if (s.status == HandshakeStep::kFailed) {
                EXPECT_FALSE(s.error.empty());
                break;
            }
            if (s.status == HandshakeStep::kDone) break;
        }
    }
}

}  // namespace
}  // namespace rfb
