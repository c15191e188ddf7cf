#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "codec/pixel_format.h"
#include "codec/rfb_constants.h"
#include "codec/server_handshake.h"

// The RFB handshake seen from the client side (rfbcast dialling its upstream server):
// ProtocolVersion, security (None, VNC Authentication, VeNCrypt with its TLS/X509/Plain
// sub-types, Apple Remote Desktop), SecurityResult, ClientInit, ServerInit. Pure: bytes in,
// bytes to send out. TLS itself is the caller's: the handshake says when to start it and then
// continues over the decrypted stream.
namespace rfb {

// How much the user insists on TLS towards the upstream (--upstream-tls).
enum class TlsPolicy {
    kOff,      // never VeNCrypt with TLS
    kPrefer,   // TLS whenever the server offers a usable kind, else what is left
    kRequire,  // TLS or nothing: None, VncAuth, ARD and unencrypted Plain are refused
};

struct ClientHandshakeConfig {
    std::optional<std::string> password;
    bool shared = true;  // ClientInit shared-flag: leave other viewers of the server connected
    // Plain (VeNCrypt) and Apple Remote Desktop authenticate a user; VncAuth ignores this.
    std::optional<std::string> username = std::nullopt;
    TlsPolicy tls = TlsPolicy::kPrefer;
    // The caller can verify a server certificate (a CA is configured): X509 sub-types are
    // usable. Without it only anonymous TLS is, and with it and kRequire only X509 is, since an
    // unverifiable server is what the CA was given to rule out.
    bool x509_verifiable = false;
    // VeNCrypt Plain (256) sends username and password unencrypted: only with this set (by
    // --upstream-insecure-plain), and never under kRequire.
    bool allow_plain_without_tls = false;
    // Under kPrefer, take VeNCrypt only when nothing else will do (the last attempt found none
    // of its sub-types usable).
    bool avoid_vencrypt = false;
    // Fills its argument with random bytes (ARD's Diffie-Hellman private key); false on failure.
    // Without it ARD is not offered to the server.
    std::function<bool(std::span<uint8_t>)> random = nullptr;
    // A ServerInit wider or taller than this is refused (lowered only).
    uint32_t max_framebuffer_dim = limits::kMaxFramebufferDim;
};

struct ServerInitInfo {
    uint16_t width = 0, height = 0;
    PixelFormat format;  // valid; may be a colour-map format
    std::string name;    // as sent (UTF-8 in practice, untrusted)
};

// "None", "VncAuth", "ARD", "VeNCrypt/TLSVnc", ... for logs; "type N" for anything else.
std::string security_name(uint8_t type, uint32_t vencrypt_subtype = 0);

class ClientHandshake {
  public:
    explicit ClientHandshake(ClientHandshakeConfig config);

    // Consumes what the server sent and appends the replies to `out`. Done after ServerInit.
    // On failure `out` gets nothing more (the client just closes) and `error` holds the reason,
    // including the server's own reason string when it sent one (control characters replaced).
    //
    // When a VeNCrypt TLS sub-type has been accepted, feed() stops right after the server's
    // acknowledgement (kContinue; tls_needed() says which kind): everything after it on the
    // wire is TLS. The caller starts TLS, calls tls_started() and from then on feeds the
    // decrypted bytes. Until tls_started(), feed() consumes nothing.
    HandshakeStep feed(std::span<const uint8_t> in, std::vector<uint8_t>& out);

    TlsKind tls_needed() const { return state_ == State::kTlsPending ? tls_kind_ : TlsKind::kNone; }
    // The transport is TLS now; appends what goes first over it (Plain's credentials) to `out`.
    void tls_started(std::vector<uint8_t>& out);

    const ServerInitInfo& server_init() const { return init_; }
    // 3, 7 or 8 once the server's version is known; 0 before.
    int minor_version() const { return minor_; }
    // The security type in use (security::kNone, kVncAuth, kVeNCrypt, kAppleRemoteDesktop); 0
    // before it is chosen.
    uint8_t security_type() const { return security_type_; }
    // The VeNCrypt sub-type chosen (vencrypt::k...), 0 without VeNCrypt.
    uint32_t vencrypt_subtype() const { return subtype_; }
    std::string security_description() const { return security_name(security_type_, subtype_); }
    // After a failure: VeNCrypt was chosen but none of its sub-types could be used. Under
    // kPrefer the next attempt can set avoid_vencrypt and take the server's other types.
    bool vencrypt_unusable() const { return vencrypt_unusable_; }

  private:
    enum class State {
        kVersion,
        kSecurity33,        // 3.3: U32 security type
        kSecurityCount,     // 3.7+: U8 number of types
        kSecurityList,      // 3.7+: the types
        kRefusedReason,     // U32 length + reason after "no security types" / type 0
        kVeNCryptVersion,   // U8 major, U8 minor
        kVeNCryptAck,       // U8, 0 = version accepted
        kVeNCryptCount,     // U8 number of sub-types
        kVeNCryptList,      // U32 each
        kVeNCryptTlsAck,    // U8, 1 = go ahead with TLS
        kTlsPending,        // waiting for the caller to switch to TLS
        kArdServerMessage,  // generator, key length, prime, server public key
        kChallenge,         // VNC Authentication: 16-byte challenge
        kSecurityResult,    // U32 status
        kAuthFailedReason,  // 3.8: reason after a failed SecurityResult
        kServerInit,
        kDone,
        kFailed,
    };

    HandshakeStep fail(std::string reason);
    // Reads a U32-length reason string; false while incomplete. `bad`: over-long (no need to
    // wait for its bytes, the handshake fails either way).
    bool read_reason(std::span<const uint8_t> rest, std::string& reason, bool& bad);
    // Picks among the server's RFB security types; 0 with `why` filled when none will do.
    uint8_t choose_type(std::span<const uint8_t> types, std::string& why) const;
    // Picks among VeNCrypt sub-types; 0 with `why` filled when none will do.
    uint32_t choose_subtype(std::span<const uint8_t> list, size_t count, std::string& why) const;
    bool has_password() const { return config_.password.has_value(); }
    bool has_user() const { return config_.username.has_value() && config_.password.has_value(); }
    bool ard_possible() const { return has_user() && static_cast<bool>(config_.random); }
    // The security type is settled (or, for VeNCrypt, its sub-type and transport): go on with
    // what that type does next.
    void begin_auth(std::vector<uint8_t>& out);
    void send_plain_credentials(std::vector<uint8_t>& out);
    void send_client_init(std::vector<uint8_t>& out);

    ClientHandshakeConfig config_;
    State state_ = State::kVersion;
    int minor_ = 0;
    uint8_t security_type_ = 0;
    uint32_t subtype_ = 0;
    TlsKind tls_kind_ = TlsKind::kNone;
    size_t type_count_ = 0;
    bool vencrypt_unusable_ = false;
    ServerInitInfo init_;
};

}  // namespace rfb
