#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "codec/rfb_constants.h"
#include "reflector/log.h"

namespace rfbcast {

struct Options {
    // Sessions (issue 6). Without --config, --upstream (or the demo) is the one session.
    std::string config_file;
    bool check_config = false;
    std::string repeater_listen;  // "" = the config's, or the default when servers dial in
    bool allow_dynamic_ids = false;
    int display_base = 0;
    std::vector<std::string> mode1_allow;
    std::string dynamic_id_key_file;
    std::string print_id_token;  // an ID: print the token its server dials in with, and exit
    // Flags given on the command line or in the environment: they override the config file.
    std::vector<std::string> given;
    bool was_given(const std::string& flag) const {
        for (const std::string& g : given)
            if (g == flag) return true;
        return false;
    }

    std::string upstream;  // host:port; empty = demo session
    std::string upstream_password_file;
    std::string upstream_username_file;    // VeNCrypt Plain and Apple Remote Desktop
    std::string upstream_tls = "prefer";   // require, prefer or off
    std::string upstream_ca;               // PEM CA file for X509 sub-types, or "system"
    std::string upstream_tls_hostname;     // name the upstream certificate must carry
    std::string upstream_pin;              // pin-sha256:BASE64 of the upstream's public key
    bool upstream_insecure_plain = false;  // allow VeNCrypt Plain without TLS
    std::string upstream_encodings;        // comma-separated names, preference order; "" = by link
    int upstream_quality = -1;             // JPEG quality 0..9 asked of the upstream; -1 = lossless
    int upstream_compress = -1;            // compression level 0..9 asked of the upstream
    std::string listen = "0.0.0.0:5900";
    std::string password_file;
    std::string viewonly_password_file;
    // Viewer security (issue 7).
    std::string viewer_tls = "prefer";  // prefer, require or off
    std::string tls_cert_file, tls_key_file;
    std::string users_file;  // VeNCrypt Plain users (name:pbkdf2-sha256:...)
    // Browser viewers (issue 8).
    std::string http_listen = "0.0.0.0:5800";  // "" or "off": none
    // Operations (issue 9).
    bool http_on_viewer_port = true;
    std::string metrics_listen;  // "" or "off": none
    int drain_timeout_s = 25;
    bool healthcheck = false;  // probe the running instance's /healthz and exit
    std::string web_root;
    std::string web_token_key_file;
    std::string make_web_token;  // a session: print a signed link token for it, and exit
    std::string web_token_access = "view";
    int64_t web_token_ttl_s = 3600;
    std::vector<std::string> security_types;                // empty: all that fit
    std::vector<std::string> allow, deny, trusted_proxies;  // client CIDRs
    size_t max_preauth = 2048, max_preauth_per_address = 256, max_total_viewers = 10000;
    // What a peer may send (issue 7): SessionLimits' defaults.
    int handshake_timeout_s = rfb::limits::kDefaultHandshakeTimeoutSeconds;
    size_t max_cut_text = rfb::limits::kDefaultMaxCutText;
    uint32_t max_framebuffer = rfb::limits::kMaxFramebufferDim;
    uint32_t max_cursor = rfb::limits::kMaxCursorDim;
    size_t max_fence_payload = rfb::limits::kMaxFencePayload;
    std::string hash_password_user;  // --hash-password NAME: print a users-file line, exit
    std::string desktop_name = "rfbcast";
    bool demo = false;
    LogLevel log_level = LogLevel::kInfo;
    LogFormat log_format = LogFormat::kText;
    size_t cache_mb = 256;
    size_t max_viewers = 1000;
    int encode_threads = -1;  // -1: cores - 1
    int stats_interval_s = 60;

    // Per-viewer pacing (issue 5).
    double max_fps = 30;
    int min_quality = 0, max_quality = 9;
    double viewer_max_kbps = 0;   // per viewer; 0 = none
    double session_max_kbps = 0;  // all viewers of a session together, split evenly; 0 = none
    int viewer_stall_timeout_s = 30;
    int lossless_refresh_ms = 500;
    bool no_lossless_when_fast = false;
};

// Parses argv (and RFBCAST_* environment variables, which flags override). Returns 0 to go on,
// or an exit code (0 after --help/--version, 2 after a usage error) with the text already printed.
std::optional<int> parse_options(int argc, char** argv, Options& out);

// What a secret file holds, for the warnings that fit it.
enum class SecretKind {
    kVncPassword,  // VNC Authentication uses only the first 8 characters: longer ones warn
    kPassword,     // used whole (upstream: VncAuth, but also Plain and ARD)
    kUsername,
};

// Reads the first line of a secret file (no trailing newline). Errors name the file, never its
// content; a file others may read, or whose group this process is not in, gets a warning.
bool read_secret_file(const std::string& path, std::string& out, std::string& error,
                      SecretKind kind = SecretKind::kVncPassword);

}  // namespace rfbcast
