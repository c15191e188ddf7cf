// Issue 9 against real peers: the Prometheus endpoint follows a session reflecting Xvnc with
// libvncclient viewers (and promtool accepts what it serves), and SIGTERM drains: readiness
// fails at once, a new viewer is refused with a reason, a viewer owed a large update gets all of
// it and then a clean end of stream, and the process exits 0 long before the drain time.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <sstream>
#include <thread>

#include "harness.h"

namespace itest {
namespace {

struct HttpAnswer {
    int status = 0;
    std::string body;
};

// One blocking GET to 127.0.0.1:port with Connection: close; status 0 when nothing came back.
HttpAnswer http_get(int port, const std::string& path) {
    HttpAnswer a;
    const int fd = connect_tcp(port, milliseconds(3000));
    if (fd < 0) return a;
    const std::string req =
        "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) {
        ::close(fd);
        return a;
    }
    std::string all;
    char buf[16384];
    for (;;) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 5000) <= 0) break;
        const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) break;
        all.append(buf, static_cast<size_t>(n));
    }
    ::close(fd);
    if (all.rfind("HTTP/1.1 ", 0) != 0 || all.size() < 12) return a;
    a.status = std::atoi(all.c_str() + 9);
    const size_t head_end = all.find("\r\n\r\n");
    if (head_end != std::string::npos) a.body = all.substr(head_end + 4);
    return a;
}

// The value of the series written exactly as `series` (name{labels}); -1 when absent.
double metric_value(const std::string& text, const std::string& series) {
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind(series + " ", 0) == 0) return std::atof(line.c_str() + series.size() + 1);
    }
    return -1;
}

bool promtool_available() {
    if (std::system("command -v promtool >/dev/null 2>&1") == 0) return true;
    const char* require = std::getenv("RFBCAST_REQUIRE_PROMTOOL");
    return require != nullptr && std::string(require) == "1";  // then the run below fails
}

// `promtool check metrics` on `text`: "" when it is satisfied, else what it said.
std::string promtool_problems(const TempDir& dir, const std::string& text) {
    const std::string path = dir.file("scrape.txt");
    write_file(path, text);
    const std::string command = "promtool check metrics < " + path + " 2>&1";
    FILE* p = ::popen(command.c_str(), "r");
    if (!p) return "cannot run promtool";
    std::string said;
    char buf[512];
    while (size_t n = std::fread(buf, 1, sizeof buf, p))
        said.append(buf, n);
    const int status = ::pclose(p);
    if (status != 0 && said.empty()) said = "promtool exit status " + std::to_string(status);
    return said;
}

std::vector<std::string> metrics_args(int port) {
    return {"--metrics-listen", "127.0.0.1:" + std::to_string(port)};
}

TEST(Operations, MetricsFollowARealSessionAndPassPromtool) {
    TempDir dir;
    XvncServer xvnc(dir, XvncOptions{640, 480, ""});
    std::string error;
    ASSERT_TRUE(xvnc.start(&error)) << error;
    Xdraw draw(dir, XdrawOptions{});
    ASSERT_TRUE(draw.start(xvnc.display_name(), &error)) << error;

    const int mport = free_tcp_port();
    RfbcastOptions o;
    o.upstream_port = xvnc.port();
    o.password = "class-pw1";
    o.extra_args = metrics_args(mport);
    Rfbcast rfb(dir, o);
    ASSERT_TRUE(rfb.start(&error)) << error;

    // Before any viewer: the process is up and ready.
    EXPECT_EQ(http_get(mport, "/healthz").status, 200);
    EXPECT_EQ(http_get(mport, "/readyz").status, 200);

    // One viewer watches (held), one gets the picture, one brings a wrong password.
    LvcOptions held;
    held.port = rfb.port();
    held.password_file = rfb.password_file();
    held.encodings = "zrle";
    held.hold_ms = 20000;
    Process holder;
    ASSERT_TRUE(start_lvc_viewer(dir, held, "held", holder, &error)) << error;

    LvcOptions good = held;
    good.hold_ms = -1;
    good.encodings = "hextile";
    const ViewerResult g = run_lvc_viewer(dir, good, "good");
    ASSERT_TRUE(g.ok()) << g.describe();

    const std::string wrong_file = dir.file("wrong-password");
    ASSERT_TRUE(write_file(wrong_file, "not-the-pw\n"));
    LvcOptions bad = good;
    bad.password_file = wrong_file;
    const ViewerResult b = run_lvc_viewer(dir, bad, "bad");
    EXPECT_FALSE(b.ok()) << b.describe();

    // The session's series use its name: "default" for the one the command line describes.
    const std::string s = "session=\"default\"";
    std::string text;
    ASSERT_TRUE(wait_for_log(
        rfb,
        [&](const std::string&) {
            text = http_get(mport, "/metrics").body;
            return metric_value(text, "rfbcast_viewers{" + s + "}") == 1;
        },
        milliseconds(10000)))
        << text;
    EXPECT_EQ(metric_value(text, "rfbcast_upstream_up{" + s + "}"), 1) << text;
    EXPECT_EQ(metric_value(text, "rfbcast_sessions"), 1) << text;
    EXPECT_GE(metric_value(text, "rfbcast_connections_accepted_total{listener=\"viewer\"}"), 3)
        << text;
    EXPECT_GE(metric_value(text, "rfbcast_connections_accepted_total{listener=\"metrics\"}"), 3)
        << text;
    EXPECT_EQ(metric_value(text, "rfbcast_auth_failures_total"), 1) << text;
    EXPECT_EQ(metric_value(text, "rfbcast_connections_refused_total{reason=\"auth_failed\"}"), 1)
        << text;
    EXPECT_GT(metric_value(text, "rfbcast_bytes_sent_total{" + s + ",side=\"viewer\"}"), 10000)
        << text;
    EXPECT_GT(metric_value(text, "rfbcast_bytes_received_total{" + s + ",side=\"upstream\"}"),
              10000)
        << text;
    EXPECT_GT(metric_value(text, "rfbcast_bytes_sent_total{" + s + ",side=\"upstream\"}"), 0)
        << text;
    EXPECT_GT(metric_value(text, "rfbcast_framebuffer_updates_total{" + s + "}"), 0) << text;
    EXPECT_GE(metric_value(text, "rfbcast_frames_sent_total{" + s + "}"), 2) << text;
    EXPECT_GT(metric_value(text, "rfbcast_encodes_total{encoding=\"zrle\"}"), 0) << text;
    EXPECT_GT(metric_value(text, "rfbcast_encodes_total{encoding=\"hextile\"}"), 0) << text;
    EXPECT_GT(metric_value(text, "rfbcast_encode_duration_seconds_count{encoding=\"zrle\"}"), 0)
        << text;
    EXPECT_GT(metric_value(text, "rfbcast_tile_cache_misses_total"), 0) << text;
    EXPECT_GT(metric_value(text, "process_resident_memory_bytes"), 1e6) << text;
    EXPECT_GT(metric_value(text, "process_open_fds"), 3) << text;
    EXPECT_EQ(metric_value(text, "rfbcast_draining"), 0) << text;
    // No client address ever becomes a label.
    EXPECT_EQ(text.find("127.0.0.1"), std::string::npos) << text;

    if (promtool_available()) {
        EXPECT_EQ(promtool_problems(dir, text), "");
    }

    // The viewer leaves: the gauge follows.
    holder.stop();
    ASSERT_TRUE(wait_for_log(
        rfb,
        [&](const std::string&) {
            text = http_get(mport, "/metrics").body;
            return metric_value(text, "rfbcast_viewers{" + s + "}") == 0;
        },
        milliseconds(10000)))
        << text;
}

// Reads RFB server messages (the viewer asked for Raw only, in the server's 32 bpp format) until
// the end of the stream. Returns the number of complete FramebufferUpdates, or -1 when the
// stream ended inside a message or held something else.
int read_updates_to_end(RawRfbClient& c, milliseconds timeout) {
    int updates = 0;
    auto read = [&](uint8_t* dst, size_t n) { return c.read_exact(dst, n, timeout); };
    for (;;) {
        uint8_t type = 0;
        pollfd p{c.fd(), POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return -1;
        const ssize_t got = ::recv(c.fd(), &type, 1, 0);
        if (got == 0) return updates;  // the end, between messages
        if (got < 0) return -1;
        if (type == 2) continue;  // Bell
        if (type == 3) {          // ServerCutText
            uint8_t h[7];
            if (!read(h, 7)) return -1;
            const uint32_t len = (uint32_t{h[3]} << 24) | (h[4] << 16) | (h[5] << 8) | h[6];
            std::vector<uint8_t> text(len);
            if (len && !read(text.data(), len)) return -1;
            continue;
        }
        if (type != 0) return -1;
        uint8_t h[3];
        if (!read(h, 3)) return -1;
        const int rects = (h[1] << 8) | h[2];
        for (int i = 0; i < rects; ++i) {
            uint8_t r[12];
            if (!read(r, 12)) return -1;
            const size_t w = (r[4] << 8) | r[5], hgt = (r[6] << 8) | r[7];
            const int32_t enc =
                static_cast<int32_t>((uint32_t{r[8]} << 24) | (r[9] << 16) | (r[10] << 8) | r[11]);
            if (enc != 0) return -1;
            std::vector<uint8_t> px(w * hgt * 4);
            if (!px.empty() && !read(px.data(), px.size())) return -1;
        }
        ++updates;
    }
}

TEST(Operations, SigtermDrainsViewersThenExits) {
    TempDir dir;
    const int mport = free_tcp_port();
    RfbcastOptions o;
    o.demo = true;
    o.extra_args = metrics_args(mport);
    o.extra_args.insert(o.extra_args.end(), {"--drain-timeout", "20"});
    Rfbcast rfb(dir, o);
    std::string error;
    ASSERT_TRUE(rfb.start(&error)) << error;

    // A viewer that asks for the whole screen in Raw (3.5 MiB) and does not read yet: its
    // update waits in rfbcast's queue when the drain starts.
    RawRfbClient slow;
    ASSERT_TRUE(slow.connect(rfb.port()));
    // Small enough that the kernel holds only a fraction of the update (rfbcast keeps at most
    // 64 KiB unsent there), big enough that delayed ACKs do not slow the reading below.
    const int small = 128 * 1024;
    ::setsockopt(slow.fd(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    ASSERT_TRUE(slow.handshake_none(&error)) << error;
    const std::vector<uint8_t> raw_only = {2, 0, 0, 1, 0, 0, 0, 0};
    ASSERT_TRUE(slow.send_bytes(raw_only));
    const uint16_t w = slow.width(), h = slow.height();
    ASSERT_TRUE(
        slow.send_bytes({3, 0, 0, 0, 0, 0, static_cast<uint8_t>(w >> 8), static_cast<uint8_t>(w),
                         static_cast<uint8_t>(h >> 8), static_cast<uint8_t>(h)}));
    ASSERT_TRUE(wait_for_log(
        rfb,
        [&](const std::string& log) { return log.find("viewer-connected") != std::string::npos; },
        milliseconds(5000)));
    std::this_thread::sleep_for(milliseconds(300));  // the update is queued

    rfb.process().signal(SIGTERM);
    ASSERT_TRUE(wait_for_log_events(rfb, "draining", {}, {}, 1, milliseconds(5000)))
        << rfb.log_tail();

    // While the slow viewer is owed its update: not ready, and new viewers are turned away
    // with a reason.
    const HttpAnswer ready = http_get(mport, "/readyz");
    EXPECT_EQ(ready.status, 503) << ready.body;
    EXPECT_EQ(http_get(mport, "/healthz").status, 200);
    EXPECT_EQ(metric_value(http_get(mport, "/metrics").body, "rfbcast_draining"), 1);
    RawRfbClient late;
    ASSERT_TRUE(late.connect(rfb.port()));
    uint8_t version[12];
    ASSERT_TRUE(late.read_exact(version, 12, milliseconds(3000)));
    ASSERT_TRUE(late.send_bytes(std::vector<uint8_t>(version, version + 12)));
    uint8_t count = 1;
    ASSERT_TRUE(late.read_exact(&count, 1, milliseconds(3000)));
    EXPECT_EQ(count, 0);
    uint8_t len_bytes[4];
    ASSERT_TRUE(late.read_exact(len_bytes, 4, milliseconds(3000)));
    const uint32_t len =
        (uint32_t{len_bytes[0]} << 24) | (len_bytes[1] << 16) | (len_bytes[2] << 8) | len_bytes[3];
    ASSERT_LT(len, 1000u);
    std::string reason(len, '\0');
    ASSERT_TRUE(
        late.read_exact(reinterpret_cast<uint8_t*>(reason.data()), len, milliseconds(3000)));
    EXPECT_NE(reason.find("shutting down"), std::string::npos) << reason;

    // The slow viewer now reads: the whole update, then a clean end of stream.
    const int updates = read_updates_to_end(slow, milliseconds(10000));
    EXPECT_GE(updates, 1) << rfb.log_tail();

    const std::optional<int> status = rfb.process().wait_for(milliseconds(10000));
    ASSERT_TRUE(status.has_value()) << "still running after the viewers left\n" << rfb.log_tail();
    EXPECT_EQ(*status, 0) << rfb.log_tail();
    const auto drained = log_events(rfb.log(), "drained");
    ASSERT_EQ(drained.size(), 1u) << rfb.log_tail();
    EXPECT_EQ(log_field(drained[0], "viewers-left"), "0") << drained[0];
    EXPECT_EQ(log_field(drained[0], "connections-flushing"), "0") << drained[0];
}

TEST(Operations, HealthcheckModeProbesTheRunningInstance) {
    TempDir dir;
    const int mport = free_tcp_port();
    RfbcastOptions o;
    o.demo = true;
    o.extra_args = metrics_args(mport);
    Rfbcast rfb(dir, o);
    std::string error;
    ASSERT_TRUE(rfb.start(&error)) << error;

    auto probe = [&](const std::string& address) {
        Process p;
        std::string why;
        EXPECT_TRUE(p.start({RFBCAST_BIN, "--healthcheck", "--metrics-listen", address},
                            dir.file("hc.out"), dir.file("hc.err"), &why))
            << why;
        const std::optional<int> status = p.wait_for(milliseconds(10000));
        return status ? *status : -1;
    };
    EXPECT_EQ(probe("127.0.0.1:" + std::to_string(mport)), 0) << read_file(dir.file("hc.err"));
    // The listen address as a container would write it.
    EXPECT_EQ(probe("0.0.0.0:" + std::to_string(mport)), 0) << read_file(dir.file("hc.err"));
    rfb.process().stop();
    EXPECT_EQ(probe("127.0.0.1:" + std::to_string(mport)), 1);
    EXPECT_NE(read_file(dir.file("hc.err")), "");
}

}  // namespace
}  // namespace itest
