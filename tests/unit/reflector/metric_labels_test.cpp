#include "reflector/metric_labels.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "codec/encoder.h"
#include "codec/framebuffer.h"
#include "codec/pixel_converter.h"
#include "codec/rfb_constants.h"
#include "metrics/metrics.h"

namespace rfbcast {
namespace {

using metrics::Encoding;
using metrics::Limit;

TEST(MetricLabels, EveryCapHasItsOwnLabel) {
    EXPECT_EQ(limit_metric(rfb::LimitKind::kCutText), Limit::kCutText);
    EXPECT_EQ(limit_metric(rfb::LimitKind::kFramebufferSize), Limit::kFramebufferSize);
    EXPECT_EQ(limit_metric(rfb::LimitKind::kCursorSize), Limit::kCursorSize);
    EXPECT_EQ(limit_metric(rfb::LimitKind::kFence), Limit::kFence);
    EXPECT_EQ(limit_metric(rfb::LimitKind::kEncodings), Limit::kEncodings);
    EXPECT_EQ(limit_metric(rfb::LimitKind::kDesktopName), Limit::kDesktopName);
    EXPECT_EQ(limit_metric(rfb::LimitKind::kScreens), Limit::kScreens);
    EXPECT_EQ(limit_metric(rfb::LimitKind::kNone), Limit::kOther);
}

// Real encoder output, so the label follows what actually went on the wire.
std::vector<uint8_t> encode(int32_t encoding, const rfb::Framebuffer& fb, int quality) {
    auto enc = rfb::make_encoder(encoding);
    std::vector<uint8_t> out;
    if (!enc) return out;
    rfb::EncodeTuning t;
    t.quality = quality;
    enc->encode(fb, fb.bounds(), rfb::PixelWriter(rfb::PixelFormat::canonical()), t, out);
    return out;
}

TEST(MetricLabels, TightRectanglesSentAsJpegAreToldApart) {
    // A photo-like gradient: many colours, so Tight takes JPEG when a quality is set.
    rfb::Framebuffer fb(64, 64);
    for (uint32_t y = 0; y < 64; ++y)
        for (uint32_t x = 0; x < 64; ++x)
            fb.row(y)[x] = (x * 4) << 16 | (y * 4) << 8 | ((x * y) & 0xff);
    Encoding e{};
    const std::vector<uint8_t> jpeg = encode(rfb::encoding::kTight, fb, 6);
    ASSERT_FALSE(jpeg.empty());
    ASSERT_TRUE(encoding_metric(rfb::encoding::kTight, jpeg, e));
    EXPECT_EQ(e, Encoding::kTightJpeg);
    const std::vector<uint8_t> lossless = encode(rfb::encoding::kTight, fb, -1);
    ASSERT_FALSE(lossless.empty());
    ASSERT_TRUE(encoding_metric(rfb::encoding::kTight, lossless, e));
    EXPECT_EQ(e, Encoding::kTight);
}

TEST(MetricLabels, EachEncodingRfbcastSendsHasALabel) {
    const std::pair<int32_t, Encoding> table[] = {
        {rfb::encoding::kRaw, Encoding::kRaw},
        {rfb::encoding::kCopyRect, Encoding::kCopyRect},
        {rfb::encoding::kRRE, Encoding::kRre},
        {rfb::encoding::kHextile, Encoding::kHextile},
        {rfb::encoding::kZlib, Encoding::kZlib},
        {rfb::encoding::kZRLE, Encoding::kZrle},
        {rfb::encoding::kZstd, Encoding::kZstd},
        {rfb::encoding::kTightZstd, Encoding::kTightZstd},
        {rfb::encoding::kZSTDRLE, Encoding::kZstdRle},
    };
    const std::vector<uint8_t> body = {0x00};
    for (const auto& [wire, label] : table) {
        Encoding e{};
        ASSERT_TRUE(encoding_metric(wire, body, e)) << wire;
        EXPECT_EQ(e, label) << wire;
    }
    Encoding e{};
    EXPECT_FALSE(encoding_metric(rfb::encoding::kTRLE, body, e));  // rfbcast never sends it
    EXPECT_FALSE(encoding_metric(-239, body, e));                  // a pseudo-encoding
    // An empty Tight body (never produced) is not JPEG.
    ASSERT_TRUE(encoding_metric(rfb::encoding::kTight, {}, e));
    EXPECT_EQ(e, Encoding::kTight);
}

TEST(MetricLabels, AStreamErrorIsCountedByKindAndCap) {
    metrics::Metrics m("test");
    count_stream_error(m, metrics::Side::kUpstream, rfb::LimitKind::kFence, false);
    count_stream_error(m, metrics::Side::kUpstream, rfb::LimitKind::kNone, true);
    count_stream_error(m, metrics::Side::kViewer, rfb::LimitKind::kNone, false);
    const std::string text = m.render();
    auto has = [&](const std::string& line) {
        return text.find("\n" + line + "\n") != std::string::npos;
    };
    EXPECT_TRUE(has("rfbcast_protocol_errors_total{kind=\"limit\",side=\"upstream\"} 1")) << text;
    EXPECT_TRUE(has("rfbcast_protocol_errors_total{kind=\"decoder\",side=\"upstream\"} 1")) << text;
    EXPECT_TRUE(has("rfbcast_protocol_errors_total{kind=\"message\",side=\"viewer\"} 1")) << text;
    EXPECT_TRUE(has("rfbcast_limit_triggered_total{limit=\"fence\"} 1")) << text;
    EXPECT_TRUE(has("rfbcast_protocol_errors_total{kind=\"limit\",side=\"viewer\"} 0")) << text;
}

}  // namespace
}  // namespace rfbcast
