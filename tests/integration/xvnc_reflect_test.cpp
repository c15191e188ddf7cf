// Issue 2: rfbcast in front of a real TigerVNC Xvnc, checked with real viewers.
//
// Every test owns its Xvnc (on a leased display and a free port), its xdraw picture and its
// rfbcast, so tests can run in parallel. Pixels are compared exactly: what a viewer sees through
// rfbcast must be what the same viewer sees connected straight to Xvnc.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <thread>

#include "tests/integration/harness.h"

namespace itest {
namespace {

using ::testing::AssertionFailure;
using ::testing::AssertionResult;
using ::testing::AssertionSuccess;

constexpr int kWidth = 1024, kHeight = 768;
constexpr uint64_t kSeed = 20240917;
constexpr long kKeyA = 0x61, kKeyB = 0x62, kKeyC = 0x63;

void sleep_ms(int ms) {
    std::this_thread::sleep_for(milliseconds(ms));
}

// The update count a viewer in count mode printed, or -1.
int count_of(const ViewerResult& r) {
    char* end = nullptr;
    long n = std::strtol(r.out.c_str(), &end, 10);
    return end == r.out.c_str() ? -1 : static_cast<int>(n);
}

bool seen(const ViewerResult& r, const std::string& encoding) {
    std::string list = "," + r.encodings_seen + ",";
    return list.find("," + encoding + ",") != std::string::npos;
}

// The xdraw picture is busy everywhere; a blank, cropped or garbled grab has far fewer colours.
AssertionResult looks_like_pattern(const Image& img, int width = kWidth, int height = kHeight) {
    if (img.width != width || img.height != height)
        return AssertionFailure() << "grab is " << img.width << "x" << img.height << ", expected "
                                  << width << "x" << height;
    size_t colours = distinct_colours(img);
    if (colours < 5000)
        return AssertionFailure() << "grab has only " << colours << " colours: not the pattern";
    return AssertionSuccess();
}

RfbcastOptions reflecting(int upstream_port) {
    RfbcastOptions o;
    o.upstream_port = upstream_port;
    return o;
}

class ReflectTest : public ::testing::Test {
  protected:
    void TearDown() override {
        if (HasFailure()) {
            if (rfbcast_)
                std::fprintf(stderr, "--- rfbcast log ---\n%s\n", rfbcast_->log_tail().c_str());
            if (xdraw_) std::fprintf(stderr, "--- xdraw log ---\n%s\n", xdraw_->log_tail().c_str());
            if (xvnc_) std::fprintf(stderr, "--- Xvnc log ---\n%s\n", xvnc_->log_tail().c_str());
        }
        rfbcast_.reset();
        xdraw_.reset();
        xvnc_.reset();
    }

    void start_desktop(XvncOptions xo = {}, XdrawOptions xd = {}) {
        xvnc_ = std::make_unique<XvncServer>(dir_, xo);
        std::string err;
        ASSERT_TRUE(xvnc_->start(&err)) << "Xvnc: " << err;
        xdraw_ = std::make_unique<Xdraw>(dir_, xd);
        ASSERT_TRUE(xdraw_->start(xvnc_->display_name(), &err)) << "xdraw: " << err;
    }

    void start_rfbcast(RfbcastOptions opt) {
        rfbcast_ = std::make_unique<Rfbcast>(dir_, std::move(opt));
        std::string err;
        ASSERT_TRUE(rfbcast_->start(&err)) << err;
    }

    AssertionResult grab(LvcOptions opt, const std::string& tag, Image& img,
                         ViewerResult* result = nullptr) {
        opt.out_ppm = dir_.file(tag + ".ppm");
        ViewerResult r = run_lvc_viewer(dir_, opt, tag);
        if (result) *result = r;
        if (!r.ok()) return AssertionFailure() << "lvc_viewer " << tag << ": " << r.describe();
        std::string err;
        if (!load_ppm(opt.out_ppm, img, &err)) return AssertionFailure() << err;
        return AssertionSuccess();
    }

    AssertionResult snapshot(SnapshotOptions opt, const std::string& tag, Image& img) {
        opt.out_jpeg = dir_.file(tag + ".jpg");
        ViewerResult r = run_vncsnapshot(dir_, opt, tag);
        if (!r.ok()) return AssertionFailure() << "vncsnapshot " << tag << ": " << r.describe();
        std::string err;
        if (!load_jpeg(opt.out_jpeg, img, &err)) return AssertionFailure() << err;
        return AssertionSuccess();
    }

    // rfbcast may accept viewers before its upstream has delivered a whole frame. Only the first
    // grab of a test is allowed to retry for that; every measured grab after it must match at once.
    AssertionResult warm_up(int port, const std::string& password_file, const Image& direct) {
        auto deadline = std::chrono::steady_clock::now() + milliseconds(15000);
        std::string last = "no attempt";
        for (int i = 0; std::chrono::steady_clock::now() < deadline; ++i) {
            LvcOptions o;
            o.port = port;
            o.password_file = password_file;
            o.timeout_ms = 8000;
            Image img;
            AssertionResult r = grab(o, "warmup-" + std::to_string(i), img);
            if (r) {
                ImageDiff d = compare_images(direct, img);
                if (d.equal()) return AssertionSuccess();
                last = d.describe();
            } else {
                last = r.message();
            }
            sleep_ms(500);
        }
        return AssertionFailure() << "no grab through rfbcast matched the direct one within 15 s; "
                                     "last: "
                                  << last;
    }

    TempDir dir_;
    std::unique_ptr<XvncServer> xvnc_;
    std::unique_ptr<Xdraw> xdraw_;
    std::unique_ptr<Rfbcast> rfbcast_;
};

// ---------------------------------------------------------------------------------------------
// The harness itself, against Xvnc alone: if these fail, the rfbcast tests prove nothing.

TEST_F(ReflectTest, HarnessDirectGrabsAgreeAcrossEncodingsAndDepths) {
    ASSERT_NO_FATAL_FAILURE(start_desktop({}, {kSeed, false}));
    LvcOptions o;
    o.port = xvnc_->port();
    Image raw, hextile, zrle, zrle16, snap;
    ViewerResult r;
    o.encodings = "raw";
    ASSERT_TRUE(grab(o, "raw", raw, &r));
    EXPECT_TRUE(seen(r, "raw")) << r.encodings_seen;
    ASSERT_TRUE(looks_like_pattern(raw));
    o.encodings = "hextile";
    ASSERT_TRUE(grab(o, "hextile", hextile, &r));
    EXPECT_TRUE(seen(r, "hextile")) << r.encodings_seen;
    o.encodings = "zrle";
    ASSERT_TRUE(grab(o, "zrle", zrle, &r));
    EXPECT_TRUE(seen(r, "zrle")) << r.encodings_seen;
    EXPECT_TRUE(same_pixels(raw, hextile, "raw vs hextile"));
    EXPECT_TRUE(same_pixels(raw, zrle, "raw vs zrle"));

    // RGB565. TigerVNC narrows a channel with rounding, (v * max + 128) / 255 (its
    // PixelFormat downconvTable), not by dropping low bits; lvc_viewer widens with rounding.
    // The expected picture is computed here from the 32 bpp grab, independently of both.
    o.bpp = 16;
    ASSERT_TRUE(grab(o, "zrle16", zrle16, &r));
    EXPECT_TRUE(seen(r, "zrle")) << r.encodings_seen;
    Image expected = raw;
    auto narrow = [](unsigned v, unsigned max) { return (v * max + 128) / 255; };
    auto widen = [](unsigned v, unsigned max) { return (v * 255u + max / 2) / max; };
    for (size_t i = 0; i < expected.rgb.size(); i += 3) {
        expected.rgb[i] = static_cast<uint8_t>(widen(narrow(raw.rgb[i], 31), 31));
        expected.rgb[i + 1] = static_cast<uint8_t>(widen(narrow(raw.rgb[i + 1], 63), 63));
        expected.rgb[i + 2] = static_cast<uint8_t>(widen(narrow(raw.rgb[i + 2], 31), 31));
    }
    EXPECT_TRUE(same_pixels(expected, zrle16, "32 bpp reduced to 565 vs 16 bpp grab"));

    // vncsnapshot writes only JPEG (quality 100): close to the lossless grab, never equal.
    SnapshotOptions s;
    s.port = xvnc_->port();
    ASSERT_TRUE(snapshot(s, "snap", snap));
    ASSERT_EQ(snap.width, kWidth);
    ASSERT_EQ(snap.height, kHeight);
    double total = 0;
    for (size_t i = 0; i < raw.rgb.size(); ++i)
        total += std::abs(raw.rgb[i] - snap.rgb[i]);
    double mean = total / static_cast<double>(raw.rgb.size());
    EXPECT_LT(mean, 12.0) << "vncsnapshot's picture is not the pattern";

    // Keys typed by a viewer reach xdraw's key log.
    o.bpp = 32;
    o.send_key = kKeyC;
    ViewerResult k = run_lvc_viewer(dir_, o, "key");
    ASSERT_TRUE(k.ok()) << k.describe();
    EXPECT_TRUE(wait_for_line(xdraw_->keylog(), "0x63", milliseconds(5000)));

    // wait_closed() must not report a connection the server keeps open as closed.
    RawRfbClient idle;
    ASSERT_TRUE(idle.connect(xvnc_->port()));
    std::string err;
    ASSERT_TRUE(idle.handshake_none(&err)) << err;
    EXPECT_EQ(idle.width(), kWidth);
    EXPECT_EQ(idle.height(), kHeight);
    EXPECT_FALSE(idle.wait_closed(milliseconds(1000)));
}

TEST_F(ReflectTest, HarnessAnimationCanBeFrozen) {
    ASSERT_NO_FATAL_FAILURE(start_desktop({}, {kSeed, true}));
    LvcOptions o;
    o.port = xvnc_->port();
    o.count_updates_ms = 2000;
    ViewerResult moving = run_lvc_viewer(dir_, o, "moving");
    ASSERT_TRUE(moving.ok()) << moving.describe();
    EXPECT_GE(count_of(moving), 10) << "xdraw --animate should change ~10 times a second";
    std::string err;
    ASSERT_TRUE(xdraw_->freeze(&err)) << err;
    ViewerResult still = run_lvc_viewer(dir_, o, "still");
    ASSERT_TRUE(still.ok()) << still.describe();
    const int still_updates = count_of(still);
    EXPECT_TRUE(still_updates >= 0 && still_updates <= 2)
        << "frozen picture still updating: " << still_updates << " updates";
}

// ---------------------------------------------------------------------------------------------
// 1 and 2: pixel equality direct vs through rfbcast, per viewer/encoding, without and with
// VncAuth on both legs.

struct PixelCase {
    const char* name;
    const char* encodings;  // nullptr: vncsnapshot
    int bpp;
    bool vncauth;
};

// Readable parameters in test logs and ctest names instead of gtest's byte dump.
void PrintTo(const PixelCase& c, std::ostream* os) {
    *os << c.name << (c.vncauth ? "/VncAuth" : "/None");
}

std::string case_name(const ::testing::TestParamInfo<PixelCase>& info) {
    return std::string(info.param.name) + (info.param.vncauth ? "_VncAuth" : "_None");
}

class PixelEqualityTest : public ReflectTest, public ::testing::WithParamInterface<PixelCase> {};

TEST_P(PixelEqualityTest, DirectAndReflectedGrabsAreIdentical) {
    const PixelCase& c = GetParam();
    XvncOptions xo;
    if (c.vncauth) xo.password = "upstr3am";
    ASSERT_NO_FATAL_FAILURE(start_desktop(xo, {kSeed, false}));

    // Direct.
    Image direct32;
    LvcOptions direct_opt;
    direct_opt.port = xvnc_->port();
    direct_opt.password_file = xvnc_->plain_password_file();
    ASSERT_TRUE(grab(direct_opt, "direct-zrle", direct32));
    ASSERT_TRUE(looks_like_pattern(direct32));

    RfbcastOptions ro;
    ro.upstream_port = xvnc_->port();
    if (c.vncauth) {
        ro.upstream_password = xo.password;
        ro.password = "v1ewers!";
    }
    ASSERT_NO_FATAL_FAILURE(start_rfbcast(ro));
    ASSERT_TRUE(warm_up(rfbcast_->port(), rfbcast_->password_file(), direct32));

    if (c.encodings) {
        LvcOptions o = direct_opt;
        o.encodings = c.encodings;
        o.bpp = c.bpp;
        Image direct, through;
        ViewerResult rd, rt;
        ASSERT_TRUE(grab(o, "direct", direct, &rd));
        EXPECT_TRUE(seen(rd, c.encodings)) << "Xvnc sent " << rd.encodings_seen;
        o.port = rfbcast_->port();
        o.password_file = rfbcast_->password_file();
        ASSERT_TRUE(grab(o, "through", through, &rt));
        EXPECT_TRUE(seen(rt, c.encodings)) << "rfbcast sent " << rt.encodings_seen;
        EXPECT_TRUE(same_pixels(direct, through, std::string("direct vs rfbcast, ") + c.name));
        if (c.bpp == 32) {
            EXPECT_TRUE(same_pixels(direct32, through, "32 bpp zrle vs through"));
        }
    } else {
        // vncsnapshot writes only JPEG. Both grabs go through the same JPEG encoder at the same
        // quality, so identical framebuffers give identical decoded pictures: compare exactly.
        SnapshotOptions s;
        s.port = xvnc_->port();
        s.vncauth_file = xvnc_->vncauth_file();
        Image direct, through;
        ASSERT_TRUE(snapshot(s, "snap-direct", direct));
        ASSERT_EQ(direct.width, kWidth);
        s.port = rfbcast_->port();
        if (c.vncauth) {
            s.vncauth_file = dir_.file("rfbcast-password.vncauth");
            std::string err;
            ASSERT_TRUE(make_vncauth_file(dir_, ro.password, s.vncauth_file, &err)) << err;
        }
        ASSERT_TRUE(snapshot(s, "snap-through", through));
        EXPECT_TRUE(same_pixels(direct, through, "vncsnapshot direct vs rfbcast"));
    }
}

INSTANTIATE_TEST_SUITE_P(
    Viewers, PixelEqualityTest,
    ::testing::Values(PixelCase{"Raw", "raw", 32, false},
                      PixelCase{"Hextile", "hextile", 32, false},
                      PixelCase{"Zrle", "zrle", 32, false}, PixelCase{"Zrle16", "zrle", 16, false},
                      PixelCase{"Vncsnapshot", nullptr, 32, false},
                      PixelCase{"Raw", "raw", 32, true}, PixelCase{"Hextile", "hextile", 32, true},
                      PixelCase{"Zrle", "zrle", 32, true}, PixelCase{"Zrle16", "zrle", 16, true},
                      PixelCase{"Vncsnapshot", nullptr, 32, true}),
    case_name);

// ---------------------------------------------------------------------------------------------
// 3: ten viewers at once.

TEST_F(ReflectTest, TenConcurrentViewersAllSeeTheDirectPicture) {
    ASSERT_NO_FATAL_FAILURE(start_desktop({}, {kSeed + 3, false}));
    LvcOptions o;
    o.port = xvnc_->port();
    Image direct;
    ASSERT_TRUE(grab(o, "direct", direct));
    ASSERT_TRUE(looks_like_pattern(direct));
    ASSERT_NO_FATAL_FAILURE(start_rfbcast(reflecting(xvnc_->port())));
    ASSERT_TRUE(warm_up(rfbcast_->port(), "", direct));

    const char* encodings[] = {"raw", "hextile", "zrle"};
    constexpr int kViewers = 10;
    std::vector<Process> procs(kViewers);
    std::vector<LvcOptions> opts(kViewers);
    for (int i = 0; i < kViewers; ++i) {
        opts[i].port = rfbcast_->port();
        opts[i].encodings = encodings[i % 3];
        opts[i].timeout_ms = 30000;
        opts[i].out_ppm = dir_.file("viewer-" + std::to_string(i) + ".ppm");
        std::string err;
        ASSERT_TRUE(start_lvc_viewer(dir_, opts[i], "viewer-" + std::to_string(i), procs[i], &err))
            << err;
    }
    for (int i = 0; i < kViewers; ++i) {
        const std::string tag = "viewer-" + std::to_string(i);
        ViewerResult r = finish_viewer(dir_, tag, procs[i], milliseconds(40000));
        ASSERT_TRUE(r.ok()) << tag << ": " << r.describe();
        EXPECT_TRUE(seen(r, opts[i].encodings)) << tag << " got " << r.encodings_seen;
        Image img;
        std::string err;
        ASSERT_TRUE(load_ppm(opts[i].out_ppm, img, &err)) << err;
        EXPECT_TRUE(same_pixels(direct, img, tag + " (" + opts[i].encodings + ")"));
    }
    EXPECT_TRUE(rfbcast_->running());
}

// ---------------------------------------------------------------------------------------------
// 4: view-only viewers' input is dropped; full-control viewers' input reaches the desktop.

TEST_F(ReflectTest, ViewOnlyKeysAreDroppedFullControlKeysArrive) {
    ASSERT_NO_FATAL_FAILURE(start_desktop({}, {kSeed, false}));
    // The key path itself works (direct to Xvnc) before rfbcast is judged on it.
    LvcOptions direct;
    direct.port = xvnc_->port();
    direct.send_key = kKeyC;
    ViewerResult d = run_lvc_viewer(dir_, direct, "direct-key");
    ASSERT_TRUE(d.ok()) << d.describe();
    ASSERT_TRUE(wait_for_line(xdraw_->keylog(), "0x63", milliseconds(5000)))
        << "a key typed straight at Xvnc never reached xdraw";

    RfbcastOptions ro;
    ro.upstream_port = xvnc_->port();
    ro.password = "fullctl1";
    ro.viewonly_password = "lookonly";
    ASSERT_NO_FATAL_FAILURE(start_rfbcast(ro));

    // The view-only key goes first: by the time the full-control key has arrived, a forwarded
    // view-only key would have arrived too.
    LvcOptions viewer;
    viewer.port = rfbcast_->port();
    viewer.password_file = rfbcast_->viewonly_password_file();
    viewer.send_key = kKeyB;
    ViewerResult v = run_lvc_viewer(dir_, viewer, "viewonly-key");
    ASSERT_TRUE(v.ok()) << "view-only viewer must be admitted: " << v.describe();

    viewer.password_file = rfbcast_->password_file();
    viewer.send_key = kKeyA;
    ViewerResult f = run_lvc_viewer(dir_, viewer, "full-key");
    ASSERT_TRUE(f.ok()) << f.describe();
    EXPECT_TRUE(wait_for_line(xdraw_->keylog(), "0x61", milliseconds(5000)))
        << "full-control key never reached the desktop; key log:\n"
        << read_file(xdraw_->keylog());
    sleep_ms(300);
    for (const auto& line : read_lines(xdraw_->keylog()))
        EXPECT_NE(line, "0x62") << "a view-only viewer's key reached the desktop";
}

// ---------------------------------------------------------------------------------------------
// 5: a wrong password is refused and rfbcast keeps serving the others.

TEST_F(ReflectTest, WrongPasswordIsRefusedAndOthersKeepBeingServed) {
    ASSERT_NO_FATAL_FAILURE(start_desktop({}, {kSeed, false}));
    LvcOptions o;
    o.port = xvnc_->port();
    Image direct;
    ASSERT_TRUE(grab(o, "direct", direct));
    RfbcastOptions ro;
    ro.upstream_port = xvnc_->port();
    ro.password = "rightpw1";
    ASSERT_NO_FATAL_FAILURE(start_rfbcast(ro));
    ASSERT_TRUE(warm_up(rfbcast_->port(), rfbcast_->password_file(), direct));

    // A viewer that stays connected across the failures.
    LvcOptions counter;
    counter.port = rfbcast_->port();
    counter.password_file = rfbcast_->password_file();
    counter.count_updates_ms = 4000;
    Process counter_proc;
    std::string err;
    ASSERT_TRUE(start_lvc_viewer(dir_, counter, "counter", counter_proc, &err)) << err;

    const std::string wrong = dir_.file("wrong-password.txt");
    ASSERT_TRUE(write_file(wrong, "wrongpw1\n"));
    LvcOptions bad;
    bad.port = rfbcast_->port();
    bad.password_file = wrong;
    bad.timeout_ms = 8000;
    ViewerResult b = run_lvc_viewer(dir_, bad, "wrong-lvc");
    ASSERT_TRUE(b.exit_code.has_value()) << "wrong-password viewer hung: " << b.describe();
    EXPECT_NE(*b.exit_code, 0) << "wrong password accepted: " << b.describe();
    // An empty password is wrong too.
    const std::string empty = dir_.file("empty-password.txt");
    ASSERT_TRUE(write_file(empty, "\n"));
    bad.password_file = empty;
    ViewerResult e = run_lvc_viewer(dir_, bad, "empty-lvc");
    ASSERT_TRUE(e.exit_code.has_value()) << "empty-password viewer hung: " << e.describe();
    EXPECT_NE(*e.exit_code, 0) << "empty password accepted: " << e.describe();

    SnapshotOptions s;
    s.port = rfbcast_->port();
    s.vncauth_file = dir_.file("wrong.vncauth");
    s.out_jpeg = dir_.file("wrong-snap.jpg");
    s.timeout_ms = 10000;
    ASSERT_TRUE(make_vncauth_file(dir_, "wrongpw1", s.vncauth_file, &err)) << err;
    ViewerResult sn = run_vncsnapshot(dir_, s, "wrong-snap");
    EXPECT_FALSE(sn.ok()) << "vncsnapshot with a wrong password got a picture";

    ViewerResult c = finish_viewer(dir_, "counter", counter_proc, milliseconds(20000));
    ASSERT_TRUE(c.ok()) << "the authenticated viewer lost its connection: " << c.describe();
    EXPECT_GE(count_of(c), 1);
    ASSERT_TRUE(rfbcast_->running()) << "rfbcast died";

    o.port = rfbcast_->port();
    o.password_file = rfbcast_->password_file();
    Image after;
    ASSERT_TRUE(grab(o, "after", after));
    EXPECT_TRUE(same_pixels(direct, after, "grab after the refused logins"));
}

// ---------------------------------------------------------------------------------------------
// 6: hostile viewers are disconnected; a well-behaved viewer keeps receiving updates.

struct Hostile {
    std::string name;
    bool handshake;  // complete the RFB handshake (security None) before the payload
    std::vector<uint8_t> payload;
};

std::vector<Hostile> hostile_viewers() {
    std::vector<Hostile> h;
    // Not an RFB ProtocolVersion at all.
    h.push_back({"garbage-version",
                 false,
                 {0x00, 0xff, 0x13, 0x37, 'G', 'A', 'R', 'B', 'A', 'G', 'E', '\n'}});
    // Garbage after the handshake: a SetPixelFormat no server can honour (8-bit-unaligned bpp,
    // depth above bpp, a max that is not 2^n-1), then noise.
    std::vector<uint8_t> spf = {0, 0, 0, 0, 7,  200, 0, 1, 0x03, 0xe8,
                                0, 0, 0, 0, 40, 0,   0, 0, 0,    0};
    for (int i = 0; i < 64; ++i)
        spf.push_back(static_cast<uint8_t>(i * 37 + 11));
    h.push_back({"garbage-after-handshake", true, spf});
    // Message type 200 is assigned to nothing (rfbproto.rst, client-to-server messages).
    std::vector<uint8_t> unknown = {200};
    unknown.resize(64, 0);
    h.push_back({"unknown-message-type", true, unknown});
    // ClientCutText announcing 4 GiB - 1 of text (and never sending it).
    h.push_back({"huge-client-cut-text", true, {6, 0, 0, 0, 0xff, 0xff, 0xff, 0xff}});
    return h;
}

TEST_F(ReflectTest, HostileViewersAreDisconnectedOthersKeepReceivingUpdates) {
    ASSERT_NO_FATAL_FAILURE(start_desktop({}, {kSeed, true}));
    ASSERT_NO_FATAL_FAILURE(start_rfbcast(reflecting(xvnc_->port())));

    using Clock = std::chrono::steady_clock;
    LvcOptions counter;
    counter.port = rfbcast_->port();
    counter.count_updates_ms = 8000;
    Process counter_proc;
    std::string err;
    const auto t0 = Clock::now();
    ASSERT_TRUE(start_lvc_viewer(dir_, counter, "counter", counter_proc, &err)) << err;
    sleep_ms(1500);

    std::vector<Hostile> hostiles = hostile_viewers();
    std::vector<std::unique_ptr<RawRfbClient>> clients;
    for (const Hostile& h : hostiles) {
        auto c = std::make_unique<RawRfbClient>();
        ASSERT_TRUE(c->connect(rfbcast_->port())) << h.name << ": cannot connect";
        if (h.handshake) {
            ASSERT_TRUE(c->handshake_none(&err)) << h.name << ": handshake failed: " << err;
        } else {
            uint8_t greeting[12];
            ASSERT_TRUE(c->read_exact(greeting, sizeof greeting, milliseconds(5000)))
                << h.name << ": no greeting";
        }
        // A failed send means rfbcast already closed the connection, which is what we want.
        c->send_bytes(h.payload);
        clients.push_back(std::move(c));
    }
    for (size_t i = 0; i < clients.size(); ++i)
        EXPECT_TRUE(clients[i]->wait_closed(milliseconds(5000)))
            << hostiles[i].name << ": rfbcast did not close the connection within 5 s";
    const auto attack_end_ms = std::chrono::duration_cast<milliseconds>(Clock::now() - t0).count();

    ViewerResult c = finish_viewer(dir_, "counter", counter_proc, milliseconds(30000));
    ASSERT_TRUE(c.ok()) << "the well-behaved viewer lost its connection: " << c.describe();
    const int updates = count_of(c);
    EXPECT_GE(updates, 20) << "xdraw animates at ~10 fps for 8 s; the viewer got " << updates;
    // The counter was spawned after t0, so its clock started later: if its last update is at
    // or after attack_end_ms on its own clock, it arrived after the attack was over.
    size_t at = c.err.find("last-update-ms: ");
    ASSERT_NE(at, std::string::npos) << c.err;
    long long last_ms = std::strtoll(c.err.c_str() + at + 16, nullptr, 10);
    EXPECT_GE(last_ms, attack_end_ms) << "no update reached the viewer after the hostile ones";
    EXPECT_TRUE(rfbcast_->running()) << "rfbcast died";

    LvcOptions later = counter;
    later.count_updates_ms = 1500;
    ViewerResult l = run_lvc_viewer(dir_, later, "counter-after");
    ASSERT_TRUE(l.ok()) << l.describe();
    EXPECT_GE(count_of(l), 3) << "a new viewer after the attack gets no updates";
}

// ---------------------------------------------------------------------------------------------
// 7: the demo pattern, no upstream at all.

TEST_F(ReflectTest, DemoModeServesAMovingPicture) {
    RfbcastOptions ro;
    ro.demo = true;
    ASSERT_NO_FATAL_FAILURE(start_rfbcast(ro));

    LvcOptions o;
    o.port = rfbcast_->port();
    o.count_updates_ms = 3000;
    ViewerResult c = run_lvc_viewer(dir_, o, "count");
    ASSERT_TRUE(c.ok()) << c.describe();
    EXPECT_GE(count_of(c), 3) << "the demo pattern should keep changing";

    // The picture moves, so grab the first complete update rather than waiting for stillness.
    LvcOptions g;
    g.port = rfbcast_->port();
    g.settle_ms = 0;
    Image first, second;
    ASSERT_TRUE(grab(g, "first", first));
    sleep_ms(1000);
    ASSERT_TRUE(grab(g, "second", second));
    ASSERT_GT(first.width, 0);
    ASSERT_GT(first.height, 0);
    EXPECT_GE(distinct_colours(first), 2u) << "demo frame is blank";
    bool all_black = true;
    for (uint8_t v : first.rgb)
        all_black = all_black && v == 0;
    EXPECT_FALSE(all_black) << "demo frame is black";
    EXPECT_FALSE(compare_images(first, second).equal()) << "demo frames 1 s apart are identical";
}

}  // namespace
}  // namespace itest
