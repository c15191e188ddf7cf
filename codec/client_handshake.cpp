#include "codec/client_handshake.h"

#include <algorithm>
#include <cstdio>
#include <utility>

#include "codec/ard_auth.h"
#include "codec/byte_reader.h"
#include "codec/byte_writer.h"
#include "codec/rfb_constants.h"
#include "codec/vnc_auth.h"

namespace rfb {

namespace {

constexpr size_t kServerInitHeader = 24;  // width, height, pixel format, name length

// Server text ends up in logs: keep it on one line and free of terminal escapes.
std::string printable(std::span<const uint8_t> s) {
    std::string out;
    out.reserve(s.size());
    for (uint8_t c : s)
        out.push_back(c < 0x20 || c == 0x7f ? '?' : static_cast<char>(c));
    return out;
}

std::string types_list(std::span<const uint8_t> types) {
    std::string s;
    for (uint8_t t : types) {
        if (!s.empty()) s += ',';
        s += std::to_string(t);
    }
    return s.empty() ? "none" : s;
}

uint32_t subtype_at(std::span<const uint8_t> list, size_t i) {
    uint32_t v = 0;
    ByteReader r(list.subspan(i * 4, 4));
    r.u32(v);
    return v;
}

const char* subtype_name(uint32_t t) {
    switch (t) {
        case security::kNone:
            return "None";
        case security::kVncAuth:
            return "VncAuth";
        case vencrypt::kPlain:
            return "Plain";
        case vencrypt::kTLSNone:
            return "TLSNone";
        case vencrypt::kTLSVnc:
            return "TLSVnc";
        case vencrypt::kTLSPlain:
            return "TLSPlain";
        case vencrypt::kX509None:
            return "X509None";
        case vencrypt::kX509Vnc:
            return "X509Vnc";
        case vencrypt::kX509Plain:
            return "X509Plain";
        default:
            return nullptr;
    }
}

std::string subtype_text(uint32_t t) {
    const char* n = subtype_name(t);
    return n ? n : std::to_string(t);
}

// What a VeNCrypt sub-type is made of: its transport and the authentication inside it.
enum class SubAuth { kNone, kVnc, kPlain };
struct SubtypeParts {
    bool known = false;
    TlsKind transport = TlsKind::kNone;
    SubAuth auth = SubAuth::kNone;
};

// TigerVNC also lists the plain None and VncAuth types among the sub-types: they run as they
// would outside VeNCrypt, with no TLS.
SubtypeParts parts_of(uint32_t t) {
    switch (t) {
        case security::kNone:
            return {true, TlsKind::kNone, SubAuth::kNone};
        case security::kVncAuth:
            return {true, TlsKind::kNone, SubAuth::kVnc};
        case vencrypt::kPlain:
            return {true, TlsKind::kNone, SubAuth::kPlain};
        case vencrypt::kTLSNone:
            return {true, TlsKind::kAnonymous, SubAuth::kNone};
        case vencrypt::kTLSVnc:
            return {true, TlsKind::kAnonymous, SubAuth::kVnc};
        case vencrypt::kTLSPlain:
            return {true, TlsKind::kAnonymous, SubAuth::kPlain};
        case vencrypt::kX509None:
            return {true, TlsKind::kX509, SubAuth::kNone};
        case vencrypt::kX509Vnc:
            return {true, TlsKind::kX509, SubAuth::kVnc};
        case vencrypt::kX509Plain:
            return {true, TlsKind::kX509, SubAuth::kPlain};
        default:
            return {};
    }
}

void add_hint(std::string& hints, const std::string& h) {
    if (hints.find(h) != std::string::npos) return;
    hints += hints.empty() ? "" : "; ";
    hints += h;
}

}  // namespace

std::string security_name(uint8_t type, uint32_t vencrypt_subtype) {
    switch (type) {
        case security::kNone:
            return "None";
        case security::kVncAuth:
            return "VncAuth";
        case security::kAppleRemoteDesktop:
            return "ARD";
        case security::kVeNCrypt:
            return vencrypt_subtype ? "VeNCrypt/" + subtype_text(vencrypt_subtype) : "VeNCrypt";
        default:
            return "type " + std::to_string(type);
    }
}

ClientHandshake::ClientHandshake(ClientHandshakeConfig config) : config_(std::move(config)) {}

HandshakeStep ClientHandshake::fail(std::string reason) {
    state_ = State::kFailed;
    return HandshakeStep{HandshakeStep::kFailed, 0, std::move(reason)};
}

bool ClientHandshake::read_reason(std::span<const uint8_t> rest, std::string& reason, bool& bad) {
    bad = false;
    ByteReader r(rest);
    uint32_t len = 0;
    if (!r.u32(len)) return false;
    if (len > limits::kMaxReasonLength) {
        bad = true;
        return true;
    }
    std::span<const uint8_t> text;
    if (!r.bytes(len, text)) return false;
    reason = printable(text);
    return true;
}

// Strongest first: VeNCrypt (whose sub-types carry the TLS and X509 choices), then the
// authenticating types the credentials allow, then None. Under kRequire only VeNCrypt will do.
// Under kOff VeNCrypt is for its sub-types without TLS: before None only when plain-text Plain
// was allowed and can be used, else as a last resort (some servers offer nothing else).
// avoid_vencrypt demotes it to that last resort too.
uint8_t ClientHandshake::choose_type(std::span<const uint8_t> types, std::string& why) const {
    bool offered[256] = {};
    for (uint8_t t : types)
        offered[t] = true;
    const TlsPolicy policy = config_.tls;
    const bool vencrypt = offered[security::kVeNCrypt];
    if (vencrypt && policy == TlsPolicy::kRequire) return security::kVeNCrypt;
    if (vencrypt && policy == TlsPolicy::kPrefer && !config_.avoid_vencrypt)
        return security::kVeNCrypt;
    if (policy == TlsPolicy::kRequire) {
        why = "TLS is required and the server offers no VeNCrypt (offered types: " +
              types_list(types) + ")";
        return 0;
    }
    if (offered[security::kAppleRemoteDesktop] && ard_possible())
        return security::kAppleRemoteDesktop;
    if (offered[security::kVncAuth] && has_password()) return security::kVncAuth;
    if (vencrypt && config_.allow_plain_without_tls && has_user()) return security::kVeNCrypt;
    if (offered[security::kNone]) return security::kNone;
    if (vencrypt) return security::kVeNCrypt;
    if (offered[security::kVncAuth])
        why = "server requires VNC authentication and no password is set";
    else if (offered[security::kAppleRemoteDesktop])
        why =
            "server requires Apple Remote Desktop authentication and no username and "
            "password are set";
    else
        why = "server offers no supported security type (offered: " + types_list(types) + ")";
    return 0;
}

// Ranked by transport first (X509 over anonymous TLS over none), then by what the credentials
// allow inside it (Plain when a username is configured, then VNC authentication, then none).
uint32_t ClientHandshake::choose_subtype(std::span<const uint8_t> list, size_t count,
                                         std::string& why) const {
    const TlsPolicy policy = config_.tls;
    uint32_t best = 0;
    int best_rank = -1;
    std::string offered, hints;
    for (size_t i = 0; i < count; ++i) {
        const uint32_t t = subtype_at(list, i);
        offered += offered.empty() ? "" : ",";
        offered += subtype_text(t);
        const SubtypeParts p = parts_of(t);
        if (!p.known) continue;
        int transport_rank = 0;
        switch (p.transport) {
            case TlsKind::kX509:
                if (policy == TlsPolicy::kOff) {
                    add_hint(hints, "TLS is off");
                    continue;
                }
                if (!config_.x509_verifiable) {
                    add_hint(hints, "X509 needs a CA to verify the server's certificate");
                    continue;
                }
                transport_rank = 2;
                break;
            case TlsKind::kAnonymous:
                if (policy == TlsPolicy::kOff) {
                    add_hint(hints, "TLS is off");
                    continue;
                }
                if (policy == TlsPolicy::kRequire && config_.x509_verifiable) {
                    add_hint(hints, "anonymous TLS cannot be verified against the configured CA");
                    continue;
                }
                transport_rank = 1;
                break;
            case TlsKind::kNone:
                if (policy == TlsPolicy::kRequire) {
                    add_hint(hints, "TLS is required");
                    continue;
                }
                if (p.auth == SubAuth::kPlain && !config_.allow_plain_without_tls) {
                    add_hint(hints, "Plain without TLS is not allowed");
                    continue;
                }
                transport_rank = 0;
                break;
        }
        int auth_rank = 0;
        switch (p.auth) {
            case SubAuth::kNone:
                auth_rank = 0;
                break;
            case SubAuth::kVnc:
                if (!has_password()) {
                    add_hint(hints, "no password is set");
                    continue;
                }
                auth_rank = 1;
                break;
            case SubAuth::kPlain:
                if (!has_user()) {
                    add_hint(hints, "Plain needs a username and a password");
                    continue;
                }
                auth_rank = 2;
                break;
        }
        const int rank = transport_rank * 10 + auth_rank;
        if (rank > best_rank) {
            best_rank = rank;
            best = t;
        }
    }
    if (best == 0)
        why = "no usable VeNCrypt sub-type (offered: " + offered + ")" +
              (hints.empty() ? std::string() : ": " + hints);
    return best;
}

void ClientHandshake::send_client_init(std::vector<uint8_t>& out) {
    ByteWriter(out).u8(config_.shared ? 1 : 0);
    state_ = State::kServerInit;
}

void ClientHandshake::send_plain_credentials(std::vector<uint8_t>& out) {
    const std::string& user = *config_.username;
    const std::string& pass = *config_.password;
    ByteWriter w(out);
    w.u32(static_cast<uint32_t>(user.size()));
    w.u32(static_cast<uint32_t>(pass.size()));
    w.text(user);
    w.text(pass);
}

// After the security type (and for VeNCrypt the sub-type and its transport) is settled.
// SecurityResult follows every type but None before 3.8; VeNCrypt's sub-types count as their
// own types there, as in TigerVNC, so even TLSNone gets one.
void ClientHandshake::begin_auth(std::vector<uint8_t>& out) {
    switch (security_type_) {
        case security::kVncAuth:
            state_ = State::kChallenge;
            return;
        case security::kAppleRemoteDesktop:
            state_ = State::kArdServerMessage;
            return;
        case security::kVeNCrypt:
            switch (parts_of(subtype_).auth) {
                case SubAuth::kNone:
                    // Sub-type None counts as None itself: no SecurityResult before 3.8.
                    if (subtype_ == security::kNone && minor_ < 8)
                        send_client_init(out);
                    else
                        state_ = State::kSecurityResult;
                    return;
                case SubAuth::kVnc:
                    state_ = State::kChallenge;
                    return;
                case SubAuth::kPlain:
                    send_plain_credentials(out);
                    state_ = State::kSecurityResult;
                    return;
            }
            return;
        default:  // None
            if (minor_ >= 8)
                state_ = State::kSecurityResult;
            else
                send_client_init(out);
            return;
    }
}

void ClientHandshake::tls_started(std::vector<uint8_t>& out) {
    if (state_ != State::kTlsPending) return;
    begin_auth(out);
}

HandshakeStep ClientHandshake::feed(std::span<const uint8_t> in, std::vector<uint8_t>& out) {
    size_t pos = 0;
    auto more = [&] { return HandshakeStep{HandshakeStep::kContinue, pos, {}}; };
    for (;;) {
        const std::span<const uint8_t> rest = in.subspan(pos);
        switch (state_) {
            case State::kFailed:
                return HandshakeStep{HandshakeStep::kFailed, 0, "handshake already failed"};
            case State::kDone:
                return HandshakeStep{HandshakeStep::kDone, 0, {}};
            case State::kTlsPending:
                return more();  // what follows is TLS: the caller's to decrypt

            case State::kVersion: {
                if (rest.size() < kProtocolVersionSize) return more();
                ProtocolVersion v;
                if (!parse_protocol_version(rest.first(kProtocolVersionSize), v))
                    return fail("server sent no valid RFB ProtocolVersion");
                if (v.major < 3 || (v.major == 3 && v.minor < 3))
                    return fail("server protocol version " + std::to_string(v.major) + "." +
                                std::to_string(v.minor) + " is too old");
                pos += kProtocolVersionSize;
                if (v.major > 3 || v.minor >= 8)
                    minor_ = 8;  // 3.889 (Apple) and anything newer: answer 3.8
                else if (v.minor == 7)
                    minor_ = 7;
                else
                    minor_ = 3;
                char reply[kProtocolVersionSize + 1];
                std::snprintf(reply, sizeof reply, "RFB 003.%03d\n", minor_);
                ByteWriter(out).text(std::string_view(reply, kProtocolVersionSize));
                state_ = minor_ == 3 ? State::kSecurity33 : State::kSecurityCount;
                break;
            }
            case State::kSecurity33: {
                ByteReader r(rest);
                uint32_t type = 0;
                if (!r.u32(type)) return more();
                pos += 4;
                if (type == security::kInvalid) {
                    state_ = State::kRefusedReason;
                    break;
                }
                if (config_.tls == TlsPolicy::kRequire)
                    return fail(
                        "TLS is required and the server speaks RFB 3.3, which has no "
                        "VeNCrypt");
                if (type == security::kVncAuth && !config_.password)
                    return fail("server requires VNC authentication and no password is set");
                if (type != security::kNone && type != security::kVncAuth)
                    return fail("server chose unsupported security type " + std::to_string(type));
                security_type_ = static_cast<uint8_t>(type);
                begin_auth(out);
                break;
            }
            case State::kSecurityCount: {
                if (rest.empty()) return more();
                type_count_ = rest[0];
                pos += 1;
                state_ = type_count_ == 0 ? State::kRefusedReason : State::kSecurityList;
                break;
            }
            case State::kSecurityList: {
                if (rest.size() < type_count_) return more();
                const auto types = rest.first(type_count_);
                pos += type_count_;
                std::string why;
                security_type_ = choose_type(types, why);
                if (security_type_ == 0) return fail(std::move(why));
                ByteWriter(out).u8(security_type_);
                if (security_type_ == security::kVeNCrypt)
                    state_ = State::kVeNCryptVersion;
                else
                    begin_auth(out);
                break;
            }
            case State::kRefusedReason:
            case State::kAuthFailedReason: {
                std::string reason;
                bool bad = false;
                if (!read_reason(rest, reason, bad)) return more();
                const bool refused = state_ == State::kRefusedReason;
                if (bad)
                    return fail(refused ? "server refused the connection (over-long reason)"
                                        : "authentication failed (over-long reason)");
                if (reason.empty())
                    reason = refused ? "server refused the connection" : "authentication failed";
                return fail(std::move(reason));
            }
            case State::kVeNCryptVersion: {
                if (rest.size() < 2) return more();
                const unsigned major = rest[0], minor = rest[1];
                pos += 2;
                // 0.2 is the only version worth speaking (0.1 had U8 sub-types and is obsolete).
                if (major == 0 && minor < 2)
                    return fail("server's VeNCrypt version " + std::to_string(major) + "." +
                                std::to_string(minor) + " is not supported (0.2 is)");
                ByteWriter(out).u8(0);
                ByteWriter(out).u8(2);
                state_ = State::kVeNCryptAck;
                break;
            }
            case State::kVeNCryptAck: {
                if (rest.empty()) return more();
                const uint8_t ack = rest[0];
                pos += 1;
                if (ack != 0) return fail("server refused VeNCrypt version 0.2");
                state_ = State::kVeNCryptCount;
                break;
            }
            case State::kVeNCryptCount: {
                if (rest.empty()) return more();
                type_count_ = rest[0];
                pos += 1;
                if (type_count_ == 0) return fail("server offers no VeNCrypt sub-types");
                state_ = State::kVeNCryptList;
                break;
            }
            case State::kVeNCryptList: {
                if (rest.size() < type_count_ * 4) return more();
                const auto list = rest.first(type_count_ * 4);
                pos += type_count_ * 4;
                std::string why;
                subtype_ = choose_subtype(list, type_count_, why);
                if (subtype_ == 0) {
                    vencrypt_unusable_ = true;
                    return fail(std::move(why));
                }
                ByteWriter(out).u32(subtype_);
                tls_kind_ = parts_of(subtype_).transport;
                if (tls_kind_ == TlsKind::kNone)
                    begin_auth(out);  // no TLS, no acknowledgement: straight on
                else
                    state_ = State::kVeNCryptTlsAck;
                break;
            }
            case State::kVeNCryptTlsAck: {
                if (rest.empty()) return more();
                const uint8_t ack = rest[0];
                pos += 1;
                if (ack == 0)
                    return fail("server refused VeNCrypt sub-type " + subtype_text(subtype_) +
                                " (it could not start TLS)");
                state_ = State::kTlsPending;
                return more();
            }
            case State::kArdServerMessage: {
                if (rest.size() < kArdServerHeaderSize) return more();
                const size_t need = ard_server_message_size(rest.first(kArdServerHeaderSize));
                if (need == 0) return fail("server's ARD key length is out of range");
                if (rest.size() < need) return more();
                const size_t keylen = (size_t{rest[2]} << 8) | rest[3];
                std::vector<uint8_t> random(std::max(keylen, kArdMinRandomSize));
                if (!config_.random || !config_.random(random))
                    return fail("no random bytes for ARD authentication");
                ArdReply reply = ard_client_reply(rest.first(need), *config_.username,
                                                  *config_.password, random);
                if (!reply.ok) return fail(reply.error);  // says "ARD: ..."
                pos += need;
                ByteWriter(out).bytes(reply.bytes);
                state_ = State::kSecurityResult;
                break;
            }
            case State::kChallenge: {
                if (rest.size() < kVncAuthChallengeSize) return more();
                const std::span<const uint8_t, 16> challenge(rest.data(), 16);
                pos += kVncAuthChallengeSize;
                const auto response = vnc_auth_response(challenge, *config_.password);
                ByteWriter(out).bytes(response);
                state_ = State::kSecurityResult;
                break;
            }
            case State::kSecurityResult: {
                ByteReader r(rest);
                uint32_t status = 0;
                if (!r.u32(status)) return more();
                pos += 4;
                if (status != 0) {
                    if (minor_ >= 8) {
                        state_ = State::kAuthFailedReason;
                        break;
                    }
                    return fail(security_type_ == security::kNone
                                    ? "server refused the connection"
                                    : "authentication failed (wrong password?)");
                }
                send_client_init(out);
                break;
            }
            case State::kServerInit: {
                ByteReader r(rest);
                if (!r.has(kServerInitHeader)) return more();
                ServerInitInfo info;
                uint32_t name_len = 0;
                r.u16(info.width);
                r.u16(info.height);
                PixelFormat::read(r, info.format);
                r.u32(name_len);
                if (info.width == 0 || info.height == 0 ||
                    info.width > config_.max_framebuffer_dim ||
                    info.height > config_.max_framebuffer_dim)
                    return fail("server framebuffer size " + std::to_string(info.width) + "x" +
                                std::to_string(info.height) + " is out of range");
                if (name_len > limits::kMaxDesktopNameLength)
                    return fail("server desktop name of " + std::to_string(name_len) +
                                " bytes is too long");
                std::string why;
                if (!info.format.valid(&why, /*allow_colour_map=*/true))
                    return fail("server pixel format is invalid: " + why);
                std::span<const uint8_t> name;
                if (!r.bytes(name_len, name)) return more();
                info.name.assign(name.begin(), name.end());
                pos += r.position();
                init_ = std::move(info);
                state_ = State::kDone;
                return HandshakeStep{HandshakeStep::kDone, pos, {}};
            }
        }
    }
}

}  // namespace rfb
