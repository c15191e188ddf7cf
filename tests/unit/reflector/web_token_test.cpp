#include "reflector/web_token.h"

#include <gtest/gtest.h>

namespace rfbcast {
namespace {

TEST(WebToken, SignedTokenRoundTripsWithItsAccess) {
    const std::string t = make_web_token("key-1", "class", WebAccess::kView, 2000);
    ASSERT_EQ(t.size(), std::string("2000.v.").size() + 32) << t;
    EXPECT_EQ(t.substr(0, 7), "2000.v.");
    WebAccess a = WebAccess::kNone;
    EXPECT_EQ(check_web_token("key-1", "class", t, 1999, a), WebTokenCheck::kValid);
    EXPECT_EQ(a, WebAccess::kView);
    const std::string c = make_web_token("key-1", "class", WebAccess::kControl, 2000);
    EXPECT_EQ(check_web_token("key-1", "class", c, 10, a), WebTokenCheck::kValid);
    EXPECT_EQ(a, WebAccess::kControl);
}

TEST(WebToken, ExpiredWrongSessionWrongKeyAndTamperingAreRefused) {
    const std::string t = make_web_token("key-1", "class", WebAccess::kView, 2000);
    WebAccess a = WebAccess::kNone;
    EXPECT_EQ(check_web_token("key-1", "class", t, 2000, a), WebTokenCheck::kExpired);
    EXPECT_EQ(check_web_token("key-1", "other", t, 10, a), WebTokenCheck::kInvalid);
    EXPECT_EQ(check_web_token("key-2", "class", t, 10, a), WebTokenCheck::kInvalid);
    EXPECT_EQ(check_web_token("", "class", t, 10, a), WebTokenCheck::kInvalid);
    // View turned into control, or a later expiry: the MAC no longer fits.
    std::string up = t;
    up[5] = 'c';
    EXPECT_EQ(check_web_token("key-1", "class", up, 10, a), WebTokenCheck::kInvalid);
    std::string later = "9" + t;
    EXPECT_EQ(check_web_token("key-1", "class", later, 10, a), WebTokenCheck::kInvalid);
    for (const char* junk : {"", ".", "..", "2000.v.", "x.v.0123456789abcdef0123456789abcdef",
                             "-5.v.0123456789abcdef0123456789abcdef"})
        EXPECT_EQ(check_web_token("key-1", "class", junk, 10, a), WebTokenCheck::kInvalid) << junk;
    EXPECT_EQ(a, WebAccess::kNone);  // never granted along the way
}

TEST(WebToken, StaticTokensCompareExactly) {
    EXPECT_TRUE(web_token_equal("abc", "abc"));
    EXPECT_FALSE(web_token_equal("abc", "abd"));
    EXPECT_FALSE(web_token_equal("abc", "ab"));
    EXPECT_FALSE(web_token_equal("", ""));
}

}  // namespace
}  // namespace rfbcast
