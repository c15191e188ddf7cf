#include "reflector/viewer_security.h"

#include "codec/client_handshake.h"
#include "codec/rfb_constants.h"

#include <algorithm>

namespace rfbcast {

void apply_viewer_security(const ViewerSecurity& s, rfb::ServerHandshakeConfig& c) {
    namespace v = rfb::vencrypt;
    const bool passwords = c.full_password || c.viewonly_password || !c.credentials.empty();
    c.vencrypt_subtypes.clear();
    const auto offer = [&](uint32_t subtype) {
        if (s.allowed & security_bit_of_subtype(subtype)) c.vencrypt_subtypes.push_back(subtype);
    };
    // Anonymous TLS first: viewers that take the server's order (libvncclient) then work
    // without a CA. Order buys no security anyway: the list travels before TLS, so a man in the
    // middle could strip X509 from it; a viewer that wants the certificate checked must insist
    // on X509 itself (TigerVNC: -SecurityTypes=X509Vnc), and TigerVNC's own preference puts
    // X509 first whatever the order here.
    for (const bool x509 : {false, true}) {
        if (x509 ? !s.x509 : !s.anonymous) continue;
        if (s.check_plain) offer(x509 ? v::kX509Plain : v::kTLSPlain);
        if (passwords)
            offer(x509 ? v::kX509Vnc : v::kTLSVnc);
        else if (!s.check_plain)
            offer(x509 ? v::kX509None : v::kTLSNone);
    }
    c.plain_enabled =
        static_cast<bool>(s.check_plain) && (s.allowed & (kSecTlsPlain | kSecX509Plain)) != 0;
    const bool clear_allowed = (s.allowed & (passwords ? kSecVncAuth : kSecNone)) != 0;
    c.offer_without_tls = clear_allowed && (!s.require_tls || c.vencrypt_subtypes.empty());
}

bool offers_anything(const rfb::ServerHandshakeConfig& c) {
    return c.offer_without_tls || !c.vencrypt_subtypes.empty();
}

rfb::HandshakeStep drive_viewer_handshake(rfb::ServerHandshake& hs, Connection& conn,
                                          const ViewerSecurity* maybe_security,
                                          std::vector<uint8_t>& held_reply,
                                          const std::function<void(rfb::AccessLevel)>& deliver) {
    static const ViewerSecurity kNone;
    const ViewerSecurity& security = maybe_security ? *maybe_security : kNone;
    std::vector<uint8_t> out;
    if (hs.expects_secret() && !conn.rx().empty() && security.observer &&
        security.observer->locked_out(conn.peer_address())) {
        // TigerVNC's words, as at accept: viewers and scripts know what they mean.
        rfb::HandshakeStep step = hs.refuse_secret("Too many security failures", out);
        if (!out.empty()) conn.send_copy(out);
        return step;
    }
    rfb::HandshakeStep step = hs.feed(conn.rx(), out);
    conn.consume(step.consumed);
    if (auto creds = hs.take_plain_check()) {
        auto verdict = std::make_shared<rfb::AccessLevel>(rfb::AccessLevel::kNone);
        auto work = [check = security.check_plain, creds = std::move(*creds), verdict]() mutable {
            if (check) *verdict = check(creds.first, creds.second);
            std::fill(creds.second.begin(), creds.second.end(), '\0');
        };
        if (security.offload)
            security.offload(std::move(work), [deliver, verdict] { deliver(*verdict); });
        else {
            work();
            hs.set_plain_result(*verdict);
            std::vector<uint8_t> more;
            step = hs.feed(conn.rx(), more);
            conn.consume(step.consumed);
            out.insert(out.end(), more.begin(), more.end());
        }
    }
    const bool secret_checked = hs.security_type() != rfb::security::kNone &&
                                !(hs.security_type() == rfb::security::kVeNCrypt &&
                                  (hs.vencrypt_subtype() == rfb::vencrypt::kTLSNone ||
                                   hs.vencrypt_subtype() == rfb::vencrypt::kX509None));
    if (step.status == rfb::HandshakeStep::kFailed && hs.auth_failed()) {
        held_reply = std::move(out);
        if (security.observer) security.observer->auth_result(conn.peer_address(), false);
        return step;
    }
    if (step.status == rfb::HandshakeStep::kDone && secret_checked && security.observer)
        security.observer->auth_result(conn.peer_address(), true);
    if (!out.empty()) conn.send_copy(out);
    std::fill(out.begin(), out.end(), 0);
    const rfb::TlsKind kind = hs.tls_needed();
    if (step.status != rfb::HandshakeStep::kContinue || kind == rfb::TlsKind::kNone) return step;
    std::shared_ptr<const TlsCredentials> credentials =
        kind == rfb::TlsKind::kX509 ? security.x509 : security.anonymous;
    std::string error;
    // No TLS below 1.2 for viewers: every viewer with VeNCrypt support speaks 1.2, and 1.0/1.1
    // have no AEAD suites. Anonymous key exchange exists only up to 1.2 (TigerVNC's defaults).
    TlsSessionOptions options;
    options.priority =
        kind == rfb::TlsKind::kX509
            ? "NORMAL:-VERS-TLS1.1:-VERS-TLS1.0"
            : "NORMAL:-KX-ALL:+ANON-ECDH:+ANON-DH:-VERS-TLS1.3:-VERS-TLS1.1:-VERS-TLS1.0";
    std::unique_ptr<TlsSession> tls =
        credentials ? TlsSession::create(credentials, options, &error) : nullptr;
    if (!tls) {
        step.status = rfb::HandshakeStep::kFailed;
        step.error = "cannot start TLS: " + (error.empty() ? std::string("no credentials") : error);
        return step;
    }
    conn.start_tls(std::move(tls));
    out.clear();
    hs.tls_started(out);  // the VNC challenge, inside TLS from here on
    if (!out.empty()) conn.send_copy(out);
    return step;
}

std::string viewer_security_name(const rfb::ServerHandshake& hs) {
    return rfb::security_name(hs.security_type(), hs.vencrypt_subtype());
}

}  // namespace rfbcast
