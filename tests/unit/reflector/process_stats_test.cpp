#include "metrics/process_stats.h"

#include <gtest/gtest.h>
#include <sys/resource.h>

#include <chrono>
#include <string>

namespace rfbcast::metrics {
namespace {

// A comm with spaces and parentheses: the fields must be counted from the last ')'. Field 14
// utime 150, 15 stime 50, 22 starttime 98765, 23 vsize 123456789, 24 rss 2048 (pages); field 8
// (tpgid) is -1, which the parser must not need to read as unsigned.
const std::string kSelfStat =
    "1234 (rfb (cast) x) S 1 1234 1234 0 -1 4194560 1000 0 0 0 150 50 0 0 20 0 3 0 98765 "
    "123456789 2048 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 3 0 0 0 0 0\n";

const std::string kProcStat =
    "cpu  2255 34 2290 22625563 6290 127 456 0 0 0\n"
    "cpu0 1132 34 1441 11311718 3675 127 438 0 0 0\n"
    "intr 114930548 113199788 3 0 5 263 0 4 [... more]\n"
    "ctxt 1990473\n"
    "btime 1700000000\n"
    "processes 2915\n";

const std::string kLimits =
    "Limit                     Soft Limit           Hard Limit           Units     \n"
    "Max cpu time              unlimited            unlimited            seconds   \n"
    "Max file size             unlimited            unlimited            bytes     \n"
    "Max open files            1024                 1048576              files     \n"
    "Max locked memory         8388608              8388608              bytes     \n";

TEST(ProcessStats, ParsesSelfStatPastAParenthesisedComm) {
    const auto st = parse_proc_self_stat(kSelfStat);
    ASSERT_TRUE(st);
    EXPECT_EQ(st->utime_ticks, 150u);
    EXPECT_EQ(st->stime_ticks, 50u);
    EXPECT_EQ(st->start_ticks, 98765u);
    EXPECT_EQ(st->vsize_bytes, 123456789u);
    EXPECT_EQ(st->rss_pages, 2048u);
}

TEST(ProcessStats, TruncatedSelfStatIsRejected) {
    // Every cut before rss (field 24) has begun.
    const size_t rss_at = kSelfStat.find(" 2048 ") + 1;
    for (size_t n = 0; n < rss_at; ++n) {
        EXPECT_FALSE(parse_proc_self_stat(kSelfStat.substr(0, n))) << n;
    }
}

TEST(ProcessStats, MalformedSelfStatIsRejected) {
    EXPECT_FALSE(parse_proc_self_stat("1234 rfbcast S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16"));
    std::string bad = kSelfStat;
    bad.replace(bad.find(" 150 "), 5, " x50 ");
    EXPECT_FALSE(parse_proc_self_stat(bad));
    bad = kSelfStat;
    bad.replace(bad.find(" 2048 "), 6, " -2048 ");
    EXPECT_FALSE(parse_proc_self_stat(bad));
    EXPECT_FALSE(parse_proc_self_stat(""));
}

TEST(ProcessStats, ParsesBootTime) {
    EXPECT_EQ(parse_boot_time(kProcStat), 1700000000u);
    EXPECT_EQ(parse_boot_time("btime 42"), 42u);  // no trailing newline
    EXPECT_FALSE(parse_boot_time("cpu 1 2 3\nprocesses 5\n"));
    EXPECT_FALSE(parse_boot_time("btime abc\n"));
    EXPECT_FALSE(parse_boot_time("btime 12 13\n"));
    EXPECT_FALSE(parse_boot_time("xbtime 12\n"));
    EXPECT_FALSE(parse_boot_time("btime \n"));
    EXPECT_FALSE(parse_boot_time(""));
}

TEST(ProcessStats, ParsesTheSoftOpenFilesLimit) {
    EXPECT_EQ(parse_max_open_files(kLimits), 1024u);
    EXPECT_FALSE(parse_max_open_files(
        "Max open files            unlimited            unlimited            files\n"));
    EXPECT_FALSE(parse_max_open_files("Max cpu time              unlimited\n"));
    EXPECT_FALSE(parse_max_open_files("Max open filesystems      12\n"));
    EXPECT_FALSE(parse_max_open_files(""));
}

TEST(ProcessStats, CombinesTheTextsInBaseUnits) {
    const auto s = process_stats_from_text(kSelfStat, kProcStat, kLimits, 100, 4096);
    ASSERT_TRUE(s.cpu_seconds);
    EXPECT_DOUBLE_EQ(*s.cpu_seconds, 2.0);
    ASSERT_TRUE(s.start_time_seconds);
    EXPECT_DOUBLE_EQ(*s.start_time_seconds, 1700000987.65);
    EXPECT_EQ(s.virtual_bytes, 123456789u);
    EXPECT_EQ(s.resident_bytes, 2048u * 4096u);
    EXPECT_EQ(s.max_fds, 1024u);
    EXPECT_FALSE(s.open_fds);  // not from text: the live reader lists /proc/self/fd
}

TEST(ProcessStats, MissingTextsLeaveTheirFieldsEmpty) {
    auto s = process_stats_from_text(kSelfStat, "", "", 100, 4096);
    EXPECT_TRUE(s.cpu_seconds);
    EXPECT_FALSE(s.start_time_seconds);
    EXPECT_FALSE(s.max_fds);
    s = process_stats_from_text("", kProcStat, kLimits, 100, 4096);
    EXPECT_FALSE(s.cpu_seconds);
    EXPECT_FALSE(s.start_time_seconds);
    EXPECT_FALSE(s.resident_bytes);
    EXPECT_EQ(s.max_fds, 1024u);
    s = process_stats_from_text(kSelfStat, kProcStat, kLimits, 0, 0);  // sysconf failed
    EXPECT_FALSE(s.cpu_seconds);
    EXPECT_FALSE(s.resident_bytes);
    EXPECT_EQ(s.virtual_bytes, 123456789u);
}

TEST(ProcessStats, LiveReadOfThisProcessIsSane) {
    const auto s = read_process_stats();
    ASSERT_TRUE(s.resident_bytes);
    EXPECT_GT(*s.resident_bytes, 0u);
    ASSERT_TRUE(s.virtual_bytes);
    EXPECT_GE(*s.virtual_bytes, *s.resident_bytes);
    ASSERT_TRUE(s.open_fds);
    EXPECT_GT(*s.open_fds, 2u);  // stdin, stdout, stderr at least
    rlimit lim{};
    ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &lim), 0);
    if (lim.rlim_cur != RLIM_INFINITY) {
        ASSERT_TRUE(s.max_fds);
        EXPECT_EQ(*s.max_fds, lim.rlim_cur);
    }
    ASSERT_TRUE(s.cpu_seconds);
    EXPECT_GE(*s.cpu_seconds, 0.0);
    ASSERT_TRUE(s.start_time_seconds);
    const double now =
        std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    // Boot time is whole seconds and start ticks are 1/100 s: allow a little either way.
    EXPECT_LE(*s.start_time_seconds, now + 2);
    EXPECT_GT(*s.start_time_seconds, now - 7 * 24 * 3600);
}

}  // namespace
}  // namespace rfbcast::metrics
