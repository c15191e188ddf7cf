#include "reflector/startup_config.h"

#include "reflector/security_types.h"

#include "codec/decoder.h"
#include "codec/rfb_constants.h"
#include "reflector/tls_session.h"
#include "reflector/user_file.h"

namespace rfbcast {
namespace {

// The flags that override the config's global keys (and session-limit defaults) when given.
void apply_flags(const Options& opt, Config& c) {
    GlobalConfig& g = c.global;
    if (opt.was_given("--listen")) g.listen = opt.listen;
    if (opt.was_given("--repeater-listen")) g.repeater_listen = opt.repeater_listen;
    if (opt.was_given("--allow-dynamic-ids")) g.allow_dynamic_ids = opt.allow_dynamic_ids;
    if (opt.was_given("--display-base")) g.display_base = opt.display_base;
    if (opt.was_given("--mode1-allow")) g.mode1_allow = opt.mode1_allow;
    if (opt.was_given("--dynamic-id-key-file")) g.dynamic_id_key_file = opt.dynamic_id_key_file;
    if (opt.was_given("--allow")) g.allow = opt.allow;
    if (opt.was_given("--deny")) g.deny = opt.deny;
    if (opt.was_given("--trusted-proxy")) g.trusted_proxies = opt.trusted_proxies;
    if (opt.was_given("--max-preauth")) g.max_preauth = opt.max_preauth;
    if (opt.was_given("--max-preauth-per-address"))
        g.max_preauth_per_address = opt.max_preauth_per_address;
    if (opt.was_given("--max-total-viewers")) g.max_total_viewers = opt.max_total_viewers;
    if (opt.was_given("--http-listen"))
        g.http_listen = opt.http_listen == "off" ? std::string() : opt.http_listen;
    if (opt.was_given("--web-root")) g.web_root = opt.web_root;
    if (opt.was_given("--http-on-viewer-port")) g.http_on_viewer_port = opt.http_on_viewer_port;
    if (opt.was_given("--metrics-listen"))
        g.metrics_listen = opt.metrics_listen == "off" ? std::string() : opt.metrics_listen;
    if (opt.was_given("--drain-timeout")) g.drain_timeout_s = opt.drain_timeout_s;
    if (opt.was_given("--web-token-key-file")) g.web_token_key_file = opt.web_token_key_file;
    if (opt.was_given("--log-level")) g.log_level = opt.log_level;
    if (opt.was_given("--log-format")) g.log_format = opt.log_format;
    if (opt.was_given("--cache-mb")) g.cache_mb = opt.cache_mb;
    if (opt.was_given("--encode-threads")) g.encode_threads = opt.encode_threads;
    if (opt.was_given("--stats-interval")) g.stats_interval_s = opt.stats_interval_s;
    SessionLimitOverrides& d = g.default_overrides;
    if (opt.was_given("--max-viewers")) d.max_viewers = opt.max_viewers;
    if (opt.was_given("--max-fps")) d.max_fps = opt.max_fps;
    if (opt.was_given("--min-quality")) d.min_quality = opt.min_quality;
    if (opt.was_given("--max-quality")) d.max_quality = opt.max_quality;
    if (opt.was_given("--viewer-max-kbps")) d.viewer_max_kbps = opt.viewer_max_kbps;
    if (opt.was_given("--session-max-kbps")) d.session_max_kbps = opt.session_max_kbps;
    if (opt.was_given("--handshake-timeout")) d.handshake_timeout_s = opt.handshake_timeout_s;
    if (opt.was_given("--max-cut-text")) d.max_cut_text = opt.max_cut_text;
    if (opt.was_given("--max-framebuffer")) d.max_framebuffer = opt.max_framebuffer;
    if (opt.was_given("--max-cursor")) d.max_cursor = opt.max_cursor;
    if (opt.was_given("--max-fence-payload")) d.max_fence_payload = opt.max_fence_payload;
    if (opt.was_given("--security-types")) {
        uint32_t mask = 0;
        std::string error;  // each name was checked by the option itself
        if (parse_security_types(opt.security_types, mask, error)) d.security_types = mask;
    }
    g.defaults = apply_overrides(SessionLimits{}, d);
    // Servers dial in somewhere: the repeater port defaults as the config file's does.
    const bool ids = g.allow_dynamic_ids ||
                     std::any_of(c.sessions.begin(), c.sessions.end(), [](const SessionConfig& s) {
                         return s.server_dials_in() && !s.repeater_id.empty();
                     });
    if (g.repeater_listen.empty() && ids) g.repeater_listen = kDefaultRepeaterListen;
}

}  // namespace

bool build_config(const Options& opt, Config& out, std::vector<std::string>& errors) {
    Config c;
    if (!opt.config_file.empty()) {
        if (!opt.upstream.empty() || opt.demo) {
            errors.push_back(
                "--upstream and --demo name the one session of a run without --config; with "
                "--config, write the session as a [[session]] table");
            return false;
        }
        ConfigResult r = load_config_file(opt.config_file);
        if (!r.ok()) {
            errors = std::move(r.errors);
            return false;
        }
        c = std::move(r.config);
    } else {
        c.global.listen = opt.listen;
        const bool servers_dial_in =
            opt.allow_dynamic_ids || !opt.mode1_allow.empty() || !opt.repeater_listen.empty();
        if (!opt.upstream.empty() && !opt.demo) {
            SessionConfig s;
            s.name = "default";
            s.upstream = opt.upstream;
            c.sessions.push_back(std::move(s));
        } else if (opt.demo || !servers_dial_in) {
            // Nothing to reflect: the built-in demo, named as viewers see it.
            SessionConfig s;
            s.name = opt.desktop_name;
            s.upstream = "demo";
            c.sessions.push_back(std::move(s));
        }
    }
    apply_flags(opt, c);
    for (std::string& e : inherit_defaults(c))
        errors.push_back(std::move(e));
    if (!errors.empty()) return false;
    out = std::move(c);
    return true;
}

bool build_registry_settings(const Options& opt, const Config& config, RegistrySettings& out,
                             std::string& error) {
    RegistrySettings r;
    SessionOptions& so = r.session_template;
    so.pacing.stall_timeout = std::chrono::seconds(opt.viewer_stall_timeout_s);
    so.lossless_refresh_delay = std::chrono::milliseconds(opt.lossless_refresh_ms);
    so.lossless_when_fast = !opt.no_lossless_when_fast;
    if (opt.viewer_tls != "off") {
        auto security = std::make_shared<ViewerSecurity>();
        security->require_tls = opt.viewer_tls == "require";
        const std::string users =
            opt.users_file.empty() ? config.global.users_file : opt.users_file;
        if (!users.empty()) {
            auto table = std::make_shared<UserTable>();
            std::vector<std::string> errors, warnings;
            if (!load_user_file(users, *table, errors, &warnings)) {
                error = errors.empty() ? "cannot load " + users : errors.front();
                return false;
            }
            for (const std::string& w : warnings)
                LOG_WARN("users-file-permissions", "problem=\"%s\"", w.c_str());
            security->check_plain = [table](std::string_view user, std::string_view password) {
                UserAccess access = UserAccess::kView;
                if (!table->check(user, password, &access)) return rfb::AccessLevel::kNone;
                return access == UserAccess::kControl ? rfb::AccessLevel::kFull
                                                      : rfb::AccessLevel::kViewOnly;
            };
        }
        TlsCredentialsConfig anon;
        anon.role = TlsRole::kServer;
        anon.auth = TlsAuth::kAnonymous;
        security->anonymous = TlsCredentials::create(anon, &error);
        if (!security->anonymous) {
            error = "anonymous TLS for viewers: " + error;
            return false;
        }
        if (!opt.tls_cert_file.empty()) {
            TlsCredentialsConfig x509;
            x509.role = TlsRole::kServer;
            x509.auth = TlsAuth::kX509;
            x509.cert_file = opt.tls_cert_file;
            x509.key_file = opt.tls_key_file;
            security->x509 = TlsCredentials::create(x509, &error);
            if (!security->x509) {
                error = "--tls-cert-file/--tls-key-file: " + error;
                return false;
            }
        }
        so.security = std::move(security);
    }
    // Also without TLS, so that security_types rules the shared port's None and VncAuth.
    auto security = so.security ? std::make_shared<ViewerSecurity>(*so.security)
                                : std::make_shared<ViewerSecurity>();
    security->allowed = config.global.defaults.security_types;
    so.security = std::move(security);
    r.password_file = opt.password_file;
    r.viewonly_password_file = opt.viewonly_password_file;
    r.upstream_password_file = opt.upstream_password_file;
    r.upstream_username_file = opt.upstream_username_file;

    UpstreamOptions& uo = r.upstream_template;
    std::string bad;
    const bool known = opt.upstream_encodings.empty() ||
                       rfb::encoding::parse_list(opt.upstream_encodings, uo.encodings, bad);
    for (int32_t e : uo.encodings)
        if (!rfb::make_decoder(e)) bad = rfb::encoding::name(e);
    if (!known || !bad.empty()) {
        error = "--upstream-encodings: rfbcast cannot decode '" + bad +
                "' (known: raw, copyrect, rre, corre, hextile, zlib, tight, trle, zrle)";
        return false;
    }
    uo.quality = opt.upstream_quality;
    uo.compress = opt.upstream_compress;
    uo.tls = opt.upstream_tls == "require" ? rfb::TlsPolicy::kRequire
             : opt.upstream_tls == "off"   ? rfb::TlsPolicy::kOff
                                           : rfb::TlsPolicy::kPrefer;
    if (!opt.upstream_ca.empty()) {
        TlsCredentialsConfig tc;
        tc.role = TlsRole::kClient;
        tc.auth = TlsAuth::kX509;
        tc.ca_file = opt.upstream_ca;
        uo.tls_ca = TlsCredentials::create(tc, &error);
        if (!uo.tls_ca) {
            error = "--upstream-ca: " + error;
            return false;
        }
        if (uo.tls == rfb::TlsPolicy::kOff)
            LOG_WARN("upstream-ca-unused",
                     "note=\"--upstream-ca has no effect with --upstream-tls off\"");
    } else if (!opt.upstream_pin.empty()) {
        TlsCredentialsConfig tc;
        tc.role = TlsRole::kClient;
        tc.auth = TlsAuth::kX509;
        if (!parse_public_key_pin(opt.upstream_pin, tc.pin_sha256, error)) {
            error = "--upstream-pin: " + error;
            return false;
        }
        uo.tls_ca = TlsCredentials::create(tc, &error);
        if (!uo.tls_ca) {
            error = "--upstream-pin: " + error;
            return false;
        }
    } else if (!opt.upstream_tls_hostname.empty()) {
        LOG_WARN("upstream-tls-hostname-unused",
                 "note=\"--upstream-tls-hostname only matters with --upstream-ca\"");
    }
    uo.tls_hostname = opt.upstream_tls_hostname;
    uo.allow_plain_without_tls = opt.upstream_insecure_plain;
    out = std::move(r);
    return true;
}

}  // namespace rfbcast
