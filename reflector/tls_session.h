#pragma once
#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

// GnuTLS behind a sans-I/O object: ciphertext in and out through memory, never a socket, so the
// same session runs inside Connection (io_uring) and in unit tests with two sessions wired
// back to back. Used for the upstream's VeNCrypt (client role) and, later, for viewers (server).

// GnuTLS's opaque types, so that including this header does not pull in <gnutls/gnutls.h>.
struct gnutls_session_int;
struct gnutls_anon_client_credentials_st;
struct gnutls_anon_server_credentials_st;
struct gnutls_certificate_credentials_st;

namespace rfbcast {

enum class TlsRole { kClient, kServer };
// kAnonymous: (EC)DH without certificates, what TigerVNC's TLSNone/TLSVnc/TLSPlain use; it keeps
// passive listeners out but not a man in the middle. kX509: certificates, verified by the client.
enum class TlsAuth { kAnonymous, kX509 };

struct TlsCredentialsConfig {
    TlsRole role = TlsRole::kClient;
    TlsAuth auth = TlsAuth::kAnonymous;
    // Client, X509: PEM file of trusted CA certificates, or "system" for the system store.
    std::string ca_file = {};
    // Server, X509: PEM certificate chain and its private key.
    std::string cert_file = {}, key_file = {};
    // Client, X509: instead of a CA, the SHA-256 of the server's public key (SubjectPublicKeyInfo,
    // the 32 bytes gnutls-cli prints base64-encoded as "pin-sha256"): the server is trusted
    // exactly when its certificate carries that key, self-signed or not.
    std::string pin_sha256 = {};
};

// Parses "pin-sha256:BASE64" (or "sha256:BASE64", or the base64 alone) into 32 raw bytes.
bool parse_public_key_pin(const std::string& text, std::string& out, std::string& error);

// Loaded once (files read, keys parsed) and shared by every session that uses them; immutable
// afterwards, so a reload makes a new object and sessions in progress keep the old one.
class TlsCredentials {
  public:
    // nullptr and `error` (naming the file and GnuTLS's reason) when a file cannot be used.
    static std::shared_ptr<const TlsCredentials> create(const TlsCredentialsConfig& config,
                                                        std::string* error);
    ~TlsCredentials();
    TlsCredentials(const TlsCredentials&) = delete;
    TlsCredentials& operator=(const TlsCredentials&) = delete;

    TlsRole role() const { return config_.role; }
    TlsAuth auth() const { return config_.auth; }
    const TlsCredentialsConfig& config() const { return config_; }

  private:
    explicit TlsCredentials(TlsCredentialsConfig config) : config_(std::move(config)) {}
    friend class TlsSession;

    TlsCredentialsConfig config_;
    gnutls_anon_client_credentials_st* anon_client_ = nullptr;
    gnutls_anon_server_credentials_st* anon_server_ = nullptr;
    gnutls_certificate_credentials_st* cert_ = nullptr;
};

struct TlsSessionOptions {
    // Client, X509: the name the server's certificate must carry (a DNS name or an IP address;
    // also sent as SNI when it is a DNS name). Empty: the chain is verified, the name is not.
    std::string hostname;
    // GnuTLS priority string; empty: "NORMAL" for X509 and TigerVNC's "NORMAL:+ANON-ECDH:+ANON-DH"
    // for anonymous sessions (anonymous key exchange exists only up to TLS 1.2; X509 sessions
    // negotiate TLS 1.3 when the peer has it).
    std::string priority;
    // Caps. Ciphertext waiting to be taken by the caller (it takes it after every call, so this
    // only trips on a bug or a flood of post-handshake messages).
    size_t max_output = 4 * 1024 * 1024;
};

class TlsSession {
  public:
    static std::unique_ptr<TlsSession> create(std::shared_ptr<const TlsCredentials> credentials,
                                              const TlsSessionOptions& options, std::string* error);
    ~TlsSession();
    TlsSession(const TlsSession&) = delete;
    TlsSession& operator=(const TlsSession&) = delete;

    struct ReadResult {
        size_t consumed = 0;  // ciphertext taken from `in` (GnuTLS keeps partial records itself)
        size_t produced = 0;  // plaintext written to `plain`
        bool handshake_completed = false;  // the handshake finished during this call
        bool closed = false;               // the peer sent close_notify
        bool failed = false;               // see error()
    };
    // Runs the handshake as far as the input allows, then decrypts into plain[0, room). Call it
    // with an empty `in` to start (a client's first flight) or to drain plaintext GnuTLS kept
    // back when `room` ran out (pending()). Output it produced is waiting in output().
    ReadResult read(std::span<const uint8_t> in, uint8_t* plain, size_t room);

    // Encrypts application data (only after the handshake). Between cork() and uncork() records
    // are filled to the maximum size instead of one per write. False on failure (see error()).
    bool write(std::span<const uint8_t> plaintext);
    void cork();
    bool uncork();
    // Appends a close_notify alert to the output (best effort).
    void close_notify();

    // Ciphertext produced so far (handshake messages, records, alerts): send it in this order.
    // After a failure it may hold the alert telling the peer why.
    bool has_output() const { return !out_.empty(); }
    std::vector<uint8_t> take_output();

    bool handshake_done() const { return handshake_done_; }
    // Decrypted bytes GnuTLS holds because the last read() ran out of room.
    bool pending() const;
    bool failed() const { return failed_; }
    // GnuTLS's message, and for a rejected certificate the verification status in words.
    const std::string& error() const { return error_; }
    // E.g. "(TLS1.3)-(ECDHE-SECP256R1)-(RSA-PSS-RSAE-SHA256)-(AES-256-GCM)" once established.
    std::string description() const;
    TlsAuth auth() const { return credentials_->auth(); }
    TlsRole role() const { return credentials_->role(); }

  private:
    TlsSession(std::shared_ptr<const TlsCredentials> credentials, TlsSessionOptions options);
    bool set_error(int code, const char* what);
    static ssize_t push(void* self, const void* data, size_t len);
    static ssize_t pull(void* self, void* data, size_t len);
    static int pull_timeout(void* self, unsigned ms);
    friend class TlsCredentials;  // installs verify_pin
    static int verify_pin(gnutls_session_int* session);

    std::shared_ptr<const TlsCredentials> credentials_;
    TlsSessionOptions options_;
    gnutls_session_int* session_ = nullptr;
    std::span<const uint8_t> in_;  // ciphertext offered to the current read()
    size_t in_pos_ = 0;
    std::vector<uint8_t> out_;
    bool handshake_done_ = false;
    bool failed_ = false;
    bool output_overflow_ = false;
    std::string error_;
    std::string error_detail_;  // set by verify_pin
};

}  // namespace rfbcast
