#include "reflector/secret_file_mode.h"

#include "reflector/log.h"
#include "reflector/options.h"
#include "reflector/user_file.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

namespace rfbcast {
namespace {

struct ModeCase {
    mode_t mode;
    gid_t file_gid;
    std::vector<gid_t> process_gids;
    std::optional<std::string> warning;
};

TEST(SecretFileMode, Table) {
    const std::vector<gid_t> me = {1000, 2000};  // effective gid 1000, fsGroup 2000
    const ModeCase cases[] = {
        // Owner only: quiet, whatever the group.
        {0600, 1000, me, std::nullopt},
        {0400, 3000, me, std::nullopt},
        {0700, 3000, me, std::nullopt},
        // Kubernetes Secrets with the pod's fsGroup (a supplementary group): quiet.
        {0440, 2000, me, std::nullopt},
        {0640, 2000, me, std::nullopt},
        // The process's own effective group, even with write or execute access: quiet.
        {0660, 1000, me, std::nullopt},
        {0670, 1000, me, std::nullopt},
        // A group this process is not in.
        {0640, 3000, me,
         "accessible by group 3000, which this process is not in (mode 0640); remove those bits: "
         "chmod g-r"},
        {0670, 3000, me,
         "accessible by group 3000, which this process is not in (mode 0670); remove those bits: "
         "chmod g-rwx"},
        {0620, 3000, me,
         "accessible by group 3000, which this process is not in (mode 0620); remove those bits: "
         "chmod g-w"},
        {0640,
         0,
         {},
         "accessible by group 0, which this process is not in (mode 0640); remove those "
         "bits: chmod g-r"},
        // Any access for others warns, and only the o bits are named when the group is ours.
        {0644, 1000, me, "accessible by others (mode 0644); remove those bits: chmod o-r"},
        {0604, 3000, me, "accessible by others (mode 0604); remove those bits: chmod o-r"},
        {0664, 2000, me, "accessible by others (mode 0664); remove those bits: chmod o-r"},
        {0602, 1000, me, "accessible by others (mode 0602); remove those bits: chmod o-w"},
        {0001, 1000, me, "accessible by others (mode 0001); remove those bits: chmod o-x"},
        {0607, 1000, me, "accessible by others (mode 0607); remove those bits: chmod o-rwx"},
        // Both.
        {0666, 3000, me,
         "accessible by group 3000, which this process is not in, and by others (mode 0666); "
         "remove those bits: chmod g-rw,o-rw"},
        {0754, 3000, me,
         "accessible by group 3000, which this process is not in, and by others (mode 0754); "
         "remove those bits: chmod g-rx,o-r"},
        // File-type and special bits do not change the decision; the mode shown keeps 07777.
        {S_IFREG | 0640, 2000, me, std::nullopt},
        {S_IFREG | 0644, 1000, me,
         "accessible by others (mode 0644); remove those bits: chmod o-r"},
        {S_ISGID | 0640, 3000, me,
         "accessible by group 3000, which this process is not in (mode 2640); remove those bits: "
         "chmod g-r"},
    };
    for (const ModeCase& c : cases) {
        const std::optional<std::string> got =
            secret_file_mode_warning(c.mode, c.file_gid, c.process_gids);
        EXPECT_EQ(got, c.warning) << std::oct << "mode 0" << c.mode << std::dec << " gid "
                                  << c.file_gid;
        if (got) {
            EXPECT_EQ(got->find('"'), std::string::npos) << "log call sites quote the text";
        }
    }
}

TEST(SecretFileMode, ProcessGroupsIncludeTheEffectiveGroup) {
    const std::vector<gid_t> gids = process_group_ids();
    ASSERT_FALSE(gids.empty());
    EXPECT_EQ(gids[0], ::getegid());
    const int n = ::getgroups(0, nullptr);
    ASSERT_GE(n, 0);
    EXPECT_EQ(gids.size(), 1u + static_cast<size_t>(n));
}

gid_t a_foreign_gid() {
    const std::vector<gid_t> mine = process_group_ids();
    gid_t g = 54321;
    while (std::find(mine.begin(), mine.end(), g) != mine.end())
        ++g;
    return g;
}

std::vector<std::string>& captured() {
    static std::vector<std::string> lines;
    return lines;
}

void capture(std::string_view line) {
    captured().emplace_back(line);
}

class SecretFileOnDisk : public ::testing::Test {
  protected:
    void SetUp() override {
        char tmpl[] = "/tmp/rfbcast-secret-mode-XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
        captured().clear();
        log_set_sink(&capture);
        log_configure(LogLevel::kInfo, LogFormat::kText);
    }
    void TearDown() override {
        log_set_sink(nullptr);
        for (const auto& p : files_)
            ::unlink(p.c_str());
        ::rmdir(dir_.c_str());
    }
    std::string write(const std::string& name, const std::string& content, mode_t mode) {
        const std::string path = dir_ + "/" + name;
        std::ofstream(path) << content;
        EXPECT_EQ(::chmod(path.c_str(), mode), 0);
        files_.push_back(path);
        return path;
    }
    // A file whose group this process is not in; needs root (or CAP_CHOWN).
    bool give_to_foreign_group(const std::string& path, gid_t gid) {
        return ::chown(path.c_str(), static_cast<uid_t>(-1), gid) == 0;
    }
    std::string user_line() {
        const std::vector<uint8_t> salt(kUserSaltLength, 7);
        return make_user_line("alice", "pw", kUserMinIterations, salt) + "\n";
    }
    std::string dir_;
    std::vector<std::string> files_;
};

TEST_F(SecretFileOnDisk, UserFileWarnings) {
    UserTable t;
    std::vector<std::string> errors, warnings;
    // The file's group is this process's effective group: group read is quiet.
    const std::string fs_group = write("fsgroup", user_line(), 0640);
    ASSERT_TRUE(load_user_file(fs_group, t, errors, &warnings));
    EXPECT_TRUE(warnings.empty()) << warnings[0];

    const std::string world = write("world", user_line(), 0604);
    ASSERT_TRUE(load_user_file(world, t, errors, &warnings));
    ASSERT_EQ(warnings.size(), 1u);
    EXPECT_EQ(warnings[0],
              world + ": accessible by others (mode 0604); remove those bits: chmod o-r");
    EXPECT_TRUE(errors.empty());

    const gid_t foreign = a_foreign_gid();
    if (!give_to_foreign_group(fs_group, foreign)) GTEST_SKIP() << "chown needs root";
    warnings.clear();
    ASSERT_TRUE(load_user_file(fs_group, t, errors, &warnings));
    ASSERT_EQ(warnings.size(), 1u);
    EXPECT_EQ(warnings[0], fs_group + ": accessible by group " + std::to_string(foreign) +
                               ", which this process is not in (mode 0640); remove those bits: "
                               "chmod g-r");
}

TEST_F(SecretFileOnDisk, PasswordFileWarnings) {
    std::string out, error;
    const std::string fs_group = write("pw-fsgroup", "s3cr3tpw\n", 0440);
    ASSERT_TRUE(read_secret_file(fs_group, out, error, SecretKind::kPassword)) << error;
    EXPECT_EQ(out, "s3cr3tpw");
    EXPECT_TRUE(captured().empty()) << captured()[0];

    const std::string world = write("pw-world", "s3cr3tpw\n", 0644);
    ASSERT_TRUE(read_secret_file(world, out, error, SecretKind::kPassword)) << error;
    ASSERT_EQ(captured().size(), 1u);
    const std::string expected = " warn password-file-permissions file=" + world +
                                 " problem=\"accessible by others (mode 0644); remove those bits: "
                                 "chmod o-r\"\n";
    ASSERT_GT(captured()[0].size(), expected.size());
    EXPECT_EQ(captured()[0].substr(captured()[0].size() - expected.size()), expected);
    EXPECT_EQ(captured()[0].find("s3cr3tpw"), std::string::npos);

    // Usernames are no secret: no warning whatever the mode.
    captured().clear();
    const std::string user = write("user", "bob\n", 0644);
    ASSERT_TRUE(read_secret_file(user, out, error, SecretKind::kUsername)) << error;
    EXPECT_TRUE(captured().empty());

    const gid_t foreign = a_foreign_gid();
    if (!give_to_foreign_group(fs_group, foreign)) GTEST_SKIP() << "chown needs root";
    ASSERT_TRUE(read_secret_file(fs_group, out, error, SecretKind::kPassword)) << error;
    ASSERT_EQ(captured().size(), 1u);
    EXPECT_NE(captured()[0].find("problem=\"accessible by group " + std::to_string(foreign) +
                                 ", which this process is not in (mode 0440); remove those "
                                 "bits: chmod g-r\""),
              std::string::npos)
        << captured()[0];
}

}  // namespace
}  // namespace rfbcast
