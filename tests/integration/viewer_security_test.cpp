// Issue 7 with real clients and the real binary: VeNCrypt Plain users from a hashed users file
// (libvncclient as the viewer), and the brute-force lockout's timing end to end: five wrong
// passwords, a refusal even for the right one, and the block lifting after its 10 s.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>

#include "tests/integration/harness.h"

namespace itest {
namespace {

using Clock = std::chrono::steady_clock;

// `rfbcast --hash-password NAME` with the password on standard input: the users-file line.
std::string hash_password(const TempDir& dir, const std::string& user, const std::string& pw) {
    EXPECT_TRUE(write_file(dir.file("pw-in"), pw + "\n"));
    Process p;
    std::string err;
    EXPECT_TRUE(p.start({RFBCAST_BIN, "--hash-password", user}, dir.file("hash.out"),
                        dir.file("hash.err"), &err, dir.file("pw-in")))
        << err;
    EXPECT_EQ(p.wait_for(milliseconds(20000)), 0) << read_file(dir.file("hash.err"));
    std::string line = read_file(dir.file("hash.out"));
    while (!line.empty() && line.back() == '\n')
        line.pop_back();
    return line;
}

TEST(ViewerSecurity, PlainUsersLogInOverTlsWithLibvncclient) {
    TempDir dir;
    const std::string line = hash_password(dir, "alice", "wonderland");
    ASSERT_EQ(line.rfind("alice:pbkdf2-sha256:", 0), 0u) << line;
    EXPECT_EQ(line.find("wonderland"), std::string::npos);
    ASSERT_TRUE(write_file(dir.file("users"), "# rfbcast users\n" + line + "\n"));
    RfbcastOptions o;
    o.demo = true;
    o.extra_args = {"--users-file", dir.file("users"), "--viewer-tls", "require"};
    Rfbcast rfbcast(dir, o);
    std::string err;
    ASSERT_TRUE(rfbcast.start(&err)) << err;

    ASSERT_TRUE(write_file(dir.file("user"), "alice\n"));
    ASSERT_TRUE(write_file(dir.file("right"), "wonderland\n"));
    ASSERT_TRUE(write_file(dir.file("wrong"), "wonderlund\n"));
    LvcOptions v;
    v.port = rfbcast.port();
    v.username_file = dir.file("user");
    v.password_file = dir.file("right");
    v.count_updates_ms = 1500;  // the demo never stops moving
    const ViewerResult ok = run_lvc_viewer(dir, v, "alice");
    EXPECT_TRUE(ok.ok()) << ok.describe();
    EXPECT_NE(rfbcast.log().find("security=VeNCrypt/TLSPlain access=full user=alice"),
              std::string::npos)
        << rfbcast.log_tail();

    v.password_file = dir.file("wrong");
    const ViewerResult bad = run_lvc_viewer(dir, v, "alice-wrong");
    EXPECT_FALSE(bad.ok()) << "a wrong password got in";
    EXPECT_NE(rfbcast.log().find("Plain: wrong user or password"), std::string::npos)
        << rfbcast.log_tail();
}

TEST(ViewerSecurity, BruteForceFromAScriptIsLockedOutForTenSeconds) {
    TempDir dir;
    RfbcastOptions o;
    o.demo = true;
    o.password = "right-pw";
    o.extra_args = {"--viewer-tls", "off"};
    Rfbcast rfbcast(dir, o);
    std::string err;
    ASSERT_TRUE(rfbcast.start(&err)) << err;
    ASSERT_TRUE(write_file(dir.file("wrong"), "guess\n"));

    LvcOptions v;
    v.port = rfbcast.port();
    v.count_updates_ms = 300;
    v.timeout_ms = 5000;
    v.password_file = dir.file("wrong");
    for (int i = 0; i < 5; ++i) {
        const ViewerResult r = run_lvc_viewer(dir, v, "guess-" + std::to_string(i));
        EXPECT_FALSE(r.ok()) << "guess " << i << " got in";
    }
    const auto blocked_at = Clock::now();
    v.password_file = rfbcast.password_file();
    v.verbose = true;  // libvncclient logs the server's failure reason
    const ViewerResult during = run_lvc_viewer(dir, v, "right-during-block");
    EXPECT_FALSE(during.ok()) << "the right password got in during the block";
    EXPECT_NE(during.err.find("Too many security failures"), std::string::npos) << during.err;

    // The block lasts 10 s from the fifth failure; then the right password works again.
    std::this_thread::sleep_until(blocked_at + std::chrono::milliseconds(10500));
    const ViewerResult after = run_lvc_viewer(dir, v, "right-after-block");
    EXPECT_TRUE(after.ok()) << after.describe();
    EXPECT_NE(rfbcast.log().find(" warn lockout peer=127.0.0.1"), std::string::npos);
}

}  // namespace
}  // namespace itest
