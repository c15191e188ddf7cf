// Which security types a viewer is offered: passwords, users, certificates and the
// security_types list of its listener or session together.
#include "reflector/viewer_security.h"

#include <gtest/gtest.h>

#include "codec/rfb_constants.h"
#include "reflector/security_types.h"

namespace rfbcast {
namespace {

namespace v = rfb::vencrypt;
using Subtypes = std::vector<uint32_t>;

class ViewerSecurityTest : public ::testing::Test {
  protected:
    void SetUp() override {
        std::string error;
        // apply_viewer_security only asks whether credentials exist, so one anonymous set can
        // stand for both kinds here.
        creds_ = TlsCredentials::create(
            TlsCredentialsConfig{TlsRole::kServer, TlsAuth::kAnonymous, {}, {}, {}, {}}, &error);
        ASSERT_TRUE(creds_) << error;
    }
    rfb::ServerHandshakeConfig offered(uint32_t allowed, bool password, bool users, bool x509,
                                       bool require_tls = false) {
        ViewerSecurity s;
        s.anonymous = creds_;
        if (x509) s.x509 = creds_;
        s.allowed = allowed;
        s.require_tls = require_tls;
        if (users)
            s.check_plain = [](std::string_view, std::string_view) {
                return rfb::AccessLevel::kNone;
            };
        rfb::ServerHandshakeConfig c;
        if (password) c.full_password = "secret";
        apply_viewer_security(s, c);
        return c;
    }
    std::shared_ptr<const TlsCredentials> creds_;
};

TEST_F(ViewerSecurityTest, EverythingThatFitsByDefault) {
    auto c = offered(kAllSecurityTypes, true, false, true);
    EXPECT_EQ(c.vencrypt_subtypes, (Subtypes{v::kTLSVnc, v::kX509Vnc}));
    EXPECT_TRUE(c.offer_without_tls);
    EXPECT_FALSE(c.plain_enabled);
    c = offered(kAllSecurityTypes, false, false, false);
    EXPECT_EQ(c.vencrypt_subtypes, (Subtypes{v::kTLSNone}));
    EXPECT_TRUE(c.offer_without_tls);
    c = offered(kAllSecurityTypes, true, true, true);
    EXPECT_EQ(c.vencrypt_subtypes,
              (Subtypes{v::kTLSPlain, v::kTLSVnc, v::kX509Plain, v::kX509Vnc}));
    EXPECT_TRUE(c.plain_enabled);
}

TEST_F(ViewerSecurityTest, TheListNarrowsWhatIsOffered) {
    auto c = offered(kSecX509Vnc, true, false, true);
    EXPECT_EQ(c.vencrypt_subtypes, (Subtypes{v::kX509Vnc}));
    EXPECT_FALSE(c.offer_without_tls);
    EXPECT_TRUE(offers_anything(c));

    c = offered(kSecVncAuth, true, false, true);
    EXPECT_TRUE(c.vencrypt_subtypes.empty());
    EXPECT_TRUE(c.offer_without_tls);

    // Users, but Plain left out: Plain is neither listed nor enabled.
    c = offered(kSecTlsVnc, true, true, false);
    EXPECT_EQ(c.vencrypt_subtypes, (Subtypes{v::kTLSVnc}));
    EXPECT_FALSE(c.plain_enabled);
    EXPECT_FALSE(c.offer_without_tls);
}

TEST_F(ViewerSecurityTest, NothingUsableIsDetected) {
    // "none" allowed, but there is a password: None would let anyone in, so it is not offered.
    EXPECT_FALSE(offers_anything(offered(kSecNone, true, false, false)));
    // X509 only, without a certificate.
    EXPECT_FALSE(offers_anything(offered(kSecX509Vnc | kSecX509None, true, false, false)));
    // Users make a login necessary: TLSNone is never a way around them.
    EXPECT_FALSE(offers_anything(offered(kSecTlsNone, false, true, false)));
}

TEST_F(ViewerSecurityTest, RequireTlsStillDropsTheClearTypes) {
    const auto c = offered(kSecVncAuth | kSecTlsVnc, true, false, false, true);
    EXPECT_EQ(c.vencrypt_subtypes, (Subtypes{v::kTLSVnc}));
    EXPECT_FALSE(c.offer_without_tls);
}

TEST(SecurityTypesTest, ParsesTigerVncNames) {
    uint32_t mask = 0;
    std::string error;
    ASSERT_TRUE(parse_security_types({"X509Vnc", "tlsvnc", "VNC"}, mask, error)) << error;
    EXPECT_EQ(mask, kSecX509Vnc | kSecTlsVnc | kSecVncAuth);
    EXPECT_EQ(format_security_types(mask), "vncauth,tlsvnc,x509vnc");
    EXPECT_EQ(format_security_types(kAllSecurityTypes), "all");
    EXPECT_FALSE(parse_security_types({"tlsvnc", "ra2"}, mask, error));
    EXPECT_NE(error.find("\"ra2\""), std::string::npos) << error;
    EXPECT_FALSE(parse_security_types({}, mask, error));
    EXPECT_EQ(mask, kSecX509Vnc | kSecTlsVnc | kSecVncAuth);  // untouched by failures
}

TEST(SecurityTypesTest, SubtypeBits) {
    EXPECT_EQ(security_bit_of_subtype(v::kTLSNone), kSecTlsNone);
    EXPECT_EQ(security_bit_of_subtype(v::kX509Plain), kSecX509Plain);
    EXPECT_EQ(security_bit_of_subtype(v::kPlain), 0u);  // plain-text Plain is never offered
    EXPECT_EQ(security_bit_of_subtype(0), 0u);
}

TEST(ServerHandshakeRefuseSecret, GivesTheReasonInsteadOfCheckingThePassword) {
    rfb::ServerHandshakeConfig config;
    config.full_password = "secret";
    rfb::ServerHandshake hs(config);
    std::vector<uint8_t> out;
    hs.start(out);
    out.clear();
    const std::string version = "RFB 003.008\n";
    hs.feed(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(version.data()), 12), out);
    out.clear();
    EXPECT_FALSE(hs.expects_secret());
    const uint8_t choice = rfb::security::kVncAuth;
    hs.feed(std::span<const uint8_t>(&choice, 1), out);
    EXPECT_TRUE(hs.expects_secret());
    out.clear();
    const auto step = hs.refuse_secret("Too many security failures", out);
    EXPECT_EQ(step.status, rfb::HandshakeStep::kFailed);
    EXPECT_FALSE(hs.auth_failed());  // nothing was guessed: no further lockout count
    const std::string reason = "Too many security failures";
    std::vector<uint8_t> expected{0, 0, 0, 1, 0, 0, 0, static_cast<uint8_t>(reason.size())};
    expected.insert(expected.end(), reason.begin(), reason.end());
    EXPECT_EQ(out, expected);
}

}  // namespace
}  // namespace rfbcast
