#include "reflector/options.h"

#include "reflector/config_file.h"
#include "reflector/secret_file_mode.h"
#include "reflector/security_types.h"

#include <sys/stat.h>
#include <cstdio>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>

namespace rfbcast {

std::optional<int> parse_options(int argc, char** argv, Options& o) {
    CLI::App app{
        "rfbcast: a multi-session VNC reflector. It connects to one upstream RFB server and "
        "serves its screen to many viewers; with no upstream it serves a built-in demo session."};
    app.set_version_flag("--version", std::string("rfbcast ") + RFBCAST_VERSION);
    std::string level = "info", format = "text";
    app.add_option("--config", o.config_file,
                   "TOML config file: sessions, listeners, limits (see README); flags given "
                   "here override its global settings")
        ->envname("RFBCAST_CONFIG");
    app.add_flag("--check-config", o.check_config,
                 "Validate the configuration (file and flags), print what it means, and exit");
    app.add_option("--repeater-listen", o.repeater_listen,
                   "ADDR:PORT where servers dial in with an UltraVNC repeater ID (default "
                   "0.0.0.0:5500 when a session has a repeater_id or dynamic IDs are on)")
        ->envname("RFBCAST_REPEATER_LISTEN");
    app.add_flag("--allow-dynamic-ids", o.allow_dynamic_ids,
                 "Any server dialling in with ID:nnnn gets a session, reached by that ID on "
                 "the viewer port")
        ->envname("RFBCAST_ALLOW_DYNAMIC_IDS");
    app.add_option("--dynamic-id-key-file", o.dynamic_id_key_file,
                   "File with the key dynamic IDs are signed with: servers must dial in as "
                   "ID:<id>:<token> (rfbcast --print-id-token)")
        ->envname("RFBCAST_DYNAMIC_ID_KEY_FILE");
    app.add_option("--print-id-token", o.print_id_token,
                   "Print the ID:<id>:<token> a server dials in with for this dynamic ID "
                   "(needs --dynamic-id-key-file), and exit");
    app.add_option("--display-base", o.display_base,
                   "Session N also listens on port BASE+N, as vncserver :N users expect")
        ->envname("RFBCAST_DISPLAY_BASE")
        ->check(CLI::Range(1, 65535));
    app.add_option("--mode1-allow", o.mode1_allow,
                   "Allow UltraVNC repeater Mode I (the viewer names host:port) to this "
                   "CIDR[:port] or host[:port]; repeatable. Off by default: an open relay")
        ->envname("RFBCAST_MODE1_ALLOW")
        ->delimiter(',');
    app.add_option("--upstream", o.upstream,
                   "Upstream RFB server HOST:PORT (default: demo session)")
        ->envname("RFBCAST_UPSTREAM");
    app.add_option("--upstream-password-file", o.upstream_password_file,
                   "File with the upstream's VNC password (first line)")
        ->envname("RFBCAST_UPSTREAM_PASSWORD_FILE");
    app.add_option("--upstream-username-file", o.upstream_username_file,
                   "File with the username for the upstream's VeNCrypt Plain or Apple Remote "
                   "Desktop authentication (first line)")
        ->envname("RFBCAST_UPSTREAM_USERNAME_FILE");
    app.add_option("--upstream-tls", o.upstream_tls,
                   "TLS towards the upstream (VeNCrypt): require (refuse None, VncAuth, ARD and "
                   "plain-text Plain), prefer (use it when offered) or off")
        ->envname("RFBCAST_UPSTREAM_TLS")
        ->check(CLI::IsMember({"require", "prefer", "off"}))
        ->capture_default_str();
    app.add_option("--upstream-ca", o.upstream_ca,
                   "PEM file of CA certificates to verify the upstream's X509 certificate, or "
                   "'system'. Enables the X509 sub-types; with --upstream-tls require, "
                   "anonymous TLS is then refused")
        ->envname("RFBCAST_UPSTREAM_CA");
    app.add_option("--upstream-pin", o.upstream_pin,
                   "Trust the upstream's certificate exactly when its public key has this "
                   "SHA-256 (pin-sha256:BASE64, as gnutls-cli prints it); instead of --upstream-ca")
        ->envname("RFBCAST_UPSTREAM_PIN");
    app.add_option("--upstream-tls-hostname", o.upstream_tls_hostname,
                   "Name the upstream's certificate must carry (default: the --upstream host)")
        ->envname("RFBCAST_UPSTREAM_TLS_HOSTNAME");
    app.add_flag("--upstream-insecure-plain", o.upstream_insecure_plain,
                 "Allow VeNCrypt Plain without TLS: username and password cross the network "
                 "unencrypted")
        ->envname("RFBCAST_UPSTREAM_INSECURE_PLAIN");
    app.add_option("--upstream-encodings", o.upstream_encodings,
                   "Encodings to ask the upstream for, in preference order, e.g. zrle,hextile,raw")
        ->envname("RFBCAST_UPSTREAM_ENCODINGS");
    app.add_option("--upstream-quality", o.upstream_quality,
                   "JPEG quality 0-9 to ask of the upstream (Tight); default lossless")
        ->envname("RFBCAST_UPSTREAM_QUALITY")
        ->check(CLI::Range(0, 9));
    app.add_option("--upstream-compress-level", o.upstream_compress,
                   "Compression level 0-9 to ask of the upstream")
        ->envname("RFBCAST_UPSTREAM_COMPRESS_LEVEL")
        ->check(CLI::Range(0, 9));
    app.add_option("--listen", o.listen, "Viewer listen ADDR:PORT")
        ->envname("RFBCAST_LISTEN")
        ->capture_default_str();
    app.add_option("--password-file", o.password_file,
                   "File with the full-control viewer password (first line)")
        ->envname("RFBCAST_PASSWORD_FILE");
    app.add_option("--viewonly-password-file", o.viewonly_password_file,
                   "File with the view-only viewer password (first line)")
        ->envname("RFBCAST_VIEWONLY_PASSWORD_FILE");
    app.add_option("--viewer-tls", o.viewer_tls,
                   "TLS towards viewers (VeNCrypt): prefer (offer it first, VNC authentication "
                   "or None too), require (TLS only) or off")
        ->envname("RFBCAST_VIEWER_TLS")
        ->check(CLI::IsMember({"require", "prefer", "off"}))
        ->capture_default_str();
    app.add_option("--tls-cert-file", o.tls_cert_file,
                   "PEM certificate chain for viewers' X509 sub-types (with --tls-key-file); "
                   "without it viewers get anonymous TLS only")
        ->envname("RFBCAST_TLS_CERT_FILE");
    app.add_option("--tls-key-file", o.tls_key_file, "PEM private key of --tls-cert-file")
        ->envname("RFBCAST_TLS_KEY_FILE");
    app.add_option("--http-listen", o.http_listen,
                   "ADDR:PORT of the browser viewer (noVNC page, session listing, WebSocket at "
                   "/ws/<session>; HTTPS as well with --tls-cert-file); 'off' for none")
        ->envname("RFBCAST_HTTP_LISTEN")
        ->capture_default_str();
    app.add_option("--http-on-viewer-port", o.http_on_viewer_port,
                   "With --http-listen: browsers may also use the viewer ports (a connection "
                   "that sends first within 100 ms is taken as HTTP/WebSocket)")
        ->envname("RFBCAST_HTTP_ON_VIEWER_PORT")
        ->capture_default_str();
    app.add_option("--metrics-listen", o.metrics_listen,
                   "ADDR:PORT serving /metrics (Prometheus), /healthz and /readyz; 'off' for none")
        ->envname("RFBCAST_METRICS_LISTEN");
    app.add_option("--drain-timeout", o.drain_timeout_s,
                   "On SIGTERM: seconds viewers get to finish their update before they are "
                   "closed (readiness fails at once; 0: close at once)")
        ->envname("RFBCAST_DRAIN_TIMEOUT")
        ->check(CLI::Range(0, 3600))
        ->capture_default_str();
    app.add_flag("--healthcheck", o.healthcheck,
                 "Ask the running rfbcast's /healthz (at --metrics-listen) and exit 0 if it "
                 "answers 200 (for Docker's HEALTHCHECK)");
    app.add_option("--web-root", o.web_root,
                   "Directory of the browser viewer's files (default: web/ next to the binary, "
                   "then ../share/rfbcast/web)")
        ->envname("RFBCAST_WEB_ROOT");
    app.add_option("--web-token-key-file", o.web_token_key_file,
                   "File with the key browser links are signed with (--make-web-token)")
        ->envname("RFBCAST_WEB_TOKEN_KEY_FILE");
    app.add_option("--make-web-token", o.make_web_token,
                   "Print a signed token for this session's browser link "
                   "(/view/<session>?token=...), and exit; needs --web-token-key-file");
    app.add_option("--web-token-access", o.web_token_access, "What a made token grants")
        ->check(CLI::IsMember({"view", "control"}))
        ->capture_default_str();
    app.add_option("--web-token-ttl", o.web_token_ttl_s, "How long a made token lasts, seconds")
        ->check(CLI::Range(int64_t{60}, int64_t{366} * 86400))
        ->capture_default_str();
    app.add_option("--users-file", o.users_file,
                   "Users for VeNCrypt Plain (inside TLS only), one 'name:pbkdf2-sha256:...' "
                   "line each (rfbcast --hash-password makes them)")
        ->envname("RFBCAST_USERS_FILE");
    app.add_option("--security-types", o.security_types,
                   "Security types viewers may be offered (comma list): none, vncauth, tlsnone, "
                   "tlsvnc, tlsplain, x509none, x509vnc, x509plain; default: all that fit the "
                   "passwords, users and certificate")
        ->envname("RFBCAST_SECURITY_TYPES")
        ->delimiter(',')
        ->check([](const std::string& v) {
            uint32_t mask = 0;
            std::string error;
            return parse_security_types({v}, mask, error) ? std::string() : error;
        });
    app.add_option("--allow", o.allow,
                   "Only clients in these CIDRs may connect (viewers; repeatable or comma list)")
        ->envname("RFBCAST_ALLOW")
        ->delimiter(',');
    app.add_option("--deny", o.deny, "Clients in these CIDRs may never connect (wins over --allow)")
        ->envname("RFBCAST_DENY")
        ->delimiter(',');
    app.add_option("--trusted-proxy", o.trusted_proxies,
                   "Proxies (CIDRs) whose PROXY protocol v1/v2 header names the real client")
        ->envname("RFBCAST_TRUSTED_PROXY")
        ->delimiter(',');
    app.add_option("--max-preauth", o.max_preauth, "Connections authenticating at once")
        ->envname("RFBCAST_MAX_PREAUTH")
        ->check(CLI::Range(1, 100000))
        ->capture_default_str();
    app.add_option("--max-preauth-per-address", o.max_preauth_per_address,
                   "Connections authenticating at once from one address (IPv6: one /64)")
        ->envname("RFBCAST_MAX_PREAUTH_PER_ADDRESS")
        ->check(CLI::Range(1, 100000))
        ->capture_default_str();
    app.add_option("--max-total-viewers", o.max_total_viewers, "Viewers of all sessions together")
        ->envname("RFBCAST_MAX_TOTAL_VIEWERS")
        ->check(CLI::Range(1, 1000000))
        ->capture_default_str();
    app.add_option("--handshake-timeout", o.handshake_timeout_s,
                   "Seconds a connection has from accept to finish authenticating")
        ->envname("RFBCAST_HANDSHAKE_TIMEOUT")
        ->check(CLI::Range(1, 3600))
        ->capture_default_str();
    app.add_option("--max-cut-text", o.max_cut_text,
                   "Largest clipboard text in bytes a viewer or the upstream may send")
        ->envname("RFBCAST_MAX_CUT_TEXT")
        ->check(CLI::Range(kMinCutTextLimit, kMaxCutTextLimit))
        ->capture_default_str();
    app.add_option("--max-framebuffer", o.max_framebuffer,
                   "Largest upstream desktop side in pixels (at most 16384)")
        ->envname("RFBCAST_MAX_FRAMEBUFFER")
        ->check(CLI::Range(16, 16384))
        ->capture_default_str();
    app.add_option("--max-cursor", o.max_cursor,
                   "Largest upstream cursor side in pixels (at most 256)")
        ->envname("RFBCAST_MAX_CURSOR")
        ->check(CLI::Range(1, 256))
        ->capture_default_str();
    app.add_option("--max-fence-payload", o.max_fence_payload,
                   "Largest Fence payload in bytes either side may send (at most 64)")
        ->envname("RFBCAST_MAX_FENCE_PAYLOAD")
        ->check(CLI::Range(0, 64))
        ->capture_default_str();
    app.add_option("--hash-password", o.hash_password_user,
                   "Read a password from standard input and print the --users-file line for "
                   "this user name, then exit");
    app.add_option("--desktop-name", o.desktop_name, "Desktop name shown to viewers of the demo")
        ->envname("RFBCAST_DESKTOP_NAME")
        ->capture_default_str();
    app.add_flag("--demo", o.demo, "Serve the built-in demo session even if --upstream is set")
        ->envname("RFBCAST_DEMO");
    app.add_option("--log-level", level, "debug, info, warn or error")
        ->envname("RFBCAST_LOG_LEVEL")
        ->capture_default_str();
    app.add_option("--log-format", format, "text or json")
        ->envname("RFBCAST_LOG_FORMAT")
        ->check(CLI::IsMember({"text", "json"}))
        ->capture_default_str();
    app.add_option("--cache-mb", o.cache_mb, "Encoded-tile cache size in MiB")
        ->envname("RFBCAST_CACHE_MB")
        ->check(CLI::Range(1, 65536))
        ->capture_default_str();
    app.add_option("--max-viewers", o.max_viewers, "Most viewers served at once")
        ->envname("RFBCAST_MAX_VIEWERS")
        ->check(CLI::Range(1, 100000))
        ->capture_default_str();
    app.add_option("--encode-threads", o.encode_threads,
                   "Encoder threads (0: encode on the event loop; default: cores - 1)")
        ->envname("RFBCAST_ENCODE_THREADS")
        ->check(CLI::Range(0, 256));
    app.add_option("--stats-interval", o.stats_interval_s,
                   "Seconds between 'stats' log lines (0: none)")
        ->envname("RFBCAST_STATS_INTERVAL")
        ->check(CLI::Range(0, 86400))
        ->capture_default_str();
    app.add_option("--max-fps", o.max_fps, "Most updates per second sent to one viewer")
        ->envname("RFBCAST_MAX_FPS")
        ->check(CLI::Range(0.5, 240.0))
        ->capture_default_str();
    app.add_option("--min-quality", o.min_quality,
                   "Lowest JPEG quality level (0-9) a slow viewer is stepped down to")
        ->envname("RFBCAST_MIN_QUALITY")
        ->check(CLI::Range(0, 9))
        ->capture_default_str();
    app.add_option("--max-quality", o.max_quality,
                   "Highest JPEG quality level (0-9) used below lossless")
        ->envname("RFBCAST_MAX_QUALITY")
        ->check(CLI::Range(0, 9))
        ->capture_default_str();
    app.add_option("--viewer-max-kbps", o.viewer_max_kbps,
                   "Bandwidth cap per viewer in kbit/s (0: none)")
        ->envname("RFBCAST_VIEWER_MAX_KBPS")
        ->check(CLI::Range(0.0, 1e8))
        ->capture_default_str();
    app.add_option("--session-max-kbps", o.session_max_kbps,
                   "Bandwidth cap for all viewers of the session together, split evenly (0: none)")
        ->envname("RFBCAST_SESSION_MAX_KBPS")
        ->check(CLI::Range(0.0, 1e9))
        ->capture_default_str();
    app.add_option("--viewer-stall-timeout", o.viewer_stall_timeout_s,
                   "Seconds a viewer may take nothing before it is disconnected (0: never)")
        ->envname("RFBCAST_VIEWER_STALL_TIMEOUT")
        ->check(CLI::Range(0, 86400))
        ->capture_default_str();
    app.add_option("--lossless-refresh-ms", o.lossless_refresh_ms,
                   "Milliseconds of stillness before JPEG tiles are re-sent lossless (0: never)")
        ->envname("RFBCAST_LOSSLESS_REFRESH_MS")
        ->check(CLI::Range(0, 600000))
        ->capture_default_str();
    app.add_flag("--no-lossless-when-fast", o.no_lossless_when_fast,
                 "Viewers that allow JPEG get it even on links that carry lossless")
        ->envname("RFBCAST_NO_LOSSLESS_WHEN_FAST");
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    }
    for (const CLI::Option* opt : app.get_options())
        if (opt->count() > 0) o.given.push_back(opt->get_name());
    if (o.min_quality > o.max_quality) {
        std::fprintf(stderr, "--min-quality (%d) is above --max-quality (%d)\n", o.min_quality,
                     o.max_quality);
        return 2;
    }
    if (!parse_log_level(level, o.log_level)) {
        std::cerr << "--log-level: expected debug, info, warn or error, got '" << level << "'\n";
        return 2;
    }
    o.log_format = format == "json" ? LogFormat::kJson : LogFormat::kText;
    if (!o.upstream_pin.empty() && !o.upstream_ca.empty()) {
        std::cerr << "--upstream-pin and --upstream-ca: give one of them\n";
        return 2;
    }
    if (o.tls_cert_file.empty() != o.tls_key_file.empty()) {
        std::cerr << "--tls-cert-file and --tls-key-file go together\n";
        return 2;
    }
    if (o.viewer_tls == "off" && (!o.tls_cert_file.empty() || !o.users_file.empty())) {
        std::cerr << "--viewer-tls off contradicts --tls-cert-file / --users-file (Plain is only "
                     "offered inside TLS)\n";
        return 2;
    }
    if (o.upstream_insecure_plain && o.upstream_tls == "require") {
        std::cerr << "--upstream-insecure-plain contradicts --upstream-tls require\n";
        return 2;
    }
    return std::nullopt;
}

bool read_secret_file(const std::string& path, std::string& out, std::string& error,
                      SecretKind kind) {
    const char* what = kind == SecretKind::kUsername ? "username file" : "password file";
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
        error = std::string("cannot read ") + what + " " + path + ": " + std::strerror(errno);
        return false;
    }
    std::ifstream in(path);
    if (!in) {
        error = std::string("cannot open ") + what + " " + path;
        return false;
    }
    std::getline(in, out);
    while (!out.empty() && (out.back() == '\r' || out.back() == '\n'))
        out.pop_back();
    if (out.empty()) {
        error = std::string(what) + " " + path + " is empty";
        return false;
    }
    if (kind != SecretKind::kUsername) {
        const auto warning = secret_file_mode_warning(st.st_mode, st.st_gid, process_group_ids());
        if (warning)
            LOG_WARN("password-file-permissions", "file=%s problem=\"%s\"", path.c_str(),
                     warning->c_str());
    }
    if (kind == SecretKind::kVncPassword && out.size() > 8)
        LOG_WARN("password-truncated",
                 "file=%s problem=\"VNC authentication uses only the first 8 characters\"",
                 path.c_str());
    return true;
}

}  // namespace rfbcast
