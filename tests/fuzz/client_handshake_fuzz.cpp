// libFuzzer target: ClientHandshake (rfbcast dialling a server, the server sending).
//
// Input: parameter bytes, then the server's bytes.
//   0     bit 0: a password is set; bit 1: shared flag; bits 2-3: chunks - 1
//   1     password length (0..8), then the password
//   next  2 bytes choosing where the chunks are cut
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "codec/client_handshake.h"
#include "codec/rfb_constants.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    rfb::fuzz::Params p(data, size);
    const uint8_t flags = p.u8();
    const size_t pw_len = p.u8() % 9;
    const auto pw = p.bytes(pw_len);
    rfb::ClientHandshakeConfig config;
    const bool has_password = flags & 1;
    if (has_password) config.password = std::string(pw.begin(), pw.end());
    config.shared = flags & 2;
    const uint16_t seed = p.u16();

    rfb::ClientHandshake hs(config);
    std::vector<uint8_t> out;
    std::vector<uint8_t> pending;
    for (auto chunk : rfb::fuzz::split(p.rest(), 1 + ((flags >> 2) & 3), seed)) {
        pending.insert(pending.end(), chunk.begin(), chunk.end());
        const rfb::HandshakeStep step = hs.feed(pending, out);
        FUZZ_CHECK(step.consumed <= pending.size());
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
            return 0;
        }
        FUZZ_CHECK(step.error.empty());
        if (step.status == rfb::HandshakeStep::kDone) {
            const int minor = hs.minor_version();
            FUZZ_CHECK(minor == 3 || minor == 7 || minor == 8);
            const uint8_t type = hs.security_type();
            FUZZ_CHECK(type == rfb::security::kNone ||
                       (type == rfb::security::kVncAuth && has_password));
            const rfb::ServerInitInfo& init = hs.server_init();
            FUZZ_CHECK(init.format.valid(nullptr, /*allow_colour_map=*/true));
            FUZZ_CHECK(init.name.size() <= rfb::limits::kMaxDesktopNameLength);
            // The last thing sent is ClientInit, carrying the shared flag.
            FUZZ_CHECK(!out.empty() && out.back() == (config.shared ? 1 : 0));
            return 0;
        }
        pending.erase(pending.begin(), pending.begin() + static_cast<ptrdiff_t>(step.consumed));
    }
    return 0;
}
