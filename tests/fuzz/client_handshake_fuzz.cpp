// libFuzzer target: ClientHandshake (rfbcast dialling a server, the server sending), including
// VeNCrypt (its TLS switch is emulated: what follows the server's acknowledgement is fed as if
// decrypted), Plain and Apple Remote Desktop.
//
// Input: parameter bytes, then the server's bytes.
//   0     bit 0: a password is set; bit 1: shared flag; bits 2-3: chunks - 1;
//         bit 4: a username is set; bits 5-6: TLS policy (0 prefer, 1 require, 2 off,
//         3 prefer with plain-text Plain allowed); bit 7: X509 verifiable (a CA is configured)
//   1     password length (0..8), then the password
//   next  2 bytes choosing where the chunks are cut
// Seeds written before bits 4-7 existed keep their meaning (all zero: prefer, no username).
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "codec/client_handshake.h"
#include "codec/rfb_constants.h"
#include "tests/fuzz/fuzz_support.h"
#include "tests/fuzz/handshake_params.h"

namespace {

bool is_tls_subtype(uint32_t t) {
    return t >= rfb::vencrypt::kTLSNone && t <= rfb::vencrypt::kX509Plain;
}
bool is_x509_subtype(uint32_t t) {
    return t >= rfb::vencrypt::kX509None && t <= rfb::vencrypt::kX509Plain;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    rfb::fuzz::Params p(data, size);
    const rfb::fuzz::ClientHandshakeParams params = rfb::fuzz::read_client_handshake_params(p);
    const rfb::ClientHandshakeConfig& config = params.config;
    const bool has_password = params.has_password, has_user = params.has_user;

    rfb::ClientHandshake hs(config);
    std::vector<uint8_t> out;
    std::vector<uint8_t> pending;
    bool tls_started = false;
    for (auto chunk : rfb::fuzz::split(p.rest(), params.chunks, params.cuts)) {
        pending.insert(pending.end(), chunk.begin(), chunk.end());
        for (;;) {
            const rfb::HandshakeStep step = hs.feed(pending, out);
            FUZZ_CHECK(step.consumed <= pending.size());
            // ARD's reply (128 + at most 1024 bytes) is the largest thing a client sends.
            FUZZ_CHECK(out.size() <= 8192);
            if (rfb::fuzz::verbose())
                std::fprintf(stderr, "status %d consumed %zu: %s\n", static_cast<int>(step.status),
                             step.consumed, step.error.c_str());
            if (step.status == rfb::HandshakeStep::kFailed) {
                // Once failed the client just closes: it never answers again.
                FUZZ_CHECK(!step.error.empty());
                const size_t out_before = out.size();
                FUZZ_CHECK(hs.feed(pending, out).status == rfb::HandshakeStep::kFailed);
                FUZZ_CHECK(out.size() == out_before);
                FUZZ_CHECK(hs.tls_needed() == rfb::TlsKind::kNone);
                return 0;
            }
            FUZZ_CHECK(step.error.empty());
            pending.erase(pending.begin(), pending.begin() + static_cast<ptrdiff_t>(step.consumed));
            if (step.status == rfb::HandshakeStep::kDone) {
                const int minor = hs.minor_version();
                FUZZ_CHECK(minor == 3 || minor == 7 || minor == 8);
                const uint8_t type = hs.security_type();
                const uint32_t sub = hs.vencrypt_subtype();
                FUZZ_CHECK(type == rfb::security::kNone ||
                           (type == rfb::security::kVncAuth && has_password) ||
                           (type == rfb::security::kAppleRemoteDesktop && has_user) ||
                           type == rfb::security::kVeNCrypt);
                FUZZ_CHECK((type == rfb::security::kVeNCrypt) == (sub != 0));
                // Never below what the policy demands, never a TLS kind it cannot use.
                if (config.tls == rfb::TlsPolicy::kRequire)
                    FUZZ_CHECK(type == rfb::security::kVeNCrypt && is_tls_subtype(sub));
                if (config.tls == rfb::TlsPolicy::kOff) FUZZ_CHECK(!is_tls_subtype(sub));
                if (is_x509_subtype(sub)) FUZZ_CHECK(config.x509_verifiable);
                if (sub == rfb::vencrypt::kPlain) FUZZ_CHECK(config.allow_plain_without_tls);
                FUZZ_CHECK(is_tls_subtype(sub) == tls_started);
                const rfb::ServerInitInfo& init = hs.server_init();
                FUZZ_CHECK(init.format.valid(nullptr, /*allow_colour_map=*/true));
                FUZZ_CHECK(init.name.size() <= rfb::limits::kMaxDesktopNameLength);
                // The last thing sent is ClientInit, carrying the shared flag.
                FUZZ_CHECK(!out.empty() && out.back() == (config.shared ? 1 : 0));
                return 0;
            }
            const rfb::TlsKind kind = hs.tls_needed();
            if (kind == rfb::TlsKind::kNone) break;  // needs more bytes
            FUZZ_CHECK(!tls_started);
            const uint32_t sub = hs.vencrypt_subtype();
            FUZZ_CHECK(is_tls_subtype(sub));
            FUZZ_CHECK((kind == rfb::TlsKind::kX509) == is_x509_subtype(sub));
            // Nothing is consumed until the caller has switched.
            const size_t out_before = out.size();
            const rfb::HandshakeStep again = hs.feed(pending, out);
            FUZZ_CHECK(again.status == rfb::HandshakeStep::kContinue && again.consumed == 0);
            FUZZ_CHECK(out.size() == out_before);
            hs.tls_started(out);
            tls_started = true;
        }
    }
    return 0;
}
