// libFuzzer target: ServerHandshake (rfbcast as the server, a viewer sending), with no password,
// a full-access password, a view-only password, or both; and VeNCrypt offered or required, with
// Plain users. TLS is simulated: when the handshake asks for it, the bytes simply go on.
//
// Input: parameter bytes, then the viewer's bytes.
//   0     bits 0-1: which passwords are set (0 none, 1 full, 2 view-only, 3 both);
//         bits 2-3: chunks - 1; bits 4-5: VeNCrypt (0 off, 1 offered, 2 required, 3 required
//         with Plain, whose only user is "u" with password "p")
//   1     full password length (0..8), 2 view-only password length (0..8), then the passwords
//   next  16-byte challenge, then 2 bytes choosing where the chunks are cut
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "codec/rfb_constants.h"
#include "codec/server_handshake.h"
#include "tests/fuzz/fuzz_support.h"
#include "tests/fuzz/handshake_params.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    rfb::fuzz::Params p(data, size);
    const rfb::fuzz::ServerHandshakeParams params = rfb::fuzz::read_server_handshake_params(p);
    const rfb::ServerHandshakeConfig& config = params.config;
    const bool has_full = params.has_full, has_view = params.has_view;
    const bool has_pw = has_full || has_view;
    const int vencrypt = params.vencrypt;

    rfb::ServerHandshake hs(config);
    std::vector<uint8_t> out;
    hs.start(out);
    FUZZ_CHECK(std::string(out.begin(), out.end()) == "RFB 003.008\n");

    std::vector<uint8_t> pending;
    for (auto chunk : rfb::fuzz::split(p.rest(), params.chunks, params.cuts)) {
        pending.insert(pending.end(), chunk.begin(), chunk.end());
        rfb::HandshakeStep step = hs.feed(pending, out);
        FUZZ_CHECK(step.consumed <= pending.size());
        if (hs.tls_needed() != rfb::TlsKind::kNone) {
            FUZZ_CHECK(vencrypt != 0);
            hs.tls_started(out);
            FUZZ_CHECK(hs.tls_needed() == rfb::TlsKind::kNone);
        }
        if (auto creds = hs.take_plain_check()) {
            FUZZ_CHECK(vencrypt == 3);
            FUZZ_CHECK(creds->first.size() <= rfb::kMaxPlainField);
            FUZZ_CHECK(creds->second.size() <= rfb::kMaxPlainField);
            hs.set_plain_result(creds->first == "u" && creds->second == "p"
                                    ? rfb::AccessLevel::kFull
                                    : rfb::AccessLevel::kNone);
        }
        // Replies are a handful of short messages; anything big means a runaway.
        FUZZ_CHECK(out.size() <= 8192);
        if (rfb::fuzz::verbose())
            std::fprintf(stderr, "status %d consumed %zu: %s\n", static_cast<int>(step.status),
                         step.consumed, step.error.c_str());
        if (step.status == rfb::HandshakeStep::kFailed) {
            FUZZ_CHECK(!step.error.empty());
            FUZZ_CHECK(hs.access() == rfb::AccessLevel::kNone);
            FUZZ_CHECK(hs.feed(pending, out).status == rfb::HandshakeStep::kFailed);
            return 0;
        }
        FUZZ_CHECK(step.error.empty());
        if (step.status == rfb::HandshakeStep::kDone) {
            const int minor = hs.minor_version();
            FUZZ_CHECK(minor == 3 || minor == 7 || minor == 8);
            const rfb::AccessLevel access = hs.access();
            if (hs.security_type() == rfb::security::kVeNCrypt) {
                const uint32_t t = hs.vencrypt_subtype();
                FUZZ_CHECK(vencrypt != 0);
                if (t == rfb::vencrypt::kTLSPlain)
                    FUZZ_CHECK(hs.username() == "u" && access == rfb::AccessLevel::kFull);
                else if (t == rfb::vencrypt::kTLSNone || t == rfb::vencrypt::kX509None)
                    FUZZ_CHECK(!has_pw && access == rfb::AccessLevel::kFull);
                else
                    FUZZ_CHECK(access == rfb::AccessLevel::kFull
                                   ? has_full
                                   : access == rfb::AccessLevel::kViewOnly && has_view);
            } else if (vencrypt >= 2) {
                FUZZ_CHECK(false);  // TLS was required: nothing else may pass
            } else if (!has_full && !has_view) {
                FUZZ_CHECK(hs.security_type() == rfb::security::kNone);
                FUZZ_CHECK(access == rfb::AccessLevel::kFull);
            } else {
                // Passing must have taken a password the server holds.
                FUZZ_CHECK(hs.security_type() == rfb::security::kVncAuth);
                FUZZ_CHECK(access == rfb::AccessLevel::kFull
                               ? has_full
                               : access == rfb::AccessLevel::kViewOnly && has_view);
            }
            return 0;
        }
        FUZZ_CHECK(hs.access() == rfb::AccessLevel::kNone);
        pending.erase(pending.begin(), pending.begin() + static_cast<ptrdiff_t>(step.consumed));
    }
    return 0;
}
