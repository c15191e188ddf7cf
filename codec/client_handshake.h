#pragma once
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "codec/pixel_format.h"
#include "codec/server_handshake.h"

// The RFB handshake seen from the client side (rfbcast dialling its upstream server):
// ProtocolVersion, security (None or VNC Authentication), SecurityResult, ClientInit,
// ServerInit. Pure: bytes in, bytes to send out.
namespace rfb {

struct ClientHandshakeConfig {
    std::optional<std::string> password;
    bool shared = true;  // ClientInit shared-flag: leave other viewers of the server connected
};

struct ServerInitInfo {
    uint16_t width = 0, height = 0;
    PixelFormat format;  // valid; may be a colour-map format
    std::string name;    // as sent (UTF-8 in practice, untrusted)
};

class ClientHandshake {
  public:
    explicit ClientHandshake(ClientHandshakeConfig config);

    // Consumes what the server sent and appends the replies to `out`. Done after ServerInit.
    // On failure `out` gets nothing more (the client just closes) and `error` holds the reason,
    // including the server's own reason string when it sent one (control characters replaced).
    HandshakeStep feed(std::span<const uint8_t> in, std::vector<uint8_t>& out);

    const ServerInitInfo& server_init() const { return init_; }
    // 3, 7 or 8 once the server's version is known; 0 before.
    int minor_version() const { return minor_; }
    // The security type in use (security::kNone or kVncAuth); 0 before it is chosen.
    uint8_t security_type() const { return security_type_; }

  private:
    enum class State {
        kVersion,
        kSecurity33,        // 3.3: U32 security type
        kSecurityCount,     // 3.7+: U8 number of types
        kSecurityList,      // 3.7+: the types
        kRefusedReason,     // U32 length + reason after "no security types" / type 0
        kChallenge,         // VNC Authentication: 16-byte challenge
        kSecurityResult,    // U32 status
        kAuthFailedReason,  // 3.8: reason after a failed SecurityResult
        kServerInit,
        kDone,
        kFailed,
    };

    HandshakeStep fail(std::string reason);
    // Reads a U32-length reason string; false while incomplete. `bad`: over-long (no need to
    // wait for its bytes, the handshake fails either way).
    bool read_reason(std::span<const uint8_t> rest, std::string& reason, bool& bad);
    void after_security_chosen(std::vector<uint8_t>& out);
    void send_client_init(std::vector<uint8_t>& out);

    ClientHandshakeConfig config_;
    State state_ = State::kVersion;
    int minor_ = 0;
    uint8_t security_type_ = 0;
    size_t type_count_ = 0;
    ServerInitInfo init_;
};

}  // namespace rfb
