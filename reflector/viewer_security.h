#pragma once
#include <memory>
#include <string>

#include "codec/server_handshake.h"
#include "reflector/connection.h"
#include "reflector/tls_session.h"

namespace rfbcast {

// How viewers authenticate and encrypt (issue 7), shared by every listener: VeNCrypt with
// anonymous TLS (TigerVNC's TLSNone/TLSVnc/TLSPlain) and, with a certificate, X509; VNC
// Authentication or None outside TLS unless TLS is required; Plain users inside TLS only.
struct ViewerSecurity {
    std::shared_ptr<const TlsCredentials> anonymous;  // null: no anonymous TLS sub-types
    std::shared_ptr<const TlsCredentials> x509;       // null: no certificate, no X509 sub-types
    bool require_tls = false;
    rfb::PlainCheck check_plain;  // empty: no users, no Plain sub-types

    bool offers_tls() const { return anonymous || x509; }
};

// Adds the security part to a viewer's handshake config, whose passwords are already set: the
// VeNCrypt sub-types that fit them (Vnc with passwords, None without, Plain with users).
void apply_viewer_security(const ViewerSecurity& security, rfb::ServerHandshakeConfig& config);

// Feeds what `conn` received to a viewer's handshake, sends the replies, and switches the
// connection to TLS when the handshake asks (the acceptance byte goes out in clear first).
// Returns the step; a TLS session that cannot be created fails it with the reason.
rfb::HandshakeStep drive_viewer_handshake(rfb::ServerHandshake& handshake, Connection& conn,
                                          const ViewerSecurity& security);

// "VeNCrypt/TLSVnc", "VncAuth", "None"... for logs.
std::string viewer_security_name(const rfb::ServerHandshake& handshake);

}  // namespace rfbcast
