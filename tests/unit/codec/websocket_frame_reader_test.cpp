#include "codec/websocket_frame_reader.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace rfb {
namespace {

using Bytes = std::vector<uint8_t>;

Bytes text_bytes(std::string_view s) {
    return Bytes(s.begin(), s.end());
}

Bytes cat(std::initializer_list<Bytes> parts) {
    Bytes out;
    for (const Bytes& p : parts)
        out.insert(out.end(), p.begin(), p.end());
    return out;
}

constexpr std::array<uint8_t, 4> kKey = {0x37, 0xfa, 0x21, 0x3d};

// A masked client frame built by hand (not with the writer under test): first byte as given,
// shortest length form, mask key, masked payload.
Bytes frame(uint8_t b0, const Bytes& payload, std::array<uint8_t, 4> key = kKey) {
    Bytes out{b0};
    const size_t n = payload.size();
    if (n <= 125) {
        out.push_back(static_cast<uint8_t>(0x80 | n));
    } else if (n <= 0xFFFF) {
        out.push_back(0x80 | 126);
        out.push_back(static_cast<uint8_t>(n >> 8));
        out.push_back(static_cast<uint8_t>(n));
    } else {
        out.push_back(0x80 | 127);
        for (int shift = 56; shift >= 0; shift -= 8)
            out.push_back(static_cast<uint8_t>(static_cast<uint64_t>(n) >> shift));
    }
    out.insert(out.end(), key.begin(), key.end());
    for (size_t i = 0; i < n; ++i)
        out.push_back(payload[i] ^ key[i % 4]);
    return out;
}

Bytes binary(const Bytes& p) {
    return frame(0x82, p);
}

Bytes close_frame(uint16_t code, std::string_view reason) {
    Bytes p{static_cast<uint8_t>(code >> 8), static_cast<uint8_t>(code)};
    p.insert(p.end(), reason.begin(), reason.end());
    return frame(0x88, p);
}

// What a reader reported, with data runs between events merged, so that any delivery of the
// same bytes must give an identical transcript.
struct Entry {
    std::string kind;  // "data", "ping", "pong", "close", "error"
    Bytes bytes;
    uint16_t code = 0;
    std::string error;
    bool operator==(const Entry&) const = default;
};

struct Transcript {
    std::vector<Entry> entries;
    size_t consumed = 0;
    bool operator==(const Transcript&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Transcript& t) {
    os << "consumed " << t.consumed << ":";
    for (const Entry& e : t.entries)
        os << " " << e.kind << "(" << e.bytes.size() << "," << e.code << "," << e.error << ")";
    return os;
}

Transcript run(const Bytes& input, const std::vector<size_t>& cuts,
               size_t cap = kWsDefaultMaxFramePayload) {
    WebSocketFrameReader reader(cap);
    Transcript t;
    Bytes data;
    std::vector<size_t> ends = cuts;
    ends.push_back(input.size());
    size_t from = 0;
    for (size_t end : ends) {
        std::span<const uint8_t> rest(input.data() + from, end - from);
        from = end;
        while (true) {
            const size_t before = data.size();
            const WsEvent e = reader.feed(rest, data);
            EXPECT_LE(data.size() - before, rest.size());
            if (data.size() > before) {
                if (t.entries.empty() || t.entries.back().kind != "data")
                    t.entries.push_back({"data", {}, 0, ""});
                t.entries.back().bytes.insert(t.entries.back().bytes.end(), data.begin() + before,
                                              data.end());
            }
            EXPECT_LE(e.consumed, rest.size());
            t.consumed += e.consumed;
            rest = rest.subspan(e.consumed);
            if (e.kind == WsEvent::kNeedMore) {
                EXPECT_TRUE(rest.empty());
                break;
            }
            Entry entry;
            entry.bytes.assign(e.payload.begin(), e.payload.end());
            entry.code = e.close_code;
            switch (e.kind) {
                case WsEvent::kPing:
                    entry.kind = "ping";
                    break;
                case WsEvent::kPong:
                    entry.kind = "pong";
                    break;
                case WsEvent::kClose:
                    entry.kind = "close";
                    break;
                case WsEvent::kError:
                    entry.kind = "error";
                    entry.error = e.error;
                    EXPECT_EQ(e.consumed, 0u);
                    EXPECT_TRUE(e.payload.empty());
                    break;
                default:
                    break;
            }
            t.entries.push_back(entry);
            if (reader.finished()) {
                // Final: the same event again, nothing more taken or delivered.
                const size_t delivered = data.size();
                const WsEvent again = reader.feed(input, data);
                EXPECT_EQ(again.kind, e.kind);
                EXPECT_EQ(again.close_code, e.close_code);
                EXPECT_EQ(again.consumed, 0u);
                EXPECT_EQ(data.size(), delivered);
                // How much of the input an error leaves unconsumed depends on where the chunks
                // fell (an error consumes nothing of its feed); the transcript leaves it out.
                if (e.kind == WsEvent::kError) t.consumed = 0;
                return t;
            }
        }
    }
    return t;
}

Transcript run(const Bytes& input, size_t cap = kWsDefaultMaxFramePayload) {
    return run(input, {}, cap);
}

void expect_split_invariant(const Bytes& input, size_t cap = kWsDefaultMaxFramePayload) {
    const Transcript whole = run(input, cap);
    for (size_t cut = 0; cut <= input.size(); ++cut)
        ASSERT_EQ(run(input, {cut}, cap), whole) << "cut at " << cut;
    std::vector<size_t> every;
    for (size_t i = 1; i < input.size(); ++i)
        every.push_back(i);
    ASSERT_EQ(run(input, every, cap), whole) << "byte by byte";
}

void expect_error(const Bytes& input, uint16_t code, size_t cap = kWsDefaultMaxFramePayload) {
    const Transcript t = run(input, cap);
    ASSERT_FALSE(t.entries.empty());
    EXPECT_EQ(t.entries.back().kind, "error") << t;
    EXPECT_EQ(t.entries.back().code, code) << t;
    EXPECT_FALSE(t.entries.back().error.empty());
    expect_split_invariant(input, cap);
}

TEST(WebSocketFrameReaderTest, Rfc6455MaskedHelloIsATextFrame) {
    // RFC 6455 §5.7: "A single-frame masked text message" containing "Hello". RFB is binary only.
    const Bytes hello = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58};
    const Transcript t = run(hello);
    ASSERT_EQ(t.entries.size(), 1u) << t;
    EXPECT_EQ(t.entries[0].kind, "error");
    EXPECT_EQ(t.entries[0].code, kWsCloseUnsupportedData);
}

TEST(WebSocketFrameReaderTest, Rfc6455MaskedHelloAsBinary) {
    // The same frame with the binary opcode: the unmasked payload is "Hello".
    const Bytes hello = {0x82, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58};
    const Transcript t = run(hello);
    ASSERT_EQ(t.entries.size(), 1u) << t;
    EXPECT_EQ(t.entries[0].kind, "data");
    EXPECT_EQ(t.entries[0].bytes, text_bytes("Hello"));
    EXPECT_EQ(t.consumed, hello.size());
    expect_split_invariant(hello);
}

TEST(WebSocketFrameReaderTest, Rfc6455MaskedPong) {
    // RFC 6455 §5.7: "A single-frame masked pong" would be 0x8a 0x85 with the same key and bytes.
    const Bytes pong = {0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58};
    const Transcript t = run(pong);
    ASSERT_EQ(t.entries.size(), 1u) << t;
    EXPECT_EQ(t.entries[0].kind, "pong");
    EXPECT_EQ(t.entries[0].bytes, text_bytes("Hello"));
}

TEST(WebSocketFrameReaderTest, Rfc6455LengthForms) {
    // 256 bytes: 126 and a 16-bit length 0x0100; 64 KiB: 127 and a 64-bit length 0x10000.
    Bytes p256(256), p64k(65536);
    for (size_t i = 0; i < p256.size(); ++i)
        p256[i] = static_cast<uint8_t>(i * 7);
    for (size_t i = 0; i < p64k.size(); ++i)
        p64k[i] = static_cast<uint8_t>(i * 13 + (i >> 8));
    const Bytes f256 = binary(p256);
    ASSERT_EQ(Bytes(f256.begin(), f256.begin() + 4), (Bytes{0x82, 0xFE, 0x01, 0x00}));
    const Bytes f64k = binary(p64k);
    ASSERT_EQ(Bytes(f64k.begin(), f64k.begin() + 10),
              (Bytes{0x82, 0xFF, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00}));
    const Transcript t = run(cat({f256, f64k}));
    ASSERT_EQ(t.entries.size(), 1u);
    EXPECT_EQ(t.entries[0].bytes, cat({p256, p64k}));
    expect_split_invariant(f256);
}

TEST(WebSocketFrameReaderTest, PayloadIsStreamedNotBuffered) {
    Bytes payload(1000);
    for (size_t i = 0; i < payload.size(); ++i)
        payload[i] = static_cast<uint8_t>(i);
    const Bytes f = binary(payload);  // 4 header bytes + 4 key bytes
    WebSocketFrameReader reader;
    Bytes data;
    WsEvent e = reader.feed(std::span<const uint8_t>(f.data(), 8 + 300), data);
    EXPECT_EQ(e.kind, WsEvent::kNeedMore);
    EXPECT_EQ(e.consumed, 308u);
    ASSERT_EQ(data.size(), 300u);
    EXPECT_EQ(data, Bytes(payload.begin(), payload.begin() + 300));
    EXPECT_EQ(reader.frame_payload_length(), 1000u);
    EXPECT_EQ(reader.frame_payload_received(), 300u);
    e = reader.feed(std::span<const uint8_t>(f.data() + 308, f.size() - 308), data);
    EXPECT_EQ(e.consumed, f.size() - 308);
    EXPECT_EQ(data, payload);
    EXPECT_EQ(reader.frame_payload_length(), 0u);
    EXPECT_FALSE(reader.in_message());
}

TEST(WebSocketFrameReaderTest, FragmentedMessageWithInterleavedControlFrames) {
    // Binary "Hel" (not final), ping "p1", continuation "lo" (not final), pong, continuation "!",
    // an empty binary frame, a ping with the largest control payload, then a close.
    const Bytes big_ping(125, 0x5a);
    const Bytes stream =
        cat({frame(0x02, text_bytes("Hel")), frame(0x89, text_bytes("p1")),
             frame(0x00, text_bytes("lo")), frame(0x8A, {}), frame(0x80, text_bytes("!")),
             binary({}), frame(0x89, big_ping), binary(text_bytes("tail")),
             close_frame(1000, "bye"), binary(text_bytes("never read"))});
    const Transcript t = run(stream);
    const std::vector<Entry> want = {
        {"data", text_bytes("Hel"), 0, ""},  {"ping", text_bytes("p1"), 0, ""},
        {"data", text_bytes("lo"), 0, ""},   {"pong", {}, 0, ""},
        {"data", text_bytes("!"), 0, ""},    {"ping", big_ping, 0, ""},
        {"data", text_bytes("tail"), 0, ""}, {"close", text_bytes("bye"), 1000, ""},
    };
    EXPECT_EQ(t.entries, want) << t;
    // The frame after the close is not consumed.
    EXPECT_EQ(t.consumed, stream.size() - binary(text_bytes("never read")).size());
    expect_split_invariant(stream);
}

TEST(WebSocketFrameReaderTest, SplitAtEveryPairOfBoundaries) {
    const Bytes stream = cat({frame(0x02, text_bytes("ab")), frame(0x89, text_bytes("x")),
                              frame(0x80, text_bytes("cd")), close_frame(1001, "")});
    const Transcript whole = run(stream);
    for (size_t i = 0; i <= stream.size(); ++i)
        for (size_t j = i; j <= stream.size(); ++j)
            ASSERT_EQ(run(stream, {i, j}), whole) << i << "," << j;
}

TEST(WebSocketFrameReaderTest, EveryProperPrefixReportsNoEvent) {
    const Bytes payload = text_bytes("0123456789");
    const Bytes f = frame(0x89, payload);
    for (size_t n = 0; n < f.size(); ++n) {
        const Transcript t = run(Bytes(f.begin(), f.begin() + static_cast<std::ptrdiff_t>(n)));
        EXPECT_TRUE(t.entries.empty()) << n;
        EXPECT_EQ(t.consumed, n);
    }
    const Bytes d = binary(payload);
    for (size_t n = 0; n < d.size(); ++n) {
        const Transcript t = run(Bytes(d.begin(), d.begin() + static_cast<std::ptrdiff_t>(n)));
        const size_t delivered = n > 6 ? n - 6 : 0;
        if (delivered == 0) {
            EXPECT_TRUE(t.entries.empty()) << n;
        } else {
            ASSERT_EQ(t.entries.size(), 1u) << n;
            EXPECT_EQ(t.entries[0].bytes, Bytes(payload.begin(), payload.begin() + delivered));
        }
    }
}

TEST(WebSocketFrameReaderTest, CloseFrames) {
    Transcript t = run(frame(0x88, {}));
    ASSERT_EQ(t.entries.size(), 1u);
    EXPECT_EQ(t.entries[0].kind, "close");
    EXPECT_EQ(t.entries[0].code, kWsCloseNoStatus);
    EXPECT_TRUE(t.entries[0].bytes.empty());

    for (uint16_t code : {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014,
                          3000, 3999, 4000, 4999}) {
        t = run(close_frame(code, ""));
        ASSERT_EQ(t.entries.size(), 1u);
        EXPECT_EQ(t.entries[0].kind, "close") << code;
        EXPECT_EQ(t.entries[0].code, code);
    }
    const std::string reason = "caf\xc3\xa9 \xe2\x98\x95 \xf0\x9f\x98\x80";
    t = run(close_frame(1000, reason));
    ASSERT_EQ(t.entries.size(), 1u);
    EXPECT_EQ(t.entries[0].bytes, text_bytes(reason));
    t = run(close_frame(1000, std::string(123, 'r')));  // longest reason
    ASSERT_EQ(t.entries.size(), 1u);
    EXPECT_EQ(t.entries[0].kind, "close");
    EXPECT_EQ(t.entries[0].bytes.size(), 123u);
}

TEST(WebSocketFrameReaderTest, ReasonIsReadableThroughTheEvent) {
    WebSocketFrameReader reader;
    Bytes data;
    const Bytes f = close_frame(4001, "going");
    const WsEvent e = reader.feed(f, data);
    EXPECT_EQ(e.kind, WsEvent::kClose);
    EXPECT_EQ(e.close_code, 4001);
    EXPECT_EQ(e.reason(), "going");
    EXPECT_EQ(e.consumed, f.size());
    EXPECT_TRUE(reader.finished());
}

TEST(WebSocketFrameReaderTest, InvalidCloseCodes) {
    for (uint16_t code : {0, 1, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535})
        expect_error(close_frame(code, ""), kWsCloseProtocolError);
}

TEST(WebSocketFrameReaderTest, CloseReasonMustBeUtf8) {
    for (const char* bad : {"\xc0\x80", "\xed\xa0\x80", "\xe2\x82", "\xf4\x90\x80\x80", "\xff",
                            "ok\x80", "\xf8\x88\x80\x80\x80", "\xe0\x80\xaf"})
        expect_error(close_frame(1000, bad), kWsCloseInvalidPayload);
}

TEST(WebSocketFrameReaderTest, CloseWithOneBytePayload) {
    expect_error(frame(0x88, {0x03}), kWsCloseProtocolError);
}

TEST(WebSocketFrameReaderTest, UnmaskedFrame) {
    // RFC 6455 §5.7's unmasked "Hello", with the binary opcode: a server must refuse it.
    expect_error({0x82, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f}, kWsCloseProtocolError);
    expect_error({0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f}, kWsCloseProtocolError);
}

TEST(WebSocketFrameReaderTest, ReservedBits) {
    for (uint8_t rsv : {0x40, 0x20, 0x10, 0x70})
        expect_error(frame(static_cast<uint8_t>(0x82 | rsv), text_bytes("x")),
                     kWsCloseProtocolError);
}

TEST(WebSocketFrameReaderTest, UnknownOpcodes) {
    for (uint8_t op : {0x3, 0x4, 0x5, 0x6, 0x7, 0xB, 0xC, 0xD, 0xE, 0xF})
        expect_error(frame(static_cast<uint8_t>(0x80 | op), {}), kWsCloseProtocolError);
}

TEST(WebSocketFrameReaderTest, ControlFrameRules) {
    // 126 bytes in the 16-bit form: too long for a control frame.
    expect_error({0x89, 0xFE, 0x00, 0x7E}, kWsCloseProtocolError);
    expect_error({0x8A, 0xFF, 0, 0, 0, 0, 0, 0, 0x01, 0x00}, kWsCloseProtocolError);
    expect_error({0x88, 0xFE, 0x00, 0x7E}, kWsCloseProtocolError);
    // Not final.
    expect_error(frame(0x09, {}), kWsCloseProtocolError);
    expect_error(frame(0x08, {}), kWsCloseProtocolError);
    expect_error(frame(0x0A, {}), kWsCloseProtocolError);
}

TEST(WebSocketFrameReaderTest, FragmentationRules) {
    // Continuation with no message started.
    expect_error(frame(0x80, text_bytes("x")), kWsCloseProtocolError);
    expect_error(frame(0x00, text_bytes("x")), kWsCloseProtocolError);
    // After a complete message, a continuation is again outside a message.
    expect_error(cat({binary(text_bytes("a")), frame(0x80, text_bytes("x"))}),
                 kWsCloseProtocolError);
    // A new data frame inside a fragmented message (binary or text).
    expect_error(cat({frame(0x02, text_bytes("a")), binary(text_bytes("b"))}),
                 kWsCloseProtocolError);
    expect_error(cat({frame(0x02, text_bytes("a")), frame(0x81, text_bytes("b"))}),
                 kWsCloseProtocolError);
    // Data before the violation is delivered; the violation stops everything after it.
    const Transcript t = run(cat(
        {frame(0x02, text_bytes("ab")), frame(0x82, text_bytes("cd")), binary(text_bytes("ef"))}));
    ASSERT_EQ(t.entries.size(), 2u) << t;
    EXPECT_EQ(t.entries[0].bytes, text_bytes("ab"));
    EXPECT_EQ(t.entries[1].kind, "error");
}

TEST(WebSocketFrameReaderTest, TextFramesAreUnsupportedData) {
    expect_error(frame(0x81, text_bytes("RFB 003.008\n")), kWsCloseUnsupportedData);
    expect_error(frame(0x01, text_bytes("R")), kWsCloseUnsupportedData);
}

TEST(WebSocketFrameReaderTest, LengthEncodingRules) {
    // 64-bit length with the top bit set.
    expect_error({0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0}, kWsCloseProtocolError);
    // Non-minimal: 0..125 in the 16-bit form, 0..65535 in the 64-bit form.
    expect_error({0x82, 0xFE, 0x00, 0x05}, kWsCloseProtocolError);
    expect_error({0x82, 0xFE, 0x00, 0x7D}, kWsCloseProtocolError);
    expect_error({0x82, 0xFF, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF}, kWsCloseProtocolError);
    expect_error({0x82, 0xFF, 0, 0, 0, 0, 0, 0, 0, 0x05}, kWsCloseProtocolError);
    // The smallest lengths of each form are fine.
    EXPECT_TRUE(run({0x82, 0xFE, 0x00, 0x7E, 1, 2, 3, 4}).entries.empty());
    EXPECT_TRUE(run({0x82, 0xFF, 0, 0, 0, 0, 0, 1, 0, 0, 1, 2, 3, 4}).entries.empty());
}

TEST(WebSocketFrameReaderTest, FrameSizeCap) {
    // Default 16 MiB: exactly that is accepted (header only here), one more byte is 1009.
    const uint64_t cap = kWsDefaultMaxFramePayload;
    auto header64 = [](uint64_t len) {
        Bytes h{0x82, 0xFF};
        for (int shift = 56; shift >= 0; shift -= 8)
            h.push_back(static_cast<uint8_t>(len >> shift));
        h.insert(h.end(), {1, 2, 3, 4});
        return h;
    };
    EXPECT_TRUE(run(header64(cap)).entries.empty());
    expect_error(header64(cap + 1), kWsCloseMessageTooBig);
    expect_error(header64(uint64_t{1} << 62), kWsCloseMessageTooBig);

    // A small configured cap applies to every length form; control frames are not data.
    expect_error(binary(Bytes(101)), kWsCloseMessageTooBig, 100);
    expect_error(binary(Bytes(300)), kWsCloseMessageTooBig, 100);
    EXPECT_EQ(run(binary(Bytes(100)), 100).entries.size(), 1u);
    EXPECT_EQ(run(frame(0x89, Bytes(120)), 100).entries[0].kind, "ping");
    // Fragments are capped one by one, not summed.
    const Transcript t = run(cat({frame(0x02, Bytes(80)), frame(0x80, Bytes(80))}), 100);
    ASSERT_EQ(t.entries.size(), 1u);
    EXPECT_EQ(t.entries[0].bytes.size(), 160u);
}

TEST(WebSocketFrameReaderTest, MaskKeyRotatesAcrossFeeds) {
    Bytes payload(37);
    for (size_t i = 0; i < payload.size(); ++i)
        payload[i] = static_cast<uint8_t>(0xA0 + i);
    const Bytes f = frame(0x82, payload, {0x01, 0x80, 0xFF, 0x7E});
    expect_split_invariant(f);
    EXPECT_EQ(run(f).entries[0].bytes, payload);
}

TEST(WebSocketFrameReaderTest, ErrorIsFinal) {
    WebSocketFrameReader reader;
    Bytes data;
    const Bytes bad = {0x82, 0x05};  // unmasked
    WsEvent e = reader.feed(bad, data);
    EXPECT_EQ(e.kind, WsEvent::kError);
    EXPECT_EQ(e.close_code, kWsCloseProtocolError);
    EXPECT_TRUE(reader.finished());
    const Bytes good = binary(text_bytes("x"));
    e = reader.feed(good, data);
    EXPECT_EQ(e.kind, WsEvent::kError);
    EXPECT_EQ(e.consumed, 0u);
    EXPECT_TRUE(data.empty());
}

}  // namespace
}  // namespace rfb
