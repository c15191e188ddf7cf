#include "codec/vnc_auth.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <string>

namespace rfb {
namespace {

// Expected values were computed outside this code base: with OpenSSL's DES-ECB (legacy
// provider) on the bit-reversed, zero-padded key, and, for non-weak keys, cross-checked against
// libvncserver's rfbEncryptBytes. (libvncserver leaves the challenge unencrypted for the empty
// password because its crypto backend refuses the weak all-zero key: exactly the bug the
// weak-key tests below guard against.)
std::array<uint8_t, 16> from_hex(const char* hex) {
    std::array<uint8_t, 16> out{};
    for (size_t i = 0; i < 16; ++i)
        out[i] = static_cast<uint8_t>(std::stoi(std::string(hex + 2 * i, 2), nullptr, 16));
    return out;
}

std::array<uint8_t, 16> counting() {
    std::array<uint8_t, 16> c{};
    for (size_t i = 0; i < 16; ++i)
        c[i] = static_cast<uint8_t>(i);
    return c;
}

std::array<uint8_t, 16> mixed() {
    std::array<uint8_t, 16> c{};
    for (size_t i = 0; i < 16; ++i)
        c[i] = static_cast<uint8_t>(0xf0 ^ (i * 17));
    return c;
}

TEST(VncAuth, MatchesIndependentDesVectors) {
    EXPECT_EQ(vnc_auth_response(counting(), "password"),
              from_hex("b866924125c8eebb9debc1db61c538e2"));
    EXPECT_EQ(vnc_auth_response(counting(), "secret"),
              from_hex("ee22539f33a5983ec12f9c2edbc995dd"));
    EXPECT_EQ(vnc_auth_response(mixed(), "password"), from_hex("00d21ba13f7743302880d90c270f79c6"));
    EXPECT_EQ(vnc_auth_response(mixed(), "secret"), from_hex("53adb6ba5930f99bd9d8454d317d0340"));
}

TEST(VncAuth, OnlyTheFirstEightBytesCount) {
    const auto expected = from_hex("76543820b2c358fe359083c192fa77c9");
    EXPECT_EQ(vnc_auth_response(counting(), "longerthan8chars"), expected);
    EXPECT_EQ(vnc_auth_response(counting(), "longerth"), expected);
    EXPECT_NE(vnc_auth_response(counting(), "longert"), expected);
}

TEST(VncAuth, DesKnownAnswerForTheAllZeroKey) {
    // FIPS DES known answer: key 00..00, plaintext 00..00 -> 8CA64DE9C1B123A7. The empty
    // password is the all-zero key, a DES weak key that nettle flags but must still use.
    const std::array<uint8_t, 16> zeros{};
    EXPECT_EQ(vnc_auth_response(zeros, ""), from_hex("8ca64de9c1b123a78ca64de9c1b123a7"));
}

TEST(VncAuth, WeakAndSemiWeakKeysStillEncrypt) {
    EXPECT_EQ(vnc_auth_response(counting(), ""), from_hex("491e890de9ace932838a49792f2213f3"));
    EXPECT_EQ(vnc_auth_response(mixed(), ""), from_hex("1cdf2ee708281200e870829f572b9ec5"));
    // Bit-reversed 0x7f is 0xfe: key FEFEFEFEFEFEFEFE, a weak key.
    EXPECT_EQ(vnc_auth_response(counting(), std::string(8, '\x7f')),
              from_hex("0e325e113dfcba07eab1cf4afcd75a8f"));
    // Key 1F1F1F1F0E0E0E0E, another weak key.
    EXPECT_EQ(vnc_auth_response(counting(), "\xf8\xf8\xf8\xf8pppp"),
              from_hex("4562925d47fa79dbf1da5bf3bec41045"));
}

TEST(VncAuth, CheckAcceptsOnlyTheRightResponse) {
    const auto challenge = mixed();
    auto response = vnc_auth_response(challenge, "hunter2");
    EXPECT_TRUE(vnc_auth_check(challenge, response, "hunter2"));
    EXPECT_FALSE(vnc_auth_check(challenge, response, "hunter3"));
    EXPECT_FALSE(vnc_auth_check(challenge, response, ""));
    for (size_t i = 0; i < response.size(); ++i) {
        for (uint8_t bit : {0x01, 0x80}) {
            auto bad = response;
            bad[i] ^= bit;
            EXPECT_FALSE(vnc_auth_check(challenge, bad, "hunter2")) << "byte " << i;
        }
    }
    EXPECT_FALSE(vnc_auth_check(counting(), response, "hunter2"));
}

}  // namespace
}  // namespace rfb
