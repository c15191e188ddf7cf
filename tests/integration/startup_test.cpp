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
    EXPECT_NE(log.find("readable by group or others"), std::string::npos) << log;
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

}  // namespace
}  // namespace itest
