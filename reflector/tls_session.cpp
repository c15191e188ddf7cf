#include "reflector/tls_session.h"

#include <arpa/inet.h>
#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace rfbcast {

namespace {

// TigerVNC's choice for TLSNone/TLSVnc/TLSPlain: the defaults plus anonymous key exchange.
constexpr const char* kAnonPriority = "NORMAL:+ANON-ECDH:+ANON-DH";
constexpr const char* kX509Priority = "NORMAL";

std::string gnutls_message(int code) {
    const char* s = gnutls_strerror(code);
    return s ? s : "unknown GnuTLS error " + std::to_string(code);
}

bool is_ip_address(const std::string& s) {
    unsigned char buf[sizeof(in6_addr)];
    return inet_pton(AF_INET, s.c_str(), buf) == 1 || inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Credentials.

std::shared_ptr<const TlsCredentials> TlsCredentials::create(const TlsCredentialsConfig& config,
                                                             std::string* error) {
    std::shared_ptr<TlsCredentials> c(new TlsCredentials(config));
    auto fail = [&](std::string why) -> std::shared_ptr<const TlsCredentials> {
        if (error) *error = std::move(why);
        return nullptr;
    };
    int ret = 0;
    if (config.auth == TlsAuth::kAnonymous) {
        if (config.role == TlsRole::kClient) {
            ret = gnutls_anon_allocate_client_credentials(&c->anon_client_);
        } else {
            ret = gnutls_anon_allocate_server_credentials(&c->anon_server_);
            // ANON-DH needs a group; the RFC 7919 one of this size needs no generation time.
            if (ret == GNUTLS_E_SUCCESS)
                ret = gnutls_anon_set_server_known_dh_params(c->anon_server_,
                                                             GNUTLS_SEC_PARAM_MEDIUM);
        }
        if (ret != GNUTLS_E_SUCCESS)
            return fail("cannot set up anonymous TLS credentials: " + gnutls_message(ret));
        return c;
    }

    ret = gnutls_certificate_allocate_credentials(&c->cert_);
    if (ret != GNUTLS_E_SUCCESS)
        return fail("cannot set up TLS certificate credentials: " + gnutls_message(ret));
    if (config.role == TlsRole::kClient && !config.pin_sha256.empty()) {
        if (config.pin_sha256.size() != 32) return fail("a public key pin is 32 bytes of SHA-256");
        if (!config.ca_file.empty()) return fail("give a CA or a public key pin, not both");
        gnutls_certificate_set_verify_function(c->cert_, &TlsSession::verify_pin);
    } else if (config.role == TlsRole::kClient) {
        if (config.ca_file.empty())
            return fail("X509 TLS needs CA certificates to verify the server against");
        if (config.ca_file == "system") {
            ret = gnutls_certificate_set_x509_system_trust(c->cert_);
            if (ret < 0)
                return fail("cannot load the system CA certificates: " + gnutls_message(ret));
            if (ret == 0) return fail("the system CA store holds no certificates");
        } else {
            ret = gnutls_certificate_set_x509_trust_file(c->cert_, config.ca_file.c_str(),
                                                         GNUTLS_X509_FMT_PEM);
            if (ret < 0)
                return fail("cannot load CA file " + config.ca_file + ": " + gnutls_message(ret));
            if (ret == 0) return fail("CA file " + config.ca_file + " holds no PEM certificate");
        }
    } else {
        if (config.cert_file.empty() || config.key_file.empty())
            return fail("X509 TLS as a server needs a certificate and a key file");
        ret = gnutls_certificate_set_x509_key_file(c->cert_, config.cert_file.c_str(),
                                                   config.key_file.c_str(), GNUTLS_X509_FMT_PEM);
        if (ret < 0)
            return fail("cannot load certificate " + config.cert_file + " with key " +
                        config.key_file + ": " + gnutls_message(ret));
        // For DHE key exchange with TLS 1.2 clients that ask for it.
        ret = gnutls_certificate_set_known_dh_params(c->cert_, GNUTLS_SEC_PARAM_MEDIUM);
        if (ret < 0) return fail("cannot set DH parameters: " + gnutls_message(ret));
    }
    return c;
}

TlsCredentials::~TlsCredentials() {
    if (anon_client_) gnutls_anon_free_client_credentials(anon_client_);
    if (anon_server_) gnutls_anon_free_server_credentials(anon_server_);
    if (cert_) gnutls_certificate_free_credentials(cert_);
}

// ---------------------------------------------------------------------------------------------
// Session.

TlsSession::TlsSession(std::shared_ptr<const TlsCredentials> credentials, TlsSessionOptions options)
    : credentials_(std::move(credentials)), options_(std::move(options)) {}

TlsSession::~TlsSession() {
    if (session_) gnutls_deinit(session_);
}

std::unique_ptr<TlsSession> TlsSession::create(std::shared_ptr<const TlsCredentials> credentials,
                                               const TlsSessionOptions& options,
                                               std::string* error) {
    auto fail = [&](std::string why) -> std::unique_ptr<TlsSession> {
        if (error) *error = std::move(why);
        return nullptr;
    };
    if (!credentials) return fail("no TLS credentials");
    std::unique_ptr<TlsSession> s(new TlsSession(credentials, options));
    const bool client = credentials->role() == TlsRole::kClient;
    const bool anon = credentials->auth() == TlsAuth::kAnonymous;
    // NONBLOCK: GnuTLS must never wait itself (and sets no handshake timer of its own).
    int ret = gnutls_init(&s->session_, (client ? GNUTLS_CLIENT : GNUTLS_SERVER) | GNUTLS_NONBLOCK);
    if (ret != GNUTLS_E_SUCCESS) return fail("gnutls_init: " + gnutls_message(ret));

    const std::string priority =
        !options.priority.empty() ? options.priority : (anon ? kAnonPriority : kX509Priority);
    const char* bad = nullptr;
    ret = gnutls_priority_set_direct(s->session_, priority.c_str(), &bad);
    if (ret != GNUTLS_E_SUCCESS)
        return fail("TLS priority string \"" + priority + "\" rejected" +
                    (bad ? std::string(" at \"") + bad + "\"" : std::string()) + ": " +
                    gnutls_message(ret));

    if (anon) {
        ret = client
                  ? gnutls_credentials_set(s->session_, GNUTLS_CRD_ANON, credentials->anon_client_)
                  : gnutls_credentials_set(s->session_, GNUTLS_CRD_ANON, credentials->anon_server_);
    } else {
        ret = gnutls_credentials_set(s->session_, GNUTLS_CRD_CERTIFICATE, credentials->cert_);
    }
    if (ret != GNUTLS_E_SUCCESS) return fail("gnutls_credentials_set: " + gnutls_message(ret));

    if (client && !anon) {
        // GnuTLS then verifies the chain (and the name) inside the handshake, which fails with
        // GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR before any application data is exchanged.
        // GnuTLS keeps the pointer, not a copy: it must be the session's own string.
        const std::string& host = s->options_.hostname;
        if (!host.empty() && !is_ip_address(host)) {
            ret = gnutls_server_name_set(s->session_, GNUTLS_NAME_DNS, host.data(), host.size());
            if (ret != GNUTLS_E_SUCCESS)
                return fail("cannot set TLS server name: " + gnutls_message(ret));
        }
        // With a pin the key is what is checked (verify_pin), not a chain or a name.
        if (credentials->config().pin_sha256.empty())
            gnutls_session_set_verify_cert(s->session_, host.empty() ? nullptr : host.c_str(), 0);
    }
    gnutls_session_set_ptr(s->session_, s.get());

    gnutls_transport_set_ptr(s->session_, s.get());
    gnutls_transport_set_push_function(s->session_, &TlsSession::push);
    gnutls_transport_set_pull_function(s->session_, &TlsSession::pull);
    // The default would select() on the transport pointer as if it were a file descriptor.
    gnutls_transport_set_pull_timeout_function(s->session_, &TlsSession::pull_timeout);
    return s;
}

ssize_t TlsSession::push(void* self, const void* data, size_t len) {
    auto* s = static_cast<TlsSession*>(self);
    if (s->out_.size() + len > s->options_.max_output) {
        s->output_overflow_ = true;
        gnutls_transport_set_errno(s->session_, ENOBUFS);
        return -1;
    }
    const auto* p = static_cast<const uint8_t*>(data);
    s->out_.insert(s->out_.end(), p, p + len);
    return static_cast<ssize_t>(len);
}

ssize_t TlsSession::pull(void* self, void* data, size_t len) {
    auto* s = static_cast<TlsSession*>(self);
    const size_t avail = s->in_.size() - s->in_pos_;
    if (avail == 0) {
        gnutls_transport_set_errno(s->session_, EAGAIN);
        return -1;
    }
    const size_t n = std::min(len, avail);
    std::memcpy(data, s->in_.data() + s->in_pos_, n);
    s->in_pos_ += n;
    return static_cast<ssize_t>(n);
}

int TlsSession::pull_timeout(void* self, unsigned /*ms*/) {
    auto* s = static_cast<TlsSession*>(self);
    return s->in_pos_ < s->in_.size() ? 1 : 0;
}

// The server's certificate carries the pinned key, or the handshake fails.
int TlsSession::verify_pin(gnutls_session_int* session) {
    auto* self = static_cast<TlsSession*>(gnutls_session_get_ptr(session));
    if (!self) return GNUTLS_E_CERTIFICATE_ERROR;
    unsigned count = 0;
    const gnutls_datum_t* chain = gnutls_certificate_get_peers(session, &count);
    if (!chain || count == 0) return GNUTLS_E_CERTIFICATE_ERROR;
    gnutls_pubkey_t key = nullptr;
    if (gnutls_pubkey_init(&key) != GNUTLS_E_SUCCESS) return GNUTLS_E_CERTIFICATE_ERROR;
    unsigned char id[64];
    size_t id_size = sizeof id;
    const bool ok =
        gnutls_pubkey_import_x509_raw(key, &chain[0], GNUTLS_X509_FMT_DER, 0) == GNUTLS_E_SUCCESS &&
        gnutls_pubkey_get_key_id(key, GNUTLS_KEYID_USE_SHA256, id, &id_size) == GNUTLS_E_SUCCESS &&
        id_size == 32 && std::memcmp(id, self->credentials_->config().pin_sha256.data(), 32) == 0;
    gnutls_pubkey_deinit(key);
    if (!ok) self->error_detail_ = "the server's public key does not match the pinned one";
    return ok ? 0 : GNUTLS_E_CERTIFICATE_ERROR;
}

bool parse_public_key_pin(const std::string& text, std::string& out, std::string& error) {
    std::string b64 = text;
    for (const char* prefix : {"pin-sha256:", "sha256:"})
        if (b64.rfind(prefix, 0) == 0) b64 = b64.substr(std::strlen(prefix));
    gnutls_datum_t in{reinterpret_cast<unsigned char*>(b64.data()),
                      static_cast<unsigned>(b64.size())};
    gnutls_datum_t raw{};
    if (gnutls_base64_decode2(&in, &raw) != GNUTLS_E_SUCCESS || raw.size != 32) {
        if (raw.data) gnutls_free(raw.data);
        error = "a public key pin is pin-sha256:<base64 of 32 bytes> (gnutls-cli prints it)";
        return false;
    }
    out.assign(reinterpret_cast<const char*>(raw.data), raw.size);
    gnutls_free(raw.data);
    return true;
}

bool TlsSession::set_error(int code, const char* what) {
    failed_ = true;
    std::string msg = std::string(what) + ": " + gnutls_message(code);
    if (output_overflow_)
        msg += " (TLS output over its cap of " + std::to_string(options_.max_output) + " bytes)";
    if (code == GNUTLS_E_FATAL_ALERT_RECEIVED || code == GNUTLS_E_WARNING_ALERT_RECEIVED) {
        const char* alert = gnutls_alert_get_name(gnutls_alert_get(session_));
        if (alert) msg += std::string(" (peer's alert: ") + alert + ")";
    }
    if (!error_detail_.empty()) msg += " (" + error_detail_ + ")";
    if (code == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR) {
        const unsigned status = gnutls_session_get_verify_cert_status(session_);
        gnutls_datum_t text{};
        if (gnutls_certificate_verification_status_print(
                status, gnutls_certificate_type_get(session_), &text, 0) == GNUTLS_E_SUCCESS &&
            text.data) {
            msg += std::string(" (") + reinterpret_cast<const char*>(text.data) + ")";
            gnutls_free(text.data);
        }
    }
    error_ = std::move(msg);
    return false;
}

TlsSession::ReadResult TlsSession::read(std::span<const uint8_t> in, uint8_t* plain, size_t room) {
    ReadResult r;
    if (failed_) {
        r.failed = true;
        return r;
    }
    in_ = in;
    in_pos_ = 0;
    auto finish = [&] {
        r.consumed = in_pos_;
        in_ = {};
        in_pos_ = 0;
        return r;
    };
    while (!handshake_done_) {
        const int ret = gnutls_handshake(session_);
        if (ret == GNUTLS_E_SUCCESS) {
            handshake_done_ = true;
            r.handshake_completed = true;
        } else if (ret == GNUTLS_E_AGAIN || ret == GNUTLS_E_INTERRUPTED) {
            return finish();  // the input is used up: wait for more
        } else if (gnutls_error_is_fatal(ret)) {
            set_error(ret, "TLS handshake failed");
            // Tell the peer why (bad certificate, handshake failure...): it lands in the output.
            gnutls_alert_send_appropriate(session_, ret);
            r.failed = true;
            return finish();
        }
        // Non-fatal (a warning alert): carry on with the handshake.
    }
    while (r.produced < room) {
        const ssize_t n = gnutls_record_recv(session_, plain + r.produced, room - r.produced);
        if (n > 0) {
            r.produced += static_cast<size_t>(n);
        } else if (n == 0) {
            r.closed = true;
            break;
        } else if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED) {
            break;
        } else if (n == GNUTLS_E_REHANDSHAKE) {
            // TLS 1.2 renegotiation asked by the server: declining is allowed (and safer).
            continue;
        } else if (gnutls_error_is_fatal(static_cast<int>(n))) {
            set_error(static_cast<int>(n), "TLS receive failed");
            gnutls_alert_send_appropriate(session_, static_cast<int>(n));
            r.failed = true;
            break;
        }
    }
    return finish();
}

bool TlsSession::write(std::span<const uint8_t> plaintext) {
    if (failed_) return false;
    if (!handshake_done_) {
        failed_ = true;
        error_ = "TLS write before the handshake finished";
        return false;
    }
    size_t off = 0;
    while (off < plaintext.size()) {
        const ssize_t n =
            gnutls_record_send(session_, plaintext.data() + off, plaintext.size() - off);
        if (n > 0) {
            off += static_cast<size_t>(n);
        } else if (n != GNUTLS_E_INTERRUPTED) {
            // The push function never says EAGAIN, so anything else is final.
            return set_error(n == 0 ? GNUTLS_E_INTERNAL_ERROR : static_cast<int>(n),
                             "TLS send failed");
        }
    }
    return true;
}

void TlsSession::cork() {
    if (!failed_) gnutls_record_cork(session_);
}

bool TlsSession::uncork() {
    if (failed_) return false;
    const int ret = gnutls_record_uncork(session_, GNUTLS_RECORD_WAIT);
    if (ret < 0) return set_error(ret, "TLS send failed");
    return true;
}

void TlsSession::close_notify() {
    if (!failed_ && handshake_done_) gnutls_bye(session_, GNUTLS_SHUT_WR);
}

std::vector<uint8_t> TlsSession::take_output() {
    std::vector<uint8_t> out;
    out.swap(out_);
    return out;
}

bool TlsSession::pending() const {
    return handshake_done_ && !failed_ && gnutls_record_check_pending(session_) > 0;
}

std::string TlsSession::description() const {
    if (!handshake_done_) return "handshake in progress";
    char* d = gnutls_session_get_desc(session_);
    if (!d) return "unknown";
    std::string s(d);
    gnutls_free(d);
    return s;
}

}  // namespace rfbcast
