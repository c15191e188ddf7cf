#pragma once
// The parameter prefix of the handshake fuzz targets' inputs (layouts in the comments at the top
// of server_handshake_fuzz.cpp and client_handshake_fuzz.cpp), read in one place so that the
// targets and the split-delivery test that replays their seeds cannot drift apart.
#include <algorithm>
#include <cstdint>
#include <span>
#include <string>

#include "codec/client_handshake.h"
#include "codec/rfb_constants.h"
#include "codec/server_handshake.h"
#include "tests/fuzz/fuzz_support.h"

namespace rfb::fuzz {

struct ServerHandshakeParams {
    ServerHandshakeConfig config;
    bool has_full = false, has_view = false;
    int vencrypt = 0;   // 0 off, 1 offered, 2 required, 3 required with Plain
    size_t chunks = 1;  // how many pieces the target cuts the viewer's bytes into
    uint16_t cuts = 0;  // where it cuts them
};

inline ServerHandshakeParams read_server_handshake_params(Params& p) {
    ServerHandshakeParams out;
    const uint8_t mode = p.u8();
    const size_t full_len = p.u8() % 9, view_len = p.u8() % 9;
    const auto full = p.bytes(full_len), view = p.bytes(view_len);
    out.has_full = mode & 1;
    out.has_view = mode & 2;
    if (out.has_full) out.config.full_password = std::string(full.begin(), full.end());
    if (out.has_view) out.config.viewonly_password = std::string(view.begin(), view.end());
    const auto challenge = p.bytes(16);
    std::copy(challenge.begin(), challenge.end(), out.config.challenge.begin());
    out.cuts = p.u16();
    out.chunks = 1 + ((mode >> 2) & 3);
    out.vencrypt = (mode >> 4) & 3;
    if (out.vencrypt) {
        namespace v = vencrypt;
        const bool has_pw = out.has_full || out.has_view;
        out.config.vencrypt_subtypes = {has_pw ? v::kTLSVnc : v::kTLSNone,
                                        has_pw ? v::kX509Vnc : v::kX509None};
        out.config.offer_without_tls = out.vencrypt == 1;
        if (out.vencrypt == 3) {
            out.config.vencrypt_subtypes.push_back(v::kTLSPlain);
            out.config.plain_enabled = true;
        }
    }
    return out;
}

struct ClientHandshakeParams {
    ClientHandshakeConfig config;
    bool has_password = false;
    bool has_user = false;  // a username, and a password to go with it
    size_t chunks = 1;
    uint16_t cuts = 0;
};

inline ClientHandshakeParams read_client_handshake_params(Params& p) {
    ClientHandshakeParams out;
    const uint8_t flags = p.u8();
    const size_t pw_len = p.u8() % 9;
    const auto pw = p.bytes(pw_len);
    out.has_password = flags & 1;
    if (out.has_password) out.config.password = std::string(pw.begin(), pw.end());
    out.config.shared = flags & 2;
    out.has_user = (flags & 16) && out.has_password;
    if (flags & 16) out.config.username = "fuzz-user";
    const unsigned policy = (flags >> 5) & 3;
    out.config.tls = policy == 1   ? TlsPolicy::kRequire
                     : policy == 2 ? TlsPolicy::kOff
                                   : TlsPolicy::kPrefer;
    out.config.allow_plain_without_tls = policy == 3;
    out.config.x509_verifiable = flags & 128;
    // Deterministic "randomness" for ARD: the reply then depends on the input only.
    out.config.random = [](std::span<uint8_t> bytes) {
        for (size_t i = 0; i < bytes.size(); ++i)
            bytes[i] = static_cast<uint8_t>(i * 131 + 7);
        return true;
    };
    out.cuts = p.u16();
    out.chunks = 1 + ((flags >> 2) & 3);
    return out;
}

}  // namespace rfb::fuzz
