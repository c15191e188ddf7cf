#include "metrics/metrics.h"

#include <gtest/gtest.h>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "metrics/cells.h"
#include "metrics/histogram_family.h"
#include "metrics/text_format.h"

namespace rfbcast::metrics {
namespace {

// The lines of `text` for one family: its HELP and TYPE lines and its samples.
std::string family_block(const std::string& text, const std::string& name) {
    std::istringstream in(text);
    std::string line, out;
    bool inside = false;
    for (; std::getline(in, line);) {
        if (line.starts_with("# HELP ")) inside = line.starts_with("# HELP " + name + " ");
        if (inside) out += line + "\n";
    }
    return out;
}

bool has_line(const std::string& text, const std::string& line) {
    return ("\n" + text).find("\n" + line + "\n") != std::string::npos;
}

// A Metrics whose scrape-time sources are fixed, so its output is exact.
std::unique_ptr<Metrics> fixed_metrics() {
    auto m = std::make_unique<Metrics>("1.2.3");
    m->set_process_stats_source([] {
        ProcessStats s;
        s.cpu_seconds = 1.5;
        s.start_time_seconds = 1700000000.25;
        s.resident_bytes = 4096;
        s.virtual_bytes = 8192;
        s.open_fds = 7;
        s.max_fds = 1024;
        return s;
    });
    m->set_cache_stats_source([] { return CacheSnapshot{10, 3, 1, 65536, 4}; });
    return m;
}

TEST(HistogramCell, BucketsAreCumulativeAndInclusiveOfTheBound) {
    Histogram h({1, 2, 5});
    for (double v : {0.5, 1.0, 1.5, 2.0, 3.0, 7.0})
        h.observe(v);
    const auto s = h.snapshot();
    EXPECT_EQ(s.cumulative, (std::vector<uint64_t>{2, 4, 5, 6}));
    EXPECT_EQ(s.count, 6u);
    EXPECT_DOUBLE_EQ(s.sum, 15.0);
}

TEST(HistogramCell, NanIsDroppedAndInfinityCountsInTheLastBucket) {
    Histogram h({1});
    h.observe(std::numeric_limits<double>::quiet_NaN());
    EXPECT_EQ(h.snapshot().count, 0u);
    EXPECT_EQ(h.snapshot().sum, 0.0);
    h.observe(std::numeric_limits<double>::infinity());
    h.observe(-std::numeric_limits<double>::infinity());
    EXPECT_EQ(h.snapshot().cumulative, (std::vector<uint64_t>{1, 2}));
}

TEST(HistogramCell, BoundsAreSortedDeduplicatedAndFinite) {
    Histogram h({5, 1, std::nan(""), 2, 2, std::numeric_limits<double>::infinity()});
    EXPECT_EQ(h.bounds(), (std::vector<double>{1, 2, 5}));
    Histogram none({});
    none.observe(3);
    EXPECT_EQ(none.snapshot().cumulative, (std::vector<uint64_t>{1}));
}

TEST(HistogramFamily, RendersExactText) {
    HistogramFamily f("t_seconds", "Test", {0.5, 1});
    auto& a = f.add({{"k", "a"}});
    f.add({{"k", "b"}});
    EXPECT_EQ(&f.add({{"k", "a"}}), &a);
    for (double v : {0.25, 0.75, 3.0})
        a.observe(v);
    EXPECT_EQ(render_text(f.Collect()),
              "# HELP t_seconds Test\n"
              "# TYPE t_seconds histogram\n"
              "t_seconds_count{k=\"a\"} 3\n"
              "t_seconds_sum{k=\"a\"} 4\n"
              "t_seconds_bucket{k=\"a\",le=\"0.5\"} 1\n"
              "t_seconds_bucket{k=\"a\",le=\"1\"} 2\n"
              "t_seconds_bucket{k=\"a\",le=\"+Inf\"} 3\n"
              "t_seconds_count{k=\"b\"} 0\n"
              "t_seconds_sum{k=\"b\"} 0\n"
              "t_seconds_bucket{k=\"b\",le=\"0.5\"} 0\n"
              "t_seconds_bucket{k=\"b\",le=\"1\"} 0\n"
              "t_seconds_bucket{k=\"b\",le=\"+Inf\"} 0\n");
    f.remove(&a);
    EXPECT_EQ(f.size(), 1u);
    f.remove(&a);  // already gone: no-op
    EXPECT_EQ(f.size(), 1u);
}

TEST(TextFormat, SortsFamiliesAndSeriesEscapesLabelsAndDropsEmptyFamilies) {
    prometheus::Registry r;
    auto& b = prometheus::BuildCounter().Name("b_total").Help("B").Register(r);
    b.Add({{"v", "z"}}).Increment(2);
    b.Add({{"v", "q\"u\\o\nte"}}).Increment(12345);
    prometheus::BuildGauge().Name("a").Help("A").Register(r).Add({}).Set(0.5);
    prometheus::BuildGauge().Name("empty").Help("E").Register(r);
    EXPECT_EQ(render_text(r.Collect()),
              "# HELP a A\n"
              "# TYPE a gauge\n"
              "a 0.5\n"
              "# HELP b_total B\n"
              "# TYPE b_total counter\n"
              "b_total{v=\"q\\\"u\\\\o\\nte\"} 12345\n"
              "b_total{v=\"z\"} 2\n");
}

TEST(Metrics, GlobalFamiliesHaveEveryLabelValuePreCreated) {
    auto m = fixed_metrics();
    m->accepted(Listener::kViewer);
    const std::string text = m->render();
    EXPECT_EQ(family_block(text, "rfbcast_connections_accepted_total"),
              "# HELP rfbcast_connections_accepted_total Connections accepted, by listener\n"
              "# TYPE rfbcast_connections_accepted_total counter\n"
              "rfbcast_connections_accepted_total{listener=\"http\"} 0\n"
              "rfbcast_connections_accepted_total{listener=\"metrics\"} 0\n"
              "rfbcast_connections_accepted_total{listener=\"repeater\"} 0\n"
              "rfbcast_connections_accepted_total{listener=\"reverse\"} 0\n"
              "rfbcast_connections_accepted_total{listener=\"viewer\"} 1\n");
    const auto count = [&](const std::string& prefix) {
        size_t n = 0;
        for (size_t at = text.find("\n" + prefix); at != std::string::npos;
             at = text.find("\n" + prefix, at + 1)) {
            ++n;
        }
        return n;
    };
    EXPECT_EQ(count("rfbcast_connections_refused_total{"), 13u);
    EXPECT_EQ(count("rfbcast_protocol_errors_total{"), 16u);
    EXPECT_EQ(count("rfbcast_encodes_total{"), 11u);
    EXPECT_EQ(count("rfbcast_encode_duration_seconds_count{"), 11u);
    EXPECT_EQ(count("rfbcast_limit_triggered_total{"), 13u);
    EXPECT_TRUE(has_line(text, "rfbcast_build_info{version=\"1.2.3\"} 1"));
    EXPECT_TRUE(has_line(text, "rfbcast_sessions 0"));
    // No session yet: the per-session families have no series and are left out.
    EXPECT_EQ(text.find("rfbcast_viewers"), std::string::npos);
    EXPECT_EQ(text.find("rfbcast_viewer_send_queue_bytes"), std::string::npos);
}

TEST(Metrics, HotPathUpdatesShowInTheirSeries) {
    auto m = fixed_metrics();
    m->refused(RefuseReason::kLockout);
    m->refused(RefuseReason::kLockout);
    m->refused(RefuseReason::kPreauthPerAddress);
    m->refused(static_cast<RefuseReason>(200));  // out of range: counted as other
    m->auth_failure();
    m->lockout();
    m->protocol_error(Side::kViewer, ErrorKind::kTls);
    m->protocol_error(Side::kUpstream, ErrorKind::kDecoder);
    m->encoded(Encoding::kZrle, 0.003);
    m->limit(Limit::kCutText);
    const std::string text = m->render();
    for (const char* line : {
             "rfbcast_connections_refused_total{reason=\"lockout\"} 2",
             "rfbcast_connections_refused_total{reason=\"preauth_per_address\"} 1",
             "rfbcast_connections_refused_total{reason=\"other\"} 1",
             "rfbcast_connections_refused_total{reason=\"allow_list\"} 0",
             "rfbcast_auth_failures_total 1",
             "rfbcast_lockouts_total 1",
             "rfbcast_protocol_errors_total{kind=\"tls\",side=\"viewer\"} 1",
             "rfbcast_protocol_errors_total{kind=\"tls\",side=\"upstream\"} 0",
             "rfbcast_protocol_errors_total{kind=\"decoder\",side=\"upstream\"} 1",
             "rfbcast_encodes_total{encoding=\"zrle\"} 1",
             "rfbcast_encodes_total{encoding=\"tight_jpeg\"} 0",
             "rfbcast_encode_duration_seconds_count{encoding=\"zrle\"} 1",
             "rfbcast_encode_duration_seconds_sum{encoding=\"zrle\"} 0.003",
             "rfbcast_encode_duration_seconds_bucket{encoding=\"zrle\",le=\"0.0025\"} 0",
             "rfbcast_encode_duration_seconds_bucket{encoding=\"zrle\",le=\"0.005\"} 1",
             "rfbcast_encode_duration_seconds_bucket{encoding=\"zrle\",le=\"+Inf\"} 1",
             "rfbcast_limit_triggered_total{limit=\"cut_text\"} 1",
             "rfbcast_limit_triggered_total{limit=\"preauth_deadline\"} 0",
         }) {
        EXPECT_TRUE(has_line(text, line)) << line;
    }
}

TEST(Metrics, ScrapeTimeSourcesAreRendered) {
    auto m = fixed_metrics();
    const std::string text = m->render();
    for (const char* line : {
             "rfbcast_tile_cache_hits_total 10",
             "rfbcast_tile_cache_misses_total 3",
             "rfbcast_tile_cache_evictions_total 1",
             "rfbcast_tile_cache_bytes 65536",
             "rfbcast_tile_cache_entries 4",
             "process_cpu_seconds_total 1.5",
             "process_start_time_seconds 1700000000.25",
             "process_resident_memory_bytes 4096",
             "process_virtual_memory_bytes 8192",
             "process_open_fds 7",
             "process_max_fds 1024",
         }) {
        EXPECT_TRUE(has_line(text, line)) << line;
    }
    EXPECT_TRUE(has_line(text, "# TYPE process_cpu_seconds_total counter"));
    EXPECT_TRUE(has_line(text, "# TYPE rfbcast_tile_cache_hits_total counter"));
    EXPECT_TRUE(has_line(text, "# TYPE rfbcast_tile_cache_bytes gauge"));

    // A field that could not be read is left out, not reported as 0.
    m->set_process_stats_source([] {
        ProcessStats s;
        s.open_fds = 9;
        return s;
    });
    m->set_cache_stats_source(nullptr);
    const std::string after = m->render();
    EXPECT_TRUE(has_line(after, "process_open_fds 9"));
    EXPECT_EQ(after.find("process_max_fds"), std::string::npos);
    EXPECT_EQ(after.find("process_cpu_seconds_total"), std::string::npos);
    EXPECT_EQ(after.find("rfbcast_tile_cache"), std::string::npos);
}

TEST(Metrics, DefaultProcessSourceReadsThisProcess) {
    Metrics m("0");
    const std::string text = m.render();
    EXPECT_NE(text.find("\nprocess_resident_memory_bytes "), std::string::npos);
    EXPECT_NE(text.find("\nprocess_open_fds "), std::string::npos);
    EXPECT_NE(text.find("\nprocess_start_time_seconds "), std::string::npos);
}

TEST(Metrics, SessionSeriesAppearWithTheSessionAndGoWithItsLastHolder) {
    auto m = fixed_metrics();
    auto s = m->session("alpha");
    auto again = m->session("alpha");
    EXPECT_EQ(s.get(), again.get());
    auto other = m->session("beta");
    s->set_upstream_up(true);
    s->set_viewers(3);
    s->viewer_removed();
    s->upstream_reconnect();
    s->bytes_received(Side::kUpstream, 5000);
    s->bytes_received(Side::kViewer, 40);
    s->bytes_sent(Side::kViewer, 1000);
    s->bytes_sent(Side::kViewer, 24);
    s->framebuffer_update();
    s->frame_sent();
    s->frame_sent();
    s->frames_skipped(4);
    s->observe_viewer_bandwidth(2e6);
    s->observe_send_queue(0);
    s->observe_send_queue(5000);

    std::string text = m->render();
    for (const char* line : {
             "rfbcast_sessions 2",
             "rfbcast_upstream_up{session=\"alpha\"} 1",
             "rfbcast_upstream_up{session=\"beta\"} 0",
             "rfbcast_viewers{session=\"alpha\"} 2",
             "rfbcast_upstream_reconnects_total{session=\"alpha\"} 1",
             "rfbcast_bytes_received_total{session=\"alpha\",side=\"upstream\"} 5000",
             "rfbcast_bytes_received_total{session=\"alpha\",side=\"viewer\"} 40",
             "rfbcast_bytes_sent_total{session=\"alpha\",side=\"upstream\"} 0",
             "rfbcast_bytes_sent_total{session=\"alpha\",side=\"viewer\"} 1024",
             "rfbcast_framebuffer_updates_total{session=\"alpha\"} 1",
             "rfbcast_frames_sent_total{session=\"alpha\"} 2",
             "rfbcast_frames_skipped_total{session=\"alpha\"} 4",
             "rfbcast_viewer_bandwidth_bytes_per_second_count{session=\"alpha\"} 1",
             "rfbcast_viewer_bandwidth_bytes_per_second_bucket{session=\"alpha\",le=\"1000000\"} 0",
             "rfbcast_viewer_bandwidth_bytes_per_second_bucket{session=\"alpha\",le=\"3000000\"} 1",
             "rfbcast_viewer_send_queue_bytes_bucket{session=\"alpha\",le=\"0\"} 1",
             "rfbcast_viewer_send_queue_bytes_bucket{session=\"alpha\",le=\"4096\"} 1",
             "rfbcast_viewer_send_queue_bytes_bucket{session=\"alpha\",le=\"16384\"} 2",
             "rfbcast_viewer_send_queue_bytes_sum{session=\"alpha\"} 5000",
             "rfbcast_viewer_send_queue_bytes_count{session=\"beta\"} 0",
         }) {
        EXPECT_TRUE(has_line(text, line)) << line;
    }
    EXPECT_EQ(m->sessions(), 2u);

    s.reset();
    text = m->render();
    EXPECT_NE(text.find("session=\"alpha\""), std::string::npos) << "one holder is left";
    again.reset();
    text = m->render();
    EXPECT_EQ(text.find("alpha"), std::string::npos);
    EXPECT_TRUE(has_line(text, "rfbcast_sessions 1"));
    EXPECT_TRUE(has_line(text, "rfbcast_viewers{session=\"beta\"} 0"));
    EXPECT_EQ(m->sessions(), 1u);

    // A session re-created by the same name starts from zero.
    auto fresh = m->session("alpha");
    text = m->render();
    EXPECT_TRUE(has_line(text, "rfbcast_frames_sent_total{session=\"alpha\"} 0"));

    other.reset();
    fresh.reset();
    text = m->render();
    EXPECT_EQ(text.find("session="), std::string::npos);
    EXPECT_TRUE(has_line(text, "rfbcast_sessions 0"));
}

TEST(Metrics, SessionNamesAreEscapedInLabelValues) {
    auto m = fixed_metrics();
    auto s = m->session("we\"ird\\name\nx");
    s->set_viewers(1);
    EXPECT_TRUE(has_line(m->render(), "rfbcast_viewers{session=\"we\\\"ird\\\\name\\nx\"} 1"));
}

TEST(Metrics, SessionMetricsMayOutliveMetrics) {
    std::shared_ptr<SessionMetrics> s;
    {
        Metrics m("0");
        s = m.session("late");
    }
    s->frame_sent();  // its cells are still there (ASan would catch a use after free)
    s.reset();
}

TEST(Metrics, ConcurrentUpdatesFromFourThreadsSumExactly) {
    auto m = fixed_metrics();
    auto s = m->session("busy");
    constexpr int kThreads = 4, kEach = 100000;
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&] {
            for (int i = 0; i < kEach; ++i) {
                m->refused(RefuseReason::kMaxViewers);
                m->encoded(Encoding::kRaw, 0.5);
                s->bytes_sent(Side::kViewer, 3);
                s->observe_send_queue(100);
            }
        });
    }
    for (auto& t : threads)
        t.join();
    const std::string text = m->render();
    for (const char* line : {
             "rfbcast_connections_refused_total{reason=\"max_viewers\"} 400000",
             "rfbcast_encodes_total{encoding=\"raw\"} 400000",
             "rfbcast_encode_duration_seconds_count{encoding=\"raw\"} 400000",
             "rfbcast_encode_duration_seconds_sum{encoding=\"raw\"} 200000",
             "rfbcast_encode_duration_seconds_bucket{encoding=\"raw\",le=\"0.25\"} 0",
             "rfbcast_encode_duration_seconds_bucket{encoding=\"raw\",le=\"0.5\"} 400000",
             "rfbcast_bytes_sent_total{session=\"busy\",side=\"viewer\"} 1200000",
             "rfbcast_viewer_send_queue_bytes_count{session=\"busy\"} 400000",
             "rfbcast_viewer_send_queue_bytes_sum{session=\"busy\"} 40000000",
             "rfbcast_viewer_send_queue_bytes_bucket{session=\"busy\",le=\"1024\"} 400000",
         }) {
        EXPECT_TRUE(has_line(text, line)) << line;
    }
}

// A session dropped on one thread while another re-acquires the name: the takeover must keep
// the cells the new holder uses (ASan reports a use after free otherwise).
TEST(Metrics, ReacquiringANameWhileItExpiresIsSafe) {
    Metrics m("0");
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&] {
            for (int i = 0; i < 2000; ++i) {
                auto s = m.session("churn");
                s->frame_sent();
                s->observe_send_queue(1);
            }
        });
    }
    for (auto& t : threads)
        t.join();
    EXPECT_EQ(m.sessions(), 0u);
    EXPECT_EQ(m.render().find("churn"), std::string::npos);
}

// promtool (Debian package "prometheus") lints the rendered text. Absent, the test skips,
// unless RFBCAST_REQUIRE_PROMTOOL=1 (CI) makes that a failure.
TEST(Metrics, PromtoolAcceptsTheOutput) {
    if (std::system("command -v promtool >/dev/null 2>&1") != 0) {
        const char* require = std::getenv("RFBCAST_REQUIRE_PROMTOOL");
        if (require != nullptr && std::string(require) == "1") {
            FAIL() << "promtool not found and RFBCAST_REQUIRE_PROMTOOL=1";
        }
        GTEST_SKIP() << "promtool not installed";
    }
    auto m = std::make_unique<Metrics>("0.1.0");
    m->set_cache_stats_source([] { return CacheSnapshot{10, 3, 1, 65536, 4}; });
    auto a = m->session("alpha");
    auto b = m->session("b\"e\\ta");
    a->set_upstream_up(true);
    a->set_viewers(2);
    a->bytes_sent(Side::kViewer, 12345);
    a->observe_viewer_bandwidth(1.5e6);
    a->observe_send_queue(70000);
    m->refused(RefuseReason::kAuthFailed);
    m->encoded(Encoding::kTightJpeg, 0.0042);
    const std::string text = m->render();

    char path[] = "/tmp/rfbcast_metrics_XXXXXX";
    const int fd = ::mkstemp(path);
    ASSERT_GE(fd, 0);
    ::close(fd);
    std::ofstream(path) << text;
    const std::string command = std::string("promtool check metrics < ") + path + " 2>&1";
    FILE* p = ::popen(command.c_str(), "r");
    ASSERT_NE(p, nullptr);
    std::string said;
    char buf[512];
    while (size_t n = std::fread(buf, 1, sizeof buf, p))
        said.append(buf, n);
    const int status = ::pclose(p);
    ::unlink(path);
    EXPECT_EQ(status, 0) << said << "\n--- rendered:\n" << text;
    EXPECT_EQ(said, "") << said;
}

}  // namespace
}  // namespace rfbcast::metrics
