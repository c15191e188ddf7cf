#include "codec/ard_auth.h"

#include <gmp.h>
#include <gtest/gtest.h>
#include <nettle/aes.h>
#include <nettle/md5.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace rfb {
namespace {

// Known answers: computed once, independently of this code base, by a Python 3 script using
// hashlib (SHA-256, MD5), the `cryptography` package's AES-128-ECB and Python's own pow(); its
// output is pasted here. Group: RFC 2409 group 2 (1024-bit, generator 2, keylen 128), its prime
// built from the RFC formula with mpmath. The script derives the private exponents exactly as
// ard_auth.cpp documents: SHA-256("rfbcast-ard-v1" || label || U32 counter || random) blocks,
// the first 64 bytes as a big-endian integer e, exponent = e mod (p-3) + 2, labels 'y' (server),
// 'x' (client) and 'p' (128 padding bytes); server random byte i = (7i + 3) & 0xff, client
// random byte i = i, both 128 bytes; username "alice", password "correct horse battery staple".
constexpr const char* kServerPubHex =
    "5f5a2f45b406ba194dd6898400adf05748ca42ae6c337bc52ca7ba3eec4b4fbc"
    "d148d746b69936b922e7cc8d3a44d39ef449dda507e9ea45c16b0627e095ddc5"
    "ee232350910dbd494e74b1bdfe964f2409748b5b87659a81aa4a4e2fd3126487"
    "10e6e50abf653fa56785809dbc3a39aeee8e40e584029b7e4d6ffbd9153cd6e8";
constexpr const char* kServerPrivHex =
    "0000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000"
    "9b2ce9d51cb9b397b1f1af670930b5c2942c60441c4a5e11e8db9a21b11514aa"
    "39039eea7ddb24ca46d5144e0bb811ddd0c2e34059f6667947f98056497f1ada";
constexpr const char* kClientReplyHex =
    "c8d3bff7c0bd2cb928e69518db725aee01a337280232543f7f72a7ee1ab5d3ae"
    "5597f49ef897c6ba63cf2be0b7a8034657f977646f799a87232eef87389a02a3"
    "b2d7652d83e82d0e5a54e70bb8c32bb7090dfc14a9c549106dcbde4298e07810"
    "fb4a8d3ef5ec9e8667f978d407b4a06a8d39cf6b40ac10a3105139def5d3c6c6"
    "92246edc47737a0f6ba0fdf2964b3b44a1c30170169dc90bb145cf144af12cde"
    "d4584cf7bda423211ef7c7d58163010d5f7dd1d4af7716b949da96d3138288b6"
    "1cb6d7510c470092ac0eaa80d6e3088cf5d4fa31453c66b244e5850c5152c7c8"
    "6ee07ec94841fd92c6b5a9fb8823ff8d1cc170786059d2a15d20f20a48bfa936";
constexpr const char* kIndependentReplyHex =
    "b5d4756ce5677fc5ba5cfcf5d07c932023c4fa7a350b9eff7a4116b04f15a488"
    "45ad4a07564780bdaf6fda2a742834b91ea25cfb9ed3616eacc74d2e326fdcca"
    "95564790d228f7cdfb4f0364b418a3580695400918768014c7a153921a573a5b"
    "1e037ee3c3eda5ff0ca6d1e70a5cd464d3fbd99d4edd40fae855a1ef4d2d5f0a"
    "5a04373a4c0ed5dbf6ef96ab4c5a2acd3ceeae849dd247cd68b99d6267d60aa3"
    "99d004daa362d1cf299a3ec35a04dedc014ae9992ded338dc48367cd7e36ea82"
    "543e73e940004f76c130ce04e4925684c3c99f5fc77926355f8b0a1e197b11d8"
    "7180ee8e66f626475dc4b8a0caa4fa8789f44c722b669c556450c9b56feb97e4";
constexpr const char* kPaddedReplyHex =
    "561a3655f00679639f11694c9d44983a70d4a0f1ad4a3bc9132a9311e6ead20d"
    "70d4a0f1ad4a3bc9132a9311e6ead20d70d4a0f1ad4a3bc9132a9311e6ead20d"
    "03a54b85ec045efe4605d18bd4df992470d4a0f1ad4a3bc9132a9311e6ead20d"
    "70d4a0f1ad4a3bc9132a9311e6ead20d70d4a0f1ad4a3bc9132a9311e6ead20d"
    "0000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000010000000000000000000000000";
// kIndependentReplyHex: a reply built by the script the way libvncclient builds one, with none
// of rfbcast's expansion: client exponent = the 64 bytes SHA-256("independent client") twice,
// padding byte i = 0xa5 ^ i, username "rené" (UTF-8), password "p@ss w0rd!".
// kPaddedReplyHex: client public key 2^100 and server private key 1, so the shared secret is
// 2^100 and its MD5 must be over the left-padded 128 bytes; username "bob", password "pw3",
// zero padding.

std::vector<uint8_t> from_hex(const std::string& hex) {
    std::vector<uint8_t> out;
    for (size_t i = 0; i + 1 < hex.size(); i += 2)
        out.push_back(static_cast<uint8_t>(std::stoi(hex.substr(i, 2), nullptr, 16)));
    return out;
}

std::vector<uint8_t> pattern(size_t n, unsigned mul, unsigned add) {
    std::vector<uint8_t> v(n);
    for (size_t i = 0; i < n; ++i)
        v[i] = static_cast<uint8_t>((i * mul + add) & 0xff);
    return v;
}

std::vector<uint8_t> span_vec(std::span<const uint8_t> s) {
    return std::vector<uint8_t>(s.begin(), s.end());
}

// generator, keylen, prime, public key: a server message from its parts.
std::vector<uint8_t> server_message(uint16_t generator, const std::vector<uint8_t>& prime,
                                    const std::vector<uint8_t>& pub) {
    std::vector<uint8_t> m = {static_cast<uint8_t>(generator >> 8), static_cast<uint8_t>(generator),
                              static_cast<uint8_t>(prime.size() >> 8),
                              static_cast<uint8_t>(prime.size())};
    m.insert(m.end(), prime.begin(), prime.end());
    m.insert(m.end(), pub.begin(), pub.end());
    return m;
}

// A big-endian keylen-byte number with value `v` added to (or subtracted from) `base`.
std::vector<uint8_t> offset(const std::vector<uint8_t>& base, int delta) {
    std::vector<uint8_t> out = base;
    int carry = delta;
    for (size_t i = out.size(); i-- > 0 && carry != 0;) {
        int v = out[i] + carry;
        carry = 0;
        while (v < 0) {
            v += 256;
            --carry;
        }
        while (v > 255) {
            v -= 256;
            ++carry;
        }
        out[i] = static_cast<uint8_t>(v);
    }
    return out;
}

std::vector<uint8_t> small(size_t keylen, uint8_t v) {
    std::vector<uint8_t> out(keylen, 0);
    out.back() = v;
    return out;
}

const std::vector<uint8_t>& group2() {
    static const std::vector<uint8_t> p = span_vec(ard_rfc2409_group2_prime());
    return p;
}

const std::string kUser = "alice";
const std::string kPassword = "correct horse battery staple";

ArdServerHello kat_hello() {
    return ard_server_hello(kArdGenerator, ard_rfc2409_group2_prime(), pattern(128, 7, 3));
}

// Fermat test base 2 and 3 plus the structure every RFC MODP prime has, so a typo in the
// table cannot pass.
bool looks_like_modp_prime(std::span<const uint8_t> prime) {
    mpz_t p, e, r;
    mpz_inits(p, e, r, nullptr);
    mpz_import(p, prime.size(), 1, 1, 1, 0, prime.data());
    mpz_sub_ui(e, p, 1);
    bool ok = mpz_sizeinbase(p, 2) == prime.size() * 8;
    for (unsigned base : {2u, 3u}) {
        mpz_set_ui(r, base);
        mpz_powm(r, r, e, p);
        ok = ok && mpz_cmp_ui(r, 1) == 0;
    }
    // (p - 1) / 2 prime as well: a safe prime.
    mpz_fdiv_q_2exp(e, e, 1);
    ok = ok && mpz_probab_prime_p(e, 10) != 0;
    mpz_clears(p, e, r, nullptr);
    for (size_t i = 0; i < 8; ++i)
        ok = ok && prime[i] == 0xff && prime[prime.size() - 1 - i] == 0xff;
    return ok;
}

TEST(ArdAuth, WellKnownPrimes) {
    ASSERT_EQ(ard_rfc2409_group2_prime().size(), 128u);
    ASSERT_EQ(ard_rfc3526_group14_prime().size(), 256u);
    EXPECT_TRUE(looks_like_modp_prime(ard_rfc2409_group2_prime()));
    EXPECT_TRUE(looks_like_modp_prime(ard_rfc3526_group14_prime()));
    // Both start with 2^64 - 1 followed by the bits of pi: C90FDAA2 2168C234.
    for (auto p : {ard_rfc2409_group2_prime(), ard_rfc3526_group14_prime()})
        EXPECT_EQ(span_vec(p.subspan(8, 8)),
                  (std::vector<uint8_t>{0xc9, 0x0f, 0xda, 0xa2, 0x21, 0x68, 0xc2, 0x34}));
}

TEST(ArdAuth, ServerHelloKnownAnswer) {
    const ArdServerHello h = kat_hello();
    ASSERT_TRUE(h.ok) << h.error;
    ASSERT_EQ(h.message.size(), 4u + 2 * 128);
    EXPECT_EQ(h.message[0], 0);
    EXPECT_EQ(h.message[1], 2);
    EXPECT_EQ(h.message[2], 0);
    EXPECT_EQ(h.message[3], 128);
    EXPECT_EQ(std::vector<uint8_t>(h.message.begin() + 4, h.message.begin() + 132), group2());
    EXPECT_EQ(std::vector<uint8_t>(h.message.begin() + 132, h.message.end()),
              from_hex(kServerPubHex));
    EXPECT_EQ(h.private_key, from_hex(kServerPrivHex));
}

TEST(ArdAuth, ClientReplyKnownAnswer) {
    const ArdServerHello h = kat_hello();
    ASSERT_TRUE(h.ok) << h.error;
    const ArdReply r = ard_client_reply(h.message, kUser, kPassword, pattern(128, 1, 0));
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_TRUE(r.error.empty());
    EXPECT_EQ(r.bytes, from_hex(kClientReplyHex));
    EXPECT_EQ(r.bytes.size(), ard_client_reply_size(128));
}

TEST(ArdAuth, RecoversAReplyBuiltIndependently) {
    const ArdServerHello h = kat_hello();
    ASSERT_TRUE(h.ok) << h.error;
    const ArdCredentials c =
        ard_server_recover(h.message, h.private_key, from_hex(kIndependentReplyHex));
    ASSERT_TRUE(c.ok) << c.error;
    EXPECT_EQ(c.username, "ren\xc3\xa9");
    EXPECT_EQ(c.password, "p@ss w0rd!");
    EXPECT_TRUE(ard_credentials_match(c, "ren\xc3\xa9", "p@ss w0rd!"));
}

TEST(ArdAuth, SharedSecretIsHashedLeftPadded) {
    const ArdServerHello h = kat_hello();
    ASSERT_TRUE(h.ok) << h.error;
    const ArdCredentials c =
        ard_server_recover(h.message, small(128, 1), from_hex(kPaddedReplyHex));
    ASSERT_TRUE(c.ok) << c.error;
    EXPECT_EQ(c.username, "bob");
    EXPECT_EQ(c.password, "pw3");
}

TEST(ArdAuth, RoundTripsBothGroups) {
    struct Case {
        std::string user, password;
    };
    const std::vector<Case> cases = {
        {"alice", "secret"},
        {"", ""},
        {"admin", ""},
        {std::string(63, 'u'), std::string(63, 'p')},
        {"ren\xc3\xa9", "longer than eight characters, unlike VNC auth"},
        {"\x01\xff\x7f", "\xfe\x80"},
    };
    for (auto prime : {ard_rfc2409_group2_prime(), ard_rfc3526_group14_prime()}) {
        for (size_t i = 0; i < cases.size(); ++i) {
            SCOPED_TRACE("keylen " + std::to_string(prime.size()) + " case " + std::to_string(i));
            const ArdServerHello h =
                ard_server_hello(kArdGenerator, prime, pattern(prime.size(), 13, unsigned(i)));
            ASSERT_TRUE(h.ok) << h.error;
            EXPECT_EQ(h.message.size(), ard_server_message_size(h.message));
            const ArdReply r = ard_client_reply(h.message, cases[i].user, cases[i].password,
                                                pattern(prime.size(), 31, unsigned(i + 5)));
            ASSERT_TRUE(r.ok) << r.error;
            EXPECT_EQ(r.bytes.size(), 128 + prime.size());
            const ArdCredentials c = ard_server_recover(h.message, h.private_key, r.bytes);
            ASSERT_TRUE(c.ok) << c.error;
            EXPECT_EQ(c.username, cases[i].user);
            EXPECT_EQ(c.password, cases[i].password);
            EXPECT_TRUE(ard_credentials_match(c, cases[i].user, cases[i].password));
        }
    }
}

TEST(ArdAuth, WrongCredentialsDoNotMatch) {
    const ArdServerHello h = kat_hello();
    ASSERT_TRUE(h.ok) << h.error;
    const ArdReply r = ard_client_reply(h.message, kUser, "wrong", pattern(128, 1, 0));
    ASSERT_TRUE(r.ok) << r.error;
    const ArdCredentials c = ard_server_recover(h.message, h.private_key, r.bytes);
    ASSERT_TRUE(c.ok) << c.error;
    EXPECT_FALSE(ard_credentials_match(c, kUser, kPassword));
    EXPECT_TRUE(ard_credentials_match(c, kUser, "wrong"));
    EXPECT_FALSE(ard_credentials_match(c, "alicE", "wrong"));
    EXPECT_FALSE(ard_credentials_match(c, kUser, "wron"));
    EXPECT_FALSE(ard_credentials_match(c, kUser, std::string("wrong\0x", 7)));
    EXPECT_FALSE(ard_credentials_match(c, kUser, std::string("wrong") + std::string(70, 'x')));
    ArdCredentials failed = c;
    failed.ok = false;
    EXPECT_FALSE(ard_credentials_match(failed, kUser, "wrong"));
}

TEST(ArdAuth, ATamperedReplyDoesNotRecoverTheCredentials) {
    const ArdServerHello h = kat_hello();
    ASSERT_TRUE(h.ok) << h.error;
    const ArdReply r = ard_client_reply(h.message, kUser, kPassword, pattern(128, 1, 0));
    ASSERT_TRUE(r.ok) << r.error;
    // The ciphertext is ECB: flipping a bit in the first block garbles only the username; a
    // bit of the public key changes the shared secret and garbles everything.
    for (size_t at : {size_t{0}, size_t{64}, size_t{200}}) {
        std::vector<uint8_t> bad = r.bytes;
        bad[at] ^= 0x10;
        const ArdCredentials c = ard_server_recover(h.message, h.private_key, bad);
        if (c.ok) {
            EXPECT_FALSE(ard_credentials_match(c, kUser, kPassword)) << at;
        }
    }
}

TEST(ArdAuth, FreshRandomGivesAFreshReply) {
    const ArdServerHello h = kat_hello();
    ASSERT_TRUE(h.ok) << h.error;
    const ArdReply a = ard_client_reply(h.message, kUser, kPassword, pattern(128, 1, 0));
    const ArdReply b = ard_client_reply(h.message, kUser, kPassword, pattern(128, 1, 1));
    const ArdReply a2 = ard_client_reply(h.message, kUser, kPassword, pattern(128, 1, 0));
    ASSERT_TRUE(a.ok && b.ok && a2.ok);
    EXPECT_EQ(a.bytes, a2.bytes);  // deterministic given the random bytes
    EXPECT_NE(std::vector<uint8_t>(a.bytes.begin(), a.bytes.begin() + 128),
              std::vector<uint8_t>(b.bytes.begin(), b.bytes.begin() + 128));
    EXPECT_NE(std::vector<uint8_t>(a.bytes.begin() + 128, a.bytes.end()),
              std::vector<uint8_t>(b.bytes.begin() + 128, b.bytes.end()));
}

TEST(ArdAuth, LeftPaddedSmallServerKey) {
    // Server private key 5: public key 2^5 = 32, 127 leading zero bytes on the wire.
    const std::vector<uint8_t> msg = server_message(2, group2(), small(128, 32));
    const ArdReply r = ard_client_reply(msg, kUser, kPassword, pattern(128, 3, 9));
    ASSERT_TRUE(r.ok) << r.error;
    const ArdCredentials c = ard_server_recover(msg, small(128, 5), r.bytes);
    ASSERT_TRUE(c.ok) << c.error;
    EXPECT_EQ(c.username, kUser);
    EXPECT_EQ(c.password, kPassword);
}

TEST(ArdAuth, ServerMessageSize) {
    EXPECT_EQ(ard_server_message_size({}), 0u);
    const uint8_t h128[] = {0, 2, 0, 128};
    EXPECT_EQ(ard_server_message_size(std::span(h128, 3)), 0u);
    EXPECT_EQ(ard_server_message_size(h128), 260u);
    const uint8_t h0[] = {0, 2, 0, 0};
    EXPECT_EQ(ard_server_message_size(h0), 0u);
    const uint8_t h63[] = {0, 2, 0, 63};
    EXPECT_EQ(ard_server_message_size(h63), 0u);
    const uint8_t h64[] = {0, 2, 0, 64, 0xaa};  // bytes after the header are ignored
    EXPECT_EQ(ard_server_message_size(h64), 132u);
    const uint8_t h1024[] = {0xff, 0xff, 0x04, 0x00};
    EXPECT_EQ(ard_server_message_size(h1024), 2052u);
    const uint8_t h1025[] = {0, 2, 0x04, 0x01};
    EXPECT_EQ(ard_server_message_size(h1025), 0u);
    const uint8_t hmax[] = {0, 2, 0xff, 0xff};
    EXPECT_EQ(ard_server_message_size(hmax), 0u);
    EXPECT_EQ(ard_client_reply_size(128), 256u);
    EXPECT_EQ(ard_client_reply_size(0), 0u);
    EXPECT_EQ(ard_client_reply_size(1025), 0u);
}

// Every message in this test is refused with a reason, and the reason never carries the
// password.
void expect_refused(const std::vector<uint8_t>& msg, const std::string& why,
                    std::span<const uint8_t> random = {}) {
    const std::vector<uint8_t> fallback = pattern(1024, 1, 0);
    const ArdReply r = ard_client_reply(msg, kUser, kPassword, random.empty() ? fallback : random);
    EXPECT_FALSE(r.ok) << why;
    EXPECT_FALSE(r.error.empty()) << why;
    EXPECT_TRUE(r.bytes.empty()) << why;
    EXPECT_EQ(r.error.find(kPassword), std::string::npos) << why;
}

TEST(ArdAuth, RefusesHostileKeyLengths) {
    expect_refused({0, 2, 0, 0}, "keylen 0");
    expect_refused(server_message(2, pattern(32, 1, 1), pattern(32, 1, 2)), "keylen 32");
    std::vector<uint8_t> huge = {0, 2, 0x04, 0x01};
    huge.resize(4 + 2 * 1025, 0xff);
    expect_refused(huge, "keylen 1025");
    std::vector<uint8_t> max = {0, 2, 0xff, 0xff};
    max.resize(4 + 2 * 0xffff, 0xff);
    expect_refused(max, "keylen 65535");
}

TEST(ArdAuth, RefusesEveryTruncationAndTrailingBytes) {
    const ArdServerHello h = kat_hello();
    ASSERT_TRUE(h.ok) << h.error;
    for (size_t n = 0; n < h.message.size(); ++n) {
        const std::vector<uint8_t> prefix(h.message.begin(), h.message.begin() + n);
        // The size is known as soon as the header is in, and does not change.
        EXPECT_EQ(ard_server_message_size(prefix), n < 4 ? 0u : h.message.size()) << n;
        expect_refused(prefix, "prefix of " + std::to_string(n));
    }
    std::vector<uint8_t> longer = h.message;
    longer.push_back(0);
    expect_refused(longer, "trailing byte");
}

TEST(ArdAuth, RefusesBadPrimes) {
    const std::vector<uint8_t> pub = small(128, 32);
    std::vector<uint8_t> even = group2();
    even.back() ^= 1;
    expect_refused(server_message(2, even, pub), "even prime");
    expect_refused(server_message(2, std::vector<uint8_t>(128, 0), pub), "prime 0");
    expect_refused(server_message(2, small(128, 1), pub), "prime 1");
    expect_refused(server_message(2, small(128, 3), pub), "prime 3");
    // 2^511 - 1 is odd but one bit short of kArdMinPrimeBits.
    std::vector<uint8_t> short_prime(128, 0);
    for (size_t i = 128 - 64; i < 128; ++i)
        short_prime[i] = 0xff;
    short_prime[128 - 64] = 0x7f;
    expect_refused(server_message(2, short_prime, pub), "511-bit prime");
}

TEST(ArdAuth, RefusesBadGenerators) {
    const std::vector<uint8_t> pub = small(128, 32);
    expect_refused(server_message(0, group2(), pub), "generator 0");
    expect_refused(server_message(1, group2(), pub), "generator 1");
    // p - 1 and above cannot be written in a U16 for any prime long enough to pass; the largest
    // U16 must be taken as it is, not mangled.
    const ArdReply ok = ard_client_reply(server_message(0xffff, group2(), pub), kUser, kPassword,
                                         pattern(128, 1, 0));
    EXPECT_TRUE(ok.ok) << ok.error;
}

TEST(ArdAuth, RefusesBadServerPublicKeys) {
    const std::vector<uint8_t>& p = group2();
    expect_refused(server_message(2, p, small(128, 0)), "pubkey 0");
    expect_refused(server_message(2, p, small(128, 1)), "pubkey 1");
    expect_refused(server_message(2, p, offset(p, -1)), "pubkey p-1");
    expect_refused(server_message(2, p, p), "pubkey p");
    expect_refused(server_message(2, p, offset(p, 1)), "pubkey p+1");
    expect_refused(server_message(2, p, std::vector<uint8_t>(128, 0xff)), "pubkey 2^1024-1");
    // The edges of the valid range are accepted.
    for (const auto& pub : {small(128, 2), offset(p, -2)}) {
        const ArdReply r =
            ard_client_reply(server_message(2, p, pub), kUser, kPassword, pattern(128, 1, 0));
        EXPECT_TRUE(r.ok) << r.error;
    }
}

TEST(ArdAuth, RefusesBadCredentialsAndRandom) {
    const ArdServerHello h = kat_hello();
    ASSERT_TRUE(h.ok) << h.error;
    const std::vector<uint8_t> rnd = pattern(128, 1, 0);
    EXPECT_FALSE(ard_client_reply(h.message, std::string(64, 'u'), "pw", rnd).ok);
    EXPECT_FALSE(ard_client_reply(h.message, kUser, std::string(64, 'p'), rnd).ok);
    EXPECT_FALSE(ard_client_reply(h.message, std::string("al\0ce", 5), "pw", rnd).ok);
    const ArdReply nul = ard_client_reply(h.message, kUser, std::string("zq\0xy", 5), rnd);
    EXPECT_FALSE(nul.ok);
    EXPECT_EQ(nul.error.find("zq"), std::string::npos) << nul.error;
    // At least keylen random bytes.
    EXPECT_FALSE(ard_client_reply(h.message, kUser, kPassword, pattern(127, 1, 0)).ok);
    EXPECT_TRUE(ard_client_reply(h.message, kUser, kPassword, pattern(128, 1, 0)).ok);
    EXPECT_FALSE(ard_server_hello(2, ard_rfc2409_group2_prime(), pattern(127, 1, 0)).ok);
}

TEST(ArdAuth, ServerHelloRefusesBadParameters) {
    EXPECT_FALSE(ard_server_hello(2, std::vector<uint8_t>(), pattern(64, 1, 0)).ok);
    EXPECT_FALSE(ard_server_hello(2, pattern(1025, 1, 1), pattern(1025, 1, 0)).ok);
    std::vector<uint8_t> even = group2();
    even.back() ^= 1;
    EXPECT_FALSE(ard_server_hello(2, even, pattern(128, 1, 0)).ok);
    EXPECT_FALSE(ard_server_hello(1, group2(), pattern(128, 1, 0)).ok);
    const ArdServerHello h = ard_server_hello(5, group2(), pattern(128, 1, 0));
    EXPECT_TRUE(h.ok) << h.error;
}

TEST(ArdAuth, RecoverRefusesBadReplies) {
    const ArdServerHello h = kat_hello();
    ASSERT_TRUE(h.ok) << h.error;
    const std::vector<uint8_t>& p = group2();
    auto reply_with_pub = [](const std::vector<uint8_t>& pub) {
        std::vector<uint8_t> r(128, 0x42);
        r.insert(r.end(), pub.begin(), pub.end());
        return r;
    };
    for (const auto& pub : {small(128, 0), small(128, 1), offset(p, -1), p, offset(p, 1)}) {
        const ArdCredentials c = ard_server_recover(h.message, h.private_key, reply_with_pub(pub));
        EXPECT_FALSE(c.ok);
        EXPECT_FALSE(c.error.empty());
    }
    const std::vector<uint8_t> good = from_hex(kClientReplyHex);
    for (size_t n : {size_t{0}, size_t{128}, good.size() - 1}) {
        EXPECT_FALSE(ard_server_recover(h.message, h.private_key, std::span(good.data(), n)).ok)
            << n;
    }
    std::vector<uint8_t> longer = good;
    longer.push_back(0);
    EXPECT_FALSE(ard_server_recover(h.message, h.private_key, longer).ok);
    EXPECT_FALSE(ard_server_recover(h.message, std::vector<uint8_t>(128, 0), good).ok);
    EXPECT_FALSE(ard_server_recover(h.message, small(127, 5), good).ok);
    EXPECT_FALSE(ard_server_recover({}, h.private_key, good).ok);
    const ArdCredentials c = ard_server_recover(h.message, h.private_key, good);
    ASSERT_TRUE(c.ok) << c.error;
    EXPECT_EQ(c.username, kUser);
    EXPECT_EQ(c.password, kPassword);
}

TEST(ArdAuth, FieldWithoutTerminatorIsTakenWhole) {
    // libvncclient copies at most 64 bytes of a longer username, without a NUL; the server
    // then takes the whole field. Such a block is built here directly: with server private key
    // 1 the shared secret is the client's public key, chosen as 2^100 (as kPaddedReplyHex).
    const ArdServerHello h = kat_hello();
    ASSERT_TRUE(h.ok) << h.error;
    std::vector<uint8_t> pub(128, 0);
    pub[128 - 13] = 0x10;  // 2^100
    uint8_t key[MD5_DIGEST_SIZE];
    struct md5_ctx md5;
    md5_init(&md5);
    md5_update(&md5, pub.size(), pub.data());
    md5_digest(&md5, sizeof key, key);
    uint8_t plain[128];
    std::memset(plain, 'u', 64);
    std::memcpy(plain + 64, "pw\0", 3);
    std::memset(plain + 67, 0x99, 128 - 67);
    std::vector<uint8_t> reply(128);
    struct aes128_ctx aes;
    aes128_set_encrypt_key(&aes, key);
    aes128_encrypt(&aes, sizeof plain, reply.data(), plain);
    reply.insert(reply.end(), pub.begin(), pub.end());
    const ArdCredentials c = ard_server_recover(h.message, small(128, 1), reply);
    ASSERT_TRUE(c.ok) << c.error;
    EXPECT_EQ(c.username, std::string(64, 'u'));
    EXPECT_EQ(c.password, "pw");
    EXPECT_TRUE(ard_credentials_match(c, std::string(64, 'u'), "pw"));
    EXPECT_FALSE(ard_credentials_match(c, std::string(63, 'u'), "pw"));
}

}  // namespace
}  // namespace rfb
