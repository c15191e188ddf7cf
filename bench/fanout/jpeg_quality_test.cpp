#include "bench/fanout/jpeg_quality.h"

#include <gtest/gtest.h>
#include <turbojpeg.h>

#include <cstdint>
#include <vector>

#include "bench/fanout/tight_jpeg_tap.h"
#include "codec/framebuffer.h"
#include "codec/pixel_converter.h"
#include "codec/pixel_format.h"
#include "codec/rfb_constants.h"

namespace fanout {
namespace {

// A 48x32 picture with edges and noise, so that no quantiser is trivially zero.
std::vector<uint8_t> test_rgb(int w, int h) {
    std::vector<uint8_t> rgb(static_cast<size_t>(w * h * 3));
    uint32_t seed = 12345;
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) {
            seed = seed * 1103515245u + 12345u;
            uint8_t* p = &rgb[static_cast<size_t>((y * w + x) * 3)];
            p[0] = static_cast<uint8_t>(x * 5 + (seed >> 27));
            p[1] = static_cast<uint8_t>((x / 8 + y / 8) % 2 ? 220 : 30);
            p[2] = static_cast<uint8_t>(y * 7);
        }
    return rgb;
}

std::vector<uint8_t> turbo_jpeg(int quality, int subsampling = TJSAMP_420) {
    const int w = 48, h = 32;
    const std::vector<uint8_t> rgb = test_rgb(w, h);
    tjhandle tj = tjInitCompress();
    EXPECT_NE(tj, nullptr);
    unsigned char* out = nullptr;
    unsigned long size = 0;
    const int rc =
        tjCompress2(tj, rgb.data(), w, w * 3, h, TJPF_RGB, &out, &size, subsampling, quality, 0);
    EXPECT_EQ(rc, 0) << tjGetErrorStr2(tj);
    std::vector<uint8_t> jpeg(out, out + size);
    tjFree(out);
    tjDestroy(tj);
    return jpeg;
}

// The quality-50 luminance table as JPEG files carry it (zig-zag order): Annex K's table K.1.
constexpr std::array<uint16_t, 64> kQ50Zigzag = {
    16, 11, 12,  14,  12,  10, 16, 14,  13,  14,  18,  17,  16, 19,  24,  40,
    26, 24, 22,  22,  24,  49, 35, 37,  29,  40,  58,  51,  61, 60,  57,  51,
    56, 55, 64,  72,  92,  78, 64, 68,  87,  69,  55,  56,  80, 109, 81,  87,
    95, 98, 103, 104, 103, 62, 77, 113, 121, 112, 100, 120, 92, 101, 103, 99};

// SOI, one DQT segment holding `tables` (each: Pq/Tq byte then 64 or 128 bytes), SOS header.
std::vector<uint8_t> handmade(const std::vector<std::vector<uint8_t>>& tables) {
    std::vector<uint8_t> j = {0xFF, 0xD8};
    size_t len = 2;
    for (const auto& t : tables)
        len += t.size();
    j.insert(j.end(), {0xFF, 0xDB, static_cast<uint8_t>(len >> 8), static_cast<uint8_t>(len)});
    for (const auto& t : tables)
        j.insert(j.end(), t.begin(), t.end());
    j.insert(j.end(), {0xFF, 0xDA, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x3F, 0x00});
    return j;
}

std::vector<uint8_t> table8(uint8_t id, const std::array<uint16_t, 64>& v) {
    std::vector<uint8_t> t = {id};
    for (uint16_t x : v)
        t.push_back(static_cast<uint8_t>(x));
    return t;
}

// Where the frame header (SOF0) segment ends in a TurboJPEG stream.
size_t end_of_sof(const std::vector<uint8_t>& j) {
    for (size_t i = 2; i + 3 < j.size(); ++i)
        if (j[i] == 0xFF && j[i + 1] == 0xC0) return i + 2 + (size_t{j[i + 2]} << 8 | j[i + 3]);
    return 0;
}

TEST(JpegQuality, RecoversTurboJpegQuality) {
    for (int q :
         {1, 2, 5, 10, 15, 25, 29, 41, 42, 49, 50, 51, 62, 77, 79, 86, 92, 95, 98, 99, 100}) {
        const auto est = estimate_jpeg_quality(turbo_jpeg(q));
        ASSERT_TRUE(est) << "quality " << q;
        EXPECT_EQ(est->quality, q);
        EXPECT_TRUE(est->exact) << "quality " << q;
    }
}

TEST(JpegQuality, RecoversQualityForGreyAnd444) {
    for (int q : {20, 60, 90}) {
        EXPECT_EQ(estimate_jpeg_quality(turbo_jpeg(q, TJSAMP_GRAY))->quality, q);
        EXPECT_EQ(estimate_jpeg_quality(turbo_jpeg(q, TJSAMP_444))->quality, q);
    }
}

TEST(JpegQuality, Quality50IsAnnexK) {
    const JpegQuality q = quality_for_luma_table(kQ50Zigzag, 255);
    EXPECT_EQ(q.quality, 50);
    EXPECT_TRUE(q.exact);
}

TEST(JpegQuality, ForeignTableGivesNearestInexact) {
    std::array<uint16_t, 64> t = kQ50Zigzag;
    t[10] += 1;
    const JpegQuality q = quality_for_luma_table(t, 255);
    EXPECT_EQ(q.quality, 50);
    EXPECT_FALSE(q.exact);
    std::array<uint16_t, 64> ones{};
    ones.fill(1);
    EXPECT_EQ(quality_for_luma_table(ones, 255).quality, 100);
    std::array<uint16_t, 64> max{};
    max.fill(255);
    EXPECT_EQ(quality_for_luma_table(max, 255).quality, 1);
}

TEST(JpegQuality, SixteenBitTable) {
    std::vector<uint8_t> t = {0x10};  // 16-bit precision, table 0
    for (uint16_t v : kQ50Zigzag)
        t.insert(t.end(), {static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v)});
    const auto est = estimate_jpeg_quality(handmade({t}));
    ASSERT_TRUE(est);
    EXPECT_EQ(est->quality, 50);
    EXPECT_TRUE(est->exact);
}

TEST(JpegQuality, UsesTheFirstComponentsTable) {
    // Table 0 says quality 50, table 1 quality 100 (all ones), and the frame header's first
    // component uses table 1.
    std::array<uint16_t, 64> ones{};
    ones.fill(1);
    std::vector<uint8_t> j = handmade({table8(0, kQ50Zigzag), table8(1, ones)});
    const std::vector<uint8_t> sof = {0xFF, 0xC0, 0x00, 0x0B, 0x08, 0x00, 0x10,
                                      0x00, 0x10, 0x01, 0x01, 0x11, 0x01};
    j.insert(j.end() - 10, sof.begin(), sof.end());  // before the SOS header
    EXPECT_EQ(estimate_jpeg_quality(j)->quality, 100);
    // With no frame header, table 0.
    EXPECT_EQ(estimate_jpeg_quality(handmade({table8(0, kQ50Zigzag), table8(1, ones)}))->quality,
              50);
}

TEST(JpegQuality, TruncatedBeforeTheFrameHeaderGivesNothing) {
    const std::vector<uint8_t> j = turbo_jpeg(75);
    const size_t sof = end_of_sof(j);
    ASSERT_GT(sof, 0u);
    for (size_t n = 0; n <= j.size(); ++n) {
        const auto est = estimate_jpeg_quality(std::span(j.data(), n));
        if (n < sof) {
            EXPECT_FALSE(est) << n;
        } else {
            ASSERT_TRUE(est) << n;
            EXPECT_EQ(est->quality, 75) << n;
        }
    }
}

TEST(JpegQuality, RejectsMalformedStreams) {
    EXPECT_FALSE(estimate_jpeg_quality({}));
    std::vector<uint8_t> j = turbo_jpeg(75);
    j[0] = 0x00;  // no SOI
    EXPECT_FALSE(estimate_jpeg_quality(j));
    EXPECT_FALSE(estimate_jpeg_quality(handmade({table8(5, kQ50Zigzag)})));  // table id 5
    std::vector<uint8_t> bad = {0x20};                                       // precision 2
    bad.resize(65);
    EXPECT_FALSE(estimate_jpeg_quality(handmade({bad})));
    std::vector<uint8_t> short_table = table8(0, kQ50Zigzag);
    short_table.pop_back();
    EXPECT_FALSE(estimate_jpeg_quality(handmade({short_table})));
    // A segment length below 2.
    EXPECT_FALSE(estimate_jpeg_quality(std::vector<uint8_t>{0xFF, 0xD8, 0xFF, 0xDB, 0x00, 0x01}));
    // Garbage between segments.
    std::vector<uint8_t> g = handmade({table8(0, kQ50Zigzag)});
    g.insert(g.begin() + 2, 0x42);
    EXPECT_FALSE(estimate_jpeg_quality(g));
    // No table at all, straight to the scan.
    EXPECT_FALSE(estimate_jpeg_quality(std::vector<uint8_t>{0xFF, 0xD8, 0xFF, 0xDA, 0x00, 0x02}));
}

TEST(TightJpegData, ReadsCompactLengths) {
    std::vector<uint8_t> body = {0x90, 0x05, 1, 2, 3, 4, 5, 6};
    auto d = tight_jpeg_data(body);
    ASSERT_TRUE(d);
    EXPECT_EQ(d->size(), 5u);
    EXPECT_EQ((*d)[0], 1);
    // 200 = 0x48 + (1 << 7): two bytes.
    body = {0x9F, 0xC8, 0x01};
    body.resize(3 + 200, 7);
    d = tight_jpeg_data(body);
    ASSERT_TRUE(d);
    EXPECT_EQ(d->size(), 200u);
    EXPECT_EQ(d->data(), body.data() + 3);
    // 20000 = 0x20 + (0x1C << 7) + (1 << 14): three bytes.
    body = {0x90, 0xA0, 0x9C, 0x01};
    body.resize(4 + 20000);
    d = tight_jpeg_data(body);
    ASSERT_TRUE(d);
    EXPECT_EQ(d->size(), 20000u);
    // The third byte counts all eight bits: 0x80 << 14.
    body = {0x90, 0x80, 0x80, 0x80};
    body.resize(4 + (size_t{0x80} << 14));
    d = tight_jpeg_data(body);
    ASSERT_TRUE(d);
    EXPECT_EQ(d->size(), size_t{0x80} << 14);
}

TEST(TightJpegData, RejectsOtherMethodsAndShortBodies) {
    EXPECT_FALSE(tight_jpeg_data(std::vector<uint8_t>{}));
    EXPECT_FALSE(tight_jpeg_data(std::vector<uint8_t>{0x80, 0, 0, 0}));           // fill
    EXPECT_FALSE(tight_jpeg_data(std::vector<uint8_t>{0x00, 1, 2}));              // basic
    EXPECT_FALSE(tight_jpeg_data(std::vector<uint8_t>{0x90}));                    // no length
    EXPECT_FALSE(tight_jpeg_data(std::vector<uint8_t>{0x90, 0x85}));              // length cut
    EXPECT_FALSE(tight_jpeg_data(std::vector<uint8_t>{0x90, 0x05, 1, 2, 3, 4}));  // data cut
}

TEST(JpegTally, MedianAndSum) {
    JpegTally t;
    EXPECT_FALSE(t.median_quality());
    t.by_quality[40] = 2;
    t.by_quality[90] = 1;
    EXPECT_EQ(t.median_quality(), 40);
    t.by_quality[95] = 2;
    EXPECT_EQ(t.median_quality(), 90);
    JpegTally u;
    u.tight_rects = 3;
    u.by_quality[10] = 5;
    t += u;
    EXPECT_EQ(t.tight_rects, 3u);
    EXPECT_EQ(t.estimated(), 10u);
    EXPECT_EQ(t.median_quality(), 10);
}

// A Tight JPEG rectangle (compression control 0x90) for the 48x32 test picture.
std::vector<uint8_t> tight_jpeg_rect(int quality) {
    const std::vector<uint8_t> jpeg = turbo_jpeg(quality);
    std::vector<uint8_t> body = {0x90};
    size_t n = jpeg.size();
    EXPECT_LT(n, size_t{1} << 14);
    body.push_back(static_cast<uint8_t>((n & 0x7F) | (n > 0x7F ? 0x80 : 0)));
    if (n > 0x7F) body.push_back(static_cast<uint8_t>(n >> 7));
    body.insert(body.end(), jpeg.begin(), jpeg.end());
    return body;
}

TEST(TightJpegTap, TalliesWhatTheTightDecoderFinishes) {
    JpegTally tally;
    bool enabled = true;
    TightJpegTap tap(rfb::make_decoder(rfb::encoding::kTight), &tally, &enabled);
    rfb::Framebuffer fb(64, 64);
    rfb::PixelReader px(rfb::PixelFormat::canonical());
    rfb::DecodeTarget target{fb, px};
    const rfb::Rect r{0, 0, 48, 32};
    const std::vector<uint8_t> body = tight_jpeg_rect(77);
    // Split anywhere: the decoder waits for the whole body, and the tap counts it once.
    for (size_t cut = 1; cut < body.size(); cut += 97) {
        const auto first = tap.decode(r, std::span(body.data(), cut), target);
        ASSERT_EQ(first.status, rfb::DecodeStatus::kNeedMore) << cut;
        const auto all = tap.decode(r, body, target);
        ASSERT_EQ(all.status, rfb::DecodeStatus::kDone) << all.error;
        EXPECT_EQ(all.consumed, body.size());
    }
    const uint64_t rects = tally.tight_rects;
    EXPECT_GT(rects, 0u);
    EXPECT_EQ(tally.jpeg_rects, rects);
    EXPECT_EQ(tally.by_quality[77], rects);
    EXPECT_EQ(tally.inexact, 0u);
    EXPECT_EQ(tally.unreadable, 0u);
    // Fill rectangle (0x80, one TPIXEL): a Tight rect that is not JPEG.
    const std::vector<uint8_t> fill = {0x80, 10, 20, 30};
    ASSERT_EQ(tap.decode(r, fill, target).status, rfb::DecodeStatus::kDone);
    EXPECT_EQ(tally.tight_rects, rects + 1);
    EXPECT_EQ(tally.jpeg_rects, rects);
    // Nothing counts while disabled.
    enabled = false;
    ASSERT_EQ(tap.decode(r, body, target).status, rfb::DecodeStatus::kDone);
    EXPECT_EQ(tally.tight_rects, rects + 1);
}

TEST(TightJpegTap, UnreadableJpegIsCountedAsSuch) {
    JpegTally tally;
    // No DQT in the stream: the quality cannot be told.
    tally_tight_rect(std::vector<uint8_t>{0x90, 0x02, 0xFF, 0xD8}, tally);
    EXPECT_EQ(tally.tight_rects, 1u);
    EXPECT_EQ(tally.jpeg_rects, 1u);
    EXPECT_EQ(tally.unreadable, 1u);
    EXPECT_EQ(tally.estimated(), 0u);
}

}  // namespace
}  // namespace fanout
