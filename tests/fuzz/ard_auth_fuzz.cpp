// libFuzzer target: Apple Remote Desktop authentication (codec/ard_auth), both sides.
//
// Input: parameter bytes, then the body.
//   0     mode % 3: 0 = the body is a server message for ard_client_reply (a hostile server);
//         1 = the body is generator (U16) then a prime, for ard_server_hello, then a full
//         round trip through ard_client_reply and ard_server_recover;
//         2 = the body is a client reply for ard_server_recover (a hostile client) against a
//         fixed RFC 2409 group 2 hello
//   1     username length % 70 (above 63 must be refused), then the username
//   next  password length % 70, then the password
//   next  up to 32 seed bytes, repeated into the random buffer
//
// Checks: an error always has a reason and no bytes; a reply is 128 + keylen bytes and only
// comes from a message whose size ard_server_message_size confirms; credentials that do not fit
// are refused; a round trip returns exactly the credentials sent, whatever the group (any odd
// modulus that passes validation, prime or not, gives both sides the same secret); errors never
// contain the password; a recovered field is at most 64 bytes.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "codec/ard_auth.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

bool fits(const std::string& s) {
    return s.size() <= rfb::kArdMaxCredentialLength && s.find('\0') == std::string::npos;
}

// Our error texts are ASCII; a password with a byte above 0x7f can be searched for without
// matching the text by chance.
void check_no_password(const std::string& error, const std::string& password) {
    bool high = false;
    for (char ch : password)
        high = high || static_cast<uint8_t>(ch) >= 0x80;
    if (high && password.size() >= 4) FUZZ_CHECK(error.find(password) == std::string::npos);
}

void check_reply(const rfb::ArdReply& r, std::span<const uint8_t> msg, const std::string& user,
                 const std::string& password) {
    if (rfb::fuzz::verbose()) std::fprintf(stderr, "reply ok=%d %s\n", r.ok, r.error.c_str());
    if (!r.ok) {
        FUZZ_CHECK(!r.error.empty());
        FUZZ_CHECK(r.bytes.empty());
        check_no_password(r.error, password);
        return;
    }
    FUZZ_CHECK(r.error.empty());
    FUZZ_CHECK(fits(user) && fits(password));
    const size_t size = rfb::ard_server_message_size(msg);
    FUZZ_CHECK(size != 0 && size == msg.size());
    const size_t keylen = (size - rfb::kArdServerHeaderSize) / 2;
    FUZZ_CHECK(r.bytes.size() == rfb::ard_client_reply_size(keylen));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    rfb::fuzz::Params p(data, size);
    const uint8_t mode = p.u8() % 3;
    const auto user_bytes = p.bytes(p.u8() % 70);
    const auto password_bytes = p.bytes(p.u8() % 70);
    const std::string user(user_bytes.begin(), user_bytes.end());
    const std::string password(password_bytes.begin(), password_bytes.end());
    const auto seed = p.bytes(32);
    std::vector<uint8_t> random(rfb::kArdMaxKeyLength);
    for (size_t i = 0; i < random.size(); ++i)
        random[i] = static_cast<uint8_t>(seed.empty() ? i : seed[i % seed.size()] + i / 32);
    const auto body = p.rest();

    if (mode == 0) {
        check_reply(rfb::ard_client_reply(body, user, password, random), body, user, password);
        return 0;
    }

    if (mode == 1) {
        if (body.size() < 2) return 0;
        const uint16_t generator = static_cast<uint16_t>((body[0] << 8) | body[1]);
        const rfb::ArdServerHello h = rfb::ard_server_hello(generator, body.subspan(2), random);
        if (!h.ok) {
            FUZZ_CHECK(!h.error.empty());
            return 0;
        }
        FUZZ_CHECK(rfb::ard_server_message_size(h.message) == h.message.size());
        FUZZ_CHECK(h.private_key.size() == body.size() - 2);
        // A different random stream for the client, as two real peers would have.
        for (uint8_t& b : random)
            b ^= 0x5a;
        const rfb::ArdReply r = rfb::ard_client_reply(h.message, user, password, random);
        check_reply(r, h.message, user, password);
        if (!fits(user) || !fits(password)) FUZZ_CHECK(!r.ok);
        if (!r.ok) return 0;
        const rfb::ArdCredentials c = rfb::ard_server_recover(h.message, h.private_key, r.bytes);
        FUZZ_CHECK(c.ok);
        FUZZ_CHECK(c.username == user);
        FUZZ_CHECK(c.password == password);
        FUZZ_CHECK(rfb::ard_credentials_match(c, user, password));
        return 0;
    }

    static const rfb::ArdServerHello hello = rfb::ard_server_hello(
        rfb::kArdGenerator, rfb::ard_rfc2409_group2_prime(), std::vector<uint8_t>(128, 0x77));
    FUZZ_CHECK(hello.ok);
    const rfb::ArdCredentials c = rfb::ard_server_recover(hello.message, hello.private_key, body);
    if (rfb::fuzz::verbose()) std::fprintf(stderr, "recover ok=%d %s\n", c.ok, c.error.c_str());
    if (!c.ok) {
        FUZZ_CHECK(!c.error.empty());
        return 0;
    }
    FUZZ_CHECK(body.size() == rfb::ard_client_reply_size(128));
    FUZZ_CHECK(c.username.size() <= rfb::kArdCredentialFieldSize);
    FUZZ_CHECK(c.password.size() <= rfb::kArdCredentialFieldSize);
    FUZZ_CHECK(c.username.find('\0') == std::string::npos);
    FUZZ_CHECK(c.password.find('\0') == std::string::npos);
    return 0;
}
