#pragma once
#include <sys/socket.h>

#include <functional>
#include <memory>
#include <string>

#include "codec/server_handshake.h"
#include "reflector/connection.h"
#include "reflector/security_types.h"
#include "reflector/tls_session.h"

namespace rfbcast {

// Told the outcome of every viewer authentication that checked a secret (the registry feeds
// its brute-force lockout with it).
class AuthObserver {
  public:
    virtual ~AuthObserver() = default;
    virtual void auth_result(const sockaddr_storage& peer, bool ok) = 0;
    // Asked right before a secret is checked: an address locked out after this viewer
    // connected (its other connections failed meanwhile) gets no further guess.
    virtual bool locked_out(const sockaddr_storage& /*peer*/) { return false; }
};

// What a failed authentication is told, and how long after: an immediate answer would let a
// guesser try as fast as the network allows (TigerVNC and others wait too).
inline constexpr Clock::duration kAuthFailureDelay = std::chrono::milliseconds(100);

// How viewers authenticate and encrypt (issue 7), shared by every listener: VeNCrypt with
// anonymous TLS (TigerVNC's TLSNone/TLSVnc/TLSPlain) and, with a certificate, X509; VNC
// Authentication or None outside TLS unless TLS is required; Plain users inside TLS only.
struct ViewerSecurity {
    std::shared_ptr<const TlsCredentials> anonymous;  // null: no anonymous TLS sub-types
    std::shared_ptr<const TlsCredentials> x509;       // null: no certificate, no X509 sub-types
    bool require_tls = false;
    // The security types this listener or session may offer (security_types.h); the ones that
    // fit the passwords, users and certificates are then picked from these.
    uint32_t allowed = kAllSecurityTypes;
    rfb::PlainCheck check_plain;  // empty: no users, no Plain sub-types
    // Runs `work` off the event loop, then `done` on it (the encode pool's background lane):
    // a Plain check is a slow password hash. Empty: inline.
    std::function<void(std::function<void()> work, std::function<void()> done)> offload;
    AuthObserver* observer = nullptr;

    bool offers_tls() const { return anonymous || x509; }
};

// Adds the security part to a viewer's handshake config, whose passwords are already set: the
// VeNCrypt sub-types that fit them (Vnc with passwords, None without, Plain with users), within
// security.allowed.
void apply_viewer_security(const ViewerSecurity& security, rfb::ServerHandshakeConfig& config);

// Feeds what `conn` received to a viewer's handshake, sends the replies, and switches the
// connection to TLS when the handshake asks (the acceptance byte goes out in clear first).
// Returns the step; a TLS session that cannot be created fails it with the reason. When a
// password or user was wrong, the failure reply is not sent but left in `held_reply`: the
// caller sends it after kAuthFailureDelay, then closes. The observer hears every outcome.
//
// A Plain check runs through security->offload; its verdict comes back through `deliver` (which
// the caller makes safe against its own destruction), which must set it on the handshake and
// call this again. `security` may be null: no TLS, no Plain, nobody to tell.
rfb::HandshakeStep drive_viewer_handshake(rfb::ServerHandshake& handshake, Connection& conn,
                                          const ViewerSecurity* security,
                                          std::vector<uint8_t>& held_reply,
                                          const std::function<void(rfb::AccessLevel)>& deliver);

// Whether a viewer could complete this handshake at all (check() refuses configs where not).
bool offers_anything(const rfb::ServerHandshakeConfig& config);

// "VeNCrypt/TLSVnc", "VncAuth", "None"... for logs.
std::string viewer_security_name(const rfb::ServerHandshake& handshake);

}  // namespace rfbcast
