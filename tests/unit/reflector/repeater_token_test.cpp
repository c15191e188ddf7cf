#include "reflector/repeater_token.h"

#include <gtest/gtest.h>

#include <string>

namespace rfbcast {
namespace {

// Expected tokens were computed outside this code base with OpenSSL, e.g.
//   printf '%s' "rfbcast-repeater-id:1234" | openssl dgst -sha256 -hmac "correct horse battery
//   staple"
//   -> 35ebab94e1aa5157d6b594d9d49d4115fa84557f192646602bae5ff4b06f93e9
// and for a binary key:
//   printf '%s' "rfbcast-repeater-id:99" | openssl dgst -sha256 -mac HMAC -macopt hexkey:00ff10
// The token is the first 32 hex digits.
TEST(RepeaterToken, MatchesIndependentHmacVectors) {
    EXPECT_EQ(repeater_token("correct horse battery staple", "1234"),
              "35ebab94e1aa5157d6b594d9d49d4115");
    EXPECT_EQ(repeater_token("k", "lab-1"), "58c3272a41d641b1067ca50f6fd1227e");
    EXPECT_EQ(repeater_token("k", ""), "fac62a7b0c98218f293d8187ea54ebfb");
    // Longer than SHA-256's 64-byte block: HMAC hashes the key first.
    EXPECT_EQ(repeater_token(std::string(100, 'x'), "99"), "0ebc6fb6b8ea8b047ac602fb950967d3");
    // Key files may hold any bytes, NUL included.
    EXPECT_EQ(repeater_token(std::string("\x00\xff\x10", 3), "99"),
              "c39dc7a7503700760b012b8ba805062e");
}

TEST(RepeaterToken, ShapeAndDependence) {
    const std::string t = repeater_token("key", "1234");
    ASSERT_EQ(t.size(), kRepeaterTokenLength);
    for (char c : t)
        EXPECT_TRUE((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')) << t;
    EXPECT_NE(repeater_token("key", "1235"), t);
    EXPECT_NE(repeater_token("kez", "1234"), t);
    EXPECT_NE(repeater_token("key", "ID:1234"), t);
    EXPECT_EQ(repeater_token("key", "1234"), t);
}

TEST(RepeaterToken, EmptyKeyGivesNoToken) {
    EXPECT_EQ(repeater_token("", "1234"), "");
    EXPECT_FALSE(repeater_token_matches("", "1234", ""));
    // Not even the real HMAC under an empty key is accepted.
    EXPECT_FALSE(repeater_token_matches("", "1234", "00000000000000000000000000000000"));
}

TEST(RepeaterToken, Matches) {
    const std::string key = "correct horse battery staple";
    EXPECT_TRUE(repeater_token_matches(key, "1234", "35ebab94e1aa5157d6b594d9d49d4115"));
    EXPECT_TRUE(repeater_token_matches(key, "1234", "35EBAB94E1AA5157D6B594D9D49D4115"));
    EXPECT_TRUE(repeater_token_matches(key, "1234", "35ebAB94e1aa5157d6b594d9d49D4115"));
    EXPECT_FALSE(repeater_token_matches(key, "1235", "35ebab94e1aa5157d6b594d9d49d4115"));
    EXPECT_FALSE(repeater_token_matches("other", "1234", "35ebab94e1aa5157d6b594d9d49d4115"));
    EXPECT_FALSE(repeater_token_matches(key, "1234", ""));
    EXPECT_TRUE(token_matches(key, "1234", "35ebab94e1aa5157d6b594d9d49d4115"));  // the alias
    EXPECT_FALSE(repeater_token_matches(key, "1234", "35ebab94e1aa5157d6b594d9d49d411"));    // 31
    EXPECT_FALSE(repeater_token_matches(key, "1234", "35ebab94e1aa5157d6b594d9d49d41150"));  // 33
    // The whole HMAC is not the token.
    EXPECT_FALSE(repeater_token_matches(
        key, "1234", "35ebab94e1aa5157d6b594d9d49d4115fa84557f192646602bae5ff4b06f93e9"));
    // Every single-character change is refused, including case games on non-hex bytes
    // ('5' | 0x20 is still '5', but 'E' ^ 0x20 = 'e' only because it is hex).
    const std::string good = "35ebab94e1aa5157d6b594d9d49d4115";
    for (size_t i = 0; i < good.size(); ++i) {
        for (int c = 0; c < 256; ++c) {
            std::string bad = good;
            bad[i] = static_cast<char>(c);
            const bool same_digit = static_cast<char>(c) == good[i] ||
                                    (good[i] >= 'a' && good[i] <= 'f' && c == good[i] - 32);
            EXPECT_EQ(repeater_token_matches(key, "1234", bad), same_digit) << i << " " << c;
        }
    }
}

}  // namespace
}  // namespace rfbcast
