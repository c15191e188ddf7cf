#include "reflector/session_registry.h"

#include <algorithm>
#include <cerrno>
#include <chrono>

#include <nettle/memops.h>

#include "codec/vnc_auth.h"
#include "metrics/metrics.h"
#include "reflector/demo_source.h"
#include "reflector/log.h"
#include "reflector/options.h"
#include "reflector/proxy_intake.h"
#include "reflector/random_bytes.h"
#include "reflector/repeater_token.h"
#include "reflector/socket_address.h"
#include "reflector/viewer_connection.h"

namespace rfbcast {
namespace {

// How long a session nobody uses anymore (a Mode I destination without viewers, a dynamic ID
// whose server left and has no viewers) lives on, so that a viewer or server coming straight
// back finds it.
constexpr Clock::duration kTransientGrace = std::chrono::seconds(30);

std::array<uint8_t, 16> random_challenge() {
    std::array<uint8_t, 16> c{};
    while (!fill_random(c)) {
    }
    return c;
}

// VNC Authentication keys on the first 8 characters only.
std::string vnc_key(const std::string& password) {
    return password.substr(0, 8);
}

// The length of a secret is not what is guessed; its content must not leak through timing.
bool same_secret(const std::string& a, const std::string& b) {
    return a.size() == b.size() && (a.empty() || memeql_sec(a.data(), b.data(), a.size()) != 0);
}

}  // namespace

const char* to_string(SharedPortMode m) {
    switch (m) {
        case SharedPortMode::kSingle:
            return "single";
        case SharedPortMode::kPassword:
            return "password";
        case SharedPortMode::kRepeater:
            return "repeater";
        default:
            return "none";
    }
}

SessionRegistry::SessionRegistry(EventLoop& loop, TileEncodeService& encoder,
                                 RegistrySettings settings, metrics::Metrics* metrics)
    : loop_(loop),
      encoder_(encoder),
      settings_(std::move(settings)),
      metrics_(metrics ? *metrics : metrics::unscraped_metrics()) {
    install_security();
}

// Every session's viewers report their authentication outcomes to us (the lockout), also
// when TLS is off.
void SessionRegistry::install_security() {
    auto security = settings_.session_template.security
                        ? std::make_shared<ViewerSecurity>(*settings_.session_template.security)
                        : std::make_shared<ViewerSecurity>();
    security->observer = this;
    if (security->check_plain)
        security->offload = [this](std::function<void()> work, std::function<void()> done) {
            // Background lane: a login's password hash never delays a frame's encodes. A full
            // queue runs it here rather than refusing a login.
            if (!encoder_.pool().submit(work, done, EncodePool::Priority::kBackground)) {
                work();
                done();
            }
        };
    settings_.session_template.security = std::move(security);
}

void SessionRegistry::update_settings(RegistrySettings settings) {
    settings_ = std::move(settings);
    install_security();
}

SessionRegistry::~SessionRegistry() {
    if (sweep_timer_) loop_.cancel_timer(sweep_timer_);
    close_all("rfbcast is shutting down");
}

void SessionRegistry::drain(const std::string& reason) {
    set_draining();
    for (auto& [name, e] : entries_)
        e->session->drain_viewers(reason);
}

void SessionRegistry::close_all(const std::string& reason) {
    shared_listener_.reset();
    repeater_listener_.reset();
    gates_.clear();
    dial_ins_.clear();
    while (!entries_.empty())
        remove_entry(entries_.begin()->first, reason);
}

std::vector<const Session*> SessionRegistry::sessions() const {
    std::vector<const Session*> out;
    for (const auto& [name, e] : entries_)
        out.push_back(e->session.get());
    return out;
}

const Session* SessionRegistry::find(const std::string& name) const {
    auto it = entries_.find(name);
    return it == entries_.end() ? nullptr : it->second->session.get();
}

SessionRegistry::Entry* SessionRegistry::find_entry(const std::string& name) {
    auto it = entries_.find(name);
    return it == entries_.end() ? nullptr : it->second.get();
}

SessionRegistry::Entry* SessionRegistry::find_by_id(const std::string& id) {
    for (auto& [name, e] : entries_)
        if (!e->config.repeater_id.empty() && e->config.repeater_id == id) return e.get();
    return nullptr;
}

// --- building sessions -----------------------------------------------------------------------

bool SessionRegistry::build_session_options(const RegistrySettings& settings,
                                            const SessionConfig& c, SessionOptions& o,
                                            std::string& error) {
    o = settings.session_template;
    o.name = c.name;
    const SessionLimits& l = c.limits;
    o.max_viewers = l.max_viewers;
    o.view_only_default = l.view_only_default;
    o.pacing.max_fps = l.max_fps;
    o.pacing.rate_cap = l.viewer_max_kbps * 1000 / 8;
    o.min_quality = l.min_quality;
    o.max_quality = l.max_quality;
    o.egress_cap = l.session_max_kbps * 1000 / 8;
    o.input_policy = l.input_policy;
    o.clipboard = l.clipboard;
    o.input_idle_timeout = std::chrono::seconds(l.input_idle_timeout_s);
    o.peer_limits.handshake_timeout = std::chrono::seconds(l.handshake_timeout_s);
    o.peer_limits.max_cut_text = l.max_cut_text;
    o.peer_limits.max_framebuffer = l.max_framebuffer;
    o.peer_limits.max_cursor = l.max_cursor;
    o.peer_limits.max_fence_payload = l.max_fence_payload;
    const bool stricter_tls =
        l.require_tls && o.security && !o.security->require_tls && o.security->offers_tls();
    if (stricter_tls || (o.security && o.security->allowed != l.security_types)) {
        auto own = std::make_shared<ViewerSecurity>(*o.security);
        own->require_tls = own->require_tls || stricter_tls;
        own->allowed = l.security_types;
        o.security = std::move(own);
    }
    const std::string& full = c.password_file.empty() ? settings.password_file : c.password_file;
    const std::string& view = c.viewonly_password_file.empty() ? settings.viewonly_password_file
                                                               : c.viewonly_password_file;
    std::string secret;
    o.full_password.reset();
    o.viewonly_password.reset();
    if (!full.empty()) {
        if (!read_secret_file(full, secret, error)) return false;
        o.full_password = secret;
    }
    if (!view.empty()) {
        if (!read_secret_file(view, secret, error)) return false;
        o.viewonly_password = secret;
    }
    secret.assign(secret.size(), '\0');
    return true;
}

bool SessionRegistry::build_upstream(Entry& e, std::string& error) {
    const SessionConfig& c = e.config;
    Session& s = *e.session;
    s.set_upstream(nullptr);
    e.upstream.reset();
    e.dial_in = nullptr;
    if (c.upstream == "demo") {
        e.upstream = std::make_unique<DemoSource>(s);
        s.set_upstream(e.upstream.get());
        return true;
    }
    UpstreamOptions uo = settings_.upstream_template;
    if (c.upstream.empty()) {
        uo.dial_in = true;
        uo.host.clear();
        uo.port = 0;
    } else if (!split_host_port(c.upstream, uo.host, uo.port, error)) {
        error = "upstream: " + error;
        return false;
    }
    const std::string& user_file = c.upstream_username_file.empty()
                                       ? settings_.upstream_username_file
                                       : c.upstream_username_file;
    const std::string& pass_file = c.upstream_password_file.empty()
                                       ? settings_.upstream_password_file
                                       : c.upstream_password_file;
    std::string secret;
    if (!user_file.empty()) {
        if (!read_secret_file(user_file, secret, error, SecretKind::kUsername)) return false;
        uo.username = secret;
    }
    if (!pass_file.empty()) {
        const SecretKind kind = uo.username ? SecretKind::kPassword : SecretKind::kVncPassword;
        if (!read_secret_file(pass_file, secret, error, kind)) return false;
        uo.password = secret;
    }
    secret.assign(secret.size(), '\0');
    auto client = std::make_unique<UpstreamClient>(s, std::move(uo));
    if (c.upstream.empty()) e.dial_in = client.get();
    e.upstream = std::move(client);
    s.set_upstream(e.upstream.get());
    return true;
}

std::string SessionRegistry::listen_address_for(const SessionConfig& c, size_t index) const {
    if (!c.listen.empty() || global_.display_base <= 0) return c.listen;
    // display_base: the session's number (its display key, or its place in the file from 1)
    // added to the base, on the shared port's address.
    const int display = c.display >= 0 ? c.display : static_cast<int>(index) + 1;
    const long port = static_cast<long>(global_.display_base) + display;
    if (port > 65535) return {};
    std::string host = "0.0.0.0";
    uint16_t ignored = 0;
    std::string error;
    if (!global_.listen.empty()) split_host_port(global_.listen, host, ignored, error);
    if (host.find(':') != std::string::npos) host = "[" + host + "]";
    return host + ":" + std::to_string(port);
}

bool SessionRegistry::open_entry_listeners(Entry& e, bool fatal, std::string& error) {
    Entry* ep = &e;
    if (!e.listen_address.empty() && !e.listener) {
        const std::string name = e.config.name;
        auto l = std::make_unique<Listener>(
            loop_, [this, name](int fd, const std::string& peer, const sockaddr_storage& addr) {
                accept_viewer(name, fd, peer, addr);
            });
        std::string why;
        if (l->open(e.listen_address, why)) {
            e.listener = std::move(l);
        } else {
            error = "session '" + e.config.name + "': " + why;
            if (fatal) return false;
            LOG_ERROR("listen-failed", "session=%s reason=\"%s\"", e.config.name.c_str(),
                      why.c_str());
        }
    }
    if (!e.config.reverse_listen.empty() && !e.reverse_listener) {
        auto l = std::make_unique<Listener>(
            loop_, [this, ep](int fd, const std::string& peer, const sockaddr_storage&) {
                accept_reverse(*ep, fd, peer);
            });
        std::string why;
        if (l->open(e.config.reverse_listen, why)) {
            e.reverse_listener = std::move(l);
        } else {
            error = "session '" + e.config.name + "' reverse_listen: " + why;
            if (fatal) return false;
            LOG_ERROR("listen-failed", "session=%s reason=\"%s\"", e.config.name.c_str(),
                      why.c_str());
        }
    }
    return true;
}

SessionRegistry::Entry* SessionRegistry::create_entry(Origin origin, SessionConfig config,
                                                      std::string& error) {
    auto e = std::make_unique<Entry>();
    e->origin = origin;
    e->config = std::move(config);
    if (!e->allow.parse(e->config.allow, error) || !e->deny.parse(e->config.deny, error))
        return nullptr;
    SessionOptions so;
    if (!build_session_options(settings_, e->config, so, error)) return nullptr;
    if (!e->config.repeater_secret_file.empty() &&
        !read_secret_file(e->config.repeater_secret_file, e->repeater_secret, error,
                          SecretKind::kPassword))
        return nullptr;
    read_web_tokens(*e);
    e->session = std::make_unique<Session>(loop_, std::move(so), encoder_, &metrics_);
    if (!build_upstream(*e, error)) return nullptr;
    Entry* ep = e.get();
    e->empty_since = loop_.now();
    e->session->set_viewers_changed([this, ep] {
        if (ep->session->viewer_count() > 0) {
            if (ep->upstream_stopped) {
                ep->upstream_stopped = false;
                ep->upstream->start();
            }
        } else {
            ep->empty_since = loop_.now();
        }
    });
    const std::string name = e->config.name;
    entries_[name] = std::move(e);
    ++stats_.sessions_created;
    return ep;
}

void SessionRegistry::remove_entry(std::string name, const std::string& reason) {
    // By value: callers pass keys of entries_, which the erase below frees.
    auto it = entries_.find(name);
    if (it == entries_.end()) return;
    std::unique_ptr<Entry> e = std::move(it->second);
    entries_.erase(it);
    e->listener.reset();
    e->reverse_listener.reset();
    e->session->set_viewers_changed({});
    e->session->close_all_viewers(reason);
    e->session->set_upstream(nullptr);
    e->upstream.reset();
    e->session.reset();
    ++stats_.sessions_removed;
    LOG_INFO("session-removed", "session=%s reason=\"%s\"", name.c_str(), reason.c_str());
}

// --- configuration -----------------------------------------------------------------------------

std::vector<std::string> SessionRegistry::check(const Config& config,
                                                const RegistrySettings& settings) {
    std::vector<std::string> problems;
    std::map<std::string, std::string> keys;  // 8-character VNC key -> session using it
    const bool ids = config.global.allow_dynamic_ids || !config.global.mode1_allow.empty() ||
                     std::any_of(config.sessions.begin(), config.sessions.end(),
                                 [](const SessionConfig& s) { return !s.repeater_id.empty(); });
    size_t on_shared = 0;
    std::vector<std::string> shared_without_password;
    for (const SessionConfig& s : config.sessions) {
        SessionOptions so;
        std::string error;
        if (!build_session_options(settings, s, so, error)) {
            problems.push_back("session '" + s.name + "': " + error);
            continue;
        }
        if (s.limits.require_tls && !(so.security && so.security->offers_tls()))
            problems.push_back("session '" + s.name +
                               "': require_tls, but viewer TLS is off (--viewer-tls off)");
        if (!offers_anything(viewer_handshake_config(so, {})))
            problems.push_back("session '" + s.name + "': security_types " +
                               format_security_types(s.limits.security_types) +
                               " leaves no security type its viewers could use (with its "
                               "passwords, users and certificates)");
        const bool own_port = !s.listen.empty() || config.global.display_base > 0;
        if (own_port || !s.repeater_id.empty()) continue;
        ++on_shared;
        if (ids) {
            problems.push_back("session '" + s.name +
                               "': the shared viewer port speaks the repeater protocol (a "
                               "session has a repeater_id, or dynamic IDs or Mode I are on), so "
                               "this session needs a repeater_id or its own listen port");
            continue;
        }
        if (!so.full_password && !so.viewonly_password) {
            shared_without_password.push_back(s.name);
            continue;
        }
        for (const auto& p : {so.full_password, so.viewonly_password}) {
            if (!p) continue;
            auto [it, fresh] = keys.emplace(vnc_key(*p), s.name);
            if (!fresh && it->second != s.name)
                problems.push_back("session '" + s.name + "': a password of it equals one of '" +
                                   it->second +
                                   "' in its first 8 characters (all VNC authentication uses); "
                                   "sessions sharing a port must have different passwords");
        }
    }
    if (on_shared > 1)
        for (const std::string& name : shared_without_password)
            problems.push_back("session '" + name +
                               "': several sessions share the viewer port and are told apart by "
                               "password; this one has none (give it a password_file, its own "
                               "listen port or a repeater_id)");
    if (!config.global.dynamic_id_key_file.empty()) {
        std::string key, error;
        if (!read_secret_file(config.global.dynamic_id_key_file, key, error, SecretKind::kPassword))
            problems.push_back("dynamic_id_key_file: " + error);
    }
    AddressAllowList allow;
    std::string error;
    if (!allow.parse(config.global.mode1_allow, error)) problems.push_back("mode1_allow: " + error);
    return problems;
}

bool SessionRegistry::apply(const Config& config, std::string& error) {
    const bool first = !started_;
    global_ = config.global;
    AddressAllowList allow;
    if (!allow.parse(global_.mode1_allow, error)) {
        error = "mode1_allow: " + error;
        return false;
    }
    mode1_allow_ = std::move(allow);
    AddressAllowList clients, denied, proxies;
    if (!clients.parse(global_.allow, error) || !denied.parse(global_.deny, error) ||
        !proxies.parse(global_.trusted_proxies, error)) {
        error = "allow/deny/trusted_proxies: " + error;
        return false;
    }
    allow_ = std::move(clients);
    deny_ = std::move(denied);
    trusted_proxies_ = std::move(proxies);
    if (first)
        preauth_ =
            std::make_shared<PreauthLimit>(global_.max_preauth, global_.max_preauth_per_address);
    web_token_key_.clear();
    if (!global_.web_token_key_file.empty() &&
        !read_secret_file(global_.web_token_key_file, web_token_key_, error,
                          SecretKind::kPassword)) {
        error = "web_token_key_file: " + error;
        return false;
    }
    dynamic_id_key_.clear();
    if (!global_.dynamic_id_key_file.empty() &&
        !read_secret_file(global_.dynamic_id_key_file, dynamic_id_key_, error,
                          SecretKind::kPassword))
        return false;

    // Sessions the new config no longer has (those made by dial-ins and Mode I stay).
    std::vector<std::string> gone;
    for (const auto& [name, e] : entries_) {
        if (e->origin != Origin::kConfig) continue;
        const bool kept = std::any_of(config.sessions.begin(), config.sessions.end(),
                                      [&](const SessionConfig& s) { return s.name == name; });
        if (!kept) gone.push_back(name);
    }
    for (const std::string& name : gone)
        remove_entry(name, "session removed from the configuration");

    for (size_t i = 0; i < config.sessions.size(); ++i) {
        const SessionConfig& c = config.sessions[i];
        const std::string address = listen_address_for(c, i);
        Entry* e = find_entry(c.name);
        if (e && e->origin != Origin::kConfig) {
            // A configured session takes over the name of a dynamic one.
            remove_entry(c.name, "replaced by a configured session");
            e = nullptr;
        }
        if (!e) {
            std::string why;
            e = create_entry(Origin::kConfig, c, why);
            if (!e) {
                error = "session '" + c.name + "': " + why;
                if (first) return false;
                LOG_ERROR("session-not-started", "session=%s reason=\"%s\"", c.name.c_str(),
                          why.c_str());
                continue;
            }
            e->listen_address = address;
            if (!open_entry_listeners(*e, first, error)) return false;
            if (started_) e->upstream->start();
            LOG_INFO("session-added", "session=%s upstream=%s listen=%s repeater-id=%s",
                     c.name.c_str(), e->upstream->describe().c_str(),
                     address.empty() ? "shared" : address.c_str(),
                     c.repeater_id.empty() ? "none" : c.repeater_id.c_str());
            continue;
        }
        // A session that stays: change what changed, keep its viewers.
        SessionOptions so;
        std::string why;
        if (!build_session_options(settings_, c, so, why)) {
            LOG_ERROR("session-not-updated", "session=%s reason=\"%s\"", c.name.c_str(),
                      why.c_str());
            continue;
        }
        e->session->update_options(std::move(so));
        const bool upstream_changed =
            e->config.upstream != c.upstream ||
            e->config.upstream_password_file != c.upstream_password_file ||
            e->config.upstream_username_file != c.upstream_username_file;
        const bool reverse_changed = e->config.reverse_listen != c.reverse_listen;
        e->config = c;
        e->allow.parse(c.allow, why);
        e->deny.parse(c.deny, why);
        e->repeater_secret.clear();
        if (!c.repeater_secret_file.empty())
            read_secret_file(c.repeater_secret_file, e->repeater_secret, why,
                             SecretKind::kPassword);
        read_web_tokens(*e);
        if (upstream_changed) {
            if (!build_upstream(*e, why)) {
                LOG_ERROR("upstream-not-updated", "session=%s reason=\"%s\"", c.name.c_str(),
                          why.c_str());
            } else {
                e->upstream_stopped = false;
                e->upstream->start();
                LOG_INFO("session-upstream-changed", "session=%s upstream=%s", c.name.c_str(),
                         e->upstream->describe().c_str());
            }
        }
        if (address != e->listen_address) {
            e->listener.reset();
            e->listen_address = address;
        }
        if (reverse_changed) e->reverse_listener.reset();
        std::string ignored;
        open_entry_listeners(*e, false, ignored);
    }

    compute_routes();
    // The shared and repeater ports.
    std::string shared = global_.listen;
    if (shared != shared_address_ || !shared_listener_) {
        shared_listener_.reset();
        shared_address_ = shared;
        if (!shared.empty()) {
            auto l = std::make_unique<Listener>(
                loop_, [this](int fd, const std::string& peer, const sockaddr_storage& addr) {
                    accept_viewer({}, fd, peer, addr);
                });
            std::string why;
            if (!l->open(shared, why)) {
                error = why;
                if (first) return false;
                LOG_ERROR("listen-failed", "listen=%s reason=\"%s\"", shared.c_str(), why.c_str());
            } else {
                shared_listener_ = std::move(l);
            }
        }
    }
    if (global_.repeater_listen != repeater_address_ || !repeater_listener_) {
        repeater_listener_.reset();
        repeater_address_ = global_.repeater_listen;
        if (!repeater_address_.empty()) {
            auto l = std::make_unique<Listener>(
                loop_, [this](int fd, const std::string& peer, const sockaddr_storage&) {
                    accept_repeater_server(fd, peer);
                });
            std::string why;
            if (!l->open(repeater_address_, why)) {
                error = "repeater port: " + why;
                if (first) return false;
                LOG_ERROR("listen-failed", "listen=%s reason=\"%s\"", repeater_address_.c_str(),
                          why.c_str());
            } else {
                repeater_listener_ = std::move(l);
            }
        }
    }
    if (first) {
        started_ = true;
        for (auto& [name, e] : entries_)
            e->upstream->start();
        sweep_timer_ = loop_.add_timer(std::chrono::seconds(1), [this] { sweep(); });
    }
    LOG_INFO(first ? "sessions-started" : "sessions-reloaded",
             "sessions=%zu shared-listen=%s shared-port=%s repeater-listen=%s", entries_.size(),
             shared_address_.empty() ? "none" : shared_address_.c_str(), to_string(shared_mode_),
             repeater_address_.empty() ? "none" : repeater_address_.c_str());
    return true;
}

void SessionRegistry::compute_routes() {
    password_routes_.clear();
    credentials_.clear();
    single_session_.clear();
    const bool ids = global_.allow_dynamic_ids || !mode1_allow_.empty() ||
                     std::any_of(entries_.begin(), entries_.end(), [](const auto& kv) {
                         return !kv.second->config.repeater_id.empty();
                     });
    std::vector<Entry*> on_shared;
    for (auto& [name, e] : entries_)
        if (e->origin == Origin::kConfig && e->listen_address.empty() &&
            e->config.repeater_id.empty())
            on_shared.push_back(e.get());
    if (ids) {
        shared_mode_ = SharedPortMode::kRepeater;
    } else if (on_shared.size() == 1) {
        shared_mode_ = SharedPortMode::kSingle;
        single_session_ = on_shared.front()->config.name;
    } else if (on_shared.empty()) {
        shared_mode_ = SharedPortMode::kNone;
    } else {
        shared_mode_ = SharedPortMode::kPassword;
        for (Entry* e : on_shared) {
            const SessionOptions& o = e->session->options();
            const size_t route = password_routes_.size();
            password_routes_.push_back(e->config.name);
            if (o.full_password)
                credentials_.push_back({*o.full_password, rfb::AccessLevel::kFull, route});
            if (o.viewonly_password)
                credentials_.push_back({*o.viewonly_password, rfb::AccessLevel::kViewOnly, route});
        }
    }
}

// --- viewers -----------------------------------------------------------------------------------

void SessionRegistry::start_gate(Connection* conn, ViewerGate::Mode mode, std::string refusal,
                                 PreauthLimit::Ticket ticket) {
    if (pending_full()) {
        LOG_WARN("viewer-refused", "peer=%s reason=\"%zu connections are already in handshake\"",
                 conn->peer().c_str(), settings_.max_pending);
        metrics_.refused(metrics::RefuseReason::kPreauthLimit);
        conn->close();
        return;
    }
    if (mode == ViewerGate::Mode::kRefuse) ++stats_.viewers_refused;
    auto gate = std::make_unique<ViewerGate>(
        loop_, *this, conn, mode,
        mode == ViewerGate::Mode::kPassword ? credentials_ : std::vector<rfb::Credential>{},
        std::move(refusal), random_challenge(), settings_.session_template.security);
    ViewerGate* g = gate.get();
    g->set_deadline(std::chrono::seconds(global_.defaults.handshake_timeout_s));
    g->hold_preauth(std::move(ticket));
    gates_.push_back(std::move(gate));
    g->start();
}

// Every viewer connection starts here: a trusted proxy's header first, then the address
// checks (allow/deny, brute-force lockout, pre-auth slots) before any handshake byte or TLS
// work, then the routing of its door (`session` empty: the shared port).
void SessionRegistry::accept_viewer(const std::string& session, int fd, const std::string& peer,
                                    const sockaddr_storage& addr) {
    auto* conn = new Connection(loop_, fd, nullptr, viewer_connection_limits(), peer);
    conn->set_peer(peer, addr);
    metrics_.accepted(metrics::Listener::kViewer);
    if (!trusted_proxies_.empty() &&
        trusted_proxies_.contains_address(reinterpret_cast<const sockaddr*>(&addr))) {
        if (pending_full()) {
            metrics_.refused(metrics::RefuseReason::kPreauthLimit);
            conn->close();
            return;
        }
        auto intake = std::make_unique<ProxyIntake>(
            loop_, conn,
            [this, session, alive = std::weak_ptr<int>(alive_)](Connection* c) {
                if (alive.expired()) {
                    c->close();
                    return;
                }
                sniff_viewer(session, c);
            },
            [this](ProxyIntake* p) { forget_later(intakes_, p); });
        ProxyIntake* p = intake.get();
        intakes_.push_back(std::move(intake));
        p->set_deadline(std::chrono::seconds(global_.defaults.handshake_timeout_s));
        p->start();
        return;
    }
    sniff_viewer(session, conn);
}

void SessionRegistry::sniff_viewer(const std::string& session, Connection* conn) {
    if (!web_handoff_) {
        admit_viewer(session, conn);
        return;
    }
    if (pending_full()) {
        metrics_.refused(metrics::RefuseReason::kPreauthLimit);
        conn->close();
        return;
    }
    auto sniffer = std::make_unique<ProtocolSniffer>(
        loop_, conn, ProtocolSniffer::kDefaultWait,
        [this, session, alive = std::weak_ptr<int>(alive_)](Connection* c,
                                                            ProtocolSniffer::Verdict v) {
            if (alive.expired()) {
                c->close();
                return;
            }
            if (v == ProtocolSniffer::Verdict::kRfb || !web_handoff_) {
                admit_viewer(session, c);
                return;
            }
            if (!web_address_allowed(c->peer_address())) {
                LOG_WARN("http-refused", "peer=%s reason=\"address not allowed\"",
                         c->peer().c_str());
                metrics_.refused(metrics::RefuseReason::kAllowList);
                c->close();
                return;
            }
            LOG_DEBUG("viewer-port-http", "peer=%s", c->peer().c_str());
            web_handoff_(c);
        },
        [this](ProtocolSniffer* p) { forget_later(sniffers_, p); });
    ProtocolSniffer* p = sniffer.get();
    sniffers_.push_back(std::move(sniffer));
    p->start();
}

void SessionRegistry::admit_viewer(const std::string& session, Connection* conn,
                                   std::optional<rfb::ServerHandshake> preset) {
    const auto* addr = reinterpret_cast<const sockaddr*>(&conn->peer_address());
    if (draining_) {
        refuse(conn, "rfbcast is shutting down", "draining", metrics::RefuseReason::kDraining);
        return;
    }
    if (!address_allowed(addr, nullptr)) {
        ++stats_.refused_by_address;
        refuse(conn, "your address is not allowed to connect", "address not allowed",
               metrics::RefuseReason::kAllowList);
        return;
    }
    Clock::duration remaining{};
    if (lockout_.blocked(addr, loop_.now(), &remaining)) {
        // TigerVNC's words: viewers and scripts already know what they mean.
        refuse(conn, "Too many security failures",
               "locked out for " +
                   std::to_string(
                       std::chrono::duration_cast<std::chrono::seconds>(remaining).count() + 1) +
                   " s more",
               metrics::RefuseReason::kLockout);
        return;
    }
    const char* why = nullptr;
    const uint64_t per_address = preauth_->counters().refused_per_address;
    std::optional<PreauthLimit::Ticket> ticket = PreauthLimit::take(preauth_, addr, &why);
    if (!ticket) {
        refuse(conn, why, why,
               preauth_->counters().refused_per_address != per_address
                   ? metrics::RefuseReason::kPreauthPerAddress
                   : metrics::RefuseReason::kPreauthLimit);
        return;
    }
    if (!session.empty()) {
        Entry* e = find_entry(session);
        if (!e) {
            refuse(conn, "this session was removed", "session gone",
                   metrics::RefuseReason::kUnknownSession);
            return;
        }
        attach_viewer(*e->session, conn, std::move(preset), std::move(*ticket));
        return;
    }
    switch (shared_mode_) {
        case SharedPortMode::kSingle:
            if (Entry* e = find_entry(single_session_)) {
                attach_viewer(*e->session, conn, std::nullopt, std::move(*ticket));
                return;
            }
            refuse(conn, "no session is served on this port", "no session",
                   metrics::RefuseReason::kUnknownSession);
            return;
        case SharedPortMode::kPassword:
            start_gate(conn, ViewerGate::Mode::kPassword, {}, std::move(*ticket));
            return;
        case SharedPortMode::kRepeater:
            start_gate(conn, ViewerGate::Mode::kRepeater, {}, std::move(*ticket));
            return;
        default:
            refuse(conn, "no session is served on this port", "no session",
                   metrics::RefuseReason::kUnknownSession);
    }
}

bool SessionRegistry::address_allowed(const sockaddr* addr, const Entry* e) const {
    if (!allow_.empty() && !allow_.contains_address(addr)) return false;
    if (deny_.contains_address(addr)) return false;
    if (e) {
        if (!e->allow.empty() && !e->allow.contains_address(addr)) return false;
        if (e->deny.contains_address(addr)) return false;
    }
    return true;
}

void SessionRegistry::refuse(Connection* conn, const std::string& reason,
                             const std::string& log_reason, metrics::RefuseReason why) {
    LOG_WARN("viewer-refused", "peer=%s reason=\"%s\"", conn->peer().c_str(), log_reason.c_str());
    metrics_.refused(why);
    start_gate(conn, ViewerGate::Mode::kRefuse, reason, {});
}

// --- browsers ----------------------------------------------------------------------------------

void SessionRegistry::read_web_tokens(Entry& e) {
    std::string why;
    e.web_view_token.clear();
    e.web_control_token.clear();
    if (!e.config.web_view_token_file.empty() &&
        !read_secret_file(e.config.web_view_token_file, e.web_view_token, why,
                          SecretKind::kPassword))
        LOG_ERROR("web-token-unreadable", "session=%s problem=\"%s\"", e.config.name.c_str(),
                  why.c_str());
    if (!e.config.web_control_token_file.empty() &&
        !read_secret_file(e.config.web_control_token_file, e.web_control_token, why,
                          SecretKind::kPassword))
        LOG_ERROR("web-token-unreadable", "session=%s problem=\"%s\"", e.config.name.c_str(),
                  why.c_str());
}

bool SessionRegistry::web_address_allowed(const sockaddr_storage& peer) {
    return address_allowed(reinterpret_cast<const sockaddr*>(&peer), nullptr);
}

std::vector<WebSessionInfo> SessionRegistry::listed_sessions() {
    std::vector<WebSessionInfo> out;
    for (const auto& [name, e] : entries_) {
        if (e->config.web_require_token || e->origin == Origin::kModeI) continue;
        WebSessionInfo info;
        info.name = name;
        info.desktop = e->session->desktop_name();
        info.width = static_cast<int>(e->session->framebuffer().width());
        info.height = static_cast<int>(e->session->framebuffer().height());
        info.viewers = e->session->viewer_count();
        info.upstream_up = e->upstream && e->upstream->connected();
        out.push_back(std::move(info));
    }
    return out;
}

std::string SessionRegistry::default_web_session() {
    return entries_.size() == 1 ? entries_.begin()->first : std::string();
}

WebEntry SessionRegistry::web_entry(const std::string& session, const std::string* token,
                                    const sockaddr_storage& peer) {
    WebEntry r;
    Entry* e = find_entry(session);
    if (!e || e->origin == Origin::kModeI) {
        metrics_.refused(metrics::RefuseReason::kUnknownSession);
        r.http_status = 404;
        r.message = "There is no session named \"" + session + "\" here.";
        return r;
    }
    if (!address_allowed(reinterpret_cast<const sockaddr*>(&peer), e)) {
        metrics_.refused(metrics::RefuseReason::kAllowList);
        r.message = "Your address may not watch this session.";
        return r;
    }
    if (lockout_.blocked(reinterpret_cast<const sockaddr*>(&peer), loop_.now(), nullptr)) {
        metrics_.refused(metrics::RefuseReason::kLockout);
        r.message = "Too many failed attempts from your address. Try again later.";
        return r;
    }
    if (!token || token->empty()) {
        if (e->config.web_require_token) {
            metrics_.refused(metrics::RefuseReason::kAuthFailed);
            r.message = "This session opens only from a link with a token.";
            return r;
        }
        r.ok = true;  // RFB authentication decides, as for a native viewer
        return r;
    }
    WebAccess access = WebAccess::kNone;
    if (!e->web_control_token.empty() && web_token_equal(e->web_control_token, *token))
        access = WebAccess::kControl;
    else if (!e->web_view_token.empty() && web_token_equal(e->web_view_token, *token))
        access = WebAccess::kView;
    else if (!web_token_key_.empty()) {
        const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count();
        if (check_web_token(web_token_key_, session, *token, now, access) ==
            WebTokenCheck::kExpired) {
            metrics_.refused(metrics::RefuseReason::kAuthFailed);
            r.message = "This link has expired. Ask for a new one.";
            return r;
        }
    }
    if (access == WebAccess::kNone) {
        // A wrong token counts like a wrong password.
        auth_result(peer, false);
        metrics_.refused(metrics::RefuseReason::kAuthFailed);
        r.message = "This link is not valid for this session.";
        return r;
    }
    r.ok = true;
    r.by_token = true;
    r.access = access;
    return r;
}

void SessionRegistry::websocket_viewer(const std::string& session, const WebEntry& entry,
                                       Connection* conn) {
    Entry* e = find_entry(session);
    if (!e) {
        refuse(conn, "this session was removed", "session gone",
               metrics::RefuseReason::kUnknownSession);
        return;
    }
    rfb::ServerHandshakeConfig c;
    if (entry.by_token) {
        // The link is the credential: no RFB password, the access it names.
        c.none_access = entry.access == WebAccess::kControl ? rfb::AccessLevel::kFull
                                                            : rfb::AccessLevel::kViewOnly;
    } else {
        // The session's passwords without VeNCrypt: a browser cannot run TLS inside RFB
        // (noVNC gives up on a VeNCrypt list without Plain); its encryption is wss.
        const SessionOptions& o = e->session->options();
        if (o.security && o.security->require_tls && !conn->tls()) {
            refuse(conn, "this session needs an encrypted connection: use https://",
                   "require_tls, WebSocket without TLS", metrics::RefuseReason::kTlsRequired);
            return;
        }
        SessionOptions plain = o;
        plain.security.reset();
        c = viewer_handshake_config(plain, random_challenge());
    }
    LOG_INFO("web-viewer", "session=%s peer=%s access=%s transport=%s", session.c_str(),
             conn->peer().c_str(), entry.by_token ? to_string(entry.access) : "rfb-auth",
             conn->tls() ? "wss" : "ws");
    admit_viewer(session, conn, rfb::ServerHandshake(std::move(c)));
}

bool SessionRegistry::locked_out(const sockaddr_storage& peer) {
    const auto* addr = reinterpret_cast<const sockaddr*>(&peer);
    if (!lockout_.blocked(addr, loop_.now(), nullptr)) return false;
    LOG_WARN("viewer-refused", "peer=%s reason=\"locked out while authenticating\"",
             peer_name(peer).c_str());
    metrics_.refused(metrics::RefuseReason::kLockout);
    return true;
}

void SessionRegistry::auth_result(const sockaddr_storage& peer, bool ok) {
    const auto* addr = reinterpret_cast<const sockaddr*>(&peer);
    if (ok) {
        lockout_.success(addr);
        return;
    }
    metrics_.auth_failure();
    const uint64_t blocks = lockout_.counters().blocks_started;
    lockout_.failure(addr, loop_.now());
    if (lockout_.counters().blocks_started == blocks) return;
    metrics_.lockout();
    LOG_WARN("lockout", "peer=%s note=\"too many authentication failures: refused for a while\"",
             peer_name(peer).c_str());
}

void SessionRegistry::attach_viewer(Session& session, Connection* conn,
                                    std::optional<rfb::ServerHandshake> finished,
                                    PreauthLimit::Ticket preauth) {
    std::string refusal;
    metrics::RefuseReason why = metrics::RefuseReason::kOther;
    const Entry* e = find_entry(session.options().name);
    if (draining_) {
        refusal = "rfbcast is shutting down";
        why = metrics::RefuseReason::kDraining;
    } else if (e && !address_allowed(reinterpret_cast<const sockaddr*>(&conn->peer_address()), e)) {
        ++stats_.refused_by_address;
        refusal = "your address is not allowed to watch this session";
        why = metrics::RefuseReason::kAllowList;
    } else if (session.viewer_count() >= session.options().max_viewers) {
        refusal = "this session already has its maximum number of viewers";
        why = metrics::RefuseReason::kMaxViewers;
    } else if (total_viewers() >= global_.max_total_viewers) {
        refusal = "this server already has its maximum number of viewers";
        why = metrics::RefuseReason::kMaxTotalViewers;
    }
    if (!refusal.empty()) {
        metrics_.refused(why);
        LOG_WARN("viewer-refused", "session=%s peer=%s reason=\"%s\"",
                 session.options().name.c_str(), conn->peer().c_str(), refusal.c_str());
        if (finished && finished->access() != rfb::AccessLevel::kNone) {
            // Past the handshake there is no failure message left to send.
            ++stats_.viewers_refused;
            conn->close();
        } else {
            start_gate(conn, ViewerGate::Mode::kRefuse, refusal, {});
        }
        return;
    }
    std::unique_ptr<ViewerConnection> viewer;
    if (finished)
        viewer = std::make_unique<ViewerConnection>(session, conn, next_viewer_id_++,
                                                    std::move(*finished));
    else
        viewer = std::make_unique<ViewerConnection>(session, conn, next_viewer_id_++,
                                                    random_challenge());
    ViewerConnection* v = viewer.get();
    v->hold_preauth(std::move(preauth));
    session.add_viewer(std::move(viewer));
    v->start();
}

size_t SessionRegistry::total_viewers() const {
    size_t n = 0;
    for (const auto& [name, e] : entries_)
        n += e->session->viewer_count();
    return n;
}

void SessionRegistry::gate_finished(ViewerGate* gate) {
    forget_later(gates_, gate);
}

Session* SessionRegistry::route_password(size_t route, std::string& refusal) {
    if (route >= password_routes_.size()) {
        refusal = "no such session";
        return nullptr;
    }
    Entry* e = find_entry(password_routes_[route]);
    if (!e) {
        refusal = "session '" + password_routes_[route] + "' was removed";
        return nullptr;
    }
    ++stats_.viewers_routed;
    return e->session.get();
}

Session* SessionRegistry::route_repeater(const rfb::RepeaterTarget& target, const std::string& peer,
                                         std::string& refusal) {
    if (target.kind == rfb::RepeaterTarget::kId) {
        if (Entry* e = find_by_id(target.id)) {
            ++stats_.viewers_routed;
            LOG_INFO("viewer-routed", "session=%s peer=%s id=%s", e->config.name.c_str(),
                     peer.c_str(), target.id.c_str());
            return e->session.get();
        }
        ++stats_.repeater_refused;
        metrics_.refused(metrics::RefuseReason::kUnknownSession);
        refusal = "no session has repeater ID " + target.id;
        LOG_WARN("repeater-refused", "side=viewer peer=%s id=%s reason=\"unknown ID\"",
                 peer.c_str(), target.id.c_str());
        return nullptr;
    }
    // Mode I: we dial the destination ourselves, so only where the operator allowed it.
    const std::string dest = rfb::repeater_text(target);
    if (!mode1_allow_.allows_host(target.host, target.port)) {
        ++stats_.repeater_refused;
        metrics_.refused(metrics::RefuseReason::kAllowList);
        refusal = "destination " + dest + " is not allowed (Mode I)";
        LOG_WARN("repeater-refused", "side=viewer peer=%s destination=%s reason=\"%s\"",
                 peer.c_str(), dest.c_str(),
                 mode1_allow_.empty() ? "Mode I is off" : "not in mode1_allow");
        return nullptr;
    }
    const std::string name = "mode1-" + dest;
    if (Entry* e = find_entry(name)) {
        ++stats_.viewers_routed;
        return e->session.get();
    }
    size_t transient = 0;
    for (const auto& [n, e] : entries_)
        transient += e->origin != Origin::kConfig;
    if (transient >= settings_.max_dynamic_sessions) {
        metrics_.refused(metrics::RefuseReason::kOther);
        refusal = "too many sessions";
        LOG_WARN("repeater-refused", "side=viewer peer=%s destination=%s reason=\"%s\"",
                 peer.c_str(), dest.c_str(), refusal.c_str());
        return nullptr;
    }
    SessionConfig c;
    c.name = name;
    const bool v6 = target.host.find(':') != std::string::npos;
    c.upstream = (v6 ? "[" + target.host + "]" : target.host) + ":" + std::to_string(target.port);
    c.limits = global_.defaults;
    std::string error;
    Entry* e = create_entry(Origin::kModeI, c, error);
    if (!e) {
        refusal = "cannot reach " + dest;
        LOG_WARN("mode1-failed", "destination=%s reason=\"%s\"", dest.c_str(), error.c_str());
        return nullptr;
    }
    e->upstream->start();
    LOG_INFO("session-added", "session=%s upstream=%s origin=mode1 peer=%s", name.c_str(),
             e->upstream->describe().c_str(), peer.c_str());
    ++stats_.viewers_routed;
    return e->session.get();
}

// --- servers that dial in ------------------------------------------------------------------------

void SessionRegistry::accept_repeater_server(int fd, const std::string& peer) {
    auto* conn = new Connection(loop_, fd, nullptr, upstream_connection_limits(), peer);
    metrics_.accepted(metrics::Listener::kRepeater);
    if (pending_full()) {
        LOG_WARN("repeater-refused", "side=server peer=%s reason=\"too many pending\"",
                 peer.c_str());
        metrics_.refused(metrics::RefuseReason::kPreauthLimit);
        conn->close();
        return;
    }
    auto d = std::make_unique<ServerDialIn>(loop_, *this, conn);
    ServerDialIn* p = d.get();
    dial_ins_.push_back(std::move(d));
    p->start();
}

void SessionRegistry::dial_in_finished(ServerDialIn* d) {
    forget_later(dial_ins_, d);
}

void SessionRegistry::accept_reverse(Entry& e, int fd, const std::string& peer) {
    auto* conn = new Connection(loop_, fd, nullptr, upstream_connection_limits(), peer);
    metrics_.accepted(metrics::Listener::kReverse);
    if (!e.dial_in) {
        conn->close();
        return;
    }
    ++stats_.servers_dialled_in;
    e.dial_in->adopt(conn, "reverse port");
    conn->start();
}

bool SessionRegistry::server_dialled_in(const rfb::RepeaterTarget& target, Connection* conn,
                                        std::string& refusal) {
    Entry* e = find_by_id(target.id);
    if (e) {
        if (!e->dial_in) {
            ++stats_.repeater_refused;
            metrics_.refused(metrics::RefuseReason::kOther);
            refusal = "session '" + e->config.name + "' dials its own upstream";
            return false;
        }
        if (!e->repeater_secret.empty() && !same_secret(target.secret, e->repeater_secret)) {
            ++stats_.repeater_refused;
            metrics_.refused(metrics::RefuseReason::kAuthFailed);
            refusal = target.secret.empty() ? "this ID needs its secret (ID:<id>:<secret>)"
                                            : "wrong secret for this ID";
            return false;
        }
    } else {
        if (!global_.allow_dynamic_ids) {
            ++stats_.repeater_refused;
            metrics_.refused(metrics::RefuseReason::kUnknownSession);
            refusal = "unknown ID (dynamic IDs are off)";
            return false;
        }
        if (!dynamic_id_key_.empty() && !token_matches(dynamic_id_key_, target.id, target.secret)) {
            ++stats_.repeater_refused;
            metrics_.refused(metrics::RefuseReason::kAuthFailed);
            refusal = target.secret.empty() ? "dynamic IDs need a token (ID:<id>:<token>)"
                                            : "wrong token for this ID";
            return false;
        }
        const std::string name = "id-" + target.id;
        e = find_entry(name);
        if (!e) {
            size_t transient = 0;
            for (const auto& [n, x] : entries_)
                transient += x->origin != Origin::kConfig;
            if (transient >= settings_.max_dynamic_sessions) {
                metrics_.refused(metrics::RefuseReason::kOther);
                refusal = "too many sessions";
                return false;
            }
            SessionConfig c;
            c.name = name;
            c.repeater_id = target.id;
            c.limits = global_.defaults;
            std::string error;
            e = create_entry(Origin::kDynamicId, c, error);
            if (!e) {
                refusal = error;
                return false;
            }
            compute_routes();
            LOG_INFO("session-added", "session=%s origin=dynamic-id id=%s", name.c_str(),
                     target.id.c_str());
        }
    }
    ++stats_.servers_dialled_in;
    e->dial_in->adopt(conn, "repeater ID " + target.id);
    return true;
}

// --- housekeeping ------------------------------------------------------------------------------

// Once a second: stop upstreams of sessions left without viewers (when so configured), and
// drop sessions nobody configured once nothing uses them.
void SessionRegistry::sweep() {
    sweep_timer_ = loop_.add_timer(std::chrono::seconds(1), [this] { sweep(); });
    const Clock::time_point now = loop_.now();
    std::vector<std::string> drop;
    for (auto& [name, e] : entries_) {
        if (e->session->viewer_count() > 0) continue;
        const Clock::duration empty_for = now - e->empty_since;
        if (e->origin == Origin::kModeI && empty_for >= kTransientGrace) {
            drop.push_back(name);
        } else if (e->origin == Origin::kDynamicId && empty_for >= kTransientGrace &&
                   !e->upstream->connected()) {
            drop.push_back(name);
        } else if (e->origin == Origin::kConfig &&
                   !e->config.limits.keep_upstream_without_viewers && !e->upstream_stopped &&
                   !e->dial_in &&
                   empty_for >= std::chrono::seconds(e->config.limits.idle_timeout_s)) {
            e->upstream_stopped = true;
            e->upstream->stop();
            LOG_INFO("upstream-idle",
                     "session=%s note=\"no viewers for %d s: upstream closed "
                     "until one comes\"",
                     name.c_str(), e->config.limits.idle_timeout_s);
        }
    }
    for (const std::string& name : drop)
        remove_entry(name, "no longer used");
    if (!drop.empty()) compute_routes();
}

}  // namespace rfbcast
