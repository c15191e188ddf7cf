// The TOML config file: the issue's minimal config, inheritance of top-level defaults, and one
// failing case per validation rule, each checked for the line, column and key it names.
#include "reflector/config_file.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

namespace rfbcast {
namespace {

ConfigResult load(const std::string& text) {
    return load_config(text, "cfg.toml");
}

// The single error `text` produces ("" and a test failure when there are none or several).
std::string only_error(const std::string& text) {
    const ConfigResult r = load(text);
    EXPECT_EQ(r.errors.size(), 1u) << ::testing::PrintToString(r.errors);
    return r.errors.empty() ? std::string() : r.errors.front();
}

bool starts_with(const std::string& s, const std::string& prefix) {
    return s.compare(0, prefix.size(), prefix) == 0;
}

#define EXPECT_ERROR_AT(text, prefix)                                  \
    do {                                                               \
        const std::string error_ = only_error(text);                   \
        EXPECT_TRUE(starts_with(error_, prefix)) << "got: " << error_; \
    } while (0)

const char* const kMinimal = R"(
[[session]]
name = "lab1"
upstream = "127.0.0.1:5901"      # or omit and set repeater_id for a server that dials in
listen = "0.0.0.0:5931"          # optional: its own viewer port
repeater_id = "1234"             # optional: viewers and servers meet on this ID
password_file = "/run/secrets/lab1-control"
viewonly_password_file = "/run/secrets/lab1-view"
)";

TEST(ConfigFile, TheIssuesMinimalConfigSaysExactlyWhatItSays) {
    const ConfigResult r = load(kMinimal);
    ASSERT_TRUE(r.ok()) << ::testing::PrintToString(r.errors);
    ASSERT_EQ(r.config.sessions.size(), 1u);
    const SessionConfig& s = r.config.sessions[0];
    EXPECT_EQ(s.name, "lab1");
    EXPECT_EQ(s.upstream, "127.0.0.1:5901");
    EXPECT_FALSE(s.server_dials_in());
    EXPECT_EQ(s.listen, "0.0.0.0:5931");
    EXPECT_EQ(s.repeater_id, "1234");
    EXPECT_EQ(s.password_file, "/run/secrets/lab1-control");
    EXPECT_EQ(s.viewonly_password_file, "/run/secrets/lab1-view");
    EXPECT_EQ(s.upstream_password_file, "");
    EXPECT_EQ(s.upstream_username_file, "");
    EXPECT_EQ(s.origin, "cfg.toml:2:1");
    // Nothing else set: the built-in defaults.
    EXPECT_FALSE(s.limits.view_only_default);
    EXPECT_EQ(s.limits.max_viewers, 1000u);
    EXPECT_EQ(s.limits.max_fps, 30);
    EXPECT_EQ(s.limits.min_quality, 0);
    EXPECT_EQ(s.limits.max_quality, 9);
    EXPECT_EQ(s.limits.viewer_max_kbps, 0);
    EXPECT_EQ(s.limits.session_max_kbps, 0);
    EXPECT_TRUE(s.limits.keep_upstream_without_viewers);
    EXPECT_EQ(s.limits.idle_timeout_s, 0);
    EXPECT_EQ(s.limits.input_policy, InputPolicy::kShared);
    EXPECT_EQ(s.limits.clipboard, ClipboardPolicy::kBoth);
    EXPECT_FALSE(s.overrides.max_fps.has_value());

    const GlobalConfig& g = r.config.global;
    EXPECT_EQ(g.listen, "0.0.0.0:5900");
    EXPECT_EQ(g.repeater_listen, "") << "the server is dialled, none dials in";
    EXPECT_FALSE(g.allow_dynamic_ids);
    EXPECT_EQ(g.display_base, 0);
    EXPECT_EQ(g.log_level, LogLevel::kInfo);
    EXPECT_EQ(g.log_format, LogFormat::kText);
    EXPECT_EQ(g.cache_mb, 256u);
    EXPECT_EQ(g.encode_threads, -1);
    EXPECT_EQ(g.stats_interval_s, 60);
}

TEST(ConfigFile, EveryGlobalKeyIsRead) {
    const ConfigResult r = load(R"(
listen = "127.0.0.1:6900"
repeater_listen = "[::1]:5501"
allow_dynamic_ids = true
display_base = 5900
log_level = "debug"
log_format = "json"
cache_mb = 64
encode_threads = 0
stats_interval = 5
)");
    ASSERT_TRUE(r.ok()) << ::testing::PrintToString(r.errors);
    const GlobalConfig& g = r.config.global;
    EXPECT_EQ(g.listen, "127.0.0.1:6900");
    EXPECT_EQ(g.repeater_listen, "[::1]:5501");
    EXPECT_TRUE(g.allow_dynamic_ids);
    EXPECT_EQ(g.display_base, 5900);
    EXPECT_EQ(g.log_level, LogLevel::kDebug);
    EXPECT_EQ(g.log_format, LogFormat::kJson);
    EXPECT_EQ(g.cache_mb, 64u);
    EXPECT_EQ(g.encode_threads, 0);
    EXPECT_EQ(g.stats_interval_s, 5);
    EXPECT_TRUE(r.config.sessions.empty());
}

TEST(ConfigFile, SessionsInheritTopLevelDefaultsUnlessTheySetTheirOwn) {
    const ConfigResult r = load(R"(
max_fps = 12.5
min_quality = 2
max_viewers = 40
clipboard = "to-viewers"
input_policy = "first"
keep_upstream_without_viewers = false
idle_timeout = 300

[[session]]
name = "a"
upstream = "host-a:5900"
max_fps = 5
clipboard = "off"
view_only_default = true
session_max_kbps = 8000

[[session]]
name = "b"
repeater_id = 77
viewer_max_kbps = 1500.5
)");
    ASSERT_TRUE(r.ok()) << ::testing::PrintToString(r.errors);
    ASSERT_EQ(r.config.sessions.size(), 2u);
    const SessionLimits& a = r.config.sessions[0].limits;
    const SessionLimits& b = r.config.sessions[1].limits;
    EXPECT_EQ(a.max_fps, 5);
    EXPECT_EQ(b.max_fps, 12.5);
    EXPECT_EQ(a.clipboard, ClipboardPolicy::kOff);
    EXPECT_EQ(b.clipboard, ClipboardPolicy::kToViewers);
    EXPECT_TRUE(a.view_only_default);
    EXPECT_FALSE(b.view_only_default);
    EXPECT_EQ(a.session_max_kbps, 8000);
    EXPECT_EQ(b.session_max_kbps, 0);
    EXPECT_EQ(a.viewer_max_kbps, 0);
    EXPECT_EQ(b.viewer_max_kbps, 1500.5);
    for (const SessionLimits* l : {&a, &b}) {
        EXPECT_EQ(l->min_quality, 2);
        EXPECT_EQ(l->max_quality, 9);
        EXPECT_EQ(l->max_viewers, 40u);
        EXPECT_EQ(l->input_policy, InputPolicy::kFirst);
        EXPECT_FALSE(l->keep_upstream_without_viewers);
        EXPECT_EQ(l->idle_timeout_s, 300);
    }
    EXPECT_EQ(r.config.sessions[1].repeater_id, "77") << "an integer ID reads as its digits";
    EXPECT_TRUE(r.config.sessions[1].server_dials_in());
    EXPECT_EQ(r.config.global.repeater_listen, "0.0.0.0:5500")
        << "a server dials in: the repeater port defaults on";
    EXPECT_EQ(r.config.global.defaults.max_fps, 12.5);
    EXPECT_EQ(r.config.global.defaults.clipboard, ClipboardPolicy::kToViewers);
}

TEST(ConfigFile, InheritDefaultsReappliesChangedDefaults) {
    ConfigResult r = load(R"(
[[session]]
name = "own"
upstream = "h:1"
max_fps = 5
min_quality = 6

[[session]]
name = "inherits"
upstream = "h:2"
)");
    ASSERT_TRUE(r.ok()) << ::testing::PrintToString(r.errors);
    r.config.global.defaults.max_fps = 7;  // say, --max-fps 7
    EXPECT_TRUE(inherit_defaults(r.config).empty());
    EXPECT_EQ(r.config.sessions[0].limits.max_fps, 5);
    EXPECT_EQ(r.config.sessions[1].limits.max_fps, 7);

    r.config.global.defaults.max_quality = 4;  // below "own"'s min_quality 6
    const auto problems = inherit_defaults(r.config);
    ASSERT_EQ(problems.size(), 1u);
    EXPECT_EQ(problems[0], "session 'own': min_quality 6 is above max_quality 4");
}

TEST(ConfigFile, AllowDynamicIdsTurnsTheRepeaterPortOnAndAnExplicitOneIsKept) {
    ConfigResult r = load("allow_dynamic_ids = true\n");
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.config.global.repeater_listen, "0.0.0.0:5500");
    r = load("repeater_listen = \":5600\"\n[[session]]\nname = \"x\"\nrepeater_id = \"9\"\n");
    ASSERT_TRUE(r.ok()) << ::testing::PrintToString(r.errors);
    EXPECT_EQ(r.config.global.repeater_listen, ":5600");
}

TEST(ConfigFile, AnEmptyFileIsValidAndHasNoSessions) {
    const ConfigResult r = load("");
    ASSERT_TRUE(r.ok());
    EXPECT_TRUE(r.config.sessions.empty());
    EXPECT_EQ(r.config.global.listen, "0.0.0.0:5900");
}

// --- syntax ---

TEST(ConfigFile, ASyntaxErrorReportsItsOwnPosition) {
    // Line 3 has no value after '='.
    const std::string e = only_error("[[session]]\nname = \"a\"\nupstream =\n");
    EXPECT_TRUE(starts_with(e, "cfg.toml:3:")) << e;
    EXPECT_NE(e.find("syntax error"), std::string::npos) << e;
}

TEST(ConfigFile, AnUnterminatedStringIsASyntaxErrorOnItsLine) {
    const std::string e = only_error("log_level = \"info\"\nlisten = \"0.0.0.0:5900\n");
    EXPECT_TRUE(starts_with(e, "cfg.toml:2:")) << e;
    EXPECT_NE(e.find("syntax error"), std::string::npos) << e;
}

TEST(ConfigFile, ARepeatedKeyIsASyntaxErrorAtTheRepeat) {
    const std::string e = only_error("[[session]]\nname = \"a\"\nname = \"b\"\n");
    EXPECT_TRUE(starts_with(e, "cfg.toml:3:")) << e;
}

TEST(ConfigFile, InvalidUtf8IsASyntaxError) {
    const std::string e = only_error("log_level = \"\xff\xfe\"\n");
    EXPECT_TRUE(starts_with(e, "cfg.toml:1:")) << e;
    EXPECT_NE(e.find("syntax error"), std::string::npos) << e;
}

TEST(ConfigFile, EveryPrefixOfAConfigLoadsOrFailsWithoutThrowing) {
    const std::string full = std::string("max_fps = 20\nlisten = \"[::]:5900\"\n") + kMinimal +
                             "[[session]]\nname = \"b\"\nrepeater_id = 5\n";
    ASSERT_TRUE(load(full).ok()) << ::testing::PrintToString(load(full).errors);
    for (size_t n = 0; n <= full.size(); ++n) {
        ConfigResult r;
        EXPECT_NO_THROW(r = load(full.substr(0, n))) << "prefix of " << n;
        for (const std::string& e : r.errors)
            EXPECT_TRUE(starts_with(e, "cfg.toml:")) << e;
    }
}

// --- unknown keys ---

TEST(ConfigFile, AnUnknownTopLevelKeyIsAnErrorWithASuggestion) {
    const std::string e = only_error("listen = \":5900\"\nmax_fsp = 10\n");
    EXPECT_EQ(e, "cfg.toml:2:1: max_fsp: unknown key (did you mean 'max_fps'?)");
}

TEST(ConfigFile, AnUnknownSessionKeyIsAnErrorWithASuggestion) {
    const std::string e =
        only_error("[[session]]\nname = \"a\"\nupstream = \"h:1\"\npasword_file = \"/x\"\n");
    EXPECT_EQ(e, "cfg.toml:4:1: pasword_file: unknown key (did you mean 'password_file'?)");
}

TEST(ConfigFile, AnUnknownKeyFarFromAnyKnownOneGetsNoSuggestion) {
    EXPECT_EQ(only_error("frobnicate = true\n"), "cfg.toml:1:1: frobnicate: unknown key");
}

TEST(ConfigFile, AGlobalKeyInsideASessionSaysWhereItBelongs) {
    const std::string e =
        only_error("[[session]]\nname = \"a\"\nupstream = \"h:1\"\ncache_mb = 5\n");
    EXPECT_TRUE(starts_with(e, "cfg.toml:4:1: cache_mb: unknown key in a [[session]]")) << e;
}

TEST(ConfigFile, ASessionKeyAtTheTopLevelSaysWhereItBelongs) {
    const std::string e = only_error("upstream = \"h:1\"\n");
    EXPECT_EQ(e,
              "cfg.toml:1:1: upstream: unknown key at the top level (it belongs in a "
              "[[session]] table)");
}

TEST(ConfigFile, AGlobalTableIsNotTheLayout) {
    const std::string e = only_error("[global]\nmax_fps = 10\n");
    EXPECT_TRUE(starts_with(e,
                            "cfg.toml:1:2: global: unknown key (global settings are "
                            "top-level keys"))
        << e;
}

TEST(ConfigFile, ASingleSessionTableAsksForDoubleBrackets) {
    const std::string e = only_error("[session]\nname = \"a\"\nupstream = \"h:1\"\n");
    EXPECT_TRUE(starts_with(e, "cfg.toml:1:1: session: is a single [session] table")) << e;
}

TEST(ConfigFile, ControlCharactersInAQuotedKeyAreNotEchoed) {
    const std::string e = only_error("\"a\\u001bb\" = 1\n");
    EXPECT_EQ(e, "cfg.toml:1:1: a?b: unknown key");
}

// --- names ---

TEST(ConfigFile, ASessionWithoutANameIsAnError) {
    EXPECT_EQ(only_error("\n[[session]]\nupstream = \"h:1\"\n"),
              "cfg.toml:2:1: name: missing: every [[session]] needs a name");
}

TEST(ConfigFile, AnEmptyNameIsAnError) {
    EXPECT_ERROR_AT("[[session]]\nname = \"\"\nupstream = \"h:1\"\n", "cfg.toml:2:8: name: ");
}

TEST(ConfigFile, ANameWithASpaceOrSlashIsAnError) {
    EXPECT_ERROR_AT("[[session]]\nname = \"lab 1\"\nupstream = \"h:1\"\n", "cfg.toml:2:8: name: ");
    EXPECT_ERROR_AT("[[session]]\nname = \"../x\"\nupstream = \"h:1\"\n", "cfg.toml:2:8: name: ");
}

TEST(ConfigFile, ANameOfSixtyFiveCharactersIsTooLong) {
    const std::string n64(64, 'n');
    EXPECT_TRUE(load("[[session]]\nname = \"" + n64 + "\"\nupstream = \"h:1\"\n").ok());
    EXPECT_ERROR_AT("[[session]]\nname = \"" + n64 + "x\"\nupstream = \"h:1\"\n",
                    "cfg.toml:2:8: name: ");
}

TEST(ConfigFile, ANameOfTheWrongTypeIsAnError) {
    EXPECT_EQ(only_error("[[session]]\nname = 5\nupstream = \"h:1\"\n"),
              "cfg.toml:2:8: name: expected a string, got an integer");
}

TEST(ConfigFile, DuplicateNamesAreAnErrorAtTheSecond) {
    EXPECT_EQ(only_error("[[session]]\nname = \"a\"\nupstream = \"h:1\"\n"
                         "[[session]]\nname = \"a\"\nupstream = \"h:2\"\n"),
              "cfg.toml:5:8: name: \"a\" is already the name of the session at line 2");
}

// --- upstream and repeater_id ---

TEST(ConfigFile, NeitherUpstreamNorRepeaterIdIsAnError) {
    const std::string e = only_error("[[session]]\nname = \"a\"\n");
    EXPECT_TRUE(starts_with(e, "cfg.toml:1:1: upstream: missing: set upstream")) << e;
}

TEST(ConfigFile, RepeaterIdAloneMeansTheServerDialsIn) {
    const ConfigResult r = load("[[session]]\nname = \"a\"\nrepeater_id = \"1234\"\n");
    ASSERT_TRUE(r.ok()) << ::testing::PrintToString(r.errors);
    EXPECT_TRUE(r.config.sessions[0].server_dials_in());
    EXPECT_EQ(r.config.sessions[0].repeater_id, "1234");
}

TEST(ConfigFile, UpstreamAndRepeaterIdTogetherDialAndRouteViewersById) {
    // The issue's minimal config writes both; the session dials its upstream.
    const ConfigResult r =
        load("[[session]]\nname = \"a\"\nupstream = \"h:1\"\nrepeater_id = \"1234\"\n");
    ASSERT_TRUE(r.ok()) << ::testing::PrintToString(r.errors);
    EXPECT_FALSE(r.config.sessions[0].server_dials_in());
    EXPECT_EQ(r.config.global.repeater_listen, "");
}

TEST(ConfigFile, AnUpstreamWithoutAPortIsAnError) {
    EXPECT_EQ(only_error("[[session]]\nname = \"a\"\nupstream = \"localhost\"\n"),
              "cfg.toml:3:12: upstream: expected HOST:PORT, got 'localhost'");
}

TEST(ConfigFile, UpstreamPortsOutsideOneTo65535AreErrors) {
    EXPECT_ERROR_AT("[[session]]\nname = \"a\"\nupstream = \"h:0\"\n", "cfg.toml:3:12: upstream: ");
    EXPECT_ERROR_AT("[[session]]\nname = \"a\"\nupstream = \"h:65536\"\n",
                    "cfg.toml:3:12: upstream: ");
    EXPECT_ERROR_AT("[[session]]\nname = \"a\"\nupstream = \"h:59x\"\n",
                    "cfg.toml:3:12: upstream: ");
    EXPECT_TRUE(load("[[session]]\nname = \"a\"\nupstream = \"h:65535\"\n").ok());
    EXPECT_TRUE(load("[[session]]\nname = \"a\"\nupstream = \"[::1]:1\"\n").ok());
}

// Issue 9's operations keys: the metrics endpoint, the SIGTERM drain, browsers on viewer ports.
TEST(ConfigFile, OperationsKeys) {
    const ConfigResult r = load(
        "metrics_listen = \"127.0.0.1:9860\"\ndrain_timeout = 5\nhttp_on_viewer_port = false\n"
        "[[session]]\nname = \"a\"\nupstream = \"127.0.0.1:5901\"\n");
    ASSERT_TRUE(r.errors.empty()) << r.errors[0];
    EXPECT_EQ(r.config.global.metrics_listen, "127.0.0.1:9860");
    EXPECT_EQ(r.config.global.drain_timeout_s, 5);
    EXPECT_FALSE(r.config.global.http_on_viewer_port);
    const ConfigResult defaults = load("[[session]]\nname = \"a\"\nupstream = \"h:1\"\n");
    ASSERT_TRUE(defaults.errors.empty());
    EXPECT_EQ(defaults.config.global.metrics_listen, "");
    EXPECT_EQ(defaults.config.global.drain_timeout_s, 25);
    EXPECT_TRUE(defaults.config.global.http_on_viewer_port);
    EXPECT_EQ(only_error("drain_timeout = -1\n[[session]]\nname = \"a\"\nupstream = \"h:1\"\n"),
              "cfg.toml:1:17: drain_timeout: -1 is out of range 0..3600");
    EXPECT_NE(only_error("metrics_listen = \"nowhere\"\n[[session]]\nname = \"a\"\nupstream = "
                         "\"h:1\"\n")
                  .find("metrics_listen"),
              std::string::npos);
}

// Issue 7's peer limits are limit keys: written at the top level they are every session's
// default, a session may lower or raise its own within the protocol's bounds, and values past
// those bounds are errors with their line.
TEST(ConfigFile, PeerLimitKeys) {
    const ConfigResult r = load(
        "handshake_timeout = 4\nmax_cut_text = 65536\nmax_framebuffer = 4096\n"
        "max_cursor = 64\nmax_fence_payload = 16\n"
        "[[session]]\nname = \"a\"\nupstream = \"127.0.0.1:5901\"\n"
        "[[session]]\nname = \"b\"\nupstream = \"127.0.0.1:5902\"\nmax_cut_text = 2048\n"
        "handshake_timeout = 30\n");
    ASSERT_TRUE(r.errors.empty()) << r.errors[0];
    const SessionLimits& a = r.config.sessions[0].limits;
    EXPECT_EQ(a.handshake_timeout_s, 4);
    EXPECT_EQ(a.max_cut_text, 65536u);
    EXPECT_EQ(a.max_framebuffer, 4096u);
    EXPECT_EQ(a.max_cursor, 64u);
    EXPECT_EQ(a.max_fence_payload, 16u);
    const SessionLimits& b = r.config.sessions[1].limits;
    EXPECT_EQ(b.handshake_timeout_s, 30);
    EXPECT_EQ(b.max_cut_text, 2048u);
    EXPECT_EQ(b.max_cursor, 64u);  // inherited
    const std::string text = describe(r.config);
    EXPECT_NE(text.find("max_cut_text=2048"), std::string::npos) << text;
    EXPECT_NE(text.find("handshake_timeout=4"), std::string::npos) << text;

    const ConfigResult defaults = load("[[session]]\nname = \"a\"\nupstream = \"h:1\"\n");
    ASSERT_TRUE(defaults.errors.empty());
    const SessionLimits& d = defaults.config.sessions[0].limits;
    EXPECT_EQ(d.handshake_timeout_s, 10);
    EXPECT_EQ(d.max_cut_text, 256u * 1024);
    EXPECT_EQ(d.max_framebuffer, 16384u);
    EXPECT_EQ(d.max_cursor, 256u);
    EXPECT_EQ(d.max_fence_payload, 64u);

    const std::string s = "[[session]]\nname = \"a\"\nupstream = \"h:1\"\n";
    EXPECT_EQ(only_error("max_framebuffer = 16385\n" + s),
              "cfg.toml:1:19: max_framebuffer: 16385 is out of range 16..16384");
    EXPECT_EQ(only_error("max_cursor = 257\n" + s),
              "cfg.toml:1:14: max_cursor: 257 is out of range 1..256");
    EXPECT_EQ(only_error("max_fence_payload = 65\n" + s),
              "cfg.toml:1:21: max_fence_payload: 65 is out of range 0..64");
    EXPECT_EQ(only_error("handshake_timeout = 0\n" + s),
              "cfg.toml:1:21: handshake_timeout: 0 is out of range 1..3600");
    EXPECT_EQ(only_error(s + "max_cut_text = 100\n"),
              "cfg.toml:4:16: max_cut_text: 100 is out of range 1024..16777216");
}

TEST(ConfigFile, AnUpstreamWithoutAHostOrEmptyIsAnError) {
    EXPECT_EQ(only_error("[[session]]\nname = \"a\"\nupstream = \":5901\"\n"),
              "cfg.toml:3:12: upstream: no host in ':5901'");
    EXPECT_EQ(only_error("[[session]]\nname = \"a\"\nupstream = \"\"\n"),
              "cfg.toml:3:12: upstream: is empty (leave the key out instead)");
}

TEST(ConfigFile, ABadRepeaterIdIsAnError) {
    EXPECT_ERROR_AT("[[session]]\nname = \"a\"\nrepeater_id = \"12 34\"\n",
                    "cfg.toml:3:15: repeater_id: ");
    EXPECT_ERROR_AT("[[session]]\nname = \"a\"\nrepeater_id = -3\n",
                    "cfg.toml:3:15: repeater_id: is negative");
    EXPECT_ERROR_AT("[[session]]\nname = \"a\"\nrepeater_id = true\n",
                    "cfg.toml:3:15: repeater_id: expected a string or an integer");
    EXPECT_EQ(only_error("[[session]]\nname = \"a\"\nrepeater_id = \"ID:1234\"\n"),
              "cfg.toml:3:15: repeater_id: write the ID without its 'ID:' prefix (\"1234\")");
}

TEST(ConfigFile, DuplicateRepeaterIdsAreAnError) {
    EXPECT_EQ(only_error("[[session]]\nname = \"a\"\nrepeater_id = 1234\n"
                         "[[session]]\nname = \"b\"\nrepeater_id = \"1234\"\n"),
              "cfg.toml:6:15: repeater_id: \"1234\" is already the ID of session 'a' (line 3)");
}

// --- listen addresses ---

TEST(ConfigFile, AListenPortOutOfRangeIsAnError) {
    EXPECT_ERROR_AT("[[session]]\nname = \"a\"\nupstream = \"h:1\"\nlisten = \"0.0.0.0:99999\"\n",
                    "cfg.toml:4:10: listen: bad port '99999'");
    EXPECT_ERROR_AT("[[session]]\nname = \"a\"\nupstream = \"h:1\"\nlisten = \":0\"\n",
                    "cfg.toml:4:10: listen: bad port '0'");
    EXPECT_ERROR_AT("listen = \"0.0.0.0:65536\"\n", "cfg.toml:1:10: listen: bad port");
    EXPECT_ERROR_AT("repeater_listen = \"0.0.0.0\"\n", "cfg.toml:1:19: repeater_listen: expected");
}

TEST(ConfigFile, AListenAddressMustBeNumeric) {
    EXPECT_EQ(only_error("[[session]]\nname = \"a\"\nupstream = \"h:1\"\n"
                         "listen = \"localhost:5931\"\n"),
              "cfg.toml:4:10: listen: 'localhost' is not a numeric IPv4 address");
}

const char* const kTwoSessions = R"([[session]]
name = "a"
upstream = "h:1"
listen = "%s"
[[session]]
name = "b"
upstream = "h:2"
listen = "%s"
)";

std::string two_listens(const char* a, const char* b) {
    char buf[512];
    std::snprintf(buf, sizeof buf, kTwoSessions, a, b);
    return buf;
}

TEST(ConfigFile, TwoSessionsOnTheSameListenAddressAreAnError) {
    EXPECT_EQ(only_error(two_listens("0.0.0.0:5931", "0.0.0.0:5931")),
              "cfg.toml:8:10: listen: '0.0.0.0:5931' clashes with session 'a' (line 4); each "
              "needs its own port");
}

TEST(ConfigFile, ListenAddressesAreComparedAsAddressesNotText) {
    EXPECT_ERROR_AT(two_listens("0.0.0.0:5931", ":5931"), "cfg.toml:8:10: listen: ");
    EXPECT_ERROR_AT(two_listens("127.0.0.1:5931", "0.0.0.0:5931"), "cfg.toml:8:10: listen: ");
    // [::] is dual-stack: it takes 0.0.0.0 too.
    EXPECT_ERROR_AT(two_listens("0.0.0.0:5931", "[::]:5931"), "cfg.toml:8:10: listen: ");
    EXPECT_ERROR_AT(two_listens("[::1]:5931", "[0:0::1]:5931"), "cfg.toml:8:10: listen: ");
    EXPECT_TRUE(load(two_listens("127.0.0.1:5931", "127.0.0.2:5931")).ok());
    EXPECT_TRUE(load(two_listens("0.0.0.0:5931", "[::1]:5931")).ok());
    EXPECT_TRUE(load(two_listens("0.0.0.0:5931", "0.0.0.0:5932")).ok());
}

TEST(ConfigFile, ASessionOnTheSharedViewerPortIsAnError) {
    EXPECT_EQ(only_error("[[session]]\nname = \"a\"\nupstream = \"h:1\"\nlisten = \":5900\"\n"),
              "cfg.toml:4:10: listen: ':5900' clashes with the shared viewer port (0.0.0.0:5900, "
              "the default); each needs its own port");
    EXPECT_EQ(only_error("listen = \"127.0.0.1:6000\"\n[[session]]\nname = \"a\"\n"
                         "upstream = \"h:1\"\nlisten = \"127.0.0.1:6000\"\n"),
              "cfg.toml:5:10: listen: '127.0.0.1:6000' clashes with the shared viewer port "
              "(listen, line 1); each needs its own port");
}

TEST(ConfigFile, ASessionOnTheDefaultRepeaterPortIsAnError) {
    const std::string e =
        only_error("[[session]]\nname = \"a\"\nrepeater_id = 1\nlisten = \"0.0.0.0:5500\"\n");
    EXPECT_TRUE(starts_with(e,
                            "cfg.toml:4:10: listen: '0.0.0.0:5500' clashes with the repeater "
                            "port (0.0.0.0:5500, the default"))
        << e;
    // Without a server that dials in there is no repeater port to clash with.
    EXPECT_TRUE(
        load("[[session]]\nname = \"a\"\nupstream = \"h:1\"\nlisten = \"0.0.0.0:5500\"\n").ok());
}

TEST(ConfigFile, TheRepeaterPortOnTheViewerPortIsAnError) {
    EXPECT_ERROR_AT("listen = \":5900\"\nrepeater_listen = \":5900\"\n",
                    "cfg.toml:2:19: repeater_listen: ");
}

TEST(ConfigFile, NoSharedViewerPortMeansEverySessionNeedsItsOwn) {
    EXPECT_EQ(only_error("listen = \"\"\n[[session]]\nname = \"a\"\nupstream = \"h:1\"\n"),
              "cfg.toml:2:1: listen: missing: there is no shared viewer port (the top-level "
              "listen is \"\"), so the session needs its own");
    const ConfigResult r =
        load("listen = \"\"\n[[session]]\nname = \"a\"\nupstream = \"h:1\"\nlisten = \":5931\"\n");
    ASSERT_TRUE(r.ok()) << ::testing::PrintToString(r.errors);
    EXPECT_EQ(r.config.global.listen, "");
}

TEST(ConfigFile, AnEmptySessionListenIsAnError) {
    EXPECT_EQ(only_error("[[session]]\nname = \"a\"\nupstream = \"h:1\"\nlisten = \"\"\n"),
              "cfg.toml:4:10: listen: is empty (leave the key out instead)");
}

// --- quality and limits ---

TEST(ConfigFile, QualityOutsideZeroToNineIsAnError) {
    EXPECT_EQ(only_error("min_quality = 10\n"),
              "cfg.toml:1:15: min_quality: 10 is out of range 0..9");
    EXPECT_EQ(only_error("[[session]]\nname = \"a\"\nupstream = \"h:1\"\nmax_quality = -1\n"),
              "cfg.toml:4:15: max_quality: -1 is out of range 0..9");
}

TEST(ConfigFile, MinQualityAboveMaxQualityInOneTableIsAnError) {
    EXPECT_EQ(only_error("min_quality = 7\nmax_quality = 3\n"),
              "cfg.toml:1:15: min_quality: min_quality 7 is above max_quality 3");
    EXPECT_EQ(only_error("[[session]]\nname = \"a\"\nupstream = \"h:1\"\n"
                         "max_quality = 3\nmin_quality = 7\n"),
              "cfg.toml:5:15: min_quality: min_quality 7 is above max_quality 3");
}

TEST(ConfigFile, MinQualityAboveAnInheritedMaxQualityNamesWhereItCameFrom) {
    EXPECT_EQ(only_error("max_quality = 5\n[[session]]\nname = \"a\"\nupstream = \"h:1\"\n"
                         "min_quality = 7\n"),
              "cfg.toml:5:15: min_quality: min_quality 7 is above max_quality 5 (max_quality "
              "inherited from line 1)");
    EXPECT_EQ(only_error("min_quality = 6\n[[session]]\nname = \"a\"\nupstream = \"h:1\"\n"
                         "max_quality = 2\n"),
              "cfg.toml:5:15: max_quality: min_quality 6 is above max_quality 2 (min_quality "
              "inherited from line 1)");
}

TEST(ConfigFile, LimitsMustBePositiveAndInRange) {
    const std::string s = "[[session]]\nname = \"a\"\nupstream = \"h:1\"\n";
    EXPECT_EQ(only_error(s + "max_viewers = 0\n"),
              "cfg.toml:4:15: max_viewers: 0 is out of range 1..100000");
    EXPECT_EQ(only_error(s + "max_fps = 0\n"),
              "cfg.toml:4:11: max_fps: 0 is out of range 0.5..240");
    EXPECT_EQ(only_error(s + "max_fps = 240.5\n"),
              "cfg.toml:4:11: max_fps: 240.5 is out of range 0.5..240");
    EXPECT_EQ(only_error(s + "max_fps = nan\n"),
              "cfg.toml:4:11: max_fps: nan is out of range 0.5..240");
    EXPECT_EQ(only_error(s + "viewer_max_kbps = -1\n"),
              "cfg.toml:4:19: viewer_max_kbps: -1 is out of range 0..100000000");
    EXPECT_EQ(only_error(s + "session_max_kbps = inf\n"),
              "cfg.toml:4:20: session_max_kbps: inf is out of range 0..1000000000");
    EXPECT_EQ(only_error(s + "idle_timeout = -5\n"),
              "cfg.toml:4:16: idle_timeout: -5 is out of range 0..604800");
    EXPECT_EQ(only_error("cache_mb = 0\n"), "cfg.toml:1:12: cache_mb: 0 is out of range 1..65536");
    EXPECT_EQ(only_error("encode_threads = 300\n"),
              "cfg.toml:1:18: encode_threads: 300 is out of range 0..256");
    EXPECT_EQ(only_error("stats_interval = -1\n"),
              "cfg.toml:1:18: stats_interval: -1 is out of range 0..86400");
    EXPECT_EQ(only_error("display_base = 70000\n"),
              "cfg.toml:1:16: display_base: 70000 is out of range 1..65535");
}

TEST(ConfigFile, ValuesOfTheWrongTypeAreErrors) {
    EXPECT_EQ(only_error("max_viewers = \"ten\"\n"),
              "cfg.toml:1:15: max_viewers: expected an integer, got a string");
    EXPECT_EQ(only_error("max_viewers = 10.0\n"),
              "cfg.toml:1:15: max_viewers: expected an integer, got a float");
    EXPECT_EQ(only_error("max_fps = \"30\"\n"),
              "cfg.toml:1:11: max_fps: expected a number, got a string");
    EXPECT_EQ(only_error("view_only_default = 1\n"),
              "cfg.toml:1:21: view_only_default: expected true or false, got an integer");
    EXPECT_EQ(only_error("allow_dynamic_ids = \"yes\"\n"),
              "cfg.toml:1:21: allow_dynamic_ids: expected true or false, got a string");
    EXPECT_EQ(only_error("listen = [\":5900\"]\n"),
              "cfg.toml:1:10: listen: expected a string, got an array");
    EXPECT_EQ(only_error("session = 3\n"),
              "cfg.toml:1:11: session: expected [[session]] tables, got an integer");
    EXPECT_EQ(only_error("session = [3]\n"),
              "cfg.toml:1:12: session: expected a table, got an integer");
}

TEST(ConfigFile, ChoicesOutsideTheirListAreErrors) {
    EXPECT_EQ(only_error("input_policy = \"everyone\"\n"),
              "cfg.toml:1:16: input_policy: expected \"first\", \"last-wins\" or \"shared\", got "
              "\"everyone\"");
    EXPECT_EQ(only_error("clipboard = \"sometimes\"\n"),
              "cfg.toml:1:13: clipboard: expected \"both\", \"to-viewers\", \"to-server\" or "
              "\"off\", got \"sometimes\"");
    EXPECT_EQ(only_error("log_level = \"loud\"\n"),
              "cfg.toml:1:13: log_level: expected \"debug\", \"info\", \"warn\" or \"error\", got "
              "\"loud\"");
    EXPECT_EQ(only_error("log_format = \"xml\"\n"),
              "cfg.toml:1:14: log_format: expected \"text\" or \"json\", got \"xml\"");
}

TEST(ConfigFile, EveryChoiceIsAccepted) {
    const std::pair<const char*, InputPolicy> inputs[] = {{"first", InputPolicy::kFirst},
                                                          {"last-wins", InputPolicy::kLastWins},
                                                          {"shared", InputPolicy::kShared}};
    for (const auto& [text, value] : inputs) {
        const ConfigResult r = load(std::string("input_policy = \"") + text + "\"\n");
        ASSERT_TRUE(r.ok()) << text;
        EXPECT_EQ(r.config.global.defaults.input_policy, value) << text;
        EXPECT_STREQ(to_string(value), text);
    }
    const std::pair<const char*, ClipboardPolicy> clips[] = {
        {"both", ClipboardPolicy::kBoth},
        {"to-viewers", ClipboardPolicy::kToViewers},
        {"to-server", ClipboardPolicy::kToServer},
        {"off", ClipboardPolicy::kOff}};
    for (const auto& [text, value] : clips) {
        const ConfigResult r = load(std::string("clipboard = \"") + text + "\"\n");
        ASSERT_TRUE(r.ok()) << text;
        EXPECT_EQ(r.config.global.defaults.clipboard, value) << text;
        EXPECT_STREQ(to_string(value), text);
    }
}

// --- secret file paths ---

TEST(ConfigFile, PasswordFilePathsMustBeNonEmptyStrings) {
    const std::string s = "[[session]]\nname = \"a\"\nupstream = \"h:1\"\n";
    EXPECT_EQ(only_error(s + "password_file = \"\"\n"),
              "cfg.toml:4:17: password_file: is empty (leave the key out instead)");
    EXPECT_EQ(only_error(s + "viewonly_password_file = 5\n"),
              "cfg.toml:4:26: viewonly_password_file: expected a string, got an integer");
    EXPECT_EQ(only_error(s + "upstream_password_file = \"a\\u0000b\"\n"),
              "cfg.toml:4:26: upstream_password_file: contains a NUL character");
    const ConfigResult r = load(s +
                                "upstream_password_file = \"/p\"\n"
                                "upstream_username_file = \"/u\"\n");
    ASSERT_TRUE(r.ok()) << ::testing::PrintToString(r.errors);
    EXPECT_EQ(r.config.sessions[0].upstream_password_file, "/p");
    EXPECT_EQ(r.config.sessions[0].upstream_username_file, "/u");
}

// --- several problems ---

TEST(ConfigFile, AllProblemsAreReportedInFileOrder) {
    const ConfigResult r = load(R"(zzz = 1
aaa = 2
[[session]]
name = "a"
upstream = "h"
max_fps = 0
[[session]]
name = "a"
)");
    ASSERT_FALSE(r.ok());
    const std::vector<std::string> expected = {
        "cfg.toml:1:1: zzz: unknown key",
        "cfg.toml:2:1: aaa: unknown key",
        "cfg.toml:5:12: upstream: expected HOST:PORT, got 'h'",
        "cfg.toml:6:11: max_fps: 0 is out of range 0.5..240",
        "cfg.toml:7:1: upstream: missing: set upstream (HOST:PORT to connect to, or \"demo\"), "
        "repeater_id (for a server that dials in with an ID) or reverse_listen (a port servers "
        "dial)",
        "cfg.toml:8:8: name: \"a\" is already the name of the session at line 4",
    };
    EXPECT_EQ(r.errors, expected);
}

TEST(ConfigFile, AnEmptySourceNameStillNamesSomething) {
    const ConfigResult r = load_config("bogus = 1\n", "");
    ASSERT_EQ(r.errors.size(), 1u);
    EXPECT_EQ(r.errors[0], "<config>:1:1: bogus: unknown key");
}

// --- files ---

class TempFile {
  public:
    explicit TempFile(const std::string& content) {
        char name[] = "/tmp/rfbcast_config_test_XXXXXX";
        const int fd = ::mkstemp(name);
        EXPECT_GE(fd, 0);
        if (fd >= 0) ::close(fd);
        path_ = name;
        std::ofstream(path_, std::ios::binary) << content;
    }
    ~TempFile() { std::remove(path_.c_str()); }
    const std::string& path() const { return path_; }

  private:
    std::string path_;
};

TEST(ConfigFile, LoadsAFileAndNamesItInMessages) {
    const TempFile good(kMinimal);
    const ConfigResult r = load_config_file(good.path());
    ASSERT_TRUE(r.ok()) << ::testing::PrintToString(r.errors);
    EXPECT_EQ(r.config.sessions.at(0).origin, good.path() + ":2:1");

    const TempFile bad("max_fps = 0\n");
    const ConfigResult b = load_config_file(bad.path());
    ASSERT_EQ(b.errors.size(), 1u);
    EXPECT_EQ(b.errors[0], bad.path() + ":1:11: max_fps: 0 is out of range 0.5..240");
}

TEST(ConfigFile, AMissingFileIsAnErrorNamingIt) {
    const ConfigResult r = load_config_file("/nonexistent/rfbcast.toml");
    ASSERT_EQ(r.errors.size(), 1u);
    EXPECT_TRUE(starts_with(r.errors[0], "/nonexistent/rfbcast.toml: cannot open")) << r.errors[0];
}

TEST(ConfigFile, AnOversizedFileIsRefusedUnparsed) {
    const TempFile big(std::string((1 << 20) + 1, '#'));
    const ConfigResult r = load_config_file(big.path());
    ASSERT_EQ(r.errors.size(), 1u);
    EXPECT_TRUE(starts_with(r.errors[0], big.path() + ": larger than 1 MiB")) << r.errors[0];
    const TempFile fits(std::string(1 << 20, '#'));  // one long comment: valid and empty
    EXPECT_TRUE(load_config_file(fits.path()).ok());
}

// --- describe ---

TEST(ConfigFile, DescribeGivesAGlobalLineAndOneLinePerSession) {
    const ConfigResult r = load(std::string(kMinimal) +
                                "[[session]]\nname = \"pi-7\"\nrepeater_id = 7\nmax_fps = 2.5\n"
                                "password_file = \"/run/my secrets/pi\"\n");
    ASSERT_TRUE(r.ok()) << ::testing::PrintToString(r.errors);
    const std::string limits =
        "view_only_default=false max_viewers=1000 max_fps=30 min_quality=0 max_quality=9 "
        "viewer_max_kbps=0 session_max_kbps=0 keep_upstream_without_viewers=true "
        "idle_timeout=0 input_idle_timeout=10 input_policy=shared clipboard=both";
    const std::string expected =
        "global: listen=0.0.0.0:5900 repeater_listen=0.0.0.0:5500 allow_dynamic_ids=false "
        "log_level=info log_format=text cache_mb=256 encode_threads=auto stats_interval=60 "
        "max_preauth=2048 max_preauth_per_address=256 max_total_viewers=10000 "
        "http_listen=0.0.0.0:5800 metrics_listen=(none) drain_timeout=25 "
        "http_on_viewer_port=true " +
        limits +
        "\n"
        "session lab1: upstream=127.0.0.1:5901 repeater_id=1234 listen=0.0.0.0:5931 "
        "password_file=/run/secrets/lab1-control viewonly_password_file=/run/secrets/lab1-view " +
        limits +
        "\n"
        "session pi-7: repeater_id=7 listen=shared password_file=\"/run/my secrets/pi\" "
        "view_only_default=false max_viewers=1000 max_fps=2.5 min_quality=0 max_quality=9 "
        "viewer_max_kbps=0 session_max_kbps=0 keep_upstream_without_viewers=true "
        "idle_timeout=0 input_idle_timeout=10 input_policy=shared clipboard=both\n";
    EXPECT_EQ(describe(r.config), expected);
}

TEST(ConfigFile, DescribeSaysWhenThereAreNoSessions) {
    const ConfigResult r = load("display_base = 5900\nencode_threads = 2\n");
    ASSERT_TRUE(r.ok());
    const std::string d = describe(r.config);
    EXPECT_NE(d.find(" display_base=5900 "), std::string::npos) << d;
    EXPECT_NE(d.find(" encode_threads=2 "), std::string::npos) << d;
    EXPECT_NE(d.find(" repeater_listen=\"\" "), std::string::npos) << d;
    EXPECT_TRUE(d.size() >= 12 && d.compare(d.size() - 12, 12, "no sessions\n") == 0) << d;
}

// The keys issue 6's routing added: reverse ports, the demo upstream, Mode I, display numbers.
TEST(ConfigFile, ReverseListenDemoUpstreamModeOneAndDisplay) {
    const ConfigResult r = load_config(R"(mode1_allow = ["10.0.0.0/8:5900-5999", "pi.local"]
dynamic_id_key_file = "/run/secrets/ids"
[[session]]
name = "desk"
reverse_listen = "127.0.0.1:5501"
display = 4
[[session]]
name = "show"
upstream = "demo"
[[session]]
name = "pi"
repeater_id = "9"
repeater_secret_file = "/run/secrets/pi9"
)",
                                       "cfg.toml");
    ASSERT_TRUE(r.ok()) << r.errors.front();
    const Config& c = r.config;
    EXPECT_EQ(c.global.mode1_allow, (std::vector<std::string>{"10.0.0.0/8:5900-5999", "pi.local"}));
    EXPECT_EQ(c.global.dynamic_id_key_file, "/run/secrets/ids");
    EXPECT_EQ(c.sessions[0].reverse_listen, "127.0.0.1:5501");
    EXPECT_TRUE(c.sessions[0].server_dials_in());
    EXPECT_EQ(c.sessions[0].display, 4);
    EXPECT_EQ(c.sessions[1].upstream, "demo");
    EXPECT_EQ(c.sessions[1].display, -1);
    EXPECT_EQ(c.sessions[2].repeater_secret_file, "/run/secrets/pi9");
    // A repeater_id without upstream defaults the repeater port; a reverse port alone would not.
    EXPECT_EQ(c.global.repeater_listen, kDefaultRepeaterListen);
}

TEST(ConfigFile, RoutingKeysAreChecked) {
    const ConfigResult r = load_config(R"(mode1_allow = ["10.0.0.1/8", 5]
[[session]]
name = "both"
upstream = "127.0.0.1:5901"
reverse_listen = "127.0.0.1:5501"
[[session]]
name = "clash"
reverse_listen = "127.0.0.1:5501"
repeater_secret_file = "/x"
)",
                                       "cfg.toml");
    ASSERT_EQ(r.errors.size(), 5u);
    EXPECT_NE(r.errors[0].find("cfg.toml:1:16: mode1_allow: '10.0.0.1/8'"), std::string::npos)
        << r.errors[0];
    EXPECT_NE(r.errors[1].find("cfg.toml:1:30: mode1_allow: expected a string"), std::string::npos)
        << r.errors[1];
    EXPECT_NE(r.errors[2].find("cfg.toml:5:18: reverse_listen: a session has one upstream"),
              std::string::npos)
        << r.errors[2];
    EXPECT_NE(r.errors[3].find("cfg.toml:6:1: repeater_secret_file: only means something with a "
                               "repeater_id"),
              std::string::npos)
        << r.errors[3];
    EXPECT_NE(r.errors[4].find("cfg.toml:8:18: reverse_listen: '127.0.0.1:5501' clashes with the "
                               "reverse port of session 'both'"),
              std::string::npos)
        << r.errors[4];
}

TEST(ConfigFile, UpstreamReverseMeansTheServerDialsIn) {
    const ConfigResult ok = load_config(R"([[session]]
name = "pi"
upstream = "reverse"
repeater_id = "5"
)",
                                        "cfg.toml");
    ASSERT_TRUE(ok.ok()) << ok.errors.front();
    EXPECT_TRUE(ok.config.sessions[0].server_dials_in());
    const ConfigResult bad = load_config(R"([[session]]
name = "pi"
upstream = "reverse"
)",
                                         "cfg.toml");
    ASSERT_EQ(bad.errors.size(), 1u);
    EXPECT_NE(bad.errors[0].find("cfg.toml:1:1: upstream: \"reverse\" means the server dials in"),
              std::string::npos)
        << bad.errors[0];
}

}  // namespace
}  // namespace rfbcast
