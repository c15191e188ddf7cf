#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

// The RFB handshake seen from the server side (rfbcast talking to a viewer): ProtocolVersion,
// security (None or VNC Authentication), SecurityResult, ClientInit. Pure: bytes in, bytes to
// send out; the challenge is chosen by the caller.
namespace rfb {

inline constexpr size_t kProtocolVersionSize = 12;

struct ProtocolVersion {
    int major = 0, minor = 0;
};
// Parses exactly "RFB xxx.yyy\n" (three decimal digits each). False for anything else.
bool parse_protocol_version(std::span<const uint8_t> msg, ProtocolVersion& out);

// Outcome of feeding bytes to a handshake. `consumed` counts whole handshake messages only:
// bytes of a message that is not complete yet stay unconsumed, and bytes after the last
// handshake message (a viewer may pipeline its first messages) are never consumed.
struct HandshakeStep {
    enum Status {
        kContinue,  // waiting for more bytes; send `out` meanwhile
        kDone,      // finished; bytes after `consumed` belong to the normal protocol
        kFailed,    // send `out` (possibly empty), then close; `error` is for the log
    } status = kContinue;
    size_t consumed = 0;
    std::string error;
};

enum class AccessLevel { kNone, kViewOnly, kFull };

// The transport a VeNCrypt sub-type asks for.
enum class TlsKind { kNone, kAnonymous, kX509 };

// VeNCrypt Plain: the access a username and password grant (kNone: refused). It must take the
// same time whether or not the user exists, and may be slow (a password hash): the handshake
// hands the credentials out with take_plain_check() and waits for set_plain_result().
using PlainCheck = std::function<AccessLevel(std::string_view user, std::string_view password)>;

// Longest username and password a viewer may send for Plain.
inline constexpr size_t kMaxPlainField = 1024;

// A password a viewer may answer the VNC Authentication challenge with, the access it grants and
// which session it leads to (one port may serve several sessions told apart by password).
struct Credential {
    std::string password;
    AccessLevel access = AccessLevel::kFull;
    size_t route = 0;
};

struct ServerHandshakeConfig {
    // No password at all -> security type None, with `none_access` for everyone.
    std::optional<std::string> full_password, viewonly_password;  // route 0
    std::array<uint8_t, 16> challenge{};  // fresh random bytes for every connection
    std::vector<Credential> credentials;  // more passwords, checked as well
    AccessLevel none_access = AccessLevel::kFull;
    // Set: every viewer is refused with this reason right after the version exchange, in the
    // failure format of its version (a full session, an unknown repeater ID...).
    std::optional<std::string> refuse_reason;

    // VeNCrypt (security type 19, offered first when not empty): its sub-types in preference
    // order (vencrypt::kTLSNone ... kX509Plain; plain-text Plain and None are never offered).
    // The caller starts TLS of the kind tls_needed() names, then calls tls_started().
    std::vector<uint32_t> vencrypt_subtypes;
    // Also offer None / VNC Authentication outside TLS; false: TLS is required (3.3 viewers,
    // which cannot choose VeNCrypt, are refused with a reason).
    bool offer_without_tls = true;
    bool plain_enabled = false;  // offer the Plain sub-types (the caller checks the users)
};

class ServerHandshake {
  public:
    explicit ServerHandshake(ServerHandshakeConfig config);

    // Appends the server's ProtocolVersion ("RFB 003.008\n"). Call once, before feed().
    void start(std::vector<uint8_t>& out);
    // Consumes what the viewer sent and appends the replies to `out`. Done after ClientInit;
    // the caller then writes ServerInit (write_server_init in server_messages.h).
    HandshakeStep feed(std::span<const uint8_t> in, std::vector<uint8_t>& out);

    // 3, 7 or 8 once the viewer's version is known (3.4-3.6 count as 3, above 3.8 as 8); 0 before.
    int minor_version() const { return minor_; }
    // kFull / kViewOnly after a successful handshake (None grants kFull); kNone otherwise.
    AccessLevel access() const { return state_ == State::kDone ? access_ : AccessLevel::kNone; }
    bool shared_flag() const { return shared_; }
    // A VeNCrypt TLS sub-type was accepted: start TLS of this kind on the connection (after
    // sending what feed() returned), then call tls_started(). kNone otherwise.
    TlsKind tls_needed() const { return state_ == State::kTlsPending ? tls_kind_ : TlsKind::kNone; }
    void tls_started(std::vector<uint8_t>& out);
    // Plain: once the viewer has sent its username and password, they are handed out here,
    // once (the handshake keeps no copy); the caller checks them, wherever it likes, and calls
    // set_plain_result(), then feed() again.
    std::optional<std::pair<std::string, std::string>> take_plain_check();
    void set_plain_result(AccessLevel granted);
    // The VeNCrypt sub-type chosen (0 without VeNCrypt).
    uint32_t vencrypt_subtype() const { return subtype_; }
    // The handshake failed because a password or user was wrong (what lockout counts), not
    // because of a protocol error.
    bool auth_failed() const { return auth_failed_; }
    // The Plain username the viewer authenticated as ("" otherwise), for the log.
    const std::string& username() const { return username_; }
    // The route of the credential the viewer answered with (0 for None).
    size_t route() const { return route_; }
    uint8_t security_type() const { return security_type_; }
    // What feed() checks next is a secret (the VNC response or Plain's credentials): a caller
    // may refuse first, e.g. when the address was locked out after this viewer connected.
    bool expects_secret() const {
        return state_ == State::kAuthResponse || state_ == State::kPlainLengths ||
               state_ == State::kPlainCredentials;
    }
    // Fails the handshake without checking the secret: SecurityResult "failed" with `reason`
    // (3.8 only; older viewers are just closed). Not an authentication failure.
    HandshakeStep refuse_secret(std::string_view reason, std::vector<uint8_t>& out);

  private:
    enum class State {
        kNotStarted,
        kVersion,
        kSecurityType,
        kAuthResponse,
        kVeNCryptVersion,  // the viewer's VeNCrypt version (2 bytes)
        kVeNCryptChoice,   // the sub-type it chose (U32)
        kTlsPending,       // waiting for the caller to switch to TLS
        kPlainLengths,     // Plain: username and password lengths
        kPlainCredentials,
        kPlainPending,  // waiting for the caller's verdict on the credentials
        kClientInit,
        kDone,
        kFailed
    };

    uint8_t offered_type() const;
    std::vector<uint8_t> offered_types() const;
    void begin_subtype_auth(std::vector<uint8_t>& out);
    HandshakeStep auth_failure(std::string log_reason, std::vector<uint8_t>& out);
    HandshakeStep on_version(std::span<const uint8_t> msg, std::vector<uint8_t>& out);
    void begin_security(uint8_t type, std::vector<uint8_t>& out);
    HandshakeStep security_failed(std::string log_reason, std::vector<uint8_t>& out,
                                  std::string_view reason = {});
    HandshakeStep failed(std::string log_reason);

    ServerHandshakeConfig config_;
    State state_ = State::kNotStarted;
    int minor_ = 0;
    uint8_t security_type_ = 0;
    AccessLevel access_ = AccessLevel::kNone;
    bool shared_ = false;
    size_t route_ = 0;
    uint32_t subtype_ = 0;
    TlsKind tls_kind_ = TlsKind::kNone;
    bool auth_failed_ = false;
    uint32_t plain_user_len_ = 0, plain_pass_len_ = 0;
    std::string username_;
    std::optional<std::pair<std::string, std::string>> plain_check_;
    std::optional<AccessLevel> plain_result_;
};

}  // namespace rfb
