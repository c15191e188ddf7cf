#include "codec/client_handshake.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "codec/ard_auth.h"
#include "codec/rfb_constants.h"
#include "codec/server_handshake.h"
#include "codec/server_messages.h"

namespace rfb {
namespace {

ServerHandshakeConfig server_config(std::optional<std::string> full,
                                    std::optional<std::string> view,
                                    std::array<uint8_t, 16> challenge = {}) {
    ServerHandshakeConfig c;
    c.full_password = std::move(full);
    c.viewonly_password = std::move(view);
    c.challenge = challenge;
    return c;
}

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
Bytes reason(std::string_view s) {
    return cat({u32(static_cast<uint32_t>(s.size())), text(s)});
}

Bytes counting16() {
    Bytes c(16);
    for (size_t i = 0; i < 16; ++i)
        c[i] = static_cast<uint8_t>(i);
    return c;
}
// vnc_auth_response(00..0f, "password") from an independent DES (see vnc_auth_test.cpp).
const Bytes kPasswordResponse = {0xb8, 0x66, 0x92, 0x41, 0x25, 0xc8, 0xee, 0xbb,
                                 0x9d, 0xeb, 0xc1, 0xdb, 0x61, 0xc5, 0x38, 0xe2};

// ServerInit for an 800x600 canonical desktop called "desk".
Bytes server_init(uint16_t w = 800, uint16_t h = 600, std::string_view name = "desk") {
    return cat({{static_cast<uint8_t>(w >> 8),
                 static_cast<uint8_t>(w),
                 static_cast<uint8_t>(h >> 8),
                 static_cast<uint8_t>(h),
                 32,
                 24,
                 0,
                 1,
                 0,
                 255,
                 0,
                 255,
                 0,
                 255,
                 16,
                 8,
                 0,
                 0,
                 0,
                 0},
                reason(name)});
}

struct Outcome {
    HandshakeStep step;
    Bytes out;
    size_t consumed = 0;
};

Outcome run(ClientHandshake& hs, const Bytes& in, std::vector<size_t> cuts = {}) {
    Outcome r;
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

ClientHandshakeConfig with_password(std::string pw = "password") {
    return ClientHandshakeConfig{std::move(pw), true};
}

TEST(ClientHandshake, None38) {
    ClientHandshake hs(ClientHandshakeConfig{});
    Outcome r = run(hs, cat({text("RFB 003.008\n"), {1, 1}, u32(0), server_init()}));
    ASSERT_EQ(r.step.status, HandshakeStep::kDone) << r.step.error;
    EXPECT_EQ(r.out, cat({text("RFB 003.008\n"), {1}, {1}}));
    EXPECT_EQ(hs.minor_version(), 8);
    EXPECT_EQ(hs.security_type(), 1);
    EXPECT_EQ(hs.server_init().width, 800);
    EXPECT_EQ(hs.server_init().height, 600);
    EXPECT_EQ(hs.server_init().format, PixelFormat{});
    EXPECT_EQ(hs.server_init().name, "desk");
}

TEST(ClientHandshake, None37And33HaveNoSecurityResult) {
    {
        ClientHandshake hs(ClientHandshakeConfig{std::nullopt, false});
        Outcome r = run(hs, cat({text("RFB 003.007\n"), {1, 1}, server_init()}));
        ASSERT_EQ(r.step.status, HandshakeStep::kDone) << r.step.error;
        EXPECT_EQ(r.out, cat({text("RFB 003.007\n"), {1}, {0}}));
    }
    {
        ClientHandshake hs(ClientHandshakeConfig{});
        Outcome r = run(hs, cat({text("RFB 003.003\n"), u32(1), server_init()}));
        ASSERT_EQ(r.step.status, HandshakeStep::kDone) << r.step.error;
        EXPECT_EQ(r.out, cat({text("RFB 003.003\n"), {1}}));
        EXPECT_EQ(hs.minor_version(), 3);
    }
}

TEST(ClientHandshake, VncAuthEachVersion) {
    {
        ClientHandshake hs(with_password());
        Outcome r =
            run(hs, cat({text("RFB 003.008\n"), {1, 2}, counting16(), u32(0), server_init()}));
        ASSERT_EQ(r.step.status, HandshakeStep::kDone) << r.step.error;
        EXPECT_EQ(r.out, cat({text("RFB 003.008\n"), {2}, kPasswordResponse, {1}}));
        EXPECT_EQ(hs.security_type(), 2);
    }
    {
        ClientHandshake hs(with_password());
        Outcome r =
            run(hs, cat({text("RFB 003.007\n"), {2, 16, 2}, counting16(), u32(0), server_init()}));
        ASSERT_EQ(r.step.status, HandshakeStep::kDone) << r.step.error;
        EXPECT_EQ(r.out, cat({text("RFB 003.007\n"), {2}, kPasswordResponse, {1}}));
    }
    {
        ClientHandshake hs(with_password());
        Outcome r =
            run(hs, cat({text("RFB 003.003\n"), u32(2), counting16(), u32(0), server_init()}));
        ASSERT_EQ(r.step.status, HandshakeStep::kDone) << r.step.error;
        EXPECT_EQ(r.out, cat({text("RFB 003.003\n"), kPasswordResponse, {1}}));
    }
}

TEST(ClientHandshake, PrefersVncAuthOverNoneWithAPassword) {
    ClientHandshake hs(with_password());
    Outcome r =
        run(hs, cat({text("RFB 003.008\n"), {2, 1, 2}, counting16(), u32(0), server_init()}));
    ASSERT_EQ(r.step.status, HandshakeStep::kDone) << r.step.error;
    EXPECT_EQ(r.out, cat({text("RFB 003.008\n"), {2}, kPasswordResponse, {1}}));
}

TEST(ClientHandshake, PrefersNoneWithoutAPassword) {
    ClientHandshake hs(ClientHandshakeConfig{});
    Outcome r = run(hs, cat({text("RFB 003.008\n"), {2, 2, 1}, u32(0), server_init()}));
    ASSERT_EQ(r.step.status, HandshakeStep::kDone) << r.step.error;
    EXPECT_EQ(r.out, cat({text("RFB 003.008\n"), {1}, {1}}));
}

TEST(ClientHandshake, VersionQuirks) {
    struct Case {
        const char* server;
        const char* reply;
    } cases[] = {{"RFB 003.003\n", "RFB 003.003\n"}, {"RFB 003.005\n", "RFB 003.003\n"},
                 {"RFB 003.006\n", "RFB 003.003\n"}, {"RFB 003.007\n", "RFB 003.007\n"},
                 {"RFB 003.008\n", "RFB 003.008\n"}, {"RFB 003.889\n", "RFB 003.008\n"},
                 {"RFB 004.001\n", "RFB 003.008\n"}};
    for (const Case& c : cases) {
        ClientHandshake hs(ClientHandshakeConfig{});
        Outcome r = run(hs, text(c.server));
        EXPECT_EQ(r.step.status, HandshakeStep::kContinue) << c.server;
        EXPECT_EQ(r.out, text(c.reply)) << c.server;
    }
    for (const char* bad : {"RFB 003.002\n", "RFB 002.000\n", "SSH-2.0-Open", "RFB 003.08\n\n"}) {
        ClientHandshake hs(ClientHandshakeConfig{});
        Outcome r = run(hs, text(bad));
        EXPECT_EQ(r.step.status, HandshakeStep::kFailed) << bad;
        EXPECT_TRUE(r.out.empty());
    }
}

TEST(ClientHandshake, ServerReasonsReachTheError) {
    {
        ClientHandshake hs(ClientHandshakeConfig{});
        Outcome r = run(hs, cat({text("RFB 003.003\n"), u32(0), reason("Too many clients")}));
        EXPECT_EQ(r.step.status, HandshakeStep::kFailed);
        EXPECT_EQ(r.step.error, "Too many clients");
    }
    {
        ClientHandshake hs(ClientHandshakeConfig{});
        Outcome r = run(hs, cat({text("RFB 003.008\n"), {0}, reason("No\nway\x1b[31m")}));
        EXPECT_EQ(r.step.status, HandshakeStep::kFailed);
        EXPECT_EQ(r.step.error, "No?way?[31m");  // control characters never reach the log
    }
    {
        ClientHandshake hs(with_password());
        Outcome r =
            run(hs, cat({text("RFB 003.008\n"), {1, 2}, counting16(), u32(1), reason("Bad pw")}));
        EXPECT_EQ(r.step.status, HandshakeStep::kFailed);
        EXPECT_EQ(r.step.error, "Bad pw");
    }
    {
        ClientHandshake hs(with_password());
        Outcome r = run(hs, cat({text("RFB 003.007\n"), {1, 2}, counting16(), u32(1)}));
        EXPECT_EQ(r.step.status, HandshakeStep::kFailed);
        EXPECT_NE(r.step.error.find("authentication failed"), std::string::npos);
    }
    {
        ClientHandshake hs(ClientHandshakeConfig{});
        Outcome r = run(hs, cat({text("RFB 003.008\n"), {1, 1}, u32(1), reason("")}));
        EXPECT_EQ(r.step.status, HandshakeStep::kFailed);
        EXPECT_FALSE(r.step.error.empty());
    }
}

TEST(ClientHandshake, OverlongReasonFailsFromItsLength) {
    for (uint32_t len : {4097u, 0xFFFFFFFFu}) {
        ClientHandshake hs(ClientHandshakeConfig{});
        Outcome r = run(hs, cat({text("RFB 003.008\n"), {0}, u32(len)}));
        EXPECT_EQ(r.step.status, HandshakeStep::kFailed) << len;
    }
}

TEST(ClientHandshake, SecurityChoiceFailures) {
    {
        ClientHandshake hs(ClientHandshakeConfig{});  // no password
        Outcome r = run(hs, cat({text("RFB 003.008\n"), {1, 2}}));
        EXPECT_EQ(r.step.status, HandshakeStep::kFailed);
        EXPECT_NE(r.step.error.find("password"), std::string::npos);
    }
    {
        ClientHandshake hs(with_password());
        Outcome r = run(hs, cat({text("RFB 003.008\n"), {2, 5, 16}}));
        EXPECT_EQ(r.step.status, HandshakeStep::kFailed);
        EXPECT_NE(r.step.error.find("5,16"), std::string::npos) << r.step.error;
    }
    {
        ClientHandshake hs(with_password());
        Outcome r = run(hs, cat({text("RFB 003.003\n"), u32(19)}));
        EXPECT_EQ(r.step.status, HandshakeStep::kFailed);
    }
    {
        ClientHandshake hs(ClientHandshakeConfig{});
        Outcome r = run(hs, cat({text("RFB 003.003\n"), u32(2)}));
        EXPECT_EQ(r.step.status, HandshakeStep::kFailed);
    }
}

TEST(ClientHandshake, ServerInitChecks) {
    auto try_init = [](const Bytes& init) {
        ClientHandshake hs(ClientHandshakeConfig{});
        return run(hs, cat({text("RFB 003.008\n"), {1, 1}, u32(0), init})).step;
    };
    EXPECT_EQ(try_init(server_init(0, 600)).status, HandshakeStep::kFailed);
    EXPECT_EQ(try_init(server_init(800, 0)).status, HandshakeStep::kFailed);
    EXPECT_EQ(try_init(server_init(16385, 10)).status, HandshakeStep::kFailed);
    EXPECT_EQ(try_init(server_init(16384, 16384)).status, HandshakeStep::kDone);
    // A lowered cap (--max-framebuffer): exactly at it passes, one past it fails.
    auto try_capped = [](const Bytes& init) {
        ClientHandshakeConfig c;
        c.max_framebuffer_dim = 1920;
        ClientHandshake hs(c);
        return run(hs, cat({text("RFB 003.008\n"), {1, 1}, u32(0), init})).step;
    };
    EXPECT_EQ(try_capped(server_init(1920, 1920)).status, HandshakeStep::kDone);
    EXPECT_EQ(try_capped(server_init(1921, 1080)).status, HandshakeStep::kFailed);
    EXPECT_EQ(try_capped(server_init(1080, 1921)).status, HandshakeStep::kFailed);
    EXPECT_EQ(try_init(server_init(800, 600, std::string(4096, 'n'))).status, HandshakeStep::kDone);
    EXPECT_EQ(try_init(server_init(800, 600, std::string(4097, 'n'))).status,
              HandshakeStep::kFailed);
    // Over-long names fail from the length field, before any name bytes arrive.
    Bytes header_only = server_init(800, 600, "");
    header_only.resize(20);
    EXPECT_EQ(try_init(cat({header_only, u32(0xFFFFFFFF)})).status, HandshakeStep::kFailed);
    // Pixel formats: invalid ones fail, colour-map ones are fine for a server.
    Bytes bad = server_init();
    bad[4] = 24;  // bits-per-pixel
    EXPECT_EQ(try_init(bad).status, HandshakeStep::kFailed);
    Bytes cmap = server_init();
    cmap[4] = 8;
    cmap[5] = 8;
    cmap[7] = 0;  // colour map
    EXPECT_EQ(try_init(cmap).status, HandshakeStep::kDone);
}

TEST(ClientHandshake, LeavesBytesAfterServerInit) {
    ClientHandshake hs(ClientHandshakeConfig{});
    const Bytes in = cat({text("RFB 003.008\n"), {1, 1}, u32(0), server_init(), {2, 2, 2}});
    Bytes out;
    HandshakeStep s = hs.feed(in, out);
    EXPECT_EQ(s.status, HandshakeStep::kDone);
    EXPECT_EQ(s.consumed, in.size() - 3);
}

TEST(ClientHandshake, SplitAtEveryByteGivesTheSameResult) {
    const Bytes server =
        cat({text("RFB 003.008\n"), {2, 1, 2}, counting16(), u32(0), server_init()});
    const Bytes auth = cat({text("RFB 003.003\n"), u32(2), counting16(), u32(0), server_init()});
    for (const Bytes* in : {&server, &auth}) {
        ClientHandshake ref(with_password());
        const Outcome whole = run(ref, *in);
        ASSERT_EQ(whole.step.status, HandshakeStep::kDone) << whole.step.error;
        for (size_t cut = 1; cut < in->size(); ++cut) {
            ClientHandshake hs(with_password());
            Outcome r = run(hs, *in, {cut});
            ASSERT_EQ(r.step.status, HandshakeStep::kDone) << cut;
            EXPECT_EQ(r.out, whole.out) << cut;
            EXPECT_EQ(r.consumed, in->size()) << cut;
            EXPECT_EQ(hs.server_init().name, "desk");
        }
        std::vector<size_t> every;
        for (size_t i = 1; i < in->size(); ++i)
            every.push_back(i);
        ClientHandshake hs(with_password());
        Outcome r = run(hs, *in, every);
        EXPECT_EQ(r.step.status, HandshakeStep::kDone);
        EXPECT_EQ(r.out, whole.out);
    }
}

// A ClientHandshake talking to a ServerHandshake in memory. `server_version` replaces the
// server's "RFB 003.008\n" on the wire, to make each side meet every version.
struct PairResult {
    HandshakeStep client, server;
    ClientHandshake* c;
    ServerHandshake* s;
};

void pair(ClientHandshake& c, ServerHandshake& s, const char* server_version, PairResult& res,
          size_t chunk = 0) {
    Bytes to_client, to_server;
    s.start(to_client);
    std::copy(server_version, server_version + 12, to_client.begin());
    Bytes c_in, s_in;
    bool server_done = false, client_done = false;
    for (int round = 0; round < 100 && !(server_done && client_done); ++round) {
        // Deliver at most `chunk` bytes per round (0 = all), to interleave the two sides.
        auto deliver = [&](Bytes& from, Bytes& to) {
            const size_t n = chunk ? std::min(chunk, from.size()) : from.size();
            to.insert(to.end(), from.begin(), from.begin() + n);
            from.erase(from.begin(), from.begin() + n);
        };
        deliver(to_client, c_in);
        if (!client_done) {
            res.client = c.feed(c_in, to_server);
            c_in.erase(c_in.begin(), c_in.begin() + res.client.consumed);
            client_done = res.client.status != HandshakeStep::kContinue;
        }
        deliver(to_server, s_in);
        if (!server_done) {
            res.server = s.feed(s_in, to_client);
            s_in.erase(s_in.begin(), s_in.begin() + res.server.consumed);
            server_done = res.server.status != HandshakeStep::kContinue;
            if (res.server.status == HandshakeStep::kDone) {
                ByteWriter w(to_client);
                write_server_init(w, 1280, 720, PixelFormat::rgb565(), "reflected");
            }
        }
        if (res.server.status == HandshakeStep::kFailed) {
            // The client sees what the server sent before closing, and then the close.
            deliver(to_client, c_in);
            res.client = c.feed(c_in, to_server);
            return;
        }
    }
}

TEST(HandshakePair, AllVersionsNoneAndVncAuth) {
    const char* versions[] = {"RFB 003.003\n", "RFB 003.005\n", "RFB 003.007\n", "RFB 003.008\n",
                              "RFB 003.889\n"};
    const int expected_minor[] = {3, 3, 7, 8, 8};
    for (size_t chunk : {size_t{0}, size_t{1}, size_t{5}}) {
        for (size_t i = 0; i < 5; ++i) {
            for (bool auth : {false, true}) {
                SCOPED_TRACE(std::string(versions[i], 11) + (auth ? " vncauth" : " none") +
                             " chunk " + std::to_string(chunk));
                std::array<uint8_t, 16> ch{};
                for (size_t k = 0; k < 16; ++k)
                    ch[k] = static_cast<uint8_t>(0x5a ^ (k * 31));
                ServerHandshake s(server_config(
                    auth ? std::optional<std::string>("s3cret") : std::nullopt, std::nullopt, ch));
                ClientHandshake c(ClientHandshakeConfig{
                    auth ? std::optional<std::string>("s3cret") : std::nullopt, false});
                PairResult r{};
                pair(c, s, versions[i], r, chunk);
                ASSERT_EQ(r.server.status, HandshakeStep::kDone) << r.server.error;
                ASSERT_EQ(r.client.status, HandshakeStep::kDone) << r.client.error;
                EXPECT_EQ(s.minor_version(), expected_minor[i]);
                EXPECT_EQ(c.minor_version(), expected_minor[i]);
                EXPECT_EQ(s.access(), AccessLevel::kFull);
                EXPECT_EQ(c.security_type(), auth ? 2 : 1);
                EXPECT_FALSE(s.shared_flag());
                EXPECT_EQ(c.server_init().width, 1280);
                EXPECT_EQ(c.server_init().format, PixelFormat::rgb565());
                EXPECT_EQ(c.server_init().name, "reflected");
            }
        }
    }
}

TEST(HandshakePair, ViewOnlyPassword) {
    ServerHandshake s(server_config("admin", "look"));
    ClientHandshake c(ClientHandshakeConfig{"look", true});
    PairResult r{};
    pair(c, s, "RFB 003.008\n", r);
    ASSERT_EQ(r.client.status, HandshakeStep::kDone) << r.client.error;
    EXPECT_EQ(s.access(), AccessLevel::kViewOnly);
    EXPECT_TRUE(s.shared_flag());
}

TEST(HandshakePair, WrongPasswordEachVersion) {
    for (const char* v : {"RFB 003.003\n", "RFB 003.007\n", "RFB 003.008\n"}) {
        SCOPED_TRACE(v);
        ServerHandshake s(server_config("right", std::nullopt));
        ClientHandshake c(ClientHandshakeConfig{"wrong", true});
        PairResult r{};
        pair(c, s, v, r);
        EXPECT_EQ(r.server.status, HandshakeStep::kFailed);
        EXPECT_EQ(r.client.status, HandshakeStep::kFailed);
        EXPECT_EQ(s.access(), AccessLevel::kNone);
        if (v[10] == '8')
            EXPECT_EQ(r.client.error, "Authentication failed");
        else
            EXPECT_NE(r.client.error.find("authentication failed"), std::string::npos);
    }
}

TEST(HandshakePair, ClientWithoutPasswordMeetsPasswordServer) {
    ServerHandshake s(server_config("right", std::nullopt));
    ClientHandshake c(ClientHandshakeConfig{});
    PairResult r{};
    pair(c, s, "RFB 003.008\n", r);
    EXPECT_EQ(r.client.status, HandshakeStep::kFailed);
    EXPECT_NE(r.client.error.find("password"), std::string::npos);
}

TEST(ClientHandshake, MutatedInputNeverCrashes) {
    const Bytes good = cat({text("RFB 003.008\n"), {2, 1, 2}, counting16(), u32(0), server_init()});
    std::mt19937 rng(7);
    for (int iter = 0; iter < 5000; ++iter) {
        Bytes b = good;
        for (int i = 0; i < 1 + static_cast<int>(rng() % 3); ++i)
            b[rng() % b.size()] = static_cast<uint8_t>(rng());
        ClientHandshake hs(with_password());
        Bytes ignored;
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

// ---------------------------------------------------------------------------------------------
// VeNCrypt (TLS, X509, Plain), Apple Remote Desktop and the TLS policy.

uint32_t be32(const Bytes& b, size_t at) {
    return (uint32_t{b[at]} << 24) | (uint32_t{b[at + 1]} << 16) | (uint32_t{b[at + 2]} << 8) |
           uint32_t{b[at + 3]};
}

// Server side of VeNCrypt up to its sub-type list: version 0.2, "version ok", the list.
Bytes vencrypt_offer(const std::vector<uint32_t>& subtypes) {
    Bytes b = {0, 2, 0, static_cast<uint8_t>(subtypes.size())};
    for (uint32_t t : subtypes)
        b = cat({b, u32(t)});
    return b;
}

// Plain's credentials as the client must send them: U32 lengths, then the two strings.
Bytes plain_credentials(std::string_view user, std::string_view pass) {
    return cat({u32(static_cast<uint32_t>(user.size())), u32(static_cast<uint32_t>(pass.size())),
                text(user), text(pass)});
}

ClientHandshakeConfig full_credentials() {
    ClientHandshakeConfig c;
    c.password = "password";
    c.username = "user";
    c.x509_verifiable = true;
    return c;
}

// A server that switches to TLS: `clear` is what it sends before (up to and including its TLS
// acknowledgement), `inside` what it sends over TLS, as the client sees it once decrypted.
struct Script {
    Bytes clear, inside;
};

struct TlsOutcome {
    HandshakeStep step;
    Bytes out_clear, out_inside;  // what the client sent before and after the switch
    TlsKind kind = TlsKind::kNone;
    bool tls_seen = false;
    size_t consumed_clear = 0;  // bytes consumed when the client asked for TLS
};

// Feeds clear+inside cut at `cuts` (positions in the concatenation). Bytes after the switch that
// arrive in the same chunk as the acknowledgement are left unconsumed and handed in again after
// tls_started(), which is what Connection does with them (decrypted first).
TlsOutcome run_tls(ClientHandshake& hs, const Script& script, std::vector<size_t> cuts = {}) {
    TlsOutcome r;
    const Bytes all = cat({script.clear, script.inside});
    Bytes buf;
    Bytes* out = &r.out_clear;
    size_t from = 0, consumed = 0;
    cuts.push_back(all.size());
    for (size_t end : cuts) {
        buf.insert(buf.end(), all.begin() + from, all.begin() + end);
        from = end;
        for (;;) {
            r.step = hs.feed(buf, *out);
            EXPECT_LE(r.step.consumed, buf.size());
            buf.erase(buf.begin(), buf.begin() + r.step.consumed);
            consumed += r.step.consumed;
            if (r.step.status != HandshakeStep::kContinue) return r;
            if (hs.tls_needed() == TlsKind::kNone) break;
            EXPECT_FALSE(r.tls_seen) << "TLS asked for twice";
            r.tls_seen = true;
            r.kind = hs.tls_needed();
            r.consumed_clear = consumed;
            // Until the caller has switched, nothing more is consumed and nothing is sent.
            const size_t out_before = out->size();
            const HandshakeStep again = hs.feed(buf, *out);
            EXPECT_EQ(again.status, HandshakeStep::kContinue);
            EXPECT_EQ(again.consumed, 0u);
            EXPECT_EQ(out->size(), out_before);
            out = &r.out_inside;
            hs.tls_started(*out);
            EXPECT_EQ(hs.tls_needed(), TlsKind::kNone);
        }
    }
    return r;
}

struct SubtypeCase {
    uint32_t subtype;
    const char* name;
    TlsKind kind;
    bool vnc_auth, plain;
};
const SubtypeCase kSubtypes[] = {
    {vencrypt::kTLSNone, "TLSNone", TlsKind::kAnonymous, false, false},
    {vencrypt::kTLSVnc, "TLSVnc", TlsKind::kAnonymous, true, false},
    {vencrypt::kTLSPlain, "TLSPlain", TlsKind::kAnonymous, false, true},
    {vencrypt::kX509None, "X509None", TlsKind::kX509, false, false},
    {vencrypt::kX509Vnc, "X509Vnc", TlsKind::kX509, true, false},
    {vencrypt::kX509Plain, "X509Plain", TlsKind::kX509, false, true},
    {vencrypt::kPlain, "Plain", TlsKind::kNone, false, true},
    // TigerVNC lists its plain types among the sub-types too.
    {security::kVncAuth, "VncAuth", TlsKind::kNone, true, false},
    {security::kNone, "None", TlsKind::kNone, false, false},
};

// The server's bytes for a 3.8 session offering only this sub-type, and the client's expected
// replies before and after TLS.
struct SubtypeSession {
    Script server;
    Bytes client_clear, client_inside;
};
SubtypeSession session_for(const SubtypeCase& c) {
    SubtypeSession s;
    const bool tls = c.kind != TlsKind::kNone;
    s.server.clear =
        cat({text("RFB 003.008\n"), {1, security::kVeNCrypt}, vencrypt_offer({c.subtype})});
    if (tls) s.server.clear.push_back(1);  // "go ahead with TLS"
    Bytes after = cat({c.vnc_auth ? counting16() : Bytes{}, u32(0), server_init()});
    Bytes client_after = cat({c.plain ? plain_credentials("user", "password") : Bytes{},
                              c.vnc_auth ? kPasswordResponse : Bytes{},
                              {1}});
    s.client_clear = cat({text("RFB 003.008\n"), {security::kVeNCrypt}, {0, 2}, u32(c.subtype)});
    if (tls) {
        s.server.inside = after;
        s.client_inside = client_after;
    } else {  // Plain: no TLS, everything in the clear
        s.server.clear = cat({s.server.clear, after});
        s.client_clear = cat({s.client_clear, client_after});
    }
    return s;
}

ClientHandshakeConfig config_for(const SubtypeCase& c) {
    ClientHandshakeConfig cfg = full_credentials();
    cfg.allow_plain_without_tls = c.kind == TlsKind::kNone;
    return cfg;
}

TEST(VeNCrypt, EverySubtypeByteForByte) {
    for (const SubtypeCase& c : kSubtypes) {
        SCOPED_TRACE(c.name);
        const SubtypeSession s = session_for(c);
        ClientHandshake hs(config_for(c));
        const TlsOutcome r = run_tls(hs, s.server);
        ASSERT_EQ(r.step.status, HandshakeStep::kDone) << r.step.error;
        EXPECT_EQ(r.tls_seen, c.kind != TlsKind::kNone);
        EXPECT_EQ(r.kind, c.kind);
        EXPECT_EQ(r.consumed_clear, c.kind != TlsKind::kNone ? s.server.clear.size() : 0u);
        EXPECT_EQ(r.out_clear, s.client_clear);
        EXPECT_EQ(r.out_inside, s.client_inside);
        EXPECT_EQ(hs.security_type(), security::kVeNCrypt);
        EXPECT_EQ(hs.vencrypt_subtype(), c.subtype);
        EXPECT_EQ(hs.security_description(), std::string("VeNCrypt/") + c.name);
        EXPECT_EQ(hs.server_init().name, "desk");
    }
}

TEST(VeNCrypt, EverySubtypeSplitAtEveryByte) {
    for (const SubtypeCase& c : kSubtypes) {
        SCOPED_TRACE(c.name);
        const SubtypeSession s = session_for(c);
        const size_t total = s.server.clear.size() + s.server.inside.size();
        for (size_t cut = 1; cut < total; ++cut) {
            ClientHandshake hs(config_for(c));
            const TlsOutcome r = run_tls(hs, s.server, {cut});
            ASSERT_EQ(r.step.status, HandshakeStep::kDone) << cut << ": " << r.step.error;
            ASSERT_EQ(r.out_clear, s.client_clear) << cut;
            ASSERT_EQ(r.out_inside, s.client_inside) << cut;
            // Never a byte past the acknowledgement before the switch, wherever the cut is.
            if (c.kind != TlsKind::kNone) {
                ASSERT_EQ(r.consumed_clear, s.server.clear.size()) << cut;
            }
        }
        std::vector<size_t> every;
        for (size_t i = 1; i < total; ++i)
            every.push_back(i);
        ClientHandshake hs(config_for(c));
        const TlsOutcome r = run_tls(hs, s.server, every);
        ASSERT_EQ(r.step.status, HandshakeStep::kDone) << r.step.error;
        EXPECT_EQ(r.out_clear, s.client_clear);
        EXPECT_EQ(r.out_inside, s.client_inside);
    }
}

TEST(VeNCrypt, Version37StillReadsSecurityResultAfterTLSNone) {
    ClientHandshake hs(ClientHandshakeConfig{});
    Script s;
    s.clear = cat({text("RFB 003.007\n"), {2, 1, 19}, vencrypt_offer({vencrypt::kTLSNone}), {1}});
    s.inside = cat({u32(0), server_init()});
    const TlsOutcome r = run_tls(hs, s);
    ASSERT_EQ(r.step.status, HandshakeStep::kDone) << r.step.error;
    EXPECT_EQ(r.out_clear, cat({text("RFB 003.007\n"), {19}, {0, 2}, u32(257)}));
    EXPECT_EQ(r.out_inside, Bytes{1});
}

TEST(VeNCrypt, ServerVersions) {
    struct Case {
        uint8_t major, minor;
        bool ok;
    } cases[] = {{0, 0, false}, {0, 1, false}, {0, 2, true}, {0, 3, true}, {1, 0, true}};
    for (const Case& c : cases) {
        SCOPED_TRACE(std::to_string(c.major) + "." + std::to_string(c.minor));
        ClientHandshake hs(ClientHandshakeConfig{});
        Outcome r = run(hs, cat({text("RFB 003.008\n"), {1, 19}, {c.major, c.minor}}));
        if (c.ok) {
            EXPECT_EQ(r.step.status, HandshakeStep::kContinue);
            EXPECT_EQ(r.out, cat({text("RFB 003.008\n"), {19}, {0, 2}}));  // always 0.2
        } else {
            EXPECT_EQ(r.step.status, HandshakeStep::kFailed);
            EXPECT_NE(r.step.error.find("VeNCrypt version"), std::string::npos) << r.step.error;
        }
    }
}

TEST(VeNCrypt, Refusals) {
    auto fails_with = [](const Bytes& server, const std::string& expected) {
        ClientHandshake hs(full_credentials());
        Outcome r = run(hs, cat({text("RFB 003.008\n"), {1, 19}, server}));
        EXPECT_EQ(r.step.status, HandshakeStep::kFailed) << expected;
        EXPECT_NE(r.step.error.find(expected), std::string::npos) << r.step.error;
    };
    fails_with({0, 2, 0xff}, "refused VeNCrypt version 0.2");
    fails_with({0, 2, 0, 0}, "no VeNCrypt sub-types");
    fails_with(cat({vencrypt_offer({vencrypt::kX509Vnc}), {0}}), "could not start TLS");

    // The server's reason for a failed authentication inside TLS reaches the error.
    ClientHandshake hs(full_credentials());
    Script s;
    s.clear = cat({text("RFB 003.008\n"), {1, 19}, vencrypt_offer({vencrypt::kTLSVnc}), {1}});
    s.inside = cat({counting16(), u32(1), reason("Authentication failure")});
    const TlsOutcome r = run_tls(hs, s);
    EXPECT_EQ(r.step.status, HandshakeStep::kFailed);
    EXPECT_EQ(r.step.error, "Authentication failure");
    EXPECT_FALSE(hs.vencrypt_unusable());
}

TEST(VeNCrypt, BogusSubtypeCounts) {
    {  // 255 sub-types, none known: fails, with the list in the message
        std::vector<uint32_t> junk(255, 0xFFFFFFFFu);
        junk[0] = 19;
        junk[1] = 255;
        ClientHandshake hs(full_credentials());
        Outcome r = run(hs, cat({text("RFB 003.008\n"), {1, 19}, vencrypt_offer(junk)}));
        EXPECT_EQ(r.step.status, HandshakeStep::kFailed);
        EXPECT_NE(r.step.error.find("offered: 19,255,4294967295"), std::string::npos)
            << r.step.error;
        EXPECT_TRUE(hs.vencrypt_unusable());
    }
    {  // 255 announced, 254 sent: waits for the last one, sends nothing yet
        std::vector<uint32_t> list(255, 7);
        Bytes offer = vencrypt_offer(list);
        offer.resize(offer.size() - 4);
        ClientHandshake hs(full_credentials());
        Outcome r = run(hs, cat({text("RFB 003.008\n"), {1, 19}, offer}));
        EXPECT_EQ(r.step.status, HandshakeStep::kContinue);
        EXPECT_EQ(r.out, cat({text("RFB 003.008\n"), {19}, {0, 2}}));
    }
    {  // the one usable sub-type last in a long list is found
        std::vector<uint32_t> list(255, 7);
        list.back() = vencrypt::kTLSNone;
        ClientHandshake hs(ClientHandshakeConfig{});
        Outcome r = run(hs, cat({text("RFB 003.008\n"), {1, 19}, vencrypt_offer(list), {1}}));
        EXPECT_EQ(r.step.status, HandshakeStep::kContinue) << r.step.error;
        EXPECT_EQ(hs.tls_needed(), TlsKind::kAnonymous);
        EXPECT_EQ(hs.vencrypt_subtype(), vencrypt::kTLSNone);
    }
}

// The sub-type the client answers to `offered`, or 0 with the error.
std::pair<uint32_t, std::string> chosen_subtype(const ClientHandshakeConfig& cfg,
                                                const std::vector<uint32_t>& offered,
                                                bool* unusable = nullptr) {
    ClientHandshake hs(cfg);
    Bytes out;
    const Bytes in = cat({text("RFB 003.008\n"), {1, 19}, vencrypt_offer(offered)});
    const HandshakeStep st = hs.feed(in, out);
    if (unusable) *unusable = hs.vencrypt_unusable();
    if (st.status == HandshakeStep::kFailed) return {0, st.error};
    EXPECT_EQ(st.consumed, in.size());
    if (out.size() < 19) return {0, "nothing chosen"};
    return {be32(out, 15), ""};
}

TEST(VeNCrypt, SubtypePreference) {
    using namespace vencrypt;
    ClientHandshakeConfig pw;  // password only, no CA
    pw.password = "pw";
    ClientHandshakeConfig pw_ca = pw;
    pw_ca.x509_verifiable = true;
    ClientHandshakeConfig all = full_credentials();  // user, password, CA
    ClientHandshakeConfig none;

    // Transport first: X509 (when verifiable) over anonymous TLS over no TLS.
    EXPECT_EQ(chosen_subtype(pw, {kX509Vnc, kTLSVnc}).first, kTLSVnc);
    EXPECT_EQ(chosen_subtype(pw_ca, {kTLSVnc, kX509None}).first, kX509None);
    EXPECT_EQ(chosen_subtype(all, {kTLSPlain, kX509None, kX509Vnc, kX509Plain}).first, kX509Plain);
    // Then what the credentials allow: Plain with a username, VNC auth with a password, None.
    EXPECT_EQ(chosen_subtype(pw, {kTLSPlain, kTLSVnc, kTLSNone}).first, kTLSVnc);
    EXPECT_EQ(chosen_subtype(all, {kTLSNone, kTLSVnc, kTLSPlain}).first, kTLSPlain);
    EXPECT_EQ(chosen_subtype(none, {kTLSVnc, kTLSNone}).first, kTLSNone);

    bool unusable = false;
    auto [t, why] = chosen_subtype(pw, {kX509Vnc, kX509None}, &unusable);
    EXPECT_EQ(t, 0u);
    EXPECT_TRUE(unusable);
    EXPECT_NE(why.find("X509Vnc,X509None"), std::string::npos) << why;
    EXPECT_NE(why.find("CA"), std::string::npos) << why;
    std::tie(t, why) = chosen_subtype(pw, {kTLSPlain});
    EXPECT_EQ(t, 0u);
    EXPECT_NE(why.find("username"), std::string::npos) << why;
    std::tie(t, why) = chosen_subtype(none, {kTLSVnc});
    EXPECT_NE(why.find("no password"), std::string::npos) << why;
}

TEST(VeNCrypt, TigerVncListsPlainTypesToo) {
    using namespace vencrypt;
    ClientHandshakeConfig pw;
    pw.password = "pw";
    // Xvnc's default "TLSVnc,VncAuth" offers [19, 2] and, inside VeNCrypt, [258, 2].
    EXPECT_EQ(chosen_subtype(pw, {kTLSVnc, security::kVncAuth}).first, kTLSVnc);
    EXPECT_EQ(chosen_subtype(pw, {security::kNone, security::kVncAuth}).first,
              uint32_t{security::kVncAuth});
    EXPECT_EQ(chosen_subtype(ClientHandshakeConfig{}, {security::kVncAuth, security::kNone}).first,
              uint32_t{security::kNone});
    pw.tls = TlsPolicy::kRequire;
    EXPECT_EQ(chosen_subtype(pw, {security::kNone, security::kVncAuth}).first, 0u);
    // Sub-type None before 3.8 is None itself: no SecurityResult.
    ClientHandshake hs(ClientHandshakeConfig{});
    Outcome r = run(
        hs,
        cat({text("RFB 003.007\n"), {1, 19}, vencrypt_offer({security::kNone}), server_init()}));
    ASSERT_EQ(r.step.status, HandshakeStep::kDone) << r.step.error;
    EXPECT_EQ(r.out, cat({text("RFB 003.007\n"), {19}, {0, 2}, u32(1), {1}}));
}

TEST(VeNCrypt, PlainWithoutTlsOnlyWhenAllowed) {
    using namespace vencrypt;
    ClientHandshakeConfig cfg = full_credentials();
    auto [t, why] = chosen_subtype(cfg, {kPlain});
    EXPECT_EQ(t, 0u);
    EXPECT_NE(why.find("Plain without TLS is not allowed"), std::string::npos) << why;
    cfg.allow_plain_without_tls = true;
    EXPECT_EQ(chosen_subtype(cfg, {kPlain}).first, kPlain);
    EXPECT_EQ(chosen_subtype(cfg, {kPlain, kTLSNone}).first, kTLSNone);  // any TLS first
    cfg.tls = TlsPolicy::kRequire;
    std::tie(t, why) = chosen_subtype(cfg, {kPlain});
    EXPECT_EQ(t, 0u);
    EXPECT_NE(why.find("TLS is required"), std::string::npos) << why;
}

TEST(VeNCrypt, RequireWithCaRefusesAnonymousTls) {
    using namespace vencrypt;
    ClientHandshakeConfig cfg = full_credentials();
    cfg.tls = TlsPolicy::kRequire;
    auto [t, why] = chosen_subtype(cfg, {kTLSVnc, kTLSNone});
    EXPECT_EQ(t, 0u);
    EXPECT_NE(why.find("anonymous TLS"), std::string::npos) << why;
    EXPECT_EQ(chosen_subtype(cfg, {kTLSVnc, kX509None}).first, kX509None);
    cfg.x509_verifiable = false;  // no CA: anonymous TLS is as good as it gets
    EXPECT_EQ(chosen_subtype(cfg, {kTLSVnc, kX509None}).first, kTLSVnc);
    cfg.tls = TlsPolicy::kPrefer;
    cfg.x509_verifiable = true;
    EXPECT_EQ(chosen_subtype(cfg, {kTLSVnc, kTLSNone}).first, kTLSVnc);
}

// The RFB security type the client answers to `types` (3.8), or 0 with the error.
std::pair<uint8_t, std::string> chosen_type(const ClientHandshakeConfig& cfg, const Bytes& types) {
    ClientHandshake hs(cfg);
    Bytes out;
    const Bytes in = cat({text("RFB 003.008\n"), {static_cast<uint8_t>(types.size())}, types});
    const HandshakeStep st = hs.feed(in, out);
    if (st.status == HandshakeStep::kFailed) return {0, st.error};
    if (out.size() < 13) return {0, "nothing chosen"};
    return {out[12], ""};
}

TEST(TlsPolicy, TopLevelChoice) {
    ClientHandshakeConfig prefer;
    ClientHandshakeConfig prefer_pw;
    prefer_pw.password = "pw";
    EXPECT_EQ(chosen_type(prefer, {1, 19}).first, 19);  // None only as a last resort
    EXPECT_EQ(chosen_type(prefer_pw, {2, 19, 1}).first, 19);
    EXPECT_EQ(chosen_type(prefer_pw, {1, 2}).first, 2);

    ClientHandshakeConfig off = prefer_pw;
    off.tls = TlsPolicy::kOff;
    EXPECT_EQ(chosen_type(off, {19, 1}).first, 1);
    EXPECT_EQ(chosen_type(off, {19, 2, 1}).first, 2);
    // Only VeNCrypt: taken as a last resort, for its sub-types without TLS.
    EXPECT_EQ(chosen_type(off, {19}).first, 19);
    EXPECT_EQ(chosen_subtype(off, {vencrypt::kTLSVnc, security::kVncAuth}).first,
              uint32_t{security::kVncAuth});
    auto [t, why] = chosen_subtype(off, {vencrypt::kTLSVnc, vencrypt::kX509Vnc});
    EXPECT_EQ(t, 0u);
    EXPECT_NE(why.find("TLS is off"), std::string::npos) << why;
    // Off, but plain-text Plain allowed with a user: VeNCrypt after the stronger VncAuth.
    off.username = "user";
    off.allow_plain_without_tls = true;
    EXPECT_EQ(chosen_type(off, {19, 2, 1}).first, 2);
    EXPECT_EQ(chosen_type(off, {1, 19}).first, 19);

    ClientHandshakeConfig require = prefer_pw;
    require.tls = TlsPolicy::kRequire;
    EXPECT_EQ(chosen_type(require, {1, 2, 19}).first, 19);
    std::tie(t, why) = chosen_type(require, {1, 2});
    EXPECT_EQ(t, 0);
    EXPECT_NE(why.find("TLS is required"), std::string::npos) << why;
    EXPECT_NE(why.find("1,2"), std::string::npos) << why;

    // After a VeNCrypt with nothing usable, the next attempt may avoid it (prefer only).
    ClientHandshakeConfig avoid = prefer;
    avoid.avoid_vencrypt = true;
    EXPECT_EQ(chosen_type(avoid, {19, 1}).first, 1);
    EXPECT_EQ(chosen_type(avoid, {19}).first, 19);  // still better than giving up
    avoid.tls = TlsPolicy::kRequire;
    EXPECT_EQ(chosen_type(avoid, {19, 1}).first, 19);  // require never avoids it
}

TEST(TlsPolicy, RequireRefusesRfb33) {
    ClientHandshakeConfig cfg;
    cfg.tls = TlsPolicy::kRequire;
    ClientHandshake hs(cfg);
    Outcome r = run(hs, cat({text("RFB 003.003\n"), u32(1)}));
    EXPECT_EQ(r.step.status, HandshakeStep::kFailed);
    EXPECT_NE(r.step.error.find("3.3"), std::string::npos) << r.step.error;
    // A 3.3 refusal still reports the server's reason.
    ClientHandshake hs2(cfg);
    r = run(hs2, cat({text("RFB 003.003\n"), u32(0), reason("go away")}));
    EXPECT_EQ(r.step.error, "go away");
}

// ---------------------------------------------------------------------------------------------
// Apple Remote Desktop (type 30), checked against the server half of codec/ard_auth.

std::function<bool(std::span<uint8_t>)> counting_random(int* calls = nullptr) {
    return [calls](std::span<uint8_t> out) {
        if (calls) ++*calls;
        for (size_t i = 0; i < out.size(); ++i)
            out[i] = static_cast<uint8_t>(i * 7 + 3);
        return true;
    };
}

ClientHandshakeConfig ard_config() {
    ClientHandshakeConfig c;
    c.username = "alice";
    c.password = "wonderland";
    c.random = counting_random();
    return c;
}

ArdServerHello ard_hello() {
    const Bytes server_random(256, 0x5c);
    return ard_server_hello(kArdGenerator, ard_rfc2409_group2_prime(), server_random);
}

TEST(Ard, RoundTripOn3889) {
    const ArdServerHello hello = ard_hello();
    ASSERT_TRUE(hello.ok) << hello.error;
    int calls = 0;
    ClientHandshakeConfig cfg = ard_config();
    cfg.random = counting_random(&calls);
    ClientHandshake hs(cfg);
    const Bytes head = cat({text("RFB 003.889\n"), {2, 2, 30}});
    Outcome r = run(hs, cat({head, hello.message}));
    ASSERT_EQ(r.step.status, HandshakeStep::kContinue) << r.step.error;
    EXPECT_EQ(calls, 1);
    const Bytes prefix = cat({text("RFB 003.008\n"), {30}});
    ASSERT_EQ(r.out.size(), prefix.size() + 128 + 128);
    ASSERT_TRUE(std::equal(prefix.begin(), prefix.end(), r.out.begin()));
    const Bytes reply(r.out.begin() + static_cast<ptrdiff_t>(prefix.size()), r.out.end());
    const ArdCredentials got = ard_server_recover(hello.message, hello.private_key, reply);
    ASSERT_TRUE(got.ok) << got.error;
    EXPECT_EQ(got.username, "alice");
    EXPECT_EQ(got.password, "wonderland");

    Bytes out;
    const Bytes rest = cat({u32(0), server_init()});
    HandshakeStep st = hs.feed(rest, out);
    EXPECT_EQ(st.status, HandshakeStep::kDone) << st.error;
    EXPECT_EQ(out, Bytes{1});
    EXPECT_EQ(hs.security_type(), security::kAppleRemoteDesktop);
    EXPECT_EQ(hs.security_description(), "ARD");
}

TEST(Ard, SplitAtEveryByte) {
    const ArdServerHello hello = ard_hello();
    ASSERT_TRUE(hello.ok) << hello.error;
    const Bytes in = cat({text("RFB 003.889\n"), {1, 30}, hello.message, u32(0), server_init()});
    ClientHandshake ref(ard_config());
    const Outcome whole = run(ref, in);
    ASSERT_EQ(whole.step.status, HandshakeStep::kDone) << whole.step.error;
    for (size_t cut = 1; cut < in.size(); ++cut) {
        ClientHandshake hs(ard_config());
        Outcome r = run(hs, in, {cut});
        ASSERT_EQ(r.step.status, HandshakeStep::kDone) << cut;
        ASSERT_EQ(r.out, whole.out) << cut;
    }
}

TEST(Ard, ChoiceAndFailures) {
    ClientHandshakeConfig pw_only;
    pw_only.password = "pw";
    pw_only.random = counting_random();
    EXPECT_EQ(chosen_type(pw_only, {30, 2}).first, 2);  // ARD needs a username
    EXPECT_EQ(chosen_type(ard_config(), {2, 30}).first, 30);
    auto [t, why] = chosen_type(pw_only, {30});
    EXPECT_EQ(t, 0);
    EXPECT_NE(why.find("Apple Remote Desktop"), std::string::npos) << why;
    ClientHandshakeConfig no_random = ard_config();
    no_random.random = nullptr;
    EXPECT_EQ(chosen_type(no_random, {30, 1}).first, 1);
    ClientHandshakeConfig require = ard_config();
    require.tls = TlsPolicy::kRequire;
    EXPECT_EQ(chosen_type(require, {30}).first, 0);

    const ArdServerHello hello = ard_hello();
    ASSERT_TRUE(hello.ok) << hello.error;
    {  // the random source fails
        ClientHandshakeConfig cfg = ard_config();
        cfg.random = [](std::span<uint8_t>) { return false; };
        ClientHandshake hs(cfg);
        Outcome r = run(hs, cat({text("RFB 003.889\n"), {1, 30}, hello.message}));
        EXPECT_EQ(r.step.status, HandshakeStep::kFailed);
        EXPECT_NE(r.step.error.find("random"), std::string::npos) << r.step.error;
    }
    {  // key length 0: refused from the header alone
        ClientHandshake hs(ard_config());
        Outcome r = run(hs, cat({text("RFB 003.889\n"), {1, 30}, {0, 2, 0, 0}}));
        EXPECT_EQ(r.step.status, HandshakeStep::kFailed);
        EXPECT_NE(r.step.error.find("key length"), std::string::npos) << r.step.error;
    }
    {  // an even "prime": ard_auth's refusal reaches the error
        Bytes bad = hello.message;
        bad[4 + 127] &= 0xfe;
        ClientHandshake hs(ard_config());
        Outcome r = run(hs, cat({text("RFB 003.889\n"), {1, 30}, bad}));
        EXPECT_EQ(r.step.status, HandshakeStep::kFailed);
        EXPECT_EQ(r.step.error.rfind("ARD", 0), 0u) << r.step.error;
    }
    {  // wrong password: the server's reason
        ClientHandshake hs(ard_config());
        Outcome r = run(hs, cat({text("RFB 003.889\n"),
                                 {1, 30},
                                 hello.message,
                                 u32(1),
                                 reason("Authentication failed")}));
        EXPECT_EQ(r.step.status, HandshakeStep::kFailed);
        EXPECT_EQ(r.step.error, "Authentication failed");
    }
}

TEST(ClientHandshake, MutatedVeNCryptInputNeverCrashes) {
    const SubtypeSession s = session_for(kSubtypes[4]);  // X509Vnc
    const Bytes good = cat({s.server.clear, s.server.inside});
    std::mt19937 rng(11);
    for (int iter = 0; iter < 5000; ++iter) {
        Bytes b = good;
        for (int i = 0; i < 1 + static_cast<int>(rng() % 3); ++i)
            b[rng() % b.size()] = static_cast<uint8_t>(rng());
        ClientHandshake hs(full_credentials());
        Bytes ignored, buf;
        for (uint8_t byte : b) {
            buf.push_back(byte);
            HandshakeStep st = hs.feed(buf, ignored);
            ASSERT_LE(st.consumed, buf.size());
            buf.erase(buf.begin(), buf.begin() + st.consumed);
            if (hs.tls_needed() != TlsKind::kNone) hs.tls_started(ignored);
            if (st.status == HandshakeStep::kFailed) {
                EXPECT_FALSE(st.error.empty());
                break;
            }
            if (st.status == HandshakeStep::kDone) break;
        }
    }
}

}  // namespace
}  // namespace rfb
