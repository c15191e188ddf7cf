#include "codec/client_handshake.h"

#include <cstdio>
#include <utility>

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

}  // namespace

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

void ClientHandshake::send_client_init(std::vector<uint8_t>& out) {
    ByteWriter(out).u8(config_.shared ? 1 : 0);
    state_ = State::kServerInit;
}

// After the security type is settled: VNC auth waits for its challenge; None goes on to
// SecurityResult (3.8) or straight to the initialisation phase (3.3 and 3.7).
void ClientHandshake::after_security_chosen(std::vector<uint8_t>& out) {
    if (security_type_ == security::kVncAuth)
        state_ = State::kChallenge;
    else if (minor_ >= 8)
        state_ = State::kSecurityResult;
    else
        send_client_init(out);
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
                if (type == security::kVncAuth && !config_.password)
                    return fail("server requires VNC authentication and no password is set");
                if (type != security::kNone && type != security::kVncAuth)
                    return fail("server chose unsupported security type " + std::to_string(type));
                security_type_ = static_cast<uint8_t>(type);
                after_security_chosen(out);
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
                bool none = false, vnc = false;
                for (uint8_t t : types) {
                    none |= t == security::kNone;
                    vnc |= t == security::kVncAuth;
                }
                if (none)
                    security_type_ = security::kNone;
                else if (vnc && config_.password)
                    security_type_ = security::kVncAuth;
                else if (vnc)
                    return fail("server requires VNC authentication and no password is set");
                else
                    return fail("server offers no supported security type (offered: " +
                                types_list(types) + ")");
                ByteWriter(out).u8(security_type_);
                after_security_chosen(out);
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
                    return fail(security_type_ == security::kVncAuth
                                    ? "authentication failed (wrong password?)"
                                    : "server refused the connection");
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
                    info.width > limits::kMaxFramebufferDim ||
                    info.height > limits::kMaxFramebufferDim)
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
