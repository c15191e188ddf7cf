#pragma once
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "codec/rfb_constants.h"
#include "reflector/log.h"
#include "reflector/security_types.h"

// The TOML config file (`--config`, issue 6): global listeners, limits and defaults, and one
// [[session]] table per session.
//
// Layout: global settings are top-level keys (TOML puts them before the first table header);
// each session is a [[session]] table. A session-limit key at the top level is the default every
// session inherits unless it sets the key itself. Any other key is an error, so a typo never
// passes silently. Note TOML's rule: a key written after a [[session]] header belongs to that
// session, so global keys must come first.
//
//   listen = "0.0.0.0:5900"            # the shared viewer port; "" = none (every session then
//                                      # needs its own listen)
//   repeater_listen = "0.0.0.0:5500"   # where servers dial in with ID:nnnn; defaults to
//                                      # 0.0.0.0:5500 when a session has a repeater_id or
//                                      # allow_dynamic_ids is on, otherwise no such port
//   allow_dynamic_ids = false          # any ID dialling in gets a session
//   display_base = 5900                # session N on port display_base + N (0/absent: off)
//   log_level = "info"                 # debug, info, warn, error
//   log_format = "text"                # text, json
//   cache_mb = 256                     # encoded-tile cache, MiB
//   encode_threads = 3                 # absent: cores - 1; 0: encode on the event loop
//   stats_interval = 60                # seconds between 'stats' log lines; 0: none
//   mode1_allow = ["10.0.0.0/8:5900"]  # UltraVNC Mode I (viewer names host:port) allowed to
//                                      # these destinations only; absent: Mode I refused
//   dynamic_id_key_file = "..."        # dynamic IDs need ID:<id>:<token> (repeater_token.h)
//   allow = ["10.0.0.0/8"]             # only these clients may connect (absent: everyone)
//   deny = ["10.9.0.0/16"]             # never these (wins over allow); sessions may add both
//   trusted_proxies = ["10.0.0.5"]     # their PROXY protocol v1/v2 header names the client
//   max_preauth = 2048                 # connections still authenticating, in all ...
//   max_preauth_per_address = 256      # ... and from one address (IPv6: one /64); a
//                                      # classroom behind one NAT connects at once
//   max_total_viewers = 10000          # viewers of all sessions together
//   users_file = "/etc/rfbcast/users"  # VeNCrypt Plain users (only offered inside TLS)
//   require_tls = false                # (also a session key) viewers must use VeNCrypt
//   http_listen = "0.0.0.0:5800"       # browser viewers: noVNC page, listing, WebSocket
//                                      # (HTTPS too with tls_cert_file); "" = none
//   web_root = "/usr/share/rfbcast/web"  # the viewer page and noVNC (default: next to the binary)
//   web_token_key_file = "..."         # key of signed links (rfbcast --make-web-token)
//   web_origins = ["https://school.example"]  # pages a WebSocket may come from (absent: any)
//   http_on_viewer_port = true         # with http_listen: browsers may use the viewer ports
//                                      # too (a connection that speaks first is HTTP)
//   metrics_listen = "127.0.0.1:9860"  # /metrics, /healthz, /readyz ("" or absent: none)
//   drain_timeout = 25                 # SIGTERM: seconds viewers get to finish (0: close now)
//   security_types = ["x509vnc", "tlsvnc"]  # (also a session key) what viewers may be offered:
//                                      # none, vncauth, tlsnone, tlsvnc, tlsplain, x509none,
//                                      # x509vnc, x509plain (absent: all that fit)
//   max_fps = 20                       # ... and any session-limit key below, as a default
//
//   [[session]]
//   name = "lab1"                      # required, unique, [A-Za-z0-9_.-]+
//   upstream = "127.0.0.1:5901"        # HOST:PORT the reflector dials, or "demo"; "reverse"
//                                      # (or no upstream): the server dials in
//   reverse_listen = "0.0.0.0:5501"    # or: servers dial this port (vncconfig -connect,
//                                      # x11vnc -connect HOST:PORT) and become the upstream
//   repeater_secret_file = "..."       # servers must dial in as ID:<id>:<secret>
//   web_view_token_file = "..."        # browser link /view/<name>?token=<this>: view-only
//   web_control_token_file = "..."     # ... with control
//   web_require_token = false          # browsers need a token; the listing hides the session
//   display = 3                        # with display_base: listens on display_base + 3
//   repeater_id = "1234"               # viewers reach the session by this ID on the shared
//                                      # port; without upstream, the server dials in with it
//   listen = "0.0.0.0:5931"            # its own viewer port (numeric address)
//   password_file = "/run/secrets/lab1-control"
//   viewonly_password_file = "/run/secrets/lab1-view"
//   upstream_password_file = "..."     # the upstream server's password
//   upstream_username_file = "..."     # VeNCrypt Plain / ARD username
//   # session-limit keys (each also allowed at the top level as a default):
//   view_only_default = false          # viewers without the control password are view-only
//   max_viewers = 1000                 # 1..100000
//   max_fps = 30                       # per viewer, 0.5..240
//   min_quality = 0                    # JPEG steps a slow viewer may use, 0..9, min <= max
//   max_quality = 9
//   viewer_max_kbps = 0                # per viewer; 0 = no cap
//   session_max_kbps = 0               # all viewers together, split evenly; 0 = no cap
//   keep_upstream_without_viewers = true
//   idle_timeout = 0                   # seconds without viewers before the upstream closes,
//                                      # when keep_upstream_without_viewers = false
//   input_idle_timeout = 10            # input_policy "first": the holder's hold lapses after
//                                      # this many seconds without input (0: only by leaving)
//   input_policy = "shared"            # first, last-wins, shared
//   clipboard = "both"                 # both, to-viewers, to-server, off
//   # what peers may send (issue 7); the bounds are the protocol's, so these only lower them:
//   handshake_timeout = 10             # seconds from accept to authenticated, 1..3600
//   max_cut_text = 262144              # clipboard bytes either way, 1024..16777216
//   max_framebuffer = 16384            # upstream desktop side in pixels, 16..16384
//   max_cursor = 256                   # upstream cursor side in pixels, 1..256
//   max_fence_payload = 64             # Fence payload from either side, 0..64
//
// A session needs upstream or repeater_id (or both: it dials its upstream and viewers also find
// it by ID; the minimal config is written that way). The *_file paths are only checked
// to be non-empty here; main reads them with read_secret_file.
namespace rfbcast {

// Which of a session's control viewers drive the pointer and keyboard.
enum class InputPolicy { kFirst, kLastWins, kShared };
// Which way clipboard text may flow.
enum class ClipboardPolicy { kBoth, kToViewers, kToServer, kOff };

const char* to_string(InputPolicy p);
const char* to_string(ClipboardPolicy p);

// The per-session settings the top level gives defaults for.
// max_cut_text's range: at least a paragraph; at most 16 MiB, because a viewer's input buffer
// is sized to hold one whole ClientCutText.
inline constexpr size_t kMinCutTextLimit = 1024;
inline constexpr size_t kMaxCutTextLimit = 16 * 1024 * 1024;

struct SessionLimits {
    bool view_only_default = false;
    size_t max_viewers = 1000;
    double max_fps = 30;
    int min_quality = 0, max_quality = 9;
    double viewer_max_kbps = 0;   // 0 = none
    double session_max_kbps = 0;  // 0 = none
    bool keep_upstream_without_viewers = true;
    int idle_timeout_s = 0;
    // Under input_policy "first", the holder of the input loses it after this many seconds
    // without sending any (0: only by leaving).
    int input_idle_timeout_s = 10;
    InputPolicy input_policy = InputPolicy::kShared;
    ClipboardPolicy clipboard = ClipboardPolicy::kBoth;
    // Viewers of this session must use VeNCrypt (on its own port, and when they reach it by
    // repeater ID; a password-routed shared port follows --viewer-tls).
    bool require_tls = false;
    // The security types its viewers may be offered (security_types.h bits); the top-level
    // value also rules the shared port when several sessions share it.
    uint32_t security_types = kAllSecurityTypes;
    // What a peer may send (issue 7); each can be lowered, none raised past the protocol's own
    // bound. The handshake timeout runs from accept to the end of authentication.
    int handshake_timeout_s = rfb::limits::kDefaultHandshakeTimeoutSeconds;
    size_t max_cut_text = rfb::limits::kDefaultMaxCutText;       // clipboard text, bytes
    uint32_t max_framebuffer = rfb::limits::kMaxFramebufferDim;  // pixels per side
    uint32_t max_cursor = rfb::limits::kMaxCursorDim;            // pixels per side
    size_t max_fence_payload = rfb::limits::kMaxFencePayload;    // bytes
};

// The limits one table wrote itself; the rest are inherited. Kept apart from the resolved
// values so CLI flags that change the global defaults can be applied after loading.
struct SessionLimitOverrides {
    std::optional<bool> view_only_default;
    std::optional<size_t> max_viewers;
    std::optional<double> max_fps;
    std::optional<int> min_quality, max_quality;
    std::optional<double> viewer_max_kbps;
    std::optional<double> session_max_kbps;
    std::optional<bool> keep_upstream_without_viewers;
    std::optional<int> idle_timeout_s;
    std::optional<int> input_idle_timeout_s;
    std::optional<InputPolicy> input_policy;
    std::optional<ClipboardPolicy> clipboard;
    std::optional<bool> require_tls;
    std::optional<uint32_t> security_types;
    std::optional<int> handshake_timeout_s;
    std::optional<size_t> max_cut_text;
    std::optional<uint32_t> max_framebuffer;
    std::optional<uint32_t> max_cursor;
    std::optional<size_t> max_fence_payload;
};

SessionLimits apply_overrides(SessionLimits base, const SessionLimitOverrides& overrides);

struct SessionConfig {
    std::string name;
    // HOST:PORT to dial; "demo": the built-in demo; empty: the server dials in (repeater_id or
    // reverse_listen).
    std::string upstream;
    std::string repeater_id;    // empty: none
    std::string listen;         // ADDR:PORT of its own viewer port; empty: the shared port only
    std::string password_file;  // control viewers; empty: none
    std::string viewonly_password_file;    // view-only viewers; empty: none
    std::string upstream_password_file;    // empty: none
    std::string upstream_username_file;    // empty: none
    std::string reverse_listen;            // ADDR:PORT servers dial with `vncconfig -connect`
    std::string repeater_secret_file;      // a server dialling in must send ID:<id>:<secret>
    int display = -1;                      // its number for display_base; -1: its position
    std::vector<std::string> allow, deny;  // client CIDRs, on top of the global lists
    // Browser links (web_token.h): fixed tokens for view-only and control links; with
    // web_require_token a browser needs a token (static or signed) and the listing hides it.
    std::string web_view_token_file, web_control_token_file;
    bool web_require_token = false;
    SessionLimitOverrides overrides;  // what its table set
    SessionLimits limits;             // the global defaults with its overrides applied
    std::string origin;               // "file:line:col" of its table, for later messages

    bool server_dials_in() const { return upstream.empty(); }
};

inline constexpr const char* kDefaultListen = "0.0.0.0:5900";
inline constexpr const char* kDefaultRepeaterListen = "0.0.0.0:5500";
inline constexpr const char* kDefaultHttpListen = "0.0.0.0:5800";

struct GlobalConfig {
    std::string listen = kDefaultListen;  // empty: no shared viewer port
    std::string repeater_listen;          // empty: no repeater port
    bool allow_dynamic_ids = false;
    int display_base = 0;  // 0: off
    LogLevel log_level = LogLevel::kInfo;
    LogFormat log_format = LogFormat::kText;
    size_t cache_mb = 256;
    int encode_threads = -1;  // -1: cores - 1
    int stats_interval_s = 60;
    // UltraVNC Mode I destinations ("CIDR[:port]" or "host[:port]") a viewer may ask for; empty:
    // Mode I is refused (it would make rfbcast an open relay).
    std::vector<std::string> mode1_allow;
    // With allow_dynamic_ids: servers prove an ID with ID:<id>:<token> (repeater_token.h).
    std::string dynamic_id_key_file;
    // Security (issue 7). Client CIDRs: with `allow`, only those may connect; `deny` wins.
    std::vector<std::string> allow, deny;
    // Proxies whose PROXY protocol header (v1 or v2) names the real client; from anyone else
    // a header is not expected and the socket's peer is the client.
    std::vector<std::string> trusted_proxies;
    size_t max_preauth = 2048;             // connections authenticating at once
    size_t max_preauth_per_address = 256;  // ... from one address: a school NAT is one
    size_t max_total_viewers = 10000;      // all sessions together
    std::string users_file;                // VeNCrypt Plain users
    // Browser viewers (issue 8): the HTTP listener (noVNC page, listing, WebSocket; also
    // HTTPS with the viewers' certificate), where its files are, the key signed links are made
    // with, and the page origins a WebSocket may come from (empty: any).
    std::string http_listen = kDefaultHttpListen;  // empty: none
    std::string web_root;                          // empty: found next to the binary
    std::string web_token_key_file;
    std::vector<std::string> web_origins;
    bool http_on_viewer_port = true;
    // Operations (issue 9): the Prometheus and probe endpoint, and the SIGTERM drain.
    std::string metrics_listen;               // empty: none
    int drain_timeout_s = 25;                 // under Kubernetes' 30 s grace period
    bool require_tls = false;                 // viewers: VeNCrypt only
    SessionLimitOverrides default_overrides;  // the limit keys written at the top level
    SessionLimits defaults;                   // built-in defaults with those applied
};

struct Config {
    GlobalConfig global;
    std::vector<SessionConfig> sessions;  // in file order
};

struct ConfigResult {
    Config config;                    // meaningful only when ok()
    std::vector<std::string> errors;  // "file:line:col: key: problem", in file order
    bool ok() const { return errors.empty(); }
};

// Parses and validates a config. Reports every problem found, not just the first (a syntax
// error stops the parse, so it is reported alone, at its own position).
ConfigResult load_config(std::string_view text, std::string_view source_name);
// Reads the file (at most 1 MiB) and loads it; the file's path names it in messages.
ConfigResult load_config_file(const std::string& path);

// Re-applies global.defaults (after CLI flags changed them) to every session's limits. Returns
// the problems that creates (a session's quality range turned upside down), as
// "session 'name': key: problem".
std::vector<std::string> inherit_defaults(Config& config);

// For --check-config: one line for the global settings, then one line per session, as
// key=value with the config's key names. Paths are shown; no secret is ever read.
std::string describe(const Config& config);

}  // namespace rfbcast
