#include "codec/websocket_frame_writer.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "codec/websocket_frame_reader.h"

namespace rfb {
namespace {

using Bytes = std::vector<uint8_t>;

Bytes text_bytes(std::string_view s) {
    return Bytes(s.begin(), s.end());
}

Bytes header(WsOpcode op, uint64_t len, bool fin = true) {
    std::array<uint8_t, kWsMaxServerHeaderSize> h{};
    const size_t n = write_ws_frame_header(h, op, len, fin);
    return Bytes(h.begin(), h.begin() + static_cast<std::ptrdiff_t>(n));
}

TEST(WebSocketFrameWriterTest, Rfc6455Examples) {
    // RFC 6455 §5.7.
    Bytes out;
    ASSERT_TRUE(append_ws_frame(out, WsOpcode::kText, text_bytes("Hello")));
    EXPECT_EQ(out, (Bytes{0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f}));

    out.clear();
    ASSERT_TRUE(append_ws_masked_frame(out, WsOpcode::kText, text_bytes("Hello"),
                                       {0x37, 0xfa, 0x21, 0x3d}));
    EXPECT_EQ(out, (Bytes{0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58}));

    out.clear();
    ASSERT_TRUE(append_ws_frame(out, WsOpcode::kText, text_bytes("Hel"), false));
    ASSERT_TRUE(append_ws_frame(out, WsOpcode::kContinuation, text_bytes("lo")));
    EXPECT_EQ(out, (Bytes{0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f}));

    out.clear();
    ASSERT_TRUE(append_ws_ping_frame(out, text_bytes("Hello")));
    EXPECT_EQ(out, (Bytes{0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f}));

    out.clear();
    ASSERT_TRUE(append_ws_masked_frame(out, WsOpcode::kPong, text_bytes("Hello"),
                                       {0x37, 0xfa, 0x21, 0x3d}));
    EXPECT_EQ(out, (Bytes{0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58}));

    // "256 bytes binary message in a single unmasked frame": 0x82 0x7E 0x0100 [256 bytes].
    EXPECT_EQ(header(WsOpcode::kBinary, 256), (Bytes{0x82, 0x7E, 0x01, 0x00}));
    // "64KiB binary message in a single unmasked frame": 0x82 0x7F 0x0000000000010000.
    EXPECT_EQ(header(WsOpcode::kBinary, 65536),
              (Bytes{0x82, 0x7F, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00}));
}

TEST(WebSocketFrameWriterTest, LengthFormBoundaries) {
    EXPECT_EQ(header(WsOpcode::kBinary, 0), (Bytes{0x82, 0x00}));
    EXPECT_EQ(header(WsOpcode::kBinary, 125), (Bytes{0x82, 0x7D}));
    EXPECT_EQ(header(WsOpcode::kBinary, 126), (Bytes{0x82, 0x7E, 0x00, 0x7E}));
    EXPECT_EQ(header(WsOpcode::kBinary, 65535), (Bytes{0x82, 0x7E, 0xFF, 0xFF}));
    EXPECT_EQ(header(WsOpcode::kBinary, 0x123456789AULL),
              (Bytes{0x82, 0x7F, 0x00, 0x00, 0x00, 0x12, 0x34, 0x56, 0x78, 0x9A}));
    EXPECT_EQ(header(WsOpcode::kBinary, (uint64_t{1} << 63) - 1),
              (Bytes{0x82, 0x7F, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}));
    EXPECT_EQ(header(WsOpcode::kBinary, 7, false), (Bytes{0x02, 0x07}));
    EXPECT_EQ(header(WsOpcode::kContinuation, 7, true), (Bytes{0x80, 0x07}));
}

TEST(WebSocketFrameWriterTest, HeadersNoFrameCanHaveAreRefused) {
    std::array<uint8_t, kWsMaxServerHeaderSize> h;
    h.fill(0xEE);
    EXPECT_EQ(write_ws_frame_header(h, WsOpcode::kBinary, uint64_t{1} << 63), 0u);
    EXPECT_EQ(write_ws_frame_header(h, WsOpcode::kPing, 126), 0u);
    EXPECT_EQ(write_ws_frame_header(h, WsOpcode::kClose, 5, false), 0u);
    EXPECT_EQ(write_ws_frame_header(h, static_cast<WsOpcode>(3), 5), 0u);
    EXPECT_EQ(write_ws_frame_header(h, static_cast<WsOpcode>(0x10), 5), 0u);
    for (uint8_t b : h)
        EXPECT_EQ(b, 0xEE);
    EXPECT_EQ(write_ws_frame_header(h, WsOpcode::kPong, 125), 2u);

    Bytes out{9};
    EXPECT_FALSE(append_ws_ping_frame(out, Bytes(126)));
    EXPECT_FALSE(append_ws_pong_frame(out, Bytes(200)));
    EXPECT_FALSE(append_ws_masked_frame(out, WsOpcode::kPing, Bytes(126), {1, 2, 3, 4}));
    EXPECT_EQ(out, Bytes{9});
}

TEST(WebSocketFrameWriterTest, BinaryFrame) {
    Bytes out;
    append_ws_binary_frame(out, Bytes(300, 0x11));
    ASSERT_EQ(out.size(), 304u);
    EXPECT_EQ(Bytes(out.begin(), out.begin() + 4), (Bytes{0x82, 0x7E, 0x01, 0x2C}));
    EXPECT_EQ(Bytes(out.begin() + 4, out.end()), Bytes(300, 0x11));
}

TEST(WebSocketFrameWriterTest, CloseFrames) {
    Bytes out;
    ASSERT_TRUE(append_ws_close_frame(out, kWsCloseNormal, "bye"));
    EXPECT_EQ(out, (Bytes{0x88, 0x05, 0x03, 0xE8, 'b', 'y', 'e'}));

    out.clear();
    ASSERT_TRUE(append_ws_close_frame(out, kWsCloseNoStatus));
    EXPECT_EQ(out, (Bytes{0x88, 0x00}));

    out.clear();
    ASSERT_TRUE(append_ws_close_frame(out, kWsCloseMessageTooBig));
    EXPECT_EQ(out, (Bytes{0x88, 0x02, 0x03, 0xF1}));

    for (uint16_t bad : {0, 999, 1004, 1006, 1015, 2000, 5000}) {
        out.assign({7});
        EXPECT_FALSE(append_ws_close_frame(out, bad, "x")) << bad;
        EXPECT_EQ(out, Bytes{7});
    }
}

TEST(WebSocketFrameWriterTest, CloseReasonIsCutAtACharacterBoundary) {
    Bytes out;
    ASSERT_TRUE(append_ws_close_frame(out, kWsCloseNormal, std::string(200, 'a')));
    ASSERT_EQ(out.size(), 2u + 125u);
    EXPECT_EQ(out[1], 125);
    EXPECT_EQ(Bytes(out.begin() + 4, out.end()), Bytes(123, 'a'));

    // 121 ASCII bytes, then "é" (2 bytes) fits exactly; then "€" (3 bytes) would straddle 123.
    // (Built with append: GCC 12's -Warray-bounds misfires on operator+ with a literal here.)
    std::string fits(121, 'a');
    fits.append("\xc3\xa9");
    std::string longer = fits;
    longer.push_back('z');
    out.clear();
    ASSERT_TRUE(append_ws_close_frame(out, kWsCloseNormal, longer));
    EXPECT_EQ(std::string(out.begin() + 4, out.end()), fits);
    std::string straddles(121, 'a');
    straddles.append("\xe2\x82\xac");
    out.clear();
    ASSERT_TRUE(append_ws_close_frame(out, kWsCloseNormal, straddles));
    EXPECT_EQ(std::string(out.begin() + 4, out.end()), std::string(121, 'a'));

    // A reason that is not UTF-8 is left out, the code is still sent.
    out.clear();
    ASSERT_TRUE(append_ws_close_frame(out, kWsCloseGoingAway, "bad\xff"));
    EXPECT_EQ(out, (Bytes{0x88, 0x02, 0x03, 0xE9}));
}

TEST(WebSocketFrameWriterTest, CloseCodeValidity) {
    for (uint16_t c :
         {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 4999})
        EXPECT_TRUE(ws_close_code_valid(c)) << c;
    for (uint16_t c : {0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535})
        EXPECT_FALSE(ws_close_code_valid(c)) << c;
}

TEST(WebSocketFrameWriterTest, Utf8Validation) {
    auto v = [](std::string_view s) {
        return ws_utf8_valid(
            std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.data()), s.size()));
    };
    EXPECT_TRUE(v(""));
    EXPECT_TRUE(v("plain"));
    EXPECT_TRUE(v(std::string_view("\0", 1)));
    EXPECT_TRUE(v("\xc2\x80"));           // U+0080
    EXPECT_TRUE(v("\xdf\xbf"));           // U+07FF
    EXPECT_TRUE(v("\xe0\xa0\x80"));       // U+0800
    EXPECT_TRUE(v("\xed\x9f\xbf"));       // U+D7FF
    EXPECT_TRUE(v("\xee\x80\x80"));       // U+E000
    EXPECT_TRUE(v("\xef\xbf\xbf"));       // U+FFFF
    EXPECT_TRUE(v("\xf0\x90\x80\x80"));   // U+10000
    EXPECT_TRUE(v("\xf4\x8f\xbf\xbf"));   // U+10FFFF
    EXPECT_FALSE(v("\x80"));              // lone continuation
    EXPECT_FALSE(v("\xc0\xaf"));          // overlong '/'
    EXPECT_FALSE(v("\xc1\xbf"));          // overlong
    EXPECT_FALSE(v("\xe0\x9f\xbf"));      // overlong U+07FF
    EXPECT_FALSE(v("\xed\xa0\x80"));      // surrogate U+D800
    EXPECT_FALSE(v("\xed\xbf\xbf"));      // surrogate U+DFFF
    EXPECT_FALSE(v("\xf0\x8f\xbf\xbf"));  // overlong U+FFFF
    EXPECT_FALSE(v("\xf4\x90\x80\x80"));  // U+110000
    EXPECT_FALSE(v("\xf5\x80\x80\x80"));
    EXPECT_FALSE(v("\xff"));
    EXPECT_FALSE(v("\xc3"));          // truncated
    EXPECT_FALSE(v("\xe2\x82"));      // truncated
    EXPECT_FALSE(v("\xe2\x28\xa1"));  // bad continuation
    EXPECT_FALSE(v("\xf0\x9f\x98"));  // truncated
}

TEST(WebSocketFrameWriterTest, MaskWithOffsetEqualsMaskInOnePiece) {
    const std::array<uint8_t, 4> key = {0x12, 0x34, 0x56, 0x78};
    Bytes data(61);
    for (size_t i = 0; i < data.size(); ++i)
        data[i] = static_cast<uint8_t>(i * 31);
    Bytes whole = data;
    ws_apply_mask(whole, key, 0);
    for (size_t i = 0; i < data.size(); ++i)
        ASSERT_EQ(whole[i], data[i] ^ key[i % 4]) << i;
    for (size_t cut = 0; cut <= data.size(); ++cut) {
        Bytes pieces = data;
        std::span<uint8_t> s(pieces);
        ws_apply_mask(s.first(cut), key, 0);
        ws_apply_mask(s.subspan(cut), key, cut);
        ASSERT_EQ(pieces, whole) << cut;
    }
    // Masking twice restores the data.
    ws_apply_mask(whole, key, 0);
    EXPECT_EQ(whole, data);
}

TEST(WebSocketFrameWriterTest, MaskedFramesReadBack) {
    for (size_t n : {0, 1, 7, 125, 126, 127, 65535, 65536, 70001}) {
        Bytes payload(n);
        for (size_t i = 0; i < n; ++i)
            payload[i] = static_cast<uint8_t>(i ^ (i >> 7));
        Bytes wire;
        ASSERT_TRUE(append_ws_masked_frame(wire, WsOpcode::kBinary, payload,
                                           {static_cast<uint8_t>(n), 0xA5, 0x00, 0xFF}));
        WebSocketFrameReader reader;
        Bytes data;
        const WsEvent e = reader.feed(wire, data);
        EXPECT_EQ(e.kind, WsEvent::kNeedMore);
        EXPECT_EQ(e.consumed, wire.size());
        EXPECT_EQ(data, payload) << n;
    }
    Bytes wire;
    ASSERT_TRUE(
        append_ws_masked_frame(wire, WsOpcode::kPing, text_bytes("are you there"), {9, 8, 7, 6}));
    WebSocketFrameReader reader;
    Bytes data;
    const WsEvent e = reader.feed(wire, data);
    EXPECT_EQ(e.kind, WsEvent::kPing);
    EXPECT_EQ(e.reason(), "are you there");
}

}  // namespace
}  // namespace rfb
