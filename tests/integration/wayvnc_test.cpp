// wayvnc (the VNC server of Raspberry Pi OS) behind rfbcast. wayvnc needs a wlroots
// compositor: sway runs headless with the pixman software renderer (no GPU here), starts wayvnc
// on a loopback port and Xwayland, and xdraw paints its deterministic picture through Xwayland.
// A grab through rfbcast must equal a grab straight from wayvnc, pixel for pixel.
//
// sway refuses to run as root ("Unable to drop root"), so as root the compositor runs as
// nobody (setpriv), with its XDG_RUNTIME_DIR in this test's directory.
#include <dirent.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <thread>

#include "tests/integration/harness.h"

namespace itest {
namespace {

constexpr uid_t kNobody = 65534;
constexpr int kWidth = 800, kHeight = 600;

void sleep_ms(int ms) {
    std::this_thread::sleep_for(milliseconds(ms));
}

std::string in_path(const std::string& name) {
    for (const char* dir : {"/usr/local/bin", "/usr/bin", "/bin", "/usr/sbin", "/sbin"}) {
        const std::string p = std::string(dir) + "/" + name;
        if (::access(p.c_str(), X_OK) == 0) return p;
    }
    return {};
}

// Processes whose environment carries our private XDG_RUNTIME_DIR: sway and everything it
// started (wayvnc, Xwayland, xdraw). The path is unique to this test, so they are all ours.
std::vector<pid_t> processes_of_session(const std::string& runtime_dir) {
    std::vector<pid_t> pids;
    const std::string needle = "XDG_RUNTIME_DIR=" + runtime_dir;
    DIR* d = ::opendir("/proc");
    if (!d) return pids;
    while (dirent* e = ::readdir(d)) {
        char* end = nullptr;
        long pid = std::strtol(e->d_name, &end, 10);
        if (*end != '\0' || pid <= 1 || pid == ::getpid()) continue;
        const std::string env = read_file("/proc/" + std::to_string(pid) + "/environ");
        size_t at = 0;
        while ((at = env.find(needle, at)) != std::string::npos) {
            const size_t after = at + needle.size();
            if ((at == 0 || env[at - 1] == '\0') && (after == env.size() || env[after] == '\0')) {
                pids.push_back(static_cast<pid_t>(pid));
                break;
            }
            at = after;
        }
    }
    ::closedir(d);
    return pids;
}

class WayvncTest : public ::testing::Test {
  protected:
    void SetUp() override {
        for (const char* tool : {"sway", "wayvnc", "Xwayland"})
            if (in_path(tool).empty())
                GTEST_SKIP() << tool
                             << " is not installed (scripts/install-deps.sh --test installs sway, "
                                "wayvnc and xwayland)";
        if (::geteuid() == 0 && in_path("setpriv").empty())
            GTEST_SKIP() << "running as root, and sway refuses root: setpriv (util-linux) is "
                            "needed to run it as nobody";
        if (std::string(xdraw_bin()).empty()) GTEST_SKIP() << "xdraw was not built (no libX11)";
    }

    void TearDown() override {
        if (HasFailure()) {
            std::fprintf(stderr, "--- sway log ---\n%s\n", file_tail(sway_log_, 4000).c_str());
            std::fprintf(stderr, "--- wayvnc log ---\n%s\n",
                         file_tail(dir_.file("wayvnc.log"), 3000).c_str());
            std::fprintf(stderr, "--- xdraw log ---\n%s\n",
                         file_tail(out_dir_ + "/xdraw.log", 2000).c_str());
            if (rfbcast_)
                std::fprintf(stderr, "--- rfbcast log ---\n%s\n", rfbcast_->log_tail().c_str());
        }
        rfbcast_.reset();
        stop_session();
    }

    void stop_session() {
        if (runtime_dir_.empty()) return;
        sway_.stop();
        // wayvnc, Xwayland and xdraw leave with the compositor; whatever lingers goes now.
        for (int round = 0; round < 20; ++round) {
            std::vector<pid_t> left = processes_of_session(runtime_dir_);
            if (left.empty()) break;
            for (pid_t p : left)
                ::kill(p, round < 10 ? SIGTERM : SIGKILL);
            sleep_ms(100);
        }
    }

    // sway + wayvnc on 127.0.0.1:wayvnc_port_ + xdraw through Xwayland.
    void start_session() {
        const bool as_nobody = ::geteuid() == 0;
        // nobody must reach its runtime and output directories inside our private TempDir.
        ASSERT_EQ(::chmod(dir_.path().c_str(), 0711), 0);
        runtime_dir_ = dir_.file("xdg-runtime");
        out_dir_ = dir_.file("session");
        ASSERT_EQ(::mkdir(runtime_dir_.c_str(), 0700), 0);
        ASSERT_EQ(::mkdir(out_dir_.c_str(), 0700), 0);
        if (as_nobody) {
            ASSERT_EQ(::chown(runtime_dir_.c_str(), kNobody, kNobody), 0);
            ASSERT_EQ(::chown(out_dir_.c_str(), kNobody, kNobody), 0);
        }
        wayvnc_port_ = free_tcp_port();
        ASSERT_GT(wayvnc_port_, 0);
        ready_file_ = out_dir_ + "/xdraw.ready";
        const std::string config = dir_.file("sway.config");
        // No borders, no bar: xdraw's window is the whole output. wayvnc and xdraw start from
        // the config so that they inherit the compositor's WAYLAND_DISPLAY and DISPLAY.
        const std::string text =
            "output * resolution " + std::to_string(kWidth) + "x" + std::to_string(kHeight) +
            " bg #204060 solid_color\n"
            "default_border none\n"
            "default_floating_border none\n"
            "focus_follows_mouse no\n"
            "exec " +
            in_path("wayvnc") + " 127.0.0.1 " + std::to_string(wayvnc_port_) + " > " +
            dir_.file("wayvnc.log") + " 2>&1\n" + "exec " + xdraw_bin() +
            " --display \"$DISPLAY\" --seed 424242 --keylog " + out_dir_ + "/keys.log" +
            " --ready-file " + ready_file_ + " --copies-file " + out_dir_ + "/copies > " +
            out_dir_ + "/xdraw.log 2>&1\n";
        ASSERT_TRUE(write_file(config, text, 0644));
        // wayvnc's log goes to a file nobody must be able to create.
        ASSERT_TRUE(write_file(dir_.file("wayvnc.log"), "", 0666));
        ASSERT_EQ(::chmod(dir_.file("wayvnc.log").c_str(), 0666), 0);

        std::vector<std::string> argv;
        if (as_nobody)
            argv = {in_path("setpriv"), "--reuid=65534", "--regid=65534", "--clear-groups", "--"};
        for (const std::string& a :
             {std::string("/usr/bin/env"), std::string("-i"), std::string("PATH=/usr/bin:/bin"),
              "HOME=" + out_dir_, "XDG_RUNTIME_DIR=" + runtime_dir_,
              std::string("WLR_BACKENDS=headless"), std::string("WLR_LIBINPUT_NO_DEVICES=1"),
              std::string("WLR_RENDERER=pixman"), in_path("sway"), std::string("-c"), config})
            argv.push_back(a);
        sway_log_ = dir_.file("sway.log");
        std::string err;
        ASSERT_TRUE(sway_.start(argv, sway_log_, sway_log_, &err)) << err;
        ASSERT_TRUE(wait_for_rfb_greeting(wayvnc_port_, milliseconds(20000), &sway_))
            << "wayvnc never answered on 127.0.0.1:" << wayvnc_port_
            << (sway_.running() ? "" : " (sway exited)");
        ASSERT_TRUE(wait_for_line(ready_file_, "frozen 0", milliseconds(20000)))
            << "xdraw never drew through Xwayland";
    }

    ::testing::AssertionResult grab(int port, const std::string& tag, Image& img,
                                    ViewerResult* result = nullptr) {
        LvcOptions o;
        o.port = port;
        o.encodings = "zrle";
        o.out_ppm = dir_.file(tag + ".ppm");
        o.settle_ms = 1000;
        ViewerResult r = run_lvc_viewer(dir_, o, tag);
        if (result) *result = r;
        if (!r.ok())
            return ::testing::AssertionFailure() << "lvc_viewer " << tag << ": " << r.describe();
        std::string err;
        if (!load_ppm(o.out_ppm, img, &err)) return ::testing::AssertionFailure() << err;
        return ::testing::AssertionSuccess();
    }

    TempDir dir_;
    Process sway_;
    std::string runtime_dir_, out_dir_, ready_file_, sway_log_;
    int wayvnc_port_ = 0;
    std::unique_ptr<Rfbcast> rfbcast_;
};

TEST_F(WayvncTest, ReflectedPixelsEqualADirectGrab) {
    ASSERT_NO_FATAL_FAILURE(start_session());

    Image direct, again;
    ViewerResult r;
    ASSERT_TRUE(grab(wayvnc_port_, "direct", direct, &r));
    ASSERT_EQ(direct.width, kWidth);
    ASSERT_EQ(direct.height, kHeight);
    EXPECT_GT(distinct_colours(direct), 5000u)
        << "wayvnc's picture is not xdraw's pattern (blank output or no Xwayland window?)";
    std::fprintf(stderr, "[wayvnc] direct grab %dx%d, %zu colours, encodings %s\n", direct.width,
                 direct.height, distinct_colours(direct), r.encodings_seen.c_str());
    // The desktop is still: a second direct grab must agree, or the comparison means nothing.
    ASSERT_TRUE(grab(wayvnc_port_, "direct-again", again));
    ImageDiff stable = compare_images(direct, again);
    ASSERT_TRUE(stable.equal()) << "wayvnc's picture changes by itself: " << stable.describe();

    RfbcastOptions ro;
    ro.upstream_port = wayvnc_port_;
    rfbcast_ = std::make_unique<Rfbcast>(dir_, ro);
    std::string err;
    ASSERT_TRUE(rfbcast_->start(&err)) << err;

    // rfbcast may serve viewers before its first upstream frame is complete: only the first
    // grab may retry.
    ImageDiff d;
    const auto deadline = std::chrono::steady_clock::now() + milliseconds(20000);
    for (int i = 0; std::chrono::steady_clock::now() < deadline; ++i) {
        Image warm;
        if (grab(rfbcast_->port(), "warmup-" + std::to_string(i), warm)) {
            d = compare_images(direct, warm);
            if (d.equal()) break;
        }
        sleep_ms(500);
    }
    ASSERT_TRUE(d.equal()) << "no grab through rfbcast matched wayvnc within 20 s: "
                           << d.describe();

    Image through;
    ASSERT_TRUE(grab(rfbcast_->port(), "through-rfbcast", through, &r));
    ImageDiff final_diff = compare_images(direct, through);
    EXPECT_TRUE(final_diff.equal()) << final_diff.describe();
    EXPECT_NE(rfbcast_->log().find("upstream-connected"), std::string::npos);
    EXPECT_TRUE(rfbcast_->running()) << "rfbcast died";
}

}  // namespace
}  // namespace itest
