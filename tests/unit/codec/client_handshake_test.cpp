#include "codec/client_handshake.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "codec/server_handshake.h"
#include "codec/server_messages.h"

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

TEST(ClientHandshake, PrefersNoneWhenOffered) {
    ClientHandshake hs(with_password());
    Outcome r = run(hs, cat({text("RFB 003.008\n"), {3, 2, 19, 1}, u32(0), server_init()}));
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
        Outcome r = run(hs, cat({text("RFB 003.008\n"), {2, 19, 16}}));
        EXPECT_EQ(r.step.status, HandshakeStep::kFailed);
        EXPECT_NE(r.step.error.find("19,16"), std::string::npos) << r.step.error;
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
    const Bytes server = cat({text("RFB 003.008\n"), {2, 1, 2}, u32(0), server_init()});
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
                ServerHandshake s(ServerHandshakeConfig{
                    auth ? std::optional<std::string>("s3cret") : std::nullopt, std::nullopt, ch});
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
    ServerHandshake s(ServerHandshakeConfig{"admin", "look", {}});
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
        ServerHandshake s(ServerHandshakeConfig{"right", std::nullopt, {}});
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
    ServerHandshake s(ServerHandshakeConfig{"right", std::nullopt, {}});
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

}  // namespace
}  // namespace rfb
