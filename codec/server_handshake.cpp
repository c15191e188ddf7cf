#include "codec/server_handshake.h"

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

uint8_t ServerHandshake::offered_type() const {
    return config_.credentials.empty() ? security::kNone : security::kVncAuth;
}

HandshakeStep ServerHandshake::failed(std::string log_reason) {
    state_ = State::kFailed;
    return HandshakeStep{HandshakeStep::kFailed, 0, std::move(log_reason)};
}

// SecurityResult "failed": 3.8 adds a reason string, 3.3 and 3.7 just close.
HandshakeStep ServerHandshake::security_failed(std::string log_reason, std::vector<uint8_t>& out) {
    ByteWriter w(out);
    w.u32(1);
    if (minor_ >= 8) write_string(w, kAuthFailedReason);
    return failed(std::move(log_reason));
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
    const uint8_t type = offered_type();
    if (minor_ == 3) {
        w.u32(type);  // 3.3: the server decides
        begin_security(type, out);
    } else {
        w.u8(1);
        w.u8(type);
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
                if (chosen != offered_type())
                    return security_failed("viewer chose security type " + std::to_string(chosen) +
                                               ", offered " + std::to_string(offered_type()),
                                           out);
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
                if (!match) return security_failed("VNC authentication failed", out);
                access_ = match->access;
                route_ = match->route;
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
