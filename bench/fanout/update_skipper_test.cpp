#include "bench/fanout/update_skipper.h"

#include <gtest/gtest.h>

#include <vector>

#include "bench/fanout/moving_content.h"
#include "codec/byte_writer.h"
#include "codec/encoder.h"
#include "codec/framebuffer.h"
#include "codec/pixel_converter.h"
#include "codec/rect_framing.h"
#include "codec/rfb_constants.h"
#include "codec/server_message_reader.h"
#include "codec/server_messages.h"

namespace fanout {
namespace {

constexpr uint32_t kW = 640, kH = 480;
namespace enc = rfb::encoding;

class Counter final : public rfb::ServerMessageSink {
  public:
    void on_update_end() override { ++ended; }
    uint64_t ended = 0;
};

// Canonical-format updates of real content, encoded by the codec's own encoders.
std::vector<uint8_t> encoded_updates(int32_t encoding, size_t& updates) {
    ContentOptions co;
    co.width = kW;
    co.height = kH;
    MovingContent content(co);
    const rfb::PixelWriter px(rfb::PixelFormat::canonical());
    auto encoder = rfb::make_encoder(encoding);
    rfb::ViewerStreamState stream;
    std::vector<uint8_t> out, body;
    rfb::ByteWriter w(out);
    updates = 0;
    for (int frame = 0; frame < 3; ++frame) {
        const FrameChange change = content.advance();
        rfb::write_update_header(w, static_cast<uint16_t>(change.damage.size() + 1));
        rfb::write_copyrect(w, change.copy_dst, change.copy_src_x, change.copy_src_y);
        for (const rfb::Rect& r : change.damage) {
            body.clear();
            EXPECT_TRUE(encoder->encode(content.framebuffer(), r, px, {}, body));
            EXPECT_TRUE(rfb::write_rect_prefix(w, r, encoding, body.size(), stream));
            w.bytes(body);
        }
        ++updates;
    }
    return out;
}

void rect_header(rfb::ByteWriter& w, uint16_t x, uint16_t y, uint16_t rw, uint16_t rh,
                 int32_t encoding) {
    w.u16(x);
    w.u16(y);
    w.u16(rw);
    w.u16(rh);
    w.s32(encoding);
}

// Hand-made Tight rectangles (the codec has no Tight encoder), every form of body the
// skipper must measure, then the other server messages between two updates.
std::vector<uint8_t> tight_and_others(size_t& updates) {
    std::vector<uint8_t> out;
    rfb::ByteWriter w(out);
    w.u8(rfb::server_msg::kFramebufferUpdate);
    w.u8(0);
    w.u16(6);
    rect_header(w, 0, 0, 64, 64, enc::kTight);  // Fill: one 3-byte TPIXEL
    w.u8(0x80);
    w.bytes(std::vector<uint8_t>{1, 2, 3});
    rect_header(w, 64, 0, 20, 10, enc::kTight);  // JPEG, 2-byte compact length 300
    w.u8(0x90);
    w.u8(0xAC);
    w.u8(0x02);
    w.zeros(300);
    rect_header(w, 0, 64, 20, 10, enc::kTight);  // Basic, copy filter implied, 3-byte length
    w.u8(0x01);                                  // stream 0, reset stream 0
    w.u8(static_cast<uint8_t>((20000 & 0x7f) | 0x80));
    w.u8(static_cast<uint8_t>(((20000 >> 7) & 0x7f) | 0x80));
    w.u8(static_cast<uint8_t>(20000 >> 14));
    w.zeros(20000);
    rect_header(w, 0, 100, 8, 1, enc::kTight);  // palette of 2: 1 byte of indices, raw
    w.u8(0x40 | 0x10);                          // explicit filter, stream 1
    w.u8(1);
    w.u8(1);
    w.zeros(2 * 3 + 1);
    rect_header(w, 0, 110, 16, 16, enc::kTight);  // palette of 3: 256 index bytes, compressed
    w.u8(0x40);
    w.u8(1);
    w.u8(2);
    w.zeros(3 * 3);
    w.u8(100);  // compact length 100
    w.zeros(100);
    rect_header(w, 0, 130, 2, 1, enc::kTight);  // gradient: 6 bytes < 12, raw
    w.u8(0x40);
    w.u8(2);
    w.zeros(6);

    w.u8(rfb::server_msg::kBell);
    w.u8(rfb::server_msg::kSetColourMapEntries);
    w.u8(0);
    w.u16(0);
    w.u16(2);
    w.zeros(12);
    w.u8(rfb::server_msg::kServerCutText);
    w.zeros(3);
    w.u32(5);
    w.text("hello");
    w.u8(rfb::server_msg::kServerCutText);  // extended clipboard: negative length
    w.zeros(3);
    w.s32(-8);
    w.zeros(8);
    w.u8(rfb::server_msg::kServerFence);
    w.zeros(3);
    w.u32(0);
    w.u8(4);
    w.zeros(4);

    // Pseudo-rectangles, RRE and Raw, closed by LastRect.
    w.u8(rfb::server_msg::kFramebufferUpdate);
    w.u8(0);
    w.u16(0xFFFF);
    rect_header(w, 0, 0, 4, 2, enc::kCursor);
    w.zeros(4 * 2 * 4 + 1 * 2);
    rect_header(w, 0, 0, 0, 0, enc::kDesktopName);
    w.u32(3);
    w.text("abc");
    rect_header(w, 0, 0, kW, kH, enc::kExtendedDesktopSize);
    w.u8(1);
    w.zeros(3);
    w.zeros(16);
    rect_header(w, 10, 10, 30, 30, enc::kRRE);
    w.u32(2);
    w.zeros(4 + 2 * (4 + 8));
    rect_header(w, 1, 2, 3, 4, enc::kRaw);
    w.zeros(3 * 4 * 4);
    rect_header(w, 0, 0, 0, 0, enc::kLastRect);
    // An empty update.
    w.u8(rfb::server_msg::kFramebufferUpdate);
    w.u8(0);
    w.u16(0);
    updates = 3;
    return out;
}

uint64_t skip_all(const std::vector<uint8_t>& stream, size_t split, bool& ok) {
    UpdateSkipper s(rfb::PixelFormat::canonical(), kW, kH);
    uint64_t updates = 0;
    ok = s.feed(std::span(stream).first(split), updates) &&
         s.feed(std::span(stream).subspan(split), updates) && !s.in_update();
    return updates;
}

class SkipperEncodings : public ::testing::TestWithParam<int32_t> {};

TEST_P(SkipperEncodings, CountsUpdatesAtEverySplit) {
    size_t expected = 0;
    const std::vector<uint8_t> stream = encoded_updates(GetParam(), expected);
    ASSERT_EQ(expected, 3u);
    // Every split point for the start and end; a stride through the (large) middle.
    for (size_t split = 0; split <= stream.size();
         split += (split < 4096 || split + 4096 > stream.size()) ? 1 : 97) {
        bool ok = false;
        ASSERT_EQ(skip_all(stream, split, ok), expected) << "split at " << split;
        ASSERT_TRUE(ok) << "split at " << split;
    }
}

TEST_P(SkipperEncodings, AgreesWithTheFullDecoder) {
    size_t expected = 0;
    const std::vector<uint8_t> stream = encoded_updates(GetParam(), expected);
    rfb::Framebuffer fb(kW, kH);
    rfb::ServerMessageReader reader(fb, rfb::PixelFormat::canonical());
    Counter sink;
    const rfb::ServerReadResult r = reader.feed(stream, sink);
    ASSERT_EQ(r.status, rfb::ServerReadResult::kOk) << r.error;
    EXPECT_EQ(r.consumed, stream.size());
    EXPECT_EQ(sink.ended, expected);
}

INSTANTIATE_TEST_SUITE_P(Codec, SkipperEncodings,
                         ::testing::Values(enc::kRaw, enc::kHextile, enc::kZRLE));

TEST(UpdateSkipper, TightPseudoAndOtherMessagesAtEverySplit) {
    size_t expected = 0;
    const std::vector<uint8_t> stream = tight_and_others(expected);
    for (size_t split = 0; split <= stream.size(); ++split) {
        bool ok = false;
        ASSERT_EQ(skip_all(stream, split, ok), expected) << "split at " << split;
        ASSERT_TRUE(ok) << "split at " << split;
    }
}

TEST(UpdateSkipper, ByteByByte) {
    size_t expected = 0;
    const std::vector<uint8_t> stream = tight_and_others(expected);
    UpdateSkipper s(rfb::PixelFormat::canonical(), kW, kH);
    uint64_t updates = 0;
    for (uint8_t b : stream)
        ASSERT_TRUE(s.feed(std::span(&b, 1), updates));
    EXPECT_EQ(updates, expected);
}

TEST(UpdateSkipper, TruncatedStreamCountsOnlyWholeUpdates) {
    size_t expected = 0;
    const std::vector<uint8_t> stream = tight_and_others(expected);
    UpdateSkipper s(rfb::PixelFormat::canonical(), kW, kH);
    uint64_t updates = 0;
    // Cut inside the first update's 20000-byte body.
    ASSERT_TRUE(s.feed(std::span(stream).first(1000), updates));
    EXPECT_EQ(updates, 0u);
    EXPECT_TRUE(s.in_update());
    EXPECT_FALSE(s.failed());
}

TEST(UpdateSkipper, SixteenBitHextile) {
    // 16 bpp: one raw 16x16 tile (512 bytes), then a tile with background, foreground and two
    // uncoloured subrects, then a tile with one coloured subrect.
    rfb::PixelFormat pf = rfb::PixelFormat::rgb565();
    std::vector<uint8_t> out;
    rfb::ByteWriter w(out);
    w.u8(0);
    w.u8(0);
    w.u16(1);
    rect_header(w, 0, 0, 48, 16, enc::kHextile);
    w.u8(1);
    w.zeros(16 * 16 * 2);
    w.u8(2 | 4 | 8);
    w.zeros(2 + 2);
    w.u8(2);
    w.zeros(2 * 2);
    w.u8(8 | 16);
    w.u8(1);
    w.zeros(2 + 2);
    UpdateSkipper s(pf, kW, kH);
    uint64_t updates = 0;
    ASSERT_TRUE(s.feed(out, updates));
    EXPECT_EQ(updates, 1u);
    EXPECT_FALSE(s.in_update());
    // One byte short of the end: not finished.
    UpdateSkipper t(pf, kW, kH);
    updates = 0;
    ASSERT_TRUE(t.feed(std::span(out).first(out.size() - 1), updates));
    EXPECT_EQ(updates, 0u);
}

std::vector<uint8_t> one_rect(uint16_t x, uint16_t y, uint16_t w_, uint16_t h, int32_t e) {
    std::vector<uint8_t> out;
    rfb::ByteWriter w(out);
    w.u8(0);
    w.u8(0);
    w.u16(1);
    rect_header(w, x, y, w_, h, e);
    return out;
}

TEST(UpdateSkipper, RejectsWhatItCannotMeasure) {
    uint64_t updates = 0;
    {
        UpdateSkipper s(rfb::PixelFormat::canonical(), kW, kH);
        const uint8_t bad_type = 77;
        EXPECT_FALSE(s.feed(std::span(&bad_type, 1), updates));
        EXPECT_TRUE(s.failed());
    }
    {
        UpdateSkipper s(rfb::PixelFormat::canonical(), kW, kH);
        EXPECT_FALSE(s.feed(one_rect(0, 0, 8, 8, enc::kTRLE), updates));  // not supported
    }
    {
        UpdateSkipper s(rfb::PixelFormat::canonical(), kW, kH);
        EXPECT_FALSE(s.feed(one_rect(kW - 4, 0, 8, 8, enc::kRaw), updates));  // outside
    }
    {
        UpdateSkipper s(rfb::PixelFormat::canonical(), kW, kH);
        std::vector<uint8_t> bad = one_rect(0, 0, 8, 8, enc::kTight);
        bad.push_back(0xA0);  // compression type 10
        EXPECT_FALSE(s.feed(bad, updates));
    }
    {
        UpdateSkipper s(rfb::PixelFormat::canonical(), kW, kH);
        std::vector<uint8_t> fence = {rfb::server_msg::kServerFence, 0, 0, 0, 0, 0, 0, 0, 65};
        EXPECT_FALSE(s.feed(fence, updates));
    }
    EXPECT_EQ(updates, 0u);
    // Once failed, always failed.
    UpdateSkipper s(rfb::PixelFormat::canonical(), kW, kH);
    const uint8_t bad_type = 77, bell = rfb::server_msg::kBell;
    EXPECT_FALSE(s.feed(std::span(&bad_type, 1), updates));
    EXPECT_FALSE(s.feed(std::span(&bell, 1), updates));
}

TEST(UpdateSkipper, DesktopSizeMovesTheBounds) {
    std::vector<uint8_t> out;
    rfb::ByteWriter w(out);
    w.u8(0);
    w.u8(0);
    w.u16(2);
    rect_header(w, 0, 0, 1000, 900, enc::kDesktopSize);
    rect_header(w, 900, 800, 10, 10, enc::kCopyRect);  // fits only after the resize
    w.u32(0);
    UpdateSkipper s(rfb::PixelFormat::canonical(), kW, kH);
    uint64_t updates = 0;
    ASSERT_TRUE(s.feed(out, updates)) << s.error();
    EXPECT_EQ(updates, 1u);
}

}  // namespace
}  // namespace fanout
