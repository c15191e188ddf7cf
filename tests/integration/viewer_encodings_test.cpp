// Issue 4, "Tests": every encoding rfbcast serves to viewers, checked with real viewers against
// a direct connection to a real TigerVNC Xvnc.
//
// - libvncclient (lvc_viewer) asking for Tight (lossless, at 32 and 16 bpp), RRE, Zlib and
//   Hextile at 16 bpp: exact pixels, and the rectangles really arrived in that encoding.
// - Tight with JPEG (quality pseudo-encodings 8 and 3, and TurboVNC's fine quality and
//   subsampling): close to the lossless picture within bounds measured on xdraw's pattern, and
//   those bounds reject a wrong picture.
// - TigerVNC's vncviewer, full screen on an Xvfb of exactly Xvnc's geometry, read back with xwd:
//   ZRLE exact, Tight+JPEG within the same bounds.
// - vncsnapshot (a TightVNC 1.2.8 viewer) asking for Tight.
// The UltraVNC zstd encodings have no viewer on this machine; codec unit tests cover them.
//
// Every test owns its Xvnc, xdraw, rfbcast (and Xvfb) on leased displays and free ports.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/harness.h"

namespace itest {
namespace {

using ::testing::AssertionFailure;
using ::testing::AssertionResult;
using ::testing::AssertionSuccess;
using Clock = std::chrono::steady_clock;

constexpr int kWidth = 1024, kHeight = 768;
constexpr uint64_t kSeed = 20250404;
constexpr uint64_t kOtherSeed = 777001;

void sleep_ms(int ms) {
    std::this_thread::sleep_for(milliseconds(ms));
}

// ---------------------------------------------------------------------------------------------
// Lossy comparison.

// How far a lossy picture is from the lossless one.
struct LossyStats {
    int max_delta = 0;         // largest channel difference anywhere
    double mean_abs = 0;       // mean absolute channel difference
    double share_changed = 0;  // pixels with any channel different
    double share_over_24 = 0;  // pixels with a channel more than 24 off
    double share_over_48 = 0;  // pixels with a channel more than 48 off
    std::string describe() const {
        char buf[200];
        std::snprintf(buf, sizeof buf,
                      "max delta %d, mean |delta| %.3f, changed %.4f, >24 %.5f, >48 %.5f",
                      max_delta, mean_abs, share_changed, share_over_24, share_over_48);
        return buf;
    }
};

// Both images must have the same size (checked by the callers).
LossyStats lossy_stats(const Image& reference, const Image& img) {
    LossyStats s;
    const size_t pixels = size_t(reference.width) * size_t(reference.height);
    if (pixels == 0 || reference.rgb.size() != img.rgb.size()) return s;
    size_t changed = 0, over24 = 0, over48 = 0;
    uint64_t sum = 0;
    for (size_t i = 0; i < pixels; ++i) {
        int worst = 0;
        for (size_t c = 0; c < 3; ++c) {
            const int d = std::abs(int{reference.rgb[i * 3 + c]} - int{img.rgb[i * 3 + c]});
            sum += static_cast<uint64_t>(d);
            worst = std::max(worst, d);
        }
        s.max_delta = std::max(s.max_delta, worst);
        changed += worst > 0;
        over24 += worst > 24;
        over48 += worst > 48;
    }
    s.mean_abs = static_cast<double>(sum) / static_cast<double>(pixels * 3);
    s.share_changed = static_cast<double>(changed) / static_cast<double>(pixels);
    s.share_over_24 = static_cast<double>(over24) / static_cast<double>(pixels);
    s.share_over_48 = static_cast<double>(over48) / static_cast<double>(pixels);
    return s;
}

// Bounds for a JPEG picture of xdraw's pattern, measured on rfbcast's Tight encoder (its JPEG
// goes to the gradient and noise bands; libvncclient, vncviewer and vncsnapshot decode to the
// same pixels):
//   level 8 (quality 92, 4:4:4): max 34, mean 0.53, changed 0.20, >24 0.0003, >48 0
//   level 3 (quality 42, 4:2:2): max 252, mean 4.68, changed 0.22, >24 0.093, >48 0.077
// The bounds leave about 2x (mean, shares at level 3) to 15x (>24 at level 8) of margin. At
// level 3 noise pixels may come out as anything, so there is no max bound. A picture of another
// seed (mean 72, >48 0.77) or this one moved by a pixel (mean 35, >48 0.32) is far outside
// every bound (LossyBoundsRejectWrongPictures).
struct LossyBounds {
    const char* name;
    int max_delta;
    double mean_abs;
    double share_over_24;
    double share_over_48;
};
constexpr LossyBounds kQuality8{"quality 8", 64, 1.5, 0.005, 0.001};
constexpr LossyBounds kQuality3{"quality 3", 255, 9.0, 0.18, 0.15};
// TurboVNC fine quality 95 with 4:4:4 (asked for on top of level 3, which it must override):
// measured max 25, mean 0.37, >24 0.000004.
constexpr LossyBounds kFine95{"fine quality 95, 4:4:4", 40, 0.8, 0.0005, 0.0001};

AssertionResult within(const Image& reference, const Image& img, const LossyBounds& b,
                       LossyStats* out = nullptr) {
    if (img.width != reference.width || img.height != reference.height)
        return AssertionFailure() << "size " << img.width << "x" << img.height << " vs "
                                  << reference.width << "x" << reference.height;
    const LossyStats s = lossy_stats(reference, img);
    if (out) *out = s;
    if (s.max_delta > b.max_delta || s.mean_abs > b.mean_abs || s.share_over_24 > b.share_over_24 ||
        s.share_over_48 > b.share_over_48)
        return AssertionFailure() << "outside the " << b.name << " bounds (max " << b.max_delta
                                  << ", mean " << b.mean_abs << ", >24 " << b.share_over_24
                                  << ", >48 " << b.share_over_48 << "): " << s.describe();
    return AssertionSuccess() << s.describe();
}

// The picture moved right and down by `d` pixels (wrapping): what a rectangle misplaced by an
// encoder looks like, locally.
Image shifted(const Image& img, int d) {
    Image out = img;
    for (int y = 0; y < img.height; ++y)
        for (int x = 0; x < img.width; ++x) {
            const int sx = (x + img.width - d) % img.width, sy = (y + img.height - d) % img.height;
            for (int c = 0; c < 3; ++c)
                out.rgb[(size_t(y) * img.width + x) * 3 + c] =
                    img.rgb[(size_t(sy) * img.width + sx) * 3 + c];
        }
    return out;
}

void report(const std::string& what, const LossyStats& s) {
    std::printf("[  measure ] %s: %s\n", what.c_str(), s.describe().c_str());
    ::testing::Test::RecordProperty(what, s.describe());
}

// ---------------------------------------------------------------------------------------------

// The xdraw picture is busy everywhere; a blank, cropped or garbled grab has far fewer colours.
AssertionResult looks_like_pattern(const Image& img) {
    if (img.width != kWidth || img.height != kHeight)
        return AssertionFailure() << "grab is " << img.width << "x" << img.height;
    const size_t colours = distinct_colours(img);
    if (colours < 5000)
        return AssertionFailure() << "grab has only " << colours << " colours: not the pattern";
    return AssertionSuccess();
}

// The encoding rfbcast chose for its most recent SetEncodings, and the list the viewer sent,
// from rfbcast's debug log ("viewer-encodings viewer=N chosen=E list=a,b,").
struct ChosenEncoding {
    std::string chosen;
    std::string list;  // ",a,b,...,"
};
ChosenEncoding last_chosen_encoding(const std::string& log) {
    ChosenEncoding c;
    const size_t at = log.rfind("viewer-encodings ");
    if (at == std::string::npos) return c;
    const std::string line = log.substr(at, log.find('\n', at) - at);
    auto value = [&](const std::string& key) {
        const size_t k = line.find(key);
        if (k == std::string::npos) return std::string();
        const size_t v = k + key.size();
        return line.substr(v, line.find(' ', v) - v);
    };
    c.chosen = value(" chosen=");
    c.list = "," + value(" list=");
    return c;
}

class ViewerEncodingsTest : public ::testing::Test {
  protected:
    void TearDown() override {
        if (HasFailure()) {
            if (rfbcast_)
                std::fprintf(stderr, "--- rfbcast log ---\n%s\n", rfbcast_->log_tail().c_str());
            if (xvnc_) std::fprintf(stderr, "--- Xvnc log ---\n%s\n", xvnc_->log_tail().c_str());
            if (xvfb_) std::fprintf(stderr, "--- Xvfb log ---\n%s\n", xvfb_->log_tail().c_str());
            if (!tiger_log_.empty())
                std::fprintf(stderr, "--- vncviewer log ---\n%s\n", file_tail(tiger_log_).c_str());
        }
        tiger_.stop();
        rfbcast_.reset();
        xvfb_.reset();
        xdraw_.reset();
        xvnc_.reset();
    }

    // Xvnc with xdraw's picture, the direct lossless (ZRLE, 32 bpp) grab of it, and rfbcast in
    // front of it, serving that same picture.
    // JPEG tests keep JPEG on this fast loopback link, and keep it after the screen stills
    // (by default rfbcast sends lossless to links that carry it, and refreshes JPEG tiles).
    static std::vector<std::string> keep_jpeg() {
        return {"--no-lossless-when-fast", "--lossless-refresh-ms", "0"};
    }
    void start_all(uint64_t seed = kSeed, std::vector<std::string> rfbcast_args = keep_jpeg()) {
        xvnc_ = std::make_unique<XvncServer>(dir_, XvncOptions{kWidth, kHeight, {}});
        std::string err;
        ASSERT_TRUE(xvnc_->start(&err)) << "Xvnc: " << err;
        xdraw_ = std::make_unique<Xdraw>(dir_, XdrawOptions{seed, false});
        ASSERT_TRUE(xdraw_->start(xvnc_->display_name(), &err)) << "xdraw: " << err;
        LvcOptions o;
        o.port = xvnc_->port();
        ASSERT_TRUE(grab(o, "direct-zrle", direct_));
        ASSERT_TRUE(looks_like_pattern(direct_));
        RfbcastOptions ro;
        ro.upstream_port = xvnc_->port();
        ro.extra_args = std::move(rfbcast_args);
        rfbcast_ = std::make_unique<Rfbcast>(dir_, ro);
        ASSERT_TRUE(rfbcast_->start(&err)) << err;
        ASSERT_TRUE(warm_up());
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

    AssertionResult grab_through(LvcOptions opt, const std::string& tag, Image& img,
                                 ViewerResult* result = nullptr) {
        opt.port = rfbcast_->port();
        return grab(opt, tag, img, result);
    }

    // rfbcast may accept viewers before its upstream has delivered a whole frame; only this
    // first grab may retry for that. Every measured grab after it must be right at once.
    AssertionResult warm_up() {
        const auto deadline = Clock::now() + milliseconds(15000);
        std::string last = "no attempt";
        for (int i = 0; Clock::now() < deadline; ++i) {
            LvcOptions o;
            o.port = rfbcast_->port();
            o.timeout_ms = 8000;
            o.password_file = warm_up_password_file_;
            Image img;
            AssertionResult r = grab(o, "warmup-" + std::to_string(i), img);
            if (r) {
                const ImageDiff d = compare_images(direct_, img);
                if (d.equal()) return AssertionSuccess();
                last = d.describe();
            } else {
                last = r.message();
            }
            sleep_ms(500);
        }
        return AssertionFailure() << "rfbcast never served the direct picture; last: " << last;
    }

    AssertionResult snapshot(SnapshotOptions opt, const std::string& tag, Image& img) {
        opt.port = rfbcast_->port();
        opt.out_jpeg = dir_.file(tag + ".jpg");
        ViewerResult r = run_vncsnapshot(dir_, opt, tag);
        if (!r.ok()) return AssertionFailure() << "vncsnapshot " << tag << ": " << r.describe();
        std::string err;
        if (!load_jpeg(opt.out_jpeg, img, &err)) return AssertionFailure() << err;
        return AssertionSuccess();
    }

    // TigerVNC's vncviewer full screen on a fresh Xvfb of the desktop's size, through rfbcast.
    void start_tigervnc(TigerViewerOptions opt) {
        xvfb_ = std::make_unique<XvfbServer>(dir_, XvfbOptions{kWidth, kHeight});
        std::string err;
        ASSERT_TRUE(xvfb_->start(&err)) << err;
        opt.port = rfbcast_->port();
        opt.display = xvfb_->display_name();
        tiger_log_ = dir_.file("vncviewer.log");
        ASSERT_TRUE(start_tigervnc_viewer(dir_, opt, "vncviewer", tiger_, &err)) << err;
    }

    // Reads the Xvfb screen with xwd until `accept` takes a grab that also equals the grab
    // before it (the picture has settled), or the deadline passes.
    template <typename Accept>
    AssertionResult screen_settles(Image& img, Accept accept) {
        const auto deadline = Clock::now() + milliseconds(20000);
        Image previous;
        std::string last = "no grab";
        for (int i = 0; Clock::now() < deadline; ++i) {
            if (!tiger_.running())
                return AssertionFailure() << "vncviewer exited (status "
                                          << tiger_.exit_status().value_or(-1) << "); log:\n"
                                          << file_tail(tiger_log_);
            std::string err;
            Image g;
            if (!grab_x_root(dir_, xvfb_->display_name(), dir_.file("screen.xwd"), g, &err))
                return AssertionFailure() << err;
            const bool settled = compare_images(previous, g).equal();
            previous = g;
            if (settled) {
                AssertionResult r = accept(g);
                if (r) {
                    img = std::move(g);
                    return r;
                }
                last = r.message();
            } else {
                last = "still changing";
            }
            sleep_ms(300);
        }
        return AssertionFailure() << "vncviewer's screen never settled on an acceptable picture "
                                     "within 20 s; last: "
                                  << last;
    }

    // Without a window manager the viewer's full-screen window is a direct child of the root;
    // it must cover the root exactly, so that the root grab is the viewer's picture and nothing
    // else (Xvfb's root is black: an uncovered strip would also fail the comparison).
    AssertionResult viewer_covers_screen() {
        std::vector<XWindowGeometry> windows;
        std::string err;
        if (!x_root_children(dir_, xvfb_->display_name(), windows, &err))
            return AssertionFailure() << err;
        std::string seen;
        for (const auto& w : windows) {
            if (w.width == kWidth && w.height == kHeight && w.x == 0 && w.y == 0)
                return AssertionSuccess();
            seen += " " + std::to_string(w.width) + "x" + std::to_string(w.height) + "+" +
                    std::to_string(w.x) + "+" + std::to_string(w.y);
        }
        return AssertionFailure() << "no top-level window covers the " << kWidth << "x" << kHeight
                                  << " screen; windows:" << seen;
    }

    TempDir dir_;
    std::unique_ptr<XvncServer> xvnc_;
    std::unique_ptr<Xdraw> xdraw_;
    std::unique_ptr<Rfbcast> rfbcast_;
    std::unique_ptr<XvfbServer> xvfb_;
    Process tiger_;
    std::string tiger_log_;
    std::string warm_up_password_file_;  // for sessions with a password
    Image direct_;                       // lossless 32 bpp grab straight from Xvnc
};

// ---------------------------------------------------------------------------------------------
// 1. Lossless encodings with libvncclient: exact pixels, and the encoding really used.

struct LosslessCase {
    const char* name;
    const char* encoding;  // what the viewer asks rfbcast for
    int bpp;
    const char* direct_encoding;  // what to ask Xvnc for the same picture (no Zlib in Xvnc)
};

void PrintTo(const LosslessCase& c, std::ostream* os) {
    *os << c.name;
}

class LosslessEncodingTest : public ViewerEncodingsTest,
                             public ::testing::WithParamInterface<LosslessCase> {};

TEST_P(LosslessEncodingTest, ThroughRfbcastEqualsDirectGrab) {
    const LosslessCase& c = GetParam();
    ASSERT_NO_FATAL_FAILURE(start_all());

    LvcOptions o;
    o.port = xvnc_->port();
    o.encodings = c.direct_encoding;
    o.bpp = c.bpp;
    Image direct, through;
    ViewerResult rd, rt;
    ASSERT_TRUE(grab(o, "direct", direct, &rd));
    EXPECT_NE(("," + rd.encodings_seen + ",").find(std::string(",") + c.direct_encoding + ","),
              std::string::npos)
        << "Xvnc sent " << rd.encodings_seen;

    o.encodings = c.encoding;
    ASSERT_TRUE(grab_through(o, "through", through, &rt));
    // rfbcast encodes every rectangle for a viewer with that viewer's preferred encoding.
    EXPECT_EQ(rt.encodings_seen, c.encoding) << "rfbcast sent " << rt.encodings_seen;
    EXPECT_TRUE(same_pixels(direct, through, std::string("direct vs rfbcast, ") + c.name));
    if (c.bpp == 32) {
        EXPECT_TRUE(same_pixels(direct_, through, "direct ZRLE vs rfbcast"));
    } else {
        // The 16 bpp grab really is 16 bpp: the pattern has colours RGB565 cannot hold.
        EXPECT_FALSE(compare_images(direct_, through).equal())
            << "a 16 bpp grab equals the 24-bit picture";
    }
}

INSTANTIATE_TEST_SUITE_P(Lvc, LosslessEncodingTest,
                         ::testing::Values(LosslessCase{"Tight", "tight", 32, "tight"},
                                           LosslessCase{"Tight16", "tight", 16, "tight"},
                                           LosslessCase{"Rre", "rre", 32, "rre"},
                                           LosslessCase{"Zlib", "zlib", 32, "zrle"},
                                           LosslessCase{"Hextile16", "hextile", 16, "hextile"}),
                         [](const auto& info) { return std::string(info.param.name); });

// ---------------------------------------------------------------------------------------------
// 2. Tight with JPEG, libvncclient.

TEST_F(ViewerEncodingsTest, TightJpegWithLibvncclientStaysWithinBounds) {
    ASSERT_NO_FATAL_FAILURE(start_all());
    LvcOptions o;
    o.encodings = "tight";
    Image q8, q3;
    ViewerResult r8, r3;
    o.quality = 8;
    ASSERT_TRUE(grab_through(o, "tight-q8", q8, &r8));
    EXPECT_EQ(r8.encodings_seen, "tight");
    o.quality = 3;
    ASSERT_TRUE(grab_through(o, "tight-q3", q3, &r3));
    EXPECT_EQ(r3.encodings_seen, "tight");

    LossyStats s8, s3;
    EXPECT_TRUE(within(direct_, q8, kQuality8, &s8));
    EXPECT_TRUE(within(direct_, q3, kQuality3, &s3));
    report("lvc tight quality 8", s8);
    report("lvc tight quality 3", s3);
    // JPEG really was used (lossless Tight is exact: LosslessEncodingTest), and the level counts.
    EXPECT_GT(s8.share_changed, 0.02) << "quality 8 looks lossless: no JPEG sent?";
    EXPECT_GT(s3.mean_abs, 2 * s8.mean_abs) << "quality 3 is not coarser than quality 8";
}

TEST_F(ViewerEncodingsTest, TightJpegFineQualityAndSubsamplingWithLibvncclient) {
    ASSERT_NO_FATAL_FAILURE(start_all());
    LvcOptions o;
    o.encodings = "tight";
    o.quality = 3;  // the fine settings override what the level implies
    Image fine, gray;
    ViewerResult rf, rg;
    // -512 + 95: fine quality 95; -768: subsampling 1X (4:4:4).
    o.extra_encodings = "-417,-768";
    ASSERT_TRUE(grab_through(o, "tight-fine95", fine, &rf));
    const ChosenEncoding ce = last_chosen_encoding(rfbcast_->log());
    EXPECT_EQ(ce.chosen, "tight");
    EXPECT_NE(ce.list.find(",-417,-768,"), std::string::npos) << "viewer sent " << ce.list;
    EXPECT_EQ(rf.encodings_seen, "tight");
    LossyStats sf;
    EXPECT_TRUE(within(direct_, fine, kFine95, &sf));
    report("lvc tight fine quality 95 4:4:4", sf);
    EXPECT_GT(sf.share_changed, 0.02) << "fine quality 95 looks lossless: no JPEG sent?";

    // -765: grayscale JPEG. The JPEG-coded pixels lose their colour; all others keep it.
    o.extra_encodings = "-417,-765";
    ASSERT_TRUE(grab_through(o, "tight-gray", gray, &rg));
    EXPECT_EQ(rg.encodings_seen, "tight");
    ASSERT_EQ(gray.rgb.size(), direct_.rgb.size());
    size_t grey_now = 0, grey_before = 0, changed = 0;
    for (size_t i = 0; i + 2 < gray.rgb.size(); i += 3) {
        const bool is_grey = gray.rgb[i] == gray.rgb[i + 1] && gray.rgb[i + 1] == gray.rgb[i + 2];
        const bool was_grey =
            direct_.rgb[i] == direct_.rgb[i + 1] && direct_.rgb[i + 1] == direct_.rgb[i + 2];
        const bool differs = gray.rgb[i] != direct_.rgb[i] ||
                             gray.rgb[i + 1] != direct_.rgb[i + 1] ||
                             gray.rgb[i + 2] != direct_.rgb[i + 2];
        grey_now += is_grey;
        grey_before += was_grey;
        if (differs) {
            ++changed;
            EXPECT_TRUE(is_grey) << "a JPEG-coded pixel kept colour at index " << i / 3;
            if (!is_grey) break;
        }
    }
    std::printf("[  measure ] grayscale JPEG: %zu pixels changed, grey pixels %zu -> %zu\n",
                changed, grey_before, grey_now);
    EXPECT_GT(changed, size_t(kWidth) * kHeight / 20) << "grayscale subsampling had no effect";
}

// The bounds above must be able to fail: a different picture, or the right one moved by a
// pixel, is far outside them.
TEST_F(ViewerEncodingsTest, LossyBoundsRejectWrongPictures) {
    ASSERT_NO_FATAL_FAILURE(start_all());
    LvcOptions o;
    o.encodings = "tight";
    o.quality = 8;
    Image q8;
    ASSERT_TRUE(grab_through(o, "tight-q8", q8));
    ASSERT_TRUE(within(direct_, q8, kQuality8));

    // The same pattern generator with another seed, on a second Xvnc.
    XvncServer other_xvnc(dir_, XvncOptions{kWidth, kHeight, {}});
    std::string err;
    ASSERT_TRUE(other_xvnc.start(&err)) << err;
    TempDir other_dir;  // xdraw's ready/key files are per directory
    Xdraw other_xdraw(other_dir, XdrawOptions{kOtherSeed, false});
    ASSERT_TRUE(other_xdraw.start(other_xvnc.display_name(), &err)) << err;
    LvcOptions d;
    d.port = other_xvnc.port();
    Image other;
    ASSERT_TRUE(grab(d, "other-seed", other));
    ASSERT_TRUE(looks_like_pattern(other));

    const Image moved = shifted(direct_, 1);
    report("quality 8 grab vs another seed", lossy_stats(other, q8));
    report("quality 8 grab vs its picture moved 1 px", lossy_stats(moved, q8));
    for (const LossyBounds& b : {kQuality8, kQuality3, kFine95}) {
        EXPECT_FALSE(within(other, q8, b)) << "another seed passes the " << b.name << " bounds";
        EXPECT_FALSE(within(moved, q8, b)) << "a 1-pixel shift passes the " << b.name << " bounds";
    }
}

// ---------------------------------------------------------------------------------------------
// 3. TigerVNC's vncviewer on Xvfb.

TEST_F(ViewerEncodingsTest, TigerVncViewerZrleIsExact) {
    ASSERT_NO_FATAL_FAILURE(start_all());
    TigerViewerOptions t;
    t.encoding = "ZRLE";
    ASSERT_NO_FATAL_FAILURE(start_tigervnc(t));
    Image screen;
    EXPECT_TRUE(screen_settles(screen, [&](const Image& g) {
        return same_pixels(direct_, g, "vncviewer's screen vs direct grab");
    }));
    EXPECT_TRUE(viewer_covers_screen());
    const ChosenEncoding ce = last_chosen_encoding(rfbcast_->log());
    EXPECT_EQ(ce.chosen, "zrle") << "viewer sent " << ce.list;
    EXPECT_TRUE(tiger_.running()) << file_tail(tiger_log_);
}

TEST_F(ViewerEncodingsTest, TigerVncViewerTightJpegStaysWithinBounds) {
    ASSERT_NO_FATAL_FAILURE(start_all());
    TigerViewerOptions t;
    t.encoding = "Tight";
    t.quality = 8;
    t.compress = 2;
    ASSERT_NO_FATAL_FAILURE(start_tigervnc(t));
    Image screen;
    EXPECT_TRUE(
        screen_settles(screen, [&](const Image& g) { return within(direct_, g, kQuality8); }));
    EXPECT_TRUE(viewer_covers_screen());
    const ChosenEncoding ce = last_chosen_encoding(rfbcast_->log());
    EXPECT_EQ(ce.chosen, "tight");
    EXPECT_NE(ce.list.find(",-24,"), std::string::npos) << "no quality level 8 in " << ce.list;
    if (screen.width == kWidth) {
        const LossyStats s = lossy_stats(direct_, screen);
        report("vncviewer tight quality 8", s);
        EXPECT_GT(s.share_changed, 0.02) << "quality 8 looks lossless: no JPEG sent?";
        EXPECT_FALSE(within(shifted(direct_, 1), screen, kQuality8));
    }
    EXPECT_TRUE(tiger_.running()) << file_tail(tiger_log_);
}

// ---------------------------------------------------------------------------------------------
// 3a. Encrypted viewers (issue 7): TigerVNC's viewer through VeNCrypt, anonymous TLS (TLSVnc,
// its default) and X509Vnc against a certificate it verifies, pixels as exact as in clear.

TEST_F(ViewerEncodingsTest, TigerVncViewerOverTlsVncIsExact) {
    ASSERT_TRUE(write_file(dir_.file("pw"), "tls-pw1\n"));
    warm_up_password_file_ = dir_.file("pw");
    ASSERT_NO_FATAL_FAILURE(start_all(kSeed, {"--password-file", dir_.file("pw")}));
    std::string err;
    TigerViewerOptions t;
    t.encoding = "ZRLE";
    t.security_types = "TLSVnc";
    t.vncauth_file = dir_.file("pw.vncauth");
    ASSERT_TRUE(make_vncauth_file(dir_, "tls-pw1", t.vncauth_file, &err)) << err;
    ASSERT_NO_FATAL_FAILURE(start_tigervnc(t));
    Image screen;
    EXPECT_TRUE(screen_settles(screen, [&](const Image& g) {
        return same_pixels(direct_, g, "vncviewer over TLSVnc vs direct grab");
    }));
    EXPECT_NE(rfbcast_->log().find("security=VeNCrypt/TLSVnc access=full"), std::string::npos)
        << rfbcast_->log_tail();
    EXPECT_TRUE(tiger_.running()) << file_tail(tiger_log_);
}

TEST_F(ViewerEncodingsTest, TigerVncViewerOverX509VncVerifiesTheCertificate) {
    // A self-signed certificate for 127.0.0.1, which the viewer is told to trust.
    const std::string cert = dir_.file("cert.pem"), key = dir_.file("key.pem");
    Process openssl;
    std::string err;
    ASSERT_TRUE(
        openssl.start({"/usr/bin/openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                       "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
                       "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", cert},
                      dir_.file("openssl.out"), dir_.file("openssl.err"), &err))
        << err;
    ASSERT_EQ(openssl.wait_for(milliseconds(20000)), 0) << file_tail(dir_.file("openssl.err"));
    ASSERT_TRUE(write_file(dir_.file("pw"), "x509-pw\n"));
    warm_up_password_file_ = dir_.file("pw");
    ASSERT_NO_FATAL_FAILURE(
        start_all(kSeed, {"--password-file", dir_.file("pw"), "--tls-cert-file", cert,
                          "--tls-key-file", key, "--viewer-tls", "require"}));
    TigerViewerOptions t;
    t.encoding = "ZRLE";
    t.security_types = "X509Vnc";
    t.x509_ca = cert;
    t.vncauth_file = dir_.file("pw.vncauth");
    ASSERT_TRUE(make_vncauth_file(dir_, "x509-pw", t.vncauth_file, &err)) << err;
    ASSERT_NO_FATAL_FAILURE(start_tigervnc(t));
    Image screen;
    EXPECT_TRUE(screen_settles(screen, [&](const Image& g) {
        return same_pixels(direct_, g, "vncviewer over X509Vnc vs direct grab");
    }));
    EXPECT_NE(rfbcast_->log().find("security=VeNCrypt/X509Vnc access=full"), std::string::npos)
        << rfbcast_->log_tail();
    // With TLS required, only VeNCrypt is offered: nothing can authenticate in clear.
    RawRfbClient raw;
    ASSERT_TRUE(raw.connect(rfbcast_->port()));
    uint8_t version[12];
    ASSERT_TRUE(raw.read_exact(version, 12, milliseconds(5000)));
    ASSERT_TRUE(raw.send_bytes({'R', 'F', 'B', ' ', '0', '0', '3', '.', '0', '0', '8', '\n'}));
    uint8_t types[2] = {0, 0};
    ASSERT_TRUE(raw.read_exact(types, 2, milliseconds(5000)));
    EXPECT_EQ(types[0], 1) << "security types offered besides VeNCrypt";
    EXPECT_EQ(types[1], 19);
}

// ---------------------------------------------------------------------------------------------
// 3b. Pacing defaults with real viewers (issue 5): a link that carries lossless gets it although
// the viewer allowed JPEG (TigerVNC's viewer also takes continuous updates and fences here), and
// JPEG tiles are made lossless once the screen is still.

TEST_F(ViewerEncodingsTest, TigerVncViewerOnAFastLinkGetsLosslessTight) {
    ASSERT_NO_FATAL_FAILURE(start_all(kSeed, {}));
    TigerViewerOptions t;
    t.encoding = "Tight";
    t.quality = 8;
    t.compress = 2;
    ASSERT_NO_FATAL_FAILURE(start_tigervnc(t));
    Image screen;
    EXPECT_TRUE(screen_settles(screen, [&](const Image& g) {
        return same_pixels(direct_, g, "vncviewer (Tight, JPEG 8 allowed) vs direct grab");
    }));
    EXPECT_TRUE(viewer_covers_screen());
    EXPECT_EQ(last_chosen_encoding(rfbcast_->log()).chosen, "tight");
    EXPECT_TRUE(tiger_.running()) << file_tail(tiger_log_);
}

TEST_F(ViewerEncodingsTest, JpegTilesBecomeLosslessWhenTheScreenIsStill) {
    ASSERT_NO_FATAL_FAILURE(
        start_all(kSeed, {"--no-lossless-when-fast", "--lossless-refresh-ms", "300"}));
    LvcOptions o;
    o.encodings = "tight";
    o.quality = 3;
    o.hold_ms = 3000;  // the picture first arrives as JPEG; the refresh follows 300 ms later
    Image img;
    ViewerResult r;
    ASSERT_TRUE(grab_through(o, "tight-q3-refreshed", img, &r));
    EXPECT_TRUE(same_pixels(direct_, img, "quality 3 after the lossless refresh vs direct grab"));
    const std::string log = rfbcast_->log();
    EXPECT_NE(log.find("quality=3"), std::string::npos) << "JPEG went out first";
    EXPECT_NE(log.find(" refresh"), std::string::npos) << "then the refresh";
}

// ---------------------------------------------------------------------------------------------
// 4. vncsnapshot asking for Tight. It saves JPEG (quality 100) only, so grabs of identical
// framebuffers are identical files: lossless Tight must give exactly the Hextile grab.

TEST_F(ViewerEncodingsTest, VncsnapshotDecodesRfbcastTight) {
    ASSERT_NO_FATAL_FAILURE(start_all());
    SnapshotOptions s;
    Image hextile, tight, jpeg;
    s.encodings = "hextile";
    ASSERT_TRUE(snapshot(s, "snap-hextile", hextile));
    ASSERT_TRUE(looks_like_pattern(hextile));
    EXPECT_EQ(last_chosen_encoding(rfbcast_->log()).chosen, "hextile");

    s.encodings = "tight";
    ASSERT_TRUE(snapshot(s, "snap-tight", tight));
    EXPECT_EQ(last_chosen_encoding(rfbcast_->log()).chosen, "tight");
    EXPECT_TRUE(same_pixels(hextile, tight, "vncsnapshot hextile vs tight"));

    s.vnc_quality = 8;
    ASSERT_TRUE(snapshot(s, "snap-tight-q8", jpeg));
    const ChosenEncoding ce = last_chosen_encoding(rfbcast_->log());
    EXPECT_EQ(ce.chosen, "tight");
    EXPECT_NE(ce.list.find(",-24,"), std::string::npos) << "no quality level 8 in " << ce.list;
    LossyStats st;
    EXPECT_TRUE(within(direct_, jpeg, kQuality8, &st));
    report("vncsnapshot tight quality 8", st);
    EXPECT_FALSE(compare_images(hextile, jpeg).equal()) << "quality 8 looks lossless";
}

}  // namespace
}  // namespace itest
