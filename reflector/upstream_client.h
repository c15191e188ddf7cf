#pragma once
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "codec/client_handshake.h"
#include "codec/server_message_reader.h"
#include "reflector/connection.h"
#include "reflector/link_estimator.h"
#include "reflector/tls_session.h"
#include "reflector/upstream_link.h"

namespace rfbcast {

class Session;

struct UpstreamOptions {
    std::string host = "127.0.0.1";
    uint16_t port = 5900;
    std::optional<std::string> password;
    std::optional<std::string> username;  // VeNCrypt Plain and Apple Remote Desktop
    rfb::TlsPolicy tls = rfb::TlsPolicy::kPrefer;
    // Trust anchors for X509 sub-types (--upstream-ca), loaded at start-up; without them only
    // anonymous TLS is used.
    std::shared_ptr<const TlsCredentials> tls_ca;
    // The name the server's certificate must carry; empty: `host`.
    std::string tls_hostname;
    bool allow_plain_without_tls = false;  // VeNCrypt Plain (256): password in clear
    std::vector<int32_t> encodings;        // preference order; empty = rfbcast's default order
    int quality = -1;                      // JPEG quality pseudo-encoding to send; -1 = none
    int compress = -1;
    Clock::duration handshake_timeout = std::chrono::seconds(15);
    // The server dials us (repeater ID or reverse port) and hands its connection over with
    // adopt(); we never dial, and when it goes away we wait for it to dial again.
    bool dial_in = false;
    Clock::duration backoff_min = std::chrono::milliseconds(500);
    Clock::duration backoff_max = std::chrono::seconds(30);
};

// What a connection to an upstream server may buffer (also for servers that dial in).
Connection::Limits upstream_connection_limits();

// Plays the RFB client towards the upstream server: connects, authenticates, asks for canonical
// pixels and the encodings we decode, keeps one update request outstanding, and decodes every
// update straight into the session framebuffer. When the server goes away the session keeps its
// last frame and we reconnect with capped, jittered exponential backoff.
class UpstreamClient final : public UpstreamLink, public ConnectionOwner, rfb::ServerMessageSink {
  public:
    UpstreamClient(Session& session, UpstreamOptions options);
    ~UpstreamClient() override;

    // UpstreamLink
    void start() override;
    bool connected() const override { return state_ == State::kNormal; }
    void send_key(bool down, uint32_t keysym) override;
    void send_pointer(uint8_t buttons, uint16_t x, uint16_t y) override;
    void send_cut_text(const std::string& latin1) override;
    bool supports_qemu_keys() const override { return state_ == State::kNormal && qemu_keys_; }
    void send_qemu_key(bool down, uint32_t keysym, uint32_t keycode) override;
    std::string describe() const override;
    void stop() override;

    // A server dialled in (options.dial_in): its connection becomes the upstream, replacing the
    // current one (a server whose router restarted dials again before we notice the old link is
    // dead). `c` may already hold the server's first bytes; `via` says how it came, for logs.
    void adopt(Connection* c, const std::string& via);

    // Why the last connection (or connection attempt) ended; empty before the first failure.
    const std::string& last_error() const { return last_error_; }
    // The live upstream connection, or nullptr between connections (tests watch its buffers).
    const Connection* connection() const { return conn_; }

    // ConnectionOwner
    void on_connected(Connection& c) override;
    void on_data(Connection& c) override;
    void on_tls_ready(Connection& c) override;
    void on_closed(Connection& c, const std::string& reason) override;

  private:
    enum class State { kIdle, kConnecting, kHandshake, kNormal };

    void connect_now();
    void begin_handshake(Connection& c);
    void set_keepalive(int fd);
    bool start_tls(Connection& c, rfb::TlsKind kind);
    void fail(const std::string& reason);
    void schedule_reconnect();
    void after_server_init();
    void request_update(bool incremental);
    void send_message(const rfb::ClientMessage& m);
    std::vector<int32_t> encodings_to_ask() const;
    void after_link_sample();

    // rfb::ServerMessageSink
    void on_update_begin() override;
    void on_damage(const rfb::Rect& r) override;
    void on_rect(const rfb::Rect& r, int32_t encoding) override;
    void on_copy(const rfb::Rect& dst, uint32_t src_x, uint32_t src_y) override;
    void on_update_end() override;
    void on_resize(uint32_t w, uint32_t h) override;
    void on_cursor(const rfb::CursorImage& cursor) override;
    void on_desktop_name(const std::string& name) override;
    void on_bell() override;
    void on_cut_text(const std::string& latin1) override;
    void on_fence(uint32_t flags, std::span<const uint8_t> payload) override;
    void on_end_of_continuous_updates() override;
    void on_qemu_extended_key_events() override;

    Session& session_;
    UpstreamOptions options_;
    State state_ = State::kIdle;
    Connection* conn_ = nullptr;
    std::unique_ptr<rfb::ClientHandshake> handshake_;
    std::unique_ptr<rfb::ServerMessageReader> reader_;
    EventLoop::TimerId timer_ = 0;
    Clock::duration backoff_;
    unsigned attempts_ = 0;
    bool full_refresh_needed_ = false;
    bool continuous_ = false;  // the server pushes updates; we send no requests
    bool qemu_keys_ = false;
    std::vector<int32_t> encodings_seen_;  // this connection's, for a log line on first use
    uint64_t connects_ = 0;
    // The last handshake chose VeNCrypt and found no usable sub-type: under kPrefer the next
    // attempts take the server's other security types.
    bool avoid_vencrypt_ = false;
    bool ever_up_ = false;  // a later connection counts as a reconnect
    std::shared_ptr<const TlsCredentials> anon_credentials_;
    std::string last_error_;
    std::string dialled_in_from_;  // peer of the adopted connection
    bool stopped_ = false;

    // What the link to the server costs, measured across reconnects; it picks the encodings
    // asked for when --upstream-encodings is not given.
    LinkEstimator link_;
    LinkClass asked_for_ = LinkClass::kLan;
    Clock::time_point connect_started_{};
    std::optional<Clock::time_point> full_request_at_, handshake_sent_at_;
    Clock::time_point update_begin_at_{};
    uint64_t update_rx_at_begin_ = 0;
    size_t update_waiting_ = 0;
};

}  // namespace rfbcast
