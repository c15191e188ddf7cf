// Issue 8: rfbcast's browser viewer in a real browser. noVNC 1.7 (served by rfbcast) runs in the
// system's headless Chromium, driven by tests/browser/novnc_check.mjs:
// (a) its canvas shows exactly what a direct libvncclient grab of the Xvnc shows;
// (b) a control-token link types into the desktop, a view-only link does not;
// (c) a wrong and an expired token get the 403 page with its message, and the WebSocket with a
//     wrong token is refused.
// Skipped when Chromium, node or tests/browser/node_modules are missing, unless
// RFBCAST_REQUIRE_BROWSER=1 (then those are failures).
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/harness.h"

namespace itest {
namespace {

using ::testing::AssertionFailure;
using ::testing::AssertionResult;
using ::testing::AssertionSuccess;

constexpr int kWidth = 1024, kHeight = 768;
constexpr uint64_t kSeed = 20250808;
constexpr const char* kChromium = "/usr/bin/chromium";
constexpr const char* kSession = "class";
constexpr const char* kControlToken = "control-7f3a9c2e51d84b06";
constexpr const char* kTokenKey = "browser-test-signing-key-2f9d";

bool executable(const std::string& path) {
    return ::access(path.c_str(), X_OK) == 0;
}

std::string browser_dir() {
    // This file is tests/integration/browser_test.cpp; the driver lives in tests/browser.
    std::string here = __FILE__;
    const size_t slash = here.rfind('/');
    here = slash == std::string::npos ? "." : here.substr(0, slash);
    return here + "/../browser";
}

std::string node_bin() {
    for (const char* p : {"/usr/bin/node", "/usr/local/bin/node"})
        if (executable(p)) return p;
    return {};
}

// Why the browser tests cannot run here ("" when they can).
std::string missing_browser_pieces() {
    std::string missing;
    if (!executable(kChromium)) missing += " /usr/bin/chromium (apt-get install chromium)";
    if (node_bin().empty()) missing += " node";
    if (!executable(browser_dir() + "/node_modules/playwright-core/cli.js") &&
        ::access((browser_dir() + "/node_modules/playwright-core/package.json").c_str(), R_OK) != 0)
        missing += " tests/browser/node_modules (npm ci --prefix tests/browser)";
    return missing;
}

#define SKIP_WITHOUT_BROWSER()                                                   \
    do {                                                                         \
        const std::string missing = missing_browser_pieces();                    \
        if (!missing.empty()) {                                                  \
            const char* req = std::getenv("RFBCAST_REQUIRE_BROWSER");            \
            if (req && std::string(req) == "1") FAIL() << "missing:" << missing; \
            GTEST_SKIP() << "browser tests need" << missing;                     \
        }                                                                        \
    } while (0)

// The value of "key":"..." in novnc_check.mjs's JSON line ("" when absent; escapes kept).
std::string json_string(const std::string& json, const std::string& key) {
    const std::string k = "\"" + key + "\":\"";
    const size_t at = json.find(k);
    if (at == std::string::npos) return {};
    std::string out;
    for (size_t i = at + k.size(); i < json.size() && json[i] != '"'; ++i) {
        if (json[i] == '\\' && i + 1 < json.size()) ++i;
        out += json[i];
    }
    return out;
}
int json_int(const std::string& json, const std::string& key) {
    const std::string k = "\"" + key + "\":";
    const size_t at = json.find(k);
    return at == std::string::npos ? -1 : std::atoi(json.c_str() + at + k.size());
}

struct CheckResult {
    std::optional<int> exit_code;
    std::string json;  // the script's JSON line
    std::string err;
    bool ok() const { return exit_code && *exit_code == 0; }
    std::string status() const { return json_string(json, "status"); }
    std::string message() const { return json_string(json, "message"); }
    int http_status() const { return json_int(json, "http_status"); }
    std::string describe() const {
        return "exit " + (exit_code ? std::to_string(*exit_code) : std::string("(killed)")) + ": " +
               json + (err.empty() ? "" : "\nstderr: " + file_tail_text(err));
    }
    static std::string file_tail_text(const std::string& s) {
        return s.size() > 1500 ? s.substr(s.size() - 1500) : s;
    }
};

// Runs novnc_check.mjs with `args` (after --url URL), bounded by its --timeout and ours.
CheckResult run_check(const TempDir& dir, const std::string& url,
                      const std::vector<std::string>& args, const std::string& tag,
                      int timeout_s = 30) {
    std::vector<std::string> argv = {node_bin(),  browser_dir() + "/novnc_check.mjs", "--url", url,
                                     "--timeout", std::to_string(timeout_s)};
    argv.insert(argv.end(), args.begin(), args.end());
    const std::string out = dir.file(tag + ".out"), err = dir.file(tag + ".err");
    CheckResult r;
    Process p;
    std::string error;
    if (!p.start(argv, out, err, &error)) {
        r.err = "cannot start node: " + error;
        return r;
    }
    r.exit_code = p.wait_for(milliseconds((timeout_s + 20) * 1000));
    if (!r.exit_code) p.stop();
    for (const std::string& line : read_lines(out))
        if (!line.empty() && line[0] == '{') r.json = line;
    r.err = read_file(err);
    return r;
}

// HMAC-SHA256 through the openssl command line, so that the test signs tokens independently of
// rfbcast's own code (first 32 hex digits, as reflector/web_token.h specifies).
std::string openssl_token_mac(const TempDir& dir, const std::string& message) {
    const std::string msg_file = dir.file("mac-input.txt"), out = dir.file("mac.out");
    if (!write_file(msg_file, message)) return {};
    const std::string cmd = "openssl dgst -sha256 -hmac '" + std::string(kTokenKey) + "' < '" +
                            msg_file + "' > '" + out + "' 2>&1";
    if (std::system(cmd.c_str()) != 0) return {};
    const std::string text = read_file(out);
    const size_t eq = text.rfind("= ");
    if (eq == std::string::npos || text.size() < eq + 2 + 32) return {};
    return text.substr(eq + 2, 32);
}

// The status of an HTTP response to a WebSocket upgrade of `path` (0 when none came).
int websocket_upgrade_status(int port, const std::string& path) {
    const int fd = connect_tcp(port, milliseconds(5000));
    if (fd < 0) return 0;
    const std::string req = "GET " + path +
                            " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                            "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                            "Sec-WebSocket-Version: 13\r\n\r\n";
    int status = 0;
    if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(req.size())) {
        timeval tv{5, 0};
        ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        char buf[64] = {};
        size_t got = 0;
        while (got < 12) {
            const ssize_t n = ::recv(fd, buf + got, sizeof buf - 1 - got, 0);
            if (n <= 0) break;
            got += static_cast<size_t>(n);
        }
        if (got >= 12 && std::string(buf, 9) == "HTTP/1.1 ") status = std::atoi(buf + 9);
    }
    ::close(fd);
    return status;
}

class BrowserTest : public ::testing::Test {
  protected:
    void TearDown() override {
        if (HasFailure()) {
            if (rfbcast_)
                std::fprintf(stderr, "--- rfbcast log ---\n%s\n", rfbcast_->log_tail().c_str());
            if (xvnc_) std::fprintf(stderr, "--- Xvnc log ---\n%s\n", xvnc_->log_tail().c_str());
        }
        rfbcast_.reset();
        xdraw_.reset();
        xvnc_.reset();
    }

    void start_desktop() {
        xvnc_ = std::make_unique<XvncServer>(dir_, XvncOptions{kWidth, kHeight, {}});
        std::string err;
        ASSERT_TRUE(xvnc_->start(&err)) << "Xvnc: " << err;
        xdraw_ = std::make_unique<Xdraw>(dir_, XdrawOptions{kSeed, false});
        ASSERT_TRUE(xdraw_->start(xvnc_->display_name(), &err)) << "xdraw: " << err;
    }

    void start_rfbcast(RfbcastOptions o) {
        o.http = true;
        rfbcast_ = std::make_unique<Rfbcast>(dir_, o);
        std::string err;
        ASSERT_TRUE(rfbcast_->start(&err)) << err;
        ASSERT_TRUE(wait_for_port(rfbcast_->http_port(), milliseconds(5000), &rfbcast_->process()))
            << "the HTTP listener never came up";
    }

    std::string url(const std::string& path) const {
        return "http://127.0.0.1:" + std::to_string(rfbcast_->http_port()) + path;
    }

    // rfbcast with one session "class" on the Xvnc: links need a token; the control token is
    // static, view links are signed with kTokenKey.
    void start_token_session() {
        ASSERT_NO_FATAL_FAILURE(start_desktop());
        const std::string control = dir_.file("control-token.txt");
        key_file_ = dir_.file("web-token-key.txt");
        ASSERT_TRUE(write_file(control, std::string(kControlToken) + "\n"));
        ASSERT_TRUE(write_file(key_file_, std::string(kTokenKey) + "\n"));
        SessionSpec s;
        s.name = kSession;
        s.upstream = "127.0.0.1:" + std::to_string(xvnc_->port());
        s.extra = {"web_control_token_file = " + toml_string(control), "web_require_token = true"};
        const std::string config = dir_.file("rfbcast.toml");
        ASSERT_TRUE(write_file(
            config, config_toml({"web_token_key_file = " + toml_string(key_file_)}, {s})));
        RfbcastOptions o;
        o.config_file = config;
        o.no_upstream = true;
        ASSERT_NO_FATAL_FAILURE(start_rfbcast(o));
        ASSERT_TRUE(wait_for_log_events(*rfbcast_, "upstream-connected", "session", kSession, 1,
                                        milliseconds(20000)))
            << "the session never connected to Xvnc";
    }

    // rfbcast --make-web-token for the session.
    std::string make_token(const std::string& access) {
        const std::string out = dir_.file("token-" + access + ".txt");
        Process p;
        std::string err;
        EXPECT_TRUE(p.start({rfbcast_bin(), "--make-web-token", kSession, "--web-token-key-file",
                             key_file_, "--web-token-access", access, "--web-token-ttl", "600"},
                            out, dir_.file("token-" + access + ".err"), &err))
            << err;
        EXPECT_EQ(p.wait_for(milliseconds(10000)), std::optional<int>(0))
            << read_file(dir_.file("token-" + access + ".err"));
        std::vector<std::string> lines = read_lines(out);
        return lines.empty() ? std::string() : lines.back();
    }

    TempDir dir_;
    std::unique_ptr<XvncServer> xvnc_;
    std::unique_ptr<Xdraw> xdraw_;
    std::unique_ptr<Rfbcast> rfbcast_;
    std::string key_file_;
};

TEST_F(BrowserTest, CanvasEqualsDirectGrab) {
    SKIP_WITHOUT_BROWSER();
    ASSERT_NO_FATAL_FAILURE(start_desktop());
    LvcOptions lo;
    lo.port = xvnc_->port();
    lo.out_ppm = dir_.file("direct.ppm");
    const ViewerResult direct_run = run_lvc_viewer(dir_, lo, "direct");
    ASSERT_TRUE(direct_run.ok()) << direct_run.describe();
    Image direct;
    std::string err;
    ASSERT_TRUE(load_ppm(lo.out_ppm, direct, &err)) << err;
    ASSERT_EQ(direct.width, kWidth);
    ASSERT_GT(distinct_colours(direct), 5000u) << "the direct grab is not xdraw's pattern";

    RfbcastOptions o;
    o.upstream_port = xvnc_->port();
    ASSERT_NO_FATAL_FAILURE(start_rfbcast(o));

    // noVNC asks for JPEG; rfbcast must converge to lossless on this link. The canvas is read
    // once it has been still for 1.5 s; a read caught before the lossless refresh is retried.
    std::string last;
    bool equal = false;
    for (int attempt = 0; attempt < 4 && !equal; ++attempt) {
        const std::string ppm = dir_.file("canvas-" + std::to_string(attempt) + ".ppm");
        const CheckResult r = run_check(dir_, url("/view/default?scale=0"), {"--ppm", ppm},
                                        "canvas-" + std::to_string(attempt));
        if (!r.ok()) {
            last = "novnc_check: " + r.describe();
            continue;
        }
        Image canvas;
        if (!load_ppm(ppm, canvas, &err)) {
            last = err;
            continue;
        }
        const ImageDiff d = compare_images(direct, canvas);
        equal = d.equal();
        last = d.describe();
        std::printf("[  measure ] attempt %d: %s\n", attempt,
                    equal ? "canvas equals the direct grab" : last.c_str());
    }
    EXPECT_TRUE(equal) << "noVNC's canvas never equalled the direct grab; last: " << last;
}

TEST_F(BrowserTest, ControlLinkTypesViewLinkDoesNot) {
    SKIP_WITHOUT_BROWSER();
    ASSERT_NO_FATAL_FAILURE(start_token_session());
    const std::string view_token = make_token("view");
    ASSERT_FALSE(view_token.empty());

    // View-only first: nothing it types may reach the key log.
    const CheckResult v =
        run_check(dir_, url(std::string("/view/") + kSession + "?scale=0&token=" + view_token),
                  {"--type", "z"}, "view-type");
    ASSERT_TRUE(v.ok()) << v.describe();
    const CheckResult c =
        run_check(dir_, url(std::string("/view/") + kSession + "?scale=0&token=" + kControlToken),
                  {"--type", "q"}, "control-type");
    ASSERT_TRUE(c.ok()) << c.describe();
    EXPECT_TRUE(wait_for_line(xdraw_->keylog(), "0x71", milliseconds(5000)))
        << "the control link's 'q' never reached the desktop; key log:\n"
        << read_file(xdraw_->keylog());
    // The control key arrived after the view-only one was typed, so a leak would show by now.
    for (const std::string& line : read_lines(xdraw_->keylog()))
        EXPECT_NE(line, "0x7a") << "the view-only link typed 'z' into the desktop";
}

TEST_F(BrowserTest, BadTokensAreRefused) {
    SKIP_WITHOUT_BROWSER();
    ASSERT_NO_FATAL_FAILURE(start_token_session());

    // The test's own signing (openssl) agrees with rfbcast --make-web-token...
    const std::string made = make_token("view");
    const size_t dot = made.find('.');
    ASSERT_NE(dot, std::string::npos) << made;
    const std::string made_expiry = made.substr(0, dot);
    ASSERT_EQ(made.substr(dot + 3),
              openssl_token_mac(dir_, std::string("rfbcast-web:") + kSession + ":v:" + made_expiry))
        << "the test cannot sign tokens as rfbcast does";
    // ...so this token is genuine and only its expiry (a minute ago) is wrong.
    const std::string expiry = std::to_string(std::time(nullptr) - 60);
    const std::string expired =
        expiry + ".v." +
        openssl_token_mac(dir_, std::string("rfbcast-web:") + kSession + ":v:" + expiry);

    const CheckResult e =
        run_check(dir_, url(std::string("/view/") + kSession + "?token=" + expired),
                  {"--expect-message"}, "expired");
    ASSERT_TRUE(e.ok()) << e.describe();
    EXPECT_EQ(e.http_status(), 403) << e.describe();
    EXPECT_NE(e.message().find("expired"), std::string::npos) << e.describe();

    const CheckResult w =
        run_check(dir_, url(std::string("/view/") + kSession + "?token=wrong-token-123"),
                  {"--expect-message"}, "wrong");
    ASSERT_TRUE(w.ok()) << w.describe();
    EXPECT_EQ(w.http_status(), 403) << w.describe();
    EXPECT_NE(w.message().find("not valid"), std::string::npos) << w.describe();

    EXPECT_EQ(websocket_upgrade_status(rfbcast_->http_port(),
                                       std::string("/ws/") + kSession + "?token=wrong-token-456"),
              403);
    // And without any token, as the session requires one.
    EXPECT_EQ(websocket_upgrade_status(rfbcast_->http_port(), std::string("/ws/") + kSession), 403);
}

}  // namespace
}  // namespace itest
