#pragma once
#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "reflector/address_allow_list.h"
#include "reflector/auth_lockout.h"
#include "reflector/config_file.h"
#include "reflector/event_loop.h"
#include "reflector/listener.h"
#include "reflector/preauth_limit.h"
#include "reflector/protocol_sniffer.h"
#include "reflector/proxy_intake.h"
#include "reflector/server_dial_in.h"
#include "reflector/session.h"
#include "reflector/upstream_client.h"
#include "reflector/viewer_gate.h"
#include "reflector/web_router.h"

namespace rfbcast {

// What the command line sets for every session, beside the config file.
struct RegistrySettings {
    // TLS, encodings, quality, timeouts towards upstreams; host, port and credentials are
    // filled per session.
    UpstreamOptions upstream_template;
    // Pacing and refresh settings; name, passwords and limits are filled per session.
    SessionOptions session_template;
    // Used by sessions whose config names none (and by dynamic and Mode I sessions).
    std::string password_file, viewonly_password_file;
    std::string upstream_password_file, upstream_username_file;
    // Most sessions created by servers dialling in with new IDs, and by Mode I viewers.
    size_t max_dynamic_sessions = 1000;
    size_t max_pending = 1024;  // connections not yet in a session (gates and dial-ins)
};

// How the shared viewer port finds a viewer's session.
enum class SharedPortMode {
    kNone,      // no session is reached there: viewers are refused with a reason
    kSingle,    // plain RFB to the one session
    kPassword,  // plain RFB; the password a viewer answers with picks the session
    kRepeater,  // UltraVNC repeater: the viewer names an ID (or Mode I host:port)
};
const char* to_string(SharedPortMode m);

// All sessions of the process, their listeners, and the routing of viewers and dialling-in
// servers to them (DESIGN.md: "the session registry and routing"). apply() takes a Config at
// start and again on every reload: sessions are matched by name, so a reload adds, removes and
// changes sessions without touching the others' viewers.
class SessionRegistry final : public ViewerRouter,
                              public DialInRouter,
                              public AuthObserver,
                              public WebRouter {
  public:
    // `metrics`: where connections, refusals and sessions' series are counted (null: nowhere
    // scraped, for tests).
    SessionRegistry(EventLoop& loop, TileEncodeService& encoder, RegistrySettings settings,
                    metrics::Metrics* metrics = nullptr);
    ~SessionRegistry() override;
    SessionRegistry(const SessionRegistry&) = delete;
    SessionRegistry& operator=(const SessionRegistry&) = delete;

    // Checks what the config file cannot see alone (password files, routing on the shared
    // port). Returns the problems, one line each; empty: apply() can proceed.
    static std::vector<std::string> check(const Config& config, const RegistrySettings& settings);
    // Starts (first call) or reloads. On the first call a listener that cannot open fails the
    // whole start; on a reload it is logged and the rest goes on.
    bool apply(const Config& config, std::string& error);
    void close_all(const std::string& reason);
    // Shutting down: every new viewer (native, repeater, browser) is refused with a reason from
    // now on; viewers already watching are left alone.
    void set_draining() { draining_ = true; }
    // Browsers on the viewer ports: connections whose first bytes are HTTP or TLS go to `fn`
    // (the HTTP listener's WebServer::adopt). Unset: viewer ports speak RFB only, at once.
    void set_web_handoff(std::function<void(Connection*)> fn) { web_handoff_ = std::move(fn); }
    // set_draining(), and every viewer finishes the update under way, then is closed.
    void drain(const std::string& reason);
    bool draining() const { return draining_; }
    // Viewers past their handshake or in it, in all sessions.
    size_t total_viewers() const;

    SharedPortMode shared_port_mode() const { return shared_mode_; }
    size_t session_count() const { return entries_.size(); }
    std::vector<const Session*> sessions() const;
    const Session* find(const std::string& name) const;

    // New settings for what comes next (a reload re-read certificates and users): sessions get
    // them at the apply() that follows.
    void update_settings(RegistrySettings settings);
    const AuthLockout& lockout() const { return lockout_; }
    const PreauthLimit& preauth() const { return *preauth_; }

    struct Stats {
        uint64_t refused_by_address = 0;  // allow/deny lists
        uint64_t viewers_routed = 0;      // reached a session on the shared port
        uint64_t viewers_refused = 0;     // refused with a reason (full, unknown ID, Mode I...)
        uint64_t repeater_refused = 0;    // viewers and servers with a bad or unknown ID
        uint64_t servers_dialled_in = 0;
        uint64_t sessions_created = 0, sessions_removed = 0;
    };
    const Stats& stats() const { return stats_; }

    // ViewerRouter
    Session* route_repeater(const rfb::RepeaterTarget& target, const std::string& peer,
                            std::string& refusal) override;
    Session* route_password(size_t route, std::string& refusal) override;
    void attach_viewer(Session& session, Connection* conn,
                       std::optional<rfb::ServerHandshake> finished,
                       PreauthLimit::Ticket preauth) override;
    void gate_finished(ViewerGate* gate) override;
    // DialInRouter
    bool server_dialled_in(const rfb::RepeaterTarget& target, Connection* conn,
                           std::string& refusal) override;
    void dial_in_finished(ServerDialIn* d) override;
    // AuthObserver
    void auth_result(const sockaddr_storage& peer, bool ok) override;
    bool locked_out(const sockaddr_storage& peer) override;
    // WebRouter
    bool web_address_allowed(const sockaddr_storage& peer) override;
    std::vector<WebSessionInfo> listed_sessions() override;
    std::string default_web_session() override;
    WebEntry web_entry(const std::string& session, const std::string* token,
                       const sockaddr_storage& peer) override;
    void websocket_viewer(const std::string& session, const WebEntry& entry,
                          Connection* conn) override;

  private:
    enum class Origin { kConfig, kDynamicId, kModeI };
    struct Entry {
        Origin origin = Origin::kConfig;
        SessionConfig config;
        std::string repeater_secret;                    // empty: none
        std::string web_view_token, web_control_token;  // empty: none
        std::unique_ptr<Session> session;
        std::unique_ptr<UpstreamLink> upstream;
        UpstreamClient* dial_in = nullptr;  // upstream, when servers dial in
        std::unique_ptr<Listener> listener, reverse_listener;
        std::string listen_address;  // what `listener` listens on (display_base included)
        AddressAllowList allow, deny;
        Clock::time_point empty_since{};
        bool upstream_stopped = false;
    };

    static bool build_session_options(const RegistrySettings& settings, const SessionConfig& c,
                                      SessionOptions& out, std::string& error);
    bool build_upstream(Entry& e, std::string& error);
    bool open_entry_listeners(Entry& e, bool fatal, std::string& error);
    Entry* create_entry(Origin origin, SessionConfig config, std::string& error);
    void remove_entry(std::string name, const std::string& reason);
    std::string listen_address_for(const SessionConfig& c, size_t index) const;
    void compute_routes();
    void accept_viewer(const std::string& session, int fd, const std::string& peer,
                       const sockaddr_storage& addr);
    // `preset`: the handshake to run instead of the session's (a browser link's token already
    // decided the access).
    void admit_viewer(const std::string& session, Connection* conn,
                      std::optional<rfb::ServerHandshake> preset = std::nullopt);
    void read_web_tokens(Entry& e);
    bool address_allowed(const sockaddr* addr, const Entry* e) const;
    void refuse(Connection* conn, const std::string& reason, const std::string& log_reason,
                metrics::RefuseReason why);
    // RFB or a browser? (set_web_handoff); then admit_viewer or the HTTP side.
    void sniff_viewer(const std::string& session, Connection* conn);
    void accept_repeater_server(int fd, const std::string& peer);
    void accept_reverse(Entry& e, int fd, const std::string& peer);
    void start_gate(Connection* conn, ViewerGate::Mode mode, std::string refusal,
                    PreauthLimit::Ticket ticket);
    Entry* find_entry(const std::string& name);
    Entry* find_by_id(const std::string& id);
    void sweep();
    bool pending_full() const {
        return gates_.size() + dial_ins_.size() + intakes_.size() + sniffers_.size() >=
               settings_.max_pending;
    }
    void install_security();
    // Destroys `p` (one of `list`) from the event loop: it is calling us from its own stack.
    template <class T>
    void forget_later(std::vector<std::unique_ptr<T>>& list, T* p) {
        loop_.defer([&list, p, alive = std::weak_ptr<int>(alive_)] {
            if (alive.expired()) return;
            std::erase_if(list, [&](const auto& x) { return x.get() == p; });
        });
    }

    EventLoop& loop_;
    TileEncodeService& encoder_;
    RegistrySettings settings_;
    GlobalConfig global_;
    bool started_ = false;
    bool draining_ = false;
    metrics::Metrics& metrics_;
    std::map<std::string, std::unique_ptr<Entry>, std::less<>> entries_;
    std::unique_ptr<Listener> shared_listener_, repeater_listener_;
    std::string shared_address_, repeater_address_;
    SharedPortMode shared_mode_ = SharedPortMode::kNone;
    std::vector<std::string> password_routes_;  // kPassword: route index -> session name
    std::vector<rfb::Credential> credentials_;
    std::string single_session_;  // kSingle
    AddressAllowList mode1_allow_;
    std::string dynamic_id_key_;
    std::string web_token_key_;
    std::vector<std::unique_ptr<ViewerGate>> gates_;
    std::vector<std::unique_ptr<ServerDialIn>> dial_ins_;
    std::vector<std::unique_ptr<ProxyIntake>> intakes_;
    std::vector<std::unique_ptr<ProtocolSniffer>> sniffers_;
    std::function<void(Connection*)> web_handoff_;
    AddressAllowList allow_, deny_, trusted_proxies_;
    AuthLockout lockout_;
    std::shared_ptr<PreauthLimit> preauth_ = std::make_shared<PreauthLimit>(2048, 256);
    uint64_t next_viewer_id_ = 1;
    EventLoop::TimerId sweep_timer_ = 0;
    Stats stats_;
    std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

}  // namespace rfbcast
