#include "codec/server_handshake.h"

#include <algorithm>
#include <cctype>
#include <utility>

#include "codec/byte_writer.h"
#include "codec/rfb_constants.h"
#include "codec/vnc_auth.h"

namespace rfb {

namespace {

constexpr char kServerVersion[] = "RFB 003.008\n";
// What a viewer is told when authentication fails: deliberately says nothing more.
constexpr std::string_view kAuthFailedReason = "Authentication failed";

bool digits3(std::span<const uint8_t> s, int& v) {
    v = 0;
    for (uint8_t c : s) {
        if (c < '0' || c > '9') return false;
        v = v * 10 + (c - '0');
    }
    return true;
}

void write_string(ByteWriter& w, std::string_view s) {
    w.u32(static_cast<uint32_t>(s.size()));
    w.text(s);
}

}  // namespace

bool parse_protocol_version(std::span<const uint8_t> m, ProtocolVersion& out) {
    if (m.size() != kProtocolVersionSize) return false;
    if (m[0] != 'R' || m[1] != 'F' || m[2] != 'B' || m[3] != ' ' || m[7] != '.' || m[11] != '\n')
        return false;
    ProtocolVersion v;
    if (!digits3(m.subspan(4, 3), v.major) || !digits3(m.subspan(8, 3), v.minor)) return false;
    out = v;
    return true;
}

ServerHandshake::ServerHandshake(ServerHandshakeConfig config) : config_(std::move(config)) {
    // One list to check, whichever way the passwords were given.
    if (config_.viewonly_password)
        config_.credentials.insert(
            config_.credentials.begin(),
            Credential{*config_.viewonly_password, AccessLevel::kViewOnly, 0});
    if (config_.full_password)
        config_.credentials.insert(config_.credentials.begin(),
                                   Credential{*config_.full_password, AccessLevel::kFull, 0});
}

void ServerHandshake::start(std::vector<uint8_t>& out) {
    if (state_ != State::kNotStarted) return;
    ByteWriter(out).text(std::string_view(kServerVersion, kProtocolVersionSize));
    state_ = State::kVersion;
}

// The classic type, outside TLS: VNC Authentication when there are passwords, else None.
uint8_t ServerHandshake::offered_type() const {
    return config_.credentials.empty() ? security::kNone : security::kVncAuth;
}

std::vector<uint8_t> ServerHandshake::offered_types() const {
    if (config_.vencrypt_subtypes.empty()) return {offered_type()};
    if (config_.offer_without_tls) return {security::kVeNCrypt, offered_type()};
    return {security::kVeNCrypt};
}

namespace {

// The server offers only the six TLS sub-types; anything else comes out with no transport, which
// is refused.
struct TlsSubtypeParts {
    TlsKind transport = TlsKind::kNone;
    enum Auth { kNone, kVnc, kPlain } auth = kNone;
};

TlsSubtypeParts tls_subtype_parts(uint32_t t) {
    switch (t) {
        case vencrypt::kTLSNone:
            return {TlsKind::kAnonymous, TlsSubtypeParts::kNone};
        case vencrypt::kTLSVnc:
            return {TlsKind::kAnonymous, TlsSubtypeParts::kVnc};
        case vencrypt::kTLSPlain:
            return {TlsKind::kAnonymous, TlsSubtypeParts::kPlain};
        case vencrypt::kX509None:
            return {TlsKind::kX509, TlsSubtypeParts::kNone};
        case vencrypt::kX509Vnc:
            return {TlsKind::kX509, TlsSubtypeParts::kVnc};
        case vencrypt::kX509Plain:
            return {TlsKind::kX509, TlsSubtypeParts::kPlain};
        default:
            return {};
    }
}

}  // namespace

HandshakeStep ServerHandshake::auth_failure(std::string log_reason, std::vector<uint8_t>& out) {
    auth_failed_ = true;
    return security_failed(std::move(log_reason), out);
}

// After TLS is up (or right after the choice, for sub-types without TLS): the sub-type's own
// authentication.
void ServerHandshake::begin_subtype_auth(std::vector<uint8_t>& out) {
    switch (tls_subtype_parts(subtype_).auth) {
        case TlsSubtypeParts::kVnc:
            ByteWriter(out).bytes(config_.challenge);
            state_ = State::kAuthResponse;
            return;
        case TlsSubtypeParts::kPlain:
            state_ = State::kPlainLengths;
            return;
        default:
            // VeNCrypt is not type None: a SecurityResult follows in 3.7 as well.
            ByteWriter(out).u32(0);
            access_ = config_.none_access;
            state_ = State::kClientInit;
            return;
    }
}

std::optional<std::pair<std::string, std::string>> ServerHandshake::take_plain_check() {
    std::optional<std::pair<std::string, std::string>> c = std::move(plain_check_);
    plain_check_.reset();
    return c;
}

void ServerHandshake::set_plain_result(AccessLevel granted) {
    if (state_ == State::kPlainPending) plain_result_ = granted;
}

void ServerHandshake::tls_started(std::vector<uint8_t>& out) {
    if (state_ != State::kTlsPending) return;
    begin_subtype_auth(out);
}

HandshakeStep ServerHandshake::failed(std::string log_reason) {
    state_ = State::kFailed;
    return HandshakeStep{HandshakeStep::kFailed, 0, std::move(log_reason)};
}

// SecurityResult "failed": 3.8 adds a reason string, 3.3 and 3.7 just close.
HandshakeStep ServerHandshake::security_failed(std::string log_reason, std::vector<uint8_t>& out,
                                               std::string_view reason) {
    ByteWriter w(out);
    w.u32(1);
    if (minor_ >= 8) write_string(w, reason.empty() ? kAuthFailedReason : reason);
    return failed(std::move(log_reason));
}

HandshakeStep ServerHandshake::refuse_secret(std::string_view reason, std::vector<uint8_t>& out) {
    if (!expects_secret()) return failed(std::string(reason));
    return security_failed(std::string(reason), out, reason);
}

void ServerHandshake::begin_security(uint8_t type, std::vector<uint8_t>& out) {
    security_type_ = type;
    ByteWriter w(out);
    if (type == security::kVncAuth) {
        w.bytes(config_.challenge);
        state_ = State::kAuthResponse;
        return;
    }
    // None: only 3.8 confirms it with a SecurityResult.
    if (minor_ >= 8) w.u32(0);
    access_ = config_.none_access;
    state_ = State::kClientInit;
}

HandshakeStep ServerHandshake::on_version(std::span<const uint8_t> msg, std::vector<uint8_t>& out) {
    ProtocolVersion v;
    if (!parse_protocol_version(msg, v)) return failed("viewer sent no valid RFB ProtocolVersion");
    if (v.major < 3 || (v.major == 3 && v.minor < 3)) {
        // Tell it in the only failure format every version understands (3.3's).
        ByteWriter w(out);
        w.u32(0);
        write_string(w, "Unsupported RFB protocol version");
        return failed("viewer protocol version " + std::to_string(v.major) + "." +
                      std::to_string(v.minor) + " is too old");
    }
    if (v.major > 3 || v.minor >= 8)
        minor_ = 8;  // 3.889 (Apple) and anything newer speak 3.8 to us
    else if (v.minor == 7)
        minor_ = 7;
    else
        minor_ = 3;  // 3.3, and 3.4-3.6 which some clients misreport

    ByteWriter w(out);
    if (config_.refuse_reason) {
        // 3.3: security type 0 then the reason; 3.7+: an empty list of types then the reason.
        if (minor_ == 3)
            w.u32(0);
        else
            w.u8(0);
        write_string(w, *config_.refuse_reason);
        return failed("refused: " + *config_.refuse_reason);
    }
    const std::vector<uint8_t> types = offered_types();
    if (minor_ == 3) {
        // 3.3: the server decides, and VeNCrypt cannot be decided for the viewer.
        if (!config_.offer_without_tls) {
            w.u32(0);
            write_string(w, "This server requires TLS (VeNCrypt): RFB 3.3 viewers cannot use it");
            return failed("viewer speaks RFB 3.3, which has no VeNCrypt, and TLS is required");
        }
        w.u32(offered_type());
        begin_security(offered_type(), out);
    } else {
        w.u8(static_cast<uint8_t>(types.size()));
        for (uint8_t t : types)
            w.u8(t);
        state_ = State::kSecurityType;
    }
    return {};
}

HandshakeStep ServerHandshake::feed(std::span<const uint8_t> in, std::vector<uint8_t>& out) {
    size_t pos = 0;
    for (;;) {
        const std::span<const uint8_t> rest = in.subspan(pos);
        switch (state_) {
            case State::kNotStarted:
                return failed("handshake fed before start()");
            case State::kFailed:
                return HandshakeStep{HandshakeStep::kFailed, 0, "handshake already failed"};
            case State::kDone:
                return HandshakeStep{HandshakeStep::kDone, 0, {}};

            case State::kVersion: {
                if (rest.size() < kProtocolVersionSize)
                    return HandshakeStep{HandshakeStep::kContinue, pos, {}};
                HandshakeStep s = on_version(rest.first(kProtocolVersionSize), out);
                if (s.status == HandshakeStep::kFailed) return s;
                pos += kProtocolVersionSize;
                break;
            }
            case State::kSecurityType: {
                if (rest.empty()) return HandshakeStep{HandshakeStep::kContinue, pos, {}};
                const uint8_t chosen = rest[0];
                pos += 1;
                const std::vector<uint8_t> types = offered_types();
                if (std::find(types.begin(), types.end(), chosen) == types.end())
                    return security_failed("viewer chose security type " + std::to_string(chosen) +
                                               ", which was not offered",
                                           out);
                if (chosen == security::kVeNCrypt) {
                    security_type_ = chosen;
                    ByteWriter w(out);  // VeNCrypt 0.2, the only version in use
                    w.u8(0);
                    w.u8(2);
                    state_ = State::kVeNCryptVersion;
                    break;
                }
                begin_security(chosen, out);
                break;
            }
            case State::kAuthResponse: {
                if (rest.size() < kVncAuthChallengeSize)
                    return HandshakeStep{HandshakeStep::kContinue, pos, {}};
                const std::span<const uint8_t, 16> response(rest.data(), 16);
                pos += kVncAuthChallengeSize;
                // Check every password every time so timing does not tell which one matched.
                const Credential* match = nullptr;
                for (const Credential& c : config_.credentials)
                    if (vnc_auth_check(config_.challenge, response, c.password) && !match)
                        match = &c;
                if (!match) return auth_failure("VNC authentication failed", out);
                access_ = match->access;
                route_ = match->route;
                ByteWriter(out).u32(0);
                state_ = State::kClientInit;
                break;
            }
            case State::kVeNCryptVersion: {
                if (rest.size() < 2) return HandshakeStep{HandshakeStep::kContinue, pos, {}};
                const uint8_t major = rest[0], minor = rest[1];
                pos += 2;
                if (major != 0 || minor != 2) {
                    // Status 1 refuses the version; nothing else can follow.
                    ByteWriter(out).u8(1);
                    return failed("viewer asked for VeNCrypt " + std::to_string(major) + "." +
                                  std::to_string(minor) + ", only 0.2 is supported");
                }
                ByteWriter w(out);
                w.u8(0);
                w.u8(static_cast<uint8_t>(config_.vencrypt_subtypes.size()));
                for (uint32_t t : config_.vencrypt_subtypes)
                    w.u32(t);
                state_ = State::kVeNCryptChoice;
                break;
            }
            case State::kVeNCryptChoice: {
                if (rest.size() < 4) return HandshakeStep{HandshakeStep::kContinue, pos, {}};
                const uint32_t chosen = uint32_t{rest[0]} << 24 | uint32_t{rest[1]} << 16 |
                                        uint32_t{rest[2]} << 8 | rest[3];
                pos += 4;
                const auto& offered = config_.vencrypt_subtypes;
                if (std::find(offered.begin(), offered.end(), chosen) == offered.end() ||
                    tls_subtype_parts(chosen).transport == TlsKind::kNone) {
                    ByteWriter(out).u8(0);  // "not accepted"
                    return failed("viewer chose VeNCrypt sub-type " + std::to_string(chosen) +
                                  ", which was not offered");
                }
                if (tls_subtype_parts(chosen).auth == TlsSubtypeParts::kPlain &&
                    !config_.plain_enabled) {
                    ByteWriter(out).u8(0);
                    return failed("Plain chosen but no users are configured");
                }
                subtype_ = chosen;
                tls_kind_ = tls_subtype_parts(chosen).transport;
                ByteWriter(out).u8(1);  // accepted: TLS starts after this byte
                state_ = State::kTlsPending;
                return HandshakeStep{HandshakeStep::kContinue, pos, {}};
            }
            case State::kTlsPending:
                // Nothing more is read until the caller has switched to TLS.
                return HandshakeStep{HandshakeStep::kContinue, pos, {}};
            case State::kPlainLengths: {
                if (rest.size() < 8) return HandshakeStep{HandshakeStep::kContinue, pos, {}};
                plain_user_len_ = uint32_t{rest[0]} << 24 | uint32_t{rest[1]} << 16 |
                                  uint32_t{rest[2]} << 8 | rest[3];
                plain_pass_len_ = uint32_t{rest[4]} << 24 | uint32_t{rest[5]} << 16 |
                                  uint32_t{rest[6]} << 8 | rest[7];
                pos += 8;
                if (plain_user_len_ > kMaxPlainField || plain_pass_len_ > kMaxPlainField)
                    return security_failed("Plain username or password longer than " +
                                               std::to_string(kMaxPlainField) + " bytes",
                                           out);
                state_ = State::kPlainCredentials;
                break;
            }
            case State::kPlainCredentials: {
                const size_t need = size_t{plain_user_len_} + plain_pass_len_;
                if (rest.size() < need) return HandshakeStep{HandshakeStep::kContinue, pos, {}};
                const std::string_view user(reinterpret_cast<const char*>(rest.data()),
                                            plain_user_len_);
                const std::string_view password(
                    reinterpret_cast<const char*>(rest.data()) + plain_user_len_, plain_pass_len_);
                pos += need;
                plain_check_.emplace(std::string(user), std::string(password));
                // Only a plain name reaches the log: anything else could forge log fields.
                const bool printable = !user.empty() && user.size() <= 64 &&
                                       std::all_of(user.begin(), user.end(), [](char ch) {
                                           return std::isalnum(static_cast<unsigned char>(ch)) ||
                                                  ch == '_' || ch == '.' || ch == '-' || ch == '@';
                                       });
                username_ = printable ? std::string(user) : std::string("(unprintable)");
                state_ = State::kPlainPending;
                break;
            }
            case State::kPlainPending: {
                if (!plain_result_) return HandshakeStep{HandshakeStep::kContinue, pos, {}};
                const AccessLevel granted = *plain_result_;
                plain_result_.reset();
                if (granted == AccessLevel::kNone) {
                    username_.clear();
                    return auth_failure("Plain: wrong user or password", out);
                }
                access_ = granted;
                ByteWriter(out).u32(0);
                state_ = State::kClientInit;
                break;
            }
            case State::kClientInit: {
                if (rest.empty()) return HandshakeStep{HandshakeStep::kContinue, pos, {}};
                shared_ = rest[0] != 0;
                pos += 1;
                state_ = State::kDone;
                return HandshakeStep{HandshakeStep::kDone, pos, {}};
            }
        }
    }
}

}  // namespace rfb
