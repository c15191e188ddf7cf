#include "codec/client_message_parser.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <vector>

namespace rfb {
namespace {

using Bytes = std::vector<uint8_t>;

Bytes wire(const ClientMessage& m) {
    Bytes out;
    ByteWriter w(out);
    write_client_message(w, m);
    return out;
}

// A reader's loop: bytes arrive in the chunks given by `cuts`; after each chunk, parse as many
// messages as the buffer holds. Returns the messages, or stops at the first error.
struct Drained {
    std::vector<ClientMessage> messages;
    std::string error;
};
Drained drain(const ClientMessageParser& p, const Bytes& stream, const std::vector<size_t>& cuts) {
    Drained d;
    Bytes buf;
    size_t from = 0;
    std::vector<size_t> ends = cuts;
    ends.push_back(stream.size());
    for (size_t end : ends) {
        buf.insert(buf.end(), stream.begin() + from, stream.begin() + end);
        from = end;
        for (;;) {
            ClientParse r = p.parse(buf);
            if (r.status == ClientParse::kError) {
                d.error = r.error;
                return d;
            }
            if (r.status == ClientParse::kNeedMore) {
                EXPECT_EQ(r.consumed, 0u);
                break;
            }
            EXPECT_GT(r.consumed, 0u);
            d.messages.push_back(r.message);
            buf.erase(buf.begin(), buf.begin() + r.consumed);
        }
    }
    EXPECT_TRUE(buf.empty()) << buf.size() << " bytes left over";
    return d;
}

ClientParse parse(const Bytes& b, ClientParserLimits l = {}) {
    return ClientMessageParser(l).parse(b);
}

std::vector<ClientMessage> sample_messages() {
    ClientCutTextMsg plain;
    plain.latin1 = "caf\xe9\nline";
    ClientCutTextMsg ext;
    ext.extended = true;
    ext.extended_payload = {0x10, 0, 0, 1, 0, 0, 0, 3, 'a', 'b', 'c'};
    return {SetPixelFormatMsg{PixelFormat::bgr233()},
            SetEncodingsMsg{{7, 16, 0, -223, -308, -239, static_cast<int32_t>(0xC0A1E5CE)}},
            UpdateRequestMsg{true, Rect{10, 20, 300, 400}},
            KeyEventMsg{true, 0xffe1},
            PointerEventMsg{3, 640, 480},
            plain,
            ext,
            EnableContinuousUpdatesMsg{true, Rect{0, 0, 1280, 1024}},
            ClientFenceMsg{0x80000007u, {1, 2, 3, 4}},
            QemuKeyEventMsg{false, 0xff53, 0xcd},
            SetDesktopSizeMsg{800, 600, {Screen{7, 0, 0, 800, 600, 0}, Screen{8, 10, 0, 5, 5, 1}}},
            SetEncodingsMsg{},
            ClientFenceMsg{0, {}}};
}

TEST(ClientMessageParser, ParsesHandWrittenBytes) {
    ClientParse r = parse(Bytes{3, 0, 0, 1, 0, 2, 0, 30, 0, 40, 0xee});
    ASSERT_EQ(r.status, ClientParse::kMessage);
    EXPECT_EQ(r.consumed, 10u);
    EXPECT_EQ(std::get<UpdateRequestMsg>(r.message), (UpdateRequestMsg{false, Rect{1, 2, 30, 40}}));

    r = parse(Bytes{4, 7, 0, 0, 0, 0, 0xff, 0x08});
    ASSERT_EQ(r.status, ClientParse::kMessage);
    EXPECT_EQ(std::get<KeyEventMsg>(r.message), (KeyEventMsg{true, 0xff08}));

    r = parse(Bytes{5, 0x81, 0xff, 0xfe, 0, 1});
    ASSERT_EQ(r.status, ClientParse::kMessage);
    EXPECT_EQ(std::get<PointerEventMsg>(r.message), (PointerEventMsg{0x81, 0xfffe, 1}));

    r = parse(Bytes{2, 0, 0, 2, 0xff, 0xff, 0xff, 0x20, 0, 0, 0, 5});
    ASSERT_EQ(r.status, ClientParse::kMessage);
    EXPECT_EQ(std::get<SetEncodingsMsg>(r.message).encodings, (std::vector<int32_t>{-224, 5}));

    r = parse(Bytes{255, 0, 0, 2, 0, 0, 0, 0x61, 0, 0, 0, 0x1e});
    ASSERT_EQ(r.status, ClientParse::kMessage);
    EXPECT_EQ(std::get<QemuKeyEventMsg>(r.message), (QemuKeyEventMsg{true, 0x61, 0x1e}));

    r = parse(Bytes{6, 0, 0, 0, 0, 0, 0, 2, 'o', 'k'});
    ASSERT_EQ(r.status, ClientParse::kMessage);
    EXPECT_EQ(std::get<ClientCutTextMsg>(r.message).latin1, "ok");
    EXPECT_FALSE(std::get<ClientCutTextMsg>(r.message).extended);

    r = parse(Bytes{150, 0, 0, 1, 0, 2, 0, 3, 0, 4});
    ASSERT_EQ(r.status, ClientParse::kMessage);
    EXPECT_EQ(std::get<EnableContinuousUpdatesMsg>(r.message),
              (EnableContinuousUpdatesMsg{false, Rect{1, 2, 3, 4}}));
}

TEST(ClientMessageParser, RoundTripsEveryMessage) {
    for (const ClientMessage& m : sample_messages()) {
        const Bytes b = wire(m);
        ClientParse r = parse(b);
        ASSERT_EQ(r.status, ClientParse::kMessage) << r.error;
        EXPECT_EQ(r.consumed, b.size());
        EXPECT_EQ(r.message, m) << "variant index " << m.index();
    }
}

TEST(ClientMessageParser, EveryTruncationNeedsMoreAndConsumesNothing) {
    for (const ClientMessage& m : sample_messages()) {
        const Bytes b = wire(m);
        for (size_t n = 0; n < b.size(); ++n) {
            ClientParse r = parse(Bytes(b.begin(), b.begin() + n));
            ASSERT_EQ(r.status, ClientParse::kNeedMore) << "index " << m.index() << " len " << n;
            EXPECT_EQ(r.consumed, 0u);
            EXPECT_GT(r.needed, n);
            EXPECT_LE(r.needed, b.size());
        }
    }
}

TEST(ClientMessageParser, SameMessagesWhateverTheChunking) {
    Bytes stream;
    const auto expected = sample_messages();
    for (const auto& m : expected) {
        const Bytes b = wire(m);
        stream.insert(stream.end(), b.begin(), b.end());
    }
    const ClientMessageParser p;
    Drained whole = drain(p, stream, {});
    EXPECT_EQ(whole.messages, expected);
    for (size_t cut = 1; cut < stream.size(); ++cut) {
        Drained d = drain(p, stream, {cut});
        ASSERT_EQ(d.messages, expected) << "cut at " << cut;
    }
    std::vector<size_t> every;
    for (size_t i = 1; i < stream.size(); ++i)
        every.push_back(i);
    EXPECT_EQ(drain(p, stream, every).messages, expected);
}

TEST(ClientMessageParser, UnknownTypesAreErrors) {
    for (uint8_t t : {1, 7, 8, 127, 149, 249, 250, 252, 253, 254}) {
        ClientParse r = parse(Bytes{t, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0});
        EXPECT_EQ(r.status, ClientParse::kError) << int(t);
        EXPECT_NE(r.error.find("unknown"), std::string::npos);
    }
}

TEST(ClientMessageParser, QemuSubtypesOtherThanKeyEventsAreErrors) {
    ClientParse r = parse(Bytes{255, 1});
    EXPECT_EQ(r.status, ClientParse::kError);
    EXPECT_EQ(parse(Bytes{255, 2, 0, 0}).status, ClientParse::kError);
    EXPECT_EQ(parse(Bytes{255, 0}).status, ClientParse::kNeedMore);
}

TEST(ClientMessageParser, OversizeCutTextFailsAsSoonAsTheLengthIsKnown) {
    ClientParserLimits l;
    l.max_cut_text = 10;
    // Exactly the limit is fine.
    Bytes ok{6, 0, 0, 0, 0, 0, 0, 10};
    ok.resize(18, 'x');
    EXPECT_EQ(parse(ok, l).status, ClientParse::kMessage);
    // One over, with no body bytes at all yet.
    EXPECT_EQ(parse(Bytes{6, 0, 0, 0, 0, 0, 0, 11}, l).status, ClientParse::kError);
    // Default limit: 2^31-1 and the negative extremes.
    EXPECT_EQ(parse(Bytes{6, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff}).status, ClientParse::kError);
    EXPECT_EQ(parse(Bytes{6, 0, 0, 0, 0x80, 0, 0, 0}).status, ClientParse::kError);  // INT32_MIN
    EXPECT_EQ(parse(Bytes{6, 0, 0, 0, 0, 0x04, 0, 1}).status, ClientParse::kError);  // 256 KiB + 1
    EXPECT_EQ(parse(Bytes{6, 0, 0, 0, 0, 0x04, 0, 0}).status, ClientParse::kNeedMore);
    // Extended (negative) lengths over the limit, and too short to hold the flags.
    EXPECT_EQ(parse(Bytes{6, 0, 0, 0, 0xff, 0xff, 0xff, 0xf5}, l).status, ClientParse::kError);
    EXPECT_EQ(parse(Bytes{6, 0, 0, 0, 0xff, 0xff, 0xff, 0xff}).status,
              ClientParse::kError);  // 2^32-1 = -1
    EXPECT_EQ(parse(Bytes{6, 0, 0, 0, 0xff, 0xff, 0xff, 0xfd}).status, ClientParse::kError);
    EXPECT_EQ(parse(Bytes{6, 0, 0, 0, 0xff, 0xff, 0xff, 0xfc}).status, ClientParse::kNeedMore);
}

// A lowered fence cap (issue 7): at the cap it parses, one byte past it is a kFence error, and
// the buffer a reader needs shrinks or grows with the cut-text cap.
TEST(ClientMessageParser, LoweredFenceCapAndTheBufferItNeeds) {
    ClientParserLimits l;
    l.max_fence_payload = 4;
    const ClientParse at = parse(Bytes{248, 0, 0, 0, 0, 0, 0, 0, 4, 9, 8, 7, 6}, l);
    ASSERT_EQ(at.status, ClientParse::kMessage) << at.error;
    EXPECT_EQ(at.consumed, 13u);
    const ClientParse over = parse(Bytes{248, 0, 0, 0, 0, 0, 0, 0, 5}, l);
    EXPECT_EQ(over.status, ClientParse::kError);
    EXPECT_EQ(over.limit, LimitKind::kFence);
    EXPECT_NE(over.error.find("exceeds 4"), std::string::npos) << over.error;

    ClientParserLimits big;
    big.max_cut_text = 4 * 1024 * 1024;
    EXPECT_EQ(ClientMessageParser(big).max_message_size(), 8u + 4 * 1024 * 1024);
}

// The reflector counts which cap fired (issue 9) from `limit`.
TEST(ClientMessageParser, ErrorsNameTheCapThatFired) {
    ClientParserLimits l;
    l.max_cut_text = 10;
    EXPECT_EQ(parse(Bytes{6, 0, 0, 0, 0, 0, 0, 11}, l).limit, LimitKind::kCutText);
    EXPECT_EQ(parse(Bytes{6, 0, 0, 0, 0xff, 0xff, 0xff, 0xf5}, l).limit, LimitKind::kCutText);
    EXPECT_EQ(parse(Bytes{2, 0, 0xff, 0xff}).limit, LimitKind::kEncodings);
    EXPECT_EQ(parse(Bytes{248, 0, 0, 0, 0, 0, 0, 0, 65}).limit, LimitKind::kFence);
    EXPECT_EQ(parse(Bytes{251, 0, 0, 0, 0, 0, 65, 0}).limit, LimitKind::kScreens);
    // Malformed, not over a cap; and no error at all.
    EXPECT_EQ(parse(Bytes{99}).limit, LimitKind::kNone);
    EXPECT_EQ(parse(Bytes{6, 0, 0, 0, 0xff, 0xff, 0xff, 0xfe}).status, ClientParse::kError);
    EXPECT_EQ(parse(Bytes{6, 0, 0, 0, 0xff, 0xff, 0xff, 0xfe}).limit, LimitKind::kNone);
    EXPECT_EQ(parse(Bytes{6, 0, 0, 0, 0, 0, 0, 1, 'x'}).limit, LimitKind::kNone);
}

TEST(ClientMessageParser, TooManyEncodingsFailsFromTheHeader) {
    EXPECT_EQ(parse(Bytes{2, 0, 0x04, 0x01}).status, ClientParse::kError);  // 1025
    EXPECT_EQ(parse(Bytes{2, 0, 0xff, 0xff}).status, ClientParse::kError);
    ClientParse r = parse(Bytes{2, 0, 0x04, 0x00});  // 1024: fine, needs its bytes
    EXPECT_EQ(r.status, ClientParse::kNeedMore);
    EXPECT_EQ(r.needed, 4u + 4096u);
    ClientParserLimits l;
    l.max_encodings = 2;
    EXPECT_EQ(parse(Bytes{2, 0, 0, 3}, l).status, ClientParse::kError);
}

TEST(ClientMessageParser, FencePayloadOver64IsAnError) {
    EXPECT_EQ(parse(Bytes{248, 0, 0, 0, 0, 0, 0, 0, 65}).status, ClientParse::kError);
    EXPECT_EQ(parse(Bytes{248, 0, 0, 0, 0, 0, 0, 0, 255}).status, ClientParse::kError);
    EXPECT_EQ(parse(Bytes{248, 0, 0, 0, 0, 0, 0, 0, 64}).status, ClientParse::kNeedMore);
}

TEST(ClientMessageParser, TooManyScreensIsAnError) {
    EXPECT_EQ(parse(Bytes{251, 0, 1, 0, 1, 0, 65, 0}).status, ClientParse::kError);
    EXPECT_EQ(parse(Bytes{251, 0, 1, 0, 1, 0, 64, 0}).status, ClientParse::kNeedMore);
}

TEST(ClientMessageParser, BadPixelFormatsAreErrors) {
    auto spf = [](PixelFormat pf) { return wire(SetPixelFormatMsg{pf}); };
    PixelFormat pf;
    pf.bits_per_pixel = 24;
    EXPECT_EQ(parse(spf(pf)).status, ClientParse::kError);
    pf = PixelFormat{};
    pf.red_max = 200;
    EXPECT_EQ(parse(spf(pf)).status, ClientParse::kError);
    pf = PixelFormat{};
    pf.green_shift = 30;
    EXPECT_EQ(parse(spf(pf)).status, ClientParse::kError);
    pf = PixelFormat{};
    pf.true_colour = false;  // a colour map is only possible with 8 bpp
    ClientParse r = parse(spf(pf));
    EXPECT_EQ(r.status, ClientParse::kError);
    EXPECT_NE(r.error.find("colour-map"), std::string::npos);
    pf = PixelFormat::bgr233();
    pf.true_colour = false;  // 8 bpp colour map: served with rfbcast's BGR233 map
    EXPECT_EQ(parse(spf(pf)).status, ClientParse::kMessage);
    pf = PixelFormat{};
    pf.depth = 0;
    EXPECT_EQ(parse(spf(pf)).status, ClientParse::kError);
}

TEST(ClientMessageParser, ErrorInTheMiddleOfAStreamStopsThere) {
    Bytes stream = wire(KeyEventMsg{true, 1});
    stream.push_back(99);
    const Bytes tail = wire(KeyEventMsg{false, 1});
    stream.insert(stream.end(), tail.begin(), tail.end());
    Drained d = drain(ClientMessageParser{}, stream, {});
    EXPECT_EQ(d.messages.size(), 1u);
    EXPECT_FALSE(d.error.empty());
}

TEST(ClientMessageParser, RandomInputNeverCrashes) {
    std::mt19937 rng(99);
    const ClientMessageParser p;
    const uint8_t types[] = {0, 2, 3, 4, 5, 6, 150, 248, 251, 255};
    for (int iter = 0; iter < 20000; ++iter) {
        Bytes b(rng() % 64);
        for (auto& x : b)
            x = static_cast<uint8_t>(rng());
        if (!b.empty() && iter % 2) b[0] = types[rng() % std::size(types)];
        ClientParse r = p.parse(b);
        if (r.status == ClientParse::kMessage) {
            EXPECT_GT(r.consumed, 0u);
            EXPECT_LE(r.consumed, b.size());
            // Writing it back and re-parsing gives the same message (flags and padding are
            // normalised on the way, so the bytes may differ).
            const Bytes again = wire(r.message);
            ClientParse r2 = p.parse(again);
            ASSERT_EQ(r2.status, ClientParse::kMessage) << iter;
            EXPECT_EQ(r2.consumed, again.size());
            EXPECT_EQ(r2.message, r.message) << iter;
        } else if (r.status == ClientParse::kError) {
            EXPECT_FALSE(r.error.empty());
        } else {
            EXPECT_EQ(r.consumed, 0u);
        }
    }
}

TEST(ClientMessageParser, MaxMessageSizeCoversTheLimits) {
    EXPECT_EQ(ClientMessageParser{}.max_message_size(), 8u + 256u * 1024u);
}

}  // namespace
}  // namespace rfb
