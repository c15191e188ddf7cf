#include "reflector/user_file.h"

#include "reflector/random_bytes.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

namespace rfbcast {
namespace {

// Vectors computed independently with Python's hashlib (OpenSSL), not with this code:
//   python3 -c "import hashlib,base64; print(base64.b64encode(hashlib.pbkdf2_hmac('sha256',
//     b'correct horse', b'rfbcast-test-salt', 10000)).decode())"
const std::string kAlice =
    "alice:pbkdf2-sha256:10000:cmZiY2FzdC10ZXN0LXNhbHQ=:"
    "BKRVmyCxpdE3mjmIJROEyhQ4R6x8KK2SE8SR5thqcoo=";
//   hashlib.pbkdf2_hmac('sha256', 'pässwörd'.encode(), bytes(range(16)), 12345)
const std::string kBob =
    "bob:pbkdf2-sha256:12345:AAECAwQFBgcICQoLDA0ODw==:"
    "0Aer6mqtSncDqW5k/zEHTbVvnZ/L6cIgkBnQwbzEt2Y=:view";
//   hashlib.pbkdf2_hmac('sha256', b'', bytes([0xde,0xad,0xbe,0xef,1,2,3,4]), 10000, 64)
const std::string kCarol =
    "carol:pbkdf2-sha256:10000:3q2+7wECAwQ=:"
    "QdPecbsrwSYLVTw/s51uQlvMIaJfHlRhTMbrg4sUoGWOTlWpxy2cXnJbwM/TmgUrj0fKY9SN0CEIT/9OD2Uuhw==:"
    "control";

UserTable load(const std::string& text) {
    UserTable t;
    std::vector<std::string> errors;
    EXPECT_TRUE(parse_user_lines(text, "users", t, errors));
    for (const auto& e : errors)
        ADD_FAILURE() << e;
    return t;
}

std::vector<std::string> errors_of(const std::string& text) {
    UserTable t;
    std::vector<std::string> errors;
    EXPECT_FALSE(parse_user_lines(text, "users", t, errors)) << text;
    EXPECT_EQ(t.size(), 0u);
    return errors;
}

// One error naming the line, and quoting none of its salt, hash or password-like fields.
void expect_line_error(const std::string& line, const std::string& fragment) {
    SCOPED_TRACE(line);
    const auto errors = errors_of("# header\n" + line + "\n");
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_EQ(errors[0].rfind("users:2: ", 0), 0u) << errors[0];
    EXPECT_NE(errors[0].find(fragment), std::string::npos) << errors[0];
    size_t from = line.find(':');
    while (from != std::string::npos) {
        const size_t to = line.find(':', from + 1);
        const std::string field =
            line.substr(from + 1, to == std::string::npos ? to : to - from - 1);
        const bool digits = std::all_of(field.begin(), field.end(), ::isdigit);
        if (field.size() >= 6 && field != "pbkdf2-sha256" && !digits) {
            EXPECT_EQ(errors[0].find(field), std::string::npos) << errors[0];
        }
        from = to;
    }
}

TEST(UserFile, ChecksIndependentlyComputedHashes) {
    const UserTable t =
        load("# rfbcast users\n\n" + kAlice + "\n" + kBob + "\r\n  " + kCarol + "  \n# end\n");
    EXPECT_EQ(t.size(), 3u);
    UserAccess access = UserAccess::kView;
    EXPECT_TRUE(t.check("alice", "correct horse", &access));
    EXPECT_EQ(access, UserAccess::kControl);
    EXPECT_TRUE(t.check("bob", "pässwörd", &access));
    EXPECT_EQ(access, UserAccess::kView);
    EXPECT_TRUE(t.check("carol", "", &access));
    EXPECT_EQ(access, UserAccess::kControl);

    access = UserAccess::kView;
    EXPECT_FALSE(t.check("alice", "correct horse ", &access));
    EXPECT_FALSE(t.check("alice", "Correct horse"));
    EXPECT_FALSE(t.check("alice", ""));
    EXPECT_FALSE(t.check("Alice", "correct horse"));
    EXPECT_FALSE(t.check("bob", "passwort"));
    EXPECT_FALSE(t.check("carol", "x"));
    EXPECT_FALSE(t.check("mallory", "correct horse"));
    EXPECT_FALSE(t.check("", ""));
    EXPECT_EQ(access, UserAccess::kView);  // untouched on failure
    // A NUL inside the password is a byte like any other, not the end.
    EXPECT_FALSE(t.check("alice", std::string("correct\0horse", 13)));
    EXPECT_FALSE(t.check("alice", std::string("correct\0horse", 7)));
    // Trailing NULs are the one exception, and a property of HMAC, not of this code: a key
    // shorter than the hash block is zero-padded, so PBKDF2 (Python's too) cannot tell
    // "correct horse" from "correct horse\0".
    EXPECT_TRUE(t.check("alice", std::string("correct horse\0", 14)));
}

TEST(UserFile, MakeUserLineMatchesPython) {
    const std::vector<uint8_t> salt = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
    // hashlib.pbkdf2_hmac('sha256', b'hunter2', bytes(range(16)), 10001)
    EXPECT_EQ(make_user_line("dave", "hunter2", 10001, salt),
              "dave:pbkdf2-sha256:10001:AAECAwQFBgcICQoLDA0ODw==:"
              "070lzUafa3nw9R8T5Nt9u7leVV651cB0bjpCIj1nOm8=");
    EXPECT_EQ(make_user_line("bob", "pässwörd", 12345, salt, UserAccess::kView), kBob);
    const std::string line = make_user_line("eve", "s3cret", 10000, salt, UserAccess::kControl);
    const UserTable t = load(line);
    EXPECT_TRUE(t.check("eve", "s3cret"));

    // Rule breakers give an empty line rather than one the loader would refuse.
    EXPECT_EQ(make_user_line("a:b", "x", 10000, salt), "");
    EXPECT_EQ(make_user_line("", "x", 10000, salt), "");
    EXPECT_EQ(make_user_line("a b", "x", 10000, salt), "");
    EXPECT_EQ(make_user_line(std::string(256, 'n'), "x", 10000, salt), "");
    EXPECT_EQ(make_user_line("a", "x", 9999, salt), "");
    EXPECT_EQ(make_user_line("a", "x", kUserMaxIterations + 1, salt), "");
    EXPECT_EQ(make_user_line("a", "x", 10000, std::span(salt).first(7)), "");
    EXPECT_NE(make_user_line(std::string(255, 'n'), "x", 10000, std::span(salt).first(8)), "");
}

TEST(UserFile, RandomSalt) {
    std::vector<uint8_t> a(kUserSaltLength), b(kUserSaltLength);
    ASSERT_TRUE(fill_random(a));
    ASSERT_TRUE(fill_random(b));
    EXPECT_NE(a, b);
    const std::string one = make_user_line("u", "pw", 10000, a);
    const std::string two = make_user_line("u", "pw", 10000, b);
    EXPECT_NE(one, two);
    const UserTable t = load(one);
    EXPECT_TRUE(t.check("u", "pw"));
}

TEST(UserFile, BadLines) {
    const std::string salt = "AAECAwQFBgcICQoLDA0ODw==";
    const std::string hash = "0Aer6mqtSncDqW5k/zEHTbVvnZ/L6cIgkBnQwbzEt2Y=";
    const auto line = [&](const std::string& name, const std::string& scheme,
                          const std::string& iter, const std::string& s, const std::string& h) {
        return name + ":" + scheme + ":" + iter + ":" + s + ":" + h;
    };
    expect_line_error("alice", "fields");
    expect_line_error("alice:secretpassword", "fields");
    expect_line_error(line("a", "pbkdf2-sha256", "12345", salt, hash) + ":view:extra", "fields");
    expect_line_error(line("", "pbkdf2-sha256", "12345", salt, hash), "user name");
    expect_line_error(line("a b", "pbkdf2-sha256", "12345", salt, hash), "user name");
    expect_line_error(line("a\x01", "pbkdf2-sha256", "12345", salt, hash), "user name");
    expect_line_error(line("a", "pbkdf2-sha1", "12345", salt, hash), "scheme");
    expect_line_error(line("a", "PBKDF2-SHA256", "12345", salt, hash), "scheme");
    expect_line_error(line("a", "plain", "hunter2hunter2", salt, hash), "scheme");
    for (const char* iter :
         {"", "9999", "0", "012345", "10000000000", "1e5", "-10000", "10001x", "4294977296"})
        expect_line_error(line("a", "pbkdf2-sha256", iter, salt, hash), "iterations");
    for (const std::string& s : std::vector<std::string>{
             "", "AAECAwQFBgcICQoLDA0ODw", "AAECAwQFBgcICQoLDA0ODw=", "AAECAwQF BgcICQoLDA0ODw==",
             "AAECAwQFBgcICQoLDA0ODx==", "AAECAwQFBgcICQoLDA0OD*==", "AAECAw==",
             "====AwQFBgcICQoLDA0ODw==", std::string(100, 'A')})
        expect_line_error(line("a", "pbkdf2-sha256", "12345", s, hash), "salt");
    for (const std::string& h :
         std::vector<std::string>{"", "AAAAAAAAAAAAAAAAAAAA", std::string(88, 'A'), salt + "=",
                                  "0Aer6mqtSncDqW5k_zEHTbVvnZ_L6cIgkBnQwbzEt2Y="})
        expect_line_error(line("a", "pbkdf2-sha256", "12345", salt, h), "hash");
    expect_line_error(line("a", "pbkdf2-sha256", "12345", salt, hash) + ":admin", "access");
    expect_line_error(line("a", "pbkdf2-sha256", "12345", salt, hash) + ":", "access");
    expect_line_error(line("a", "pbkdf2-sha256", "12345", salt, hash) + ":View", "access");
}

TEST(UserFile, EveryErrorIsReportedAndNothingIsLoaded) {
    std::vector<std::string> errors;
    UserTable t = load(kAlice);
    ASSERT_TRUE(t.check("alice", "correct horse"));
    const std::string text = kBob + "\nbroken\n" + kCarol + "\n" + kBob + "\nalso:broken\n";
    EXPECT_FALSE(parse_user_lines(text, "/etc/rfbcast/users", t, errors));
    ASSERT_EQ(errors.size(), 3u);
    EXPECT_EQ(errors[0].rfind("/etc/rfbcast/users:2: ", 0), 0u) << errors[0];
    EXPECT_EQ(errors[1], "/etc/rfbcast/users:4: duplicate user 'bob'");
    EXPECT_EQ(errors[2].rfind("/etc/rfbcast/users:5: ", 0), 0u) << errors[2];
    // The previous users stay.
    EXPECT_EQ(t.size(), 1u);
    EXPECT_TRUE(t.check("alice", "correct horse"));
    EXPECT_FALSE(t.check("bob", "pässwörd"));
}

TEST(UserFile, NoUsersIsAnError) {
    for (const std::string& text :
         std::vector<std::string>{"", "\n\n", "# only comments\n  # indented\n"}) {
        const auto errors = errors_of(text);
        ASSERT_EQ(errors.size(), 1u);
        EXPECT_EQ(errors[0], "users: no users");
    }
}

TEST(UserFile, ReloadReplacesUsers) {
    UserTable t = load(kAlice + "\n" + kBob);
    std::vector<std::string> errors;
    ASSERT_TRUE(parse_user_lines(kCarol, "users", t, errors));
    EXPECT_EQ(t.size(), 1u);
    EXPECT_FALSE(t.contains("alice"));
    EXPECT_TRUE(t.contains("carol"));
    EXPECT_FALSE(t.check("alice", "correct horse"));
    EXPECT_TRUE(t.check("carol", ""));
}

TEST(UserFile, UnknownUserTakesAsLongAsAKnownOne) {
    // One user at 20000 iterations: the dummy for unknown users uses the same count. A check
    // that skipped the PBKDF2 for unknown users would be thousands of times faster.
    const std::vector<uint8_t> salt(16, 7);
    const UserTable t = load(make_user_line("known", "right", 20000, salt));
    const auto time_of = [&](const char* user) {
        auto best = std::chrono::steady_clock::duration::max();
        for (int i = 0; i < 3; ++i) {
            const auto start = std::chrono::steady_clock::now();
            EXPECT_FALSE(t.check(user, "wrong"));
            best = std::min(best, std::chrono::steady_clock::now() - start);
        }
        return best;
    };
    const auto known = time_of("known");
    const auto unknown = time_of("nobody");
    // Not a speed target: the margin is 10x both ways because the failure guarded against is
    // ~1000x, while a sanitizer build on a loaded machine varies by 2x (CI saw it).
    EXPECT_GT(unknown * 10, known);
    EXPECT_GT(known * 10, unknown);
}

TEST(UserFile, EmptyTableRejectsEverything) {
    UserTable t;
    EXPECT_EQ(t.size(), 0u);
    EXPECT_FALSE(t.check("", ""));
    EXPECT_FALSE(t.check("root", "root"));
}

class UserFileOnDisk : public ::testing::Test {
  protected:
    void SetUp() override {
        char tmpl[] = "/tmp/rfbcast-users-XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
    }
    void TearDown() override {
        for (const auto& p : files_)
            ::unlink(p.c_str());
        ::rmdir(dir_.c_str());
    }
    std::string write(const std::string& name, const std::string& content, mode_t mode) {
        const std::string path = dir_ + "/" + name;
        std::ofstream(path) << content;
        ::chmod(path.c_str(), mode);
        files_.push_back(path);
        return path;
    }
    std::string dir_;
    std::vector<std::string> files_;
};

TEST_F(UserFileOnDisk, LoadsAndWarnsAboutPermissions) {
    UserTable t;
    std::vector<std::string> errors, warnings;
    const std::string priv = write("private", kAlice + "\n", 0600);
    ASSERT_TRUE(load_user_file(priv, t, errors, &warnings));
    EXPECT_TRUE(errors.empty());
    EXPECT_TRUE(warnings.empty());
    EXPECT_TRUE(t.check("alice", "correct horse"));

    const std::string open = write("open", kBob + "\n", 0644);
    ASSERT_TRUE(load_user_file(open, t, errors, &warnings));
    ASSERT_EQ(warnings.size(), 1u);
    EXPECT_EQ(warnings[0],
              open + ": accessible by others (mode 0644); remove those bits: chmod o-r");
    EXPECT_TRUE(t.check("bob", "pässwörd"));
    // Without a warnings vector it still loads.
    ASSERT_TRUE(load_user_file(open, t, errors));
}

TEST_F(UserFileOnDisk, Errors) {
    UserTable t;
    std::vector<std::string> errors;
    EXPECT_FALSE(load_user_file(dir_ + "/missing", t, errors));
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_NE(errors[0].find("cannot open"), std::string::npos);

    errors.clear();
    EXPECT_FALSE(load_user_file(dir_, t, errors));
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_NE(errors[0].find("not a regular file"), std::string::npos);

    errors.clear();
    const std::string big = write("big", std::string(kUserFileMaxBytes + 1, '#'), 0600);
    EXPECT_FALSE(load_user_file(big, t, errors));
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_NE(errors[0].find("larger than"), std::string::npos);

    errors.clear();
    const std::string bad = write("bad", kAlice + "\nalice:oops\n", 0600);
    EXPECT_FALSE(load_user_file(bad, t, errors));
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_EQ(errors[0].rfind(bad + ":2: ", 0), 0u) << errors[0];
    EXPECT_EQ(t.size(), 0u);
}

}  // namespace
}  // namespace rfbcast
