// What a user sees when rfbcast cannot start: each failure names its cause and the fix.
#include <gtest/gtest.h>

#include <string>

#include "tests/integration/harness.h"

namespace itest {
namespace {

struct ExitedRun {
    std::optional<int> code;
    std::string err;
};

ExitedRun run(const TempDir& dir, const std::vector<std::string>& argv, const std::string& tag) {
    Process p;
    std::string error;
    const std::string out = dir.file(tag + ".out"), err = dir.file(tag + ".err");
    EXPECT_TRUE(p.start(argv, out, err, &error)) << error;
    ExitedRun r;
    r.code = p.wait_for(milliseconds(10000));
    r.err = read_file(err) + read_file(out);
    return r;
}

TEST(Startup, BlockedIoUringExitsWithTheFix) {
    TempDir dir;
    const int port = free_tcp_port();
    ExitedRun r =
        run(dir, {NO_IO_URING_BIN, RFBCAST_BIN, "--listen", "127.0.0.1:" + std::to_string(port)},
            "blocked");
    ASSERT_TRUE(r.code.has_value()) << "rfbcast kept running without io_uring";
    EXPECT_NE(*r.code, 0);
    EXPECT_NE(r.err.find("io_uring is unavailable"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("seccomp"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("io_uring_setup"), std::string::npos) << r.err;
}

TEST(Startup, PortInUseNamesThePort) {
    TempDir dir;
    const int port = free_tcp_port();
    const std::string listen = "127.0.0.1:" + std::to_string(port);
    Process first;
    std::string error;
    ASSERT_TRUE(first.start({RFBCAST_BIN, "--listen", listen}, dir.file("first.out"),
                            dir.file("first.err"), &error))
        << error;
    ASSERT_TRUE(wait_for_rfb_greeting(port, milliseconds(5000), &first));
    ExitedRun r = run(dir, {RFBCAST_BIN, "--listen", listen}, "second");
    ASSERT_TRUE(r.code.has_value());
    EXPECT_NE(*r.code, 0);
    EXPECT_NE(r.err.find("already in use"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(listen), std::string::npos) << r.err;
    EXPECT_TRUE(first.running()) << "the first instance must be unaffected";
}

TEST(Startup, MissingPasswordFileIsNamedButItsContentNever) {
    TempDir dir;
    const std::string missing = dir.file("no-such-file");
    ExitedRun r =
        run(dir, {RFBCAST_BIN, "--listen", "127.0.0.1:1", "--password-file", missing}, "missing");
    ASSERT_TRUE(r.code.has_value());
    EXPECT_NE(*r.code, 0);
    EXPECT_NE(r.err.find(missing), std::string::npos) << r.err;

    const std::string secret_file = dir.file("secret");
    ASSERT_TRUE(write_file(secret_file, "s3cr3tpw\n", 0644));
    const int port = free_tcp_port();
    Process p;
    std::string error;
    ASSERT_TRUE(p.start({RFBCAST_BIN, "--listen", "127.0.0.1:" + std::to_string(port),
                         "--password-file", secret_file},
                        dir.file("warn.out"), dir.file("warn.err"), &error));
    ASSERT_TRUE(wait_for_rfb_greeting(port, milliseconds(5000), &p));
    p.stop();
    const std::string log = read_file(dir.file("warn.err"));
    EXPECT_NE(log.find("accessible by others (mode 0644)"), std::string::npos) << log;
    EXPECT_EQ(log.find("s3cr3tpw"), std::string::npos) << "a password reached the log";
}

TEST(Startup, EnvironmentVariablesConfigureLikeFlags) {
    TempDir dir;
    const int port = free_tcp_port();
    Process p;
    std::string error;
    setenv("RFBCAST_LISTEN", ("127.0.0.1:" + std::to_string(port)).c_str(), 1);
    const bool started = p.start({RFBCAST_BIN}, dir.file("env.out"), dir.file("env.err"), &error);
    unsetenv("RFBCAST_LISTEN");
    ASSERT_TRUE(started) << error;
    EXPECT_TRUE(wait_for_rfb_greeting(port, milliseconds(5000), &p))
        << file_tail(dir.file("env.err"));
    // A clean SIGTERM exit: status 0 and a "stopped" line.
    const auto code = p.stop();
    ASSERT_TRUE(code.has_value());
    EXPECT_EQ(*code, 0);
    EXPECT_NE(read_file(dir.file("env.err")).find("stopped"), std::string::npos);
}

TEST(Startup, VersionAndBadFlags) {
    TempDir dir;
    ExitedRun v = run(dir, {RFBCAST_BIN, "--version"}, "version");
    ASSERT_TRUE(v.code.has_value());
    EXPECT_EQ(*v.code, 0);
    EXPECT_NE(v.err.find("rfbcast"), std::string::npos);
    ExitedRun bad = run(dir, {RFBCAST_BIN, "--upstream", "no-port-here"}, "bad");
    ASSERT_TRUE(bad.code.has_value());
    EXPECT_NE(*bad.code, 0);
    EXPECT_NE(bad.err.find("no-port-here"), std::string::npos) << bad.err;
}

// --check-config: every problem with its place, exit 2; a good file is summarised, exit 0.
TEST(Startup, CheckConfigReportsEveryProblemWithItsPlace) {
    TempDir dir;
    ASSERT_TRUE(write_file(dir.file("bad.toml"), R"(max_fsp = 20
[[session]]
name = "lab1"
upstream = "127.0.0.1:99999"
[[session]]
name = "lab1"
repeater_id = "ID:7"
)"));
    ExitedRun bad =
        run(dir, {RFBCAST_BIN, "--config", dir.file("bad.toml"), "--check-config"}, "bad");
    ASSERT_TRUE(bad.code.has_value());
    EXPECT_EQ(*bad.code, 2) << bad.err;
    EXPECT_NE(bad.err.find("bad.toml:1:1: max_fsp: unknown key"), std::string::npos) << bad.err;
    EXPECT_NE(bad.err.find("max_fps"), std::string::npos)
        << "a typo gets a suggestion: " << bad.err;
    EXPECT_NE(bad.err.find("bad.toml:4:12: upstream:"), std::string::npos) << bad.err;
    EXPECT_NE(bad.err.find("bad.toml:6:8: name:"), std::string::npos) << bad.err;
    EXPECT_NE(bad.err.find("bad.toml:7:15: repeater_id:"), std::string::npos) << bad.err;

    ASSERT_TRUE(write_file(dir.file("pw"), "s3cret\n"));
    ASSERT_TRUE(write_file(dir.file("good.toml"),
                           "listen = \"127.0.0.1:5999\"\n"
                           "[[session]]\nname = \"lab1\"\n"
                           "upstream = \"demo\"\n"
                           "password_file = \"" +
                               dir.file("pw") + "\"\n"));
    ExitedRun good = run(
        dir, {RFBCAST_BIN, "--config", dir.file("good.toml"), "--check-config", "--max-fps", "12"},
        "good");
    ASSERT_TRUE(good.code.has_value());
    EXPECT_EQ(*good.code, 0) << good.err;
    EXPECT_NE(good.err.find("session lab1: upstream=demo"), std::string::npos) << good.err;
    EXPECT_NE(good.err.find("max_fps=12"), std::string::npos) << "flags override: " << good.err;
    EXPECT_EQ(good.err.find("s3cret"), std::string::npos) << "a secret was printed";
    EXPECT_NE(good.err.find("configuration OK"), std::string::npos) << good.err;

    // A password file that cannot be read is found by the check, not at the first viewer.
    ASSERT_TRUE(write_file(dir.file("missing.toml"),
                           "[[session]]\nname = \"x\"\nupstream = \"demo\"\n"
                           "password_file = \"" +
                               dir.file("nope") + "\"\n"));
    ExitedRun missing =
        run(dir, {RFBCAST_BIN, "--config", dir.file("missing.toml"), "--check-config"}, "missing");
    ASSERT_TRUE(missing.code.has_value());
    EXPECT_EQ(*missing.code, 2) << missing.err;
    EXPECT_NE(missing.err.find("session 'x'"), std::string::npos) << missing.err;
    EXPECT_NE(missing.err.find(dir.file("nope")), std::string::npos) << missing.err;
}

}  // namespace
}  // namespace itest
