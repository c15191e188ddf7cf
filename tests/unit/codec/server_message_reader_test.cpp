#include "codec/server_message_reader.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "codec/server_messages.h"

namespace rfb {
namespace {

using Bytes = std::vector<uint8_t>;

// Raw decoding one whole row at a time, so that rectangles stream across feed() calls: the
// reader must resume them, and finish each exactly once, however the bytes are split.
class RowRawDecoder : public RectDecoder {
  public:
    int32_t encoding() const override { return encoding::kRaw; }
    DecodeResult decode(const Rect& r, std::span<const uint8_t> data, DecodeTarget& t) override {
        if (r.empty()) return DecodeResult::done(0);
        const size_t row_bytes = size_t{r.w} * t.pixels.bytes_per_pixel();
        std::vector<uint32_t> row(r.w);
        size_t used = 0;
        while (row_ < r.h && data.size() - used >= row_bytes) {
            t.pixels.read_row(data.data() + used, r.w, row.data());
            t.fb.put(Rect{r.x, r.y + row_, r.w, 1}, row.data(), r.w);
            used += row_bytes;
            ++row_;
        }
        if (row_ == r.h) {
            row_ = 0;
            return DecodeResult::done(used);
        }
        return used ? DecodeResult::progress(used) : DecodeResult::need_more();
    }
    void reset() override {
        row_ = 0;
        ++*resets_;
    }
    explicit RowRawDecoder(int* resets) : resets_(resets) {}

  private:
    uint32_t row_ = 0;
    int* resets_;
};

// Misbehaving decoders, to check the reader does not trust them either.
class ScriptedDecoder : public RectDecoder {
  public:
    explicit ScriptedDecoder(DecodeResult r) : r_(std::move(r)) {}
    int32_t encoding() const override { return 99; }
    DecodeResult decode(const Rect&, std::span<const uint8_t>, DecodeTarget&) override {
        return r_;
    }

  private:
    DecodeResult r_;
};

struct Recorder : ServerMessageSink {
    std::vector<std::string> ev;
    CursorImage cursor;
    ExtendedDesktopSizeInfo ext;
    static std::string r(const Rect& x) {
        return std::to_string(x.x) + "," + std::to_string(x.y) + " " + std::to_string(x.w) + "x" +
               std::to_string(x.h);
    }
    void on_update_begin() override { ev.push_back("begin"); }
    void on_damage(const Rect& x) override { ev.push_back("damage " + r(x)); }
    void on_copy(const Rect& d, uint32_t sx, uint32_t sy) override {
        ev.push_back("copy " + r(d) + " from " + std::to_string(sx) + "," + std::to_string(sy));
    }
    void on_update_end() override { ev.push_back("end"); }
    void on_resize(uint32_t w, uint32_t h) override {
        ev.push_back("resize " + std::to_string(w) + "x" + std::to_string(h));
    }
    void on_extended_desktop_size(const ExtendedDesktopSizeInfo& i) override {
        ext = i;
        ev.push_back("eds " + std::to_string(i.reason) + "/" + std::to_string(i.status) + " " +
                     std::to_string(i.screens.size()));
    }
    void on_cursor(const CursorImage& c) override {
        cursor = c;
        ev.push_back("cursor " + std::to_string(c.width) + "x" + std::to_string(c.height) +
                     " hot " + std::to_string(c.hot_x) + "," + std::to_string(c.hot_y));
    }
    void on_desktop_name(const std::string& n) override { ev.push_back("name " + n); }
    void on_bell() override { ev.push_back("bell"); }
    void on_cut_text(const std::string& t) override { ev.push_back("cut " + t); }
    void on_extended_clipboard(std::span<const uint8_t> p) override {
        ev.push_back("xclip " + std::to_string(p.size()));
    }
    void on_fence(uint32_t flags, std::span<const uint8_t> p) override {
        ev.push_back("fence " + std::to_string(flags) + " " + std::to_string(p.size()));
    }
    void on_end_of_continuous_updates() override { ev.push_back("eocu"); }
    void on_qemu_extended_key_events() override { ev.push_back("qemu-key"); }
};

struct Fixture {
    Framebuffer fb{8, 6};
    int resets = 0;
    ServerMessageReader reader;
    explicit Fixture(const PixelFormat& pf = PixelFormat{})
        : reader(fb, pf, [this](int32_t enc) -> std::unique_ptr<RectDecoder> {
              if (enc == encoding::kRaw) return std::make_unique<RowRawDecoder>(&resets);
              if (enc == encoding::kHextile)
                  return std::make_unique<ScriptedDecoder>(DecodeResult::fail("bad subencoding"));
              if (enc == encoding::kZlib)
                  return std::make_unique<ScriptedDecoder>(DecodeResult::done(1000));
              if (enc == encoding::kZRLE)
                  return std::make_unique<ScriptedDecoder>(DecodeResult::progress(0));
              return nullptr;
          }) {}
};

// Feeds `stream` the way a socket reader would: chunks cut at `cuts`, unconsumed bytes kept.
ServerReadResult feed_chunks(ServerMessageReader& reader, Recorder& rec, const Bytes& stream,
                             std::vector<size_t> cuts) {
    Bytes buf;
    size_t from = 0;
    cuts.push_back(stream.size());
    ServerReadResult last;
    for (size_t end : cuts) {
        buf.insert(buf.end(), stream.begin() + from, stream.begin() + end);
        from = end;
        last = reader.feed(buf, rec);
        if (last.status == ServerReadResult::kError) return last;
        EXPECT_LE(last.consumed, buf.size());
        buf.erase(buf.begin(), buf.begin() + last.consumed);
    }
    EXPECT_TRUE(buf.empty()) << buf.size() << " bytes never consumed";
    return last;
}

void px32(Bytes& b, uint32_t canonical) {  // canonical pixel, little-endian 32 bpp
    for (int i = 0; i < 4; ++i)
        b.push_back(static_cast<uint8_t>(canonical >> (8 * i)));
}

struct W {
    Bytes b;
    ByteWriter w{b};
};

// A FramebufferUpdate of one rectangle: its header, then `body` as given.
Bytes one_rect(Rect r, int32_t enc, const Bytes& body = {}) {
    W s;
    write_update_header(s.w, 1);
    write_rect_header(s.w, r, enc);
    s.b.insert(s.b.end(), body.begin(), body.end());
    return s.b;
}

// One stream exercising every message and pseudo-encoding the reader handles.
Bytes full_session() {
    W s;
    // Update 1: raw 2x2 at (1,1), CopyRect of it to (4,3), a cursor.
    write_update_header(s.w, 3);
    write_rect_header(s.w, Rect{1, 1, 2, 2}, encoding::kRaw);
    for (uint32_t p : {0x112233u, 0x445566u, 0x778899u, 0xaabbccu})
        px32(s.b, p);
    write_rect_header(s.w, Rect{4, 3, 2, 2}, encoding::kCopyRect);
    s.w.u16(1);
    s.w.u16(1);
    write_rect_header(s.w, Rect{1, 0, 2, 1}, encoding::kCursor);
    px32(s.b, 0xff0000);
    px32(s.b, 0x00ff00);
    s.w.u8(0x80);
    write_bell(s.w);
    write_server_cut_text(s.w, "hello");
    // Update 2: LastRect-terminated.
    write_update_header(s.w, 0xFFFF);
    write_desktop_name_rect(s.w, "desk");
    write_rect_header(s.w, Rect{0, 0, 8, 1}, encoding::kRaw);
    for (uint32_t i = 0; i < 8; ++i)
        px32(s.b, 0x010101u * i);
    write_last_rect(s.w);
    const uint8_t fence[] = {1, 2, 3};
    write_server_fence(s.w, 0x80000002u, fence);
    write_end_of_continuous_updates(s.w);
    const uint8_t clip[] = {0, 0, 0, 1, 'z'};
    write_server_cut_text_extended(s.w, clip);
    // Update 3: the server resizes to 10x7.
    write_update_header(s.w, 1);
    const Screen screens[] = {Screen{1, 0, 0, 10, 7, 0}};
    write_extended_desktop_size_rect(s.w, 0, 0, 10, 7, screens);
    // Update 4: a pixel in the new corner, and the QEMU key-event announcement.
    write_update_header(s.w, 2);
    write_rect_header(s.w, Rect{9, 6, 1, 1}, encoding::kRaw);
    px32(s.b, 0xabcdef);
    write_rect_header(s.w, Rect{}, encoding::kQemuExtendedKeyEvent);
    const ColourMapEntry colours[] = {{1, 2, 3}, {4, 5, 6}};
    write_set_colour_map(s.w, 0, colours);
    write_update_header(s.w, 0);
    return s.b;
}

const std::vector<std::string> kFullSessionEvents = {
    "begin",
    "damage 1,1 2x2",
    "copy 4,3 2x2 from 1,1",
    "cursor 2x1 hot 1,0",
    "end",
    "bell",
    "cut hello",
    "begin",
    "name desk",
    "damage 0,0 8x1",
    "end",
    "fence 2147483650 3",
    "eocu",
    "xclip 5",
    "begin",
    "resize 10x7",
    "eds 0/0 1",
    "end",
    "begin",
    "damage 9,6 1x1",
    "qemu-key",
    "end",
    "begin",
    "end",
};

TEST(ServerMessageReader, ReadsAFullSession) {
    Fixture f;
    Recorder rec;
    const Bytes stream = full_session();
    ServerReadResult r = f.reader.feed(stream, rec);
    ASSERT_EQ(r.status, ServerReadResult::kOk) << r.error;
    EXPECT_EQ(r.consumed, stream.size());
    EXPECT_EQ(rec.ev, kFullSessionEvents);
    EXPECT_EQ(f.fb.width(), 10u);
    EXPECT_EQ(f.fb.height(), 7u);
    EXPECT_EQ(f.fb.at(9, 6), 0xabcdefu);
    EXPECT_EQ(f.fb.at(0, 0), 0u);  // cleared by the resize
    EXPECT_EQ(rec.cursor.pixels, (std::vector<uint32_t>{0xff0000, 0x00ff00}));
    EXPECT_EQ(rec.cursor.mask, (Bytes{0x80}));
    EXPECT_EQ(rec.ext.screens, (std::vector<Screen>{Screen{1, 0, 0, 10, 7, 0}}));
    EXPECT_FALSE(f.reader.in_update());
}

TEST(ServerMessageReader, PixelsOfRawAndCopyRectLand) {
    Fixture f;
    Recorder rec;
    W s;
    write_update_header(s.w, 2);
    write_rect_header(s.w, Rect{1, 1, 2, 2}, encoding::kRaw);
    for (uint32_t p : {0x112233u, 0x445566u, 0x778899u, 0xaabbccu})
        px32(s.b, p);
    write_rect_header(s.w, Rect{4, 3, 2, 2}, encoding::kCopyRect);
    s.w.u16(1);
    s.w.u16(1);
    ASSERT_EQ(f.reader.feed(s.b, rec).status, ServerReadResult::kOk);
    EXPECT_EQ(f.fb.at(1, 1), 0x112233u);
    EXPECT_EQ(f.fb.at(2, 2), 0xaabbccu);
    EXPECT_EQ(f.fb.at(4, 3), 0x112233u);
    EXPECT_EQ(f.fb.at(5, 3), 0x445566u);
    EXPECT_EQ(f.fb.at(5, 4), 0xaabbccu);
    EXPECT_EQ(f.fb.at(0, 0), 0u);
}

TEST(ServerMessageReader, SameResultWhateverTheChunking) {
    const Bytes stream = full_session();
    auto run = [&](std::vector<size_t> cuts, Framebuffer& out_fb) {
        Fixture f;
        Recorder rec;
        ServerReadResult r = feed_chunks(f.reader, rec, stream, std::move(cuts));
        EXPECT_EQ(r.status, ServerReadResult::kOk) << r.error;
        out_fb = f.fb;
        return rec.ev;
    };
    Framebuffer reference;
    ASSERT_EQ(run({}, reference), kFullSessionEvents);
    for (size_t cut = 1; cut < stream.size(); ++cut) {
        Framebuffer fb;
        ASSERT_EQ(run({cut}, fb), kFullSessionEvents) << "cut at " << cut;
        ASSERT_TRUE(std::equal(fb.pixels().begin(), fb.pixels().end(), reference.pixels().begin(),
                               reference.pixels().end()))
            << "cut at " << cut;
    }
    std::vector<size_t> every;
    for (size_t i = 1; i < stream.size(); ++i)
        every.push_back(i);
    Framebuffer fb;
    EXPECT_EQ(run(every, fb), kFullSessionEvents);
    EXPECT_TRUE(std::equal(fb.pixels().begin(), fb.pixels().end(), reference.pixels().begin(),
                           reference.pixels().end()));
}

TEST(ServerMessageReader, ColourMapFeedsThePixelReader) {
    PixelFormat pf = PixelFormat::bgr233();
    pf.true_colour = false;
    Fixture f(pf);
    Recorder rec;
    W s;
    const ColourMapEntry colours[] = {{0xffff, 0, 0}, {0, 0x8000, 0x1234}};
    write_set_colour_map(s.w, 3, colours);
    write_update_header(s.w, 1);
    write_rect_header(s.w, Rect{0, 0, 2, 1}, encoding::kRaw);
    s.w.u8(3);
    s.w.u8(4);
    ASSERT_EQ(feed_chunks(f.reader, rec, s.b, {1, 7, 9}).status, ServerReadResult::kOk);
    EXPECT_EQ(f.fb.at(0, 0), 0xff0000u);
    EXPECT_EQ(f.fb.at(1, 0), 0x008012u);
}

TEST(ServerMessageReader, ColourMapFormatWithZeroMaxes) {
    // What many colour-map servers send: the true-colour fields all zero.
    PixelFormat pf;
    pf.bits_per_pixel = 8;
    pf.depth = 8;
    pf.true_colour = false;
    pf.red_max = pf.green_max = pf.blue_max = 0;
    pf.red_shift = pf.green_shift = pf.blue_shift = 0;
    ASSERT_TRUE(pf.valid(nullptr, true));
    Fixture f(pf);
    Recorder rec;
    W s;
    const ColourMapEntry colours[] = {{0, 0xffff, 0}};
    write_set_colour_map(s.w, 200, colours);
    write_update_header(s.w, 1);
    write_rect_header(s.w, Rect{0, 0, 1, 1}, encoding::kRaw);
    s.w.u8(200);
    ASSERT_EQ(f.reader.feed(s.b, rec).status, ServerReadResult::kOk);
    EXPECT_EQ(f.fb.at(0, 0), 0x00ff00u);
    f.reader.set_wire_format(pf);  // and again through the setter
    W t;
    write_update_header(t.w, 1);
    write_rect_header(t.w, Rect{1, 0, 1, 1}, encoding::kRaw);
    t.w.u8(7);  // no map entry since the format was set again: grey level 7
    ASSERT_EQ(f.reader.feed(t.b, rec).status, ServerReadResult::kOk);
    EXPECT_EQ(f.fb.at(1, 0), 0x070707u);
}

TEST(ServerMessageReader, CursorInAnotherWireFormat) {
    Fixture f(PixelFormat::rgb565());
    Recorder rec;
    W s;
    write_update_header(s.w, 1);
    write_rect_header(s.w, Rect{5, 5, 1, 1}, encoding::kCursor);  // hotspot outside: clamped
    s.w.u8(0x00);
    s.w.u8(0xf8);  // red, little-endian RGB565
    s.w.u8(0x80);
    ASSERT_EQ(f.reader.feed(s.b, rec).status, ServerReadResult::kOk);
    EXPECT_EQ(rec.cursor.pixels, (std::vector<uint32_t>{0xff0000}));
    EXPECT_EQ(rec.cursor.hot_x, 0);
    EXPECT_EQ(rec.cursor.hot_y, 0);
    EXPECT_TRUE(rec.cursor.consistent());
}

TEST(ServerMessageReader, XCursorBecomesACursorImage) {
    Fixture f;
    Recorder rec;
    W s;
    write_update_header(s.w, 2);
    write_rect_header(s.w, Rect{1, 0, 9, 1}, encoding::kXCursor);
    for (uint8_t c : {255, 0, 0, 0, 0, 255})
        s.w.u8(c);  // primary red, secondary blue
    s.w.u8(0xA0);   // bitmap: pixels 0 and 2 primary
    s.w.u8(0x80);   // pixel 8 primary
    s.w.u8(0xFF);   // mask
    s.w.u8(0x80);
    write_rect_header(s.w, Rect{0, 0, 0, 0}, encoding::kXCursor);  // empty: no body at all
    ASSERT_EQ(f.reader.feed(s.b, rec).status, ServerReadResult::kOk);
    EXPECT_EQ(rec.ev, (std::vector<std::string>{"begin", "cursor 9x1 hot 1,0", "cursor 0x0 hot 0,0",
                                                "end"}));
    // The last on_cursor was the empty one; check the first by re-reading alone.
    Fixture g;
    Recorder rec2;
    Bytes first(s.b.begin(), s.b.end() - 12);
    first[3] = 1;  // one rectangle
    ASSERT_EQ(g.reader.feed(first, rec2).status, ServerReadResult::kOk);
    const uint32_t R = 0xff0000, B = 0x0000ff;
    EXPECT_EQ(rec2.cursor.pixels, (std::vector<uint32_t>{R, B, R, B, B, B, B, B, R}));
    EXPECT_EQ(rec2.cursor.mask, (Bytes{0xFF, 0x80}));
}

TEST(ServerMessageReader, RefusedDesktopSizeRequestDoesNotResize) {
    Fixture f;
    Recorder rec;
    W s;
    write_update_header(s.w, 1);
    write_extended_desktop_size_rect(s.w, 1, 3, 0, 0, {});  // our request, invalid layout
    ASSERT_EQ(f.reader.feed(s.b, rec).status, ServerReadResult::kOk);
    EXPECT_EQ(rec.ev, (std::vector<std::string>{"begin", "eds 1/3 0", "end"}));
    EXPECT_EQ(f.fb.width(), 8u);
}

TEST(ServerMessageReader, SameSizeDesktopSizeKeepsPixels) {
    Fixture f;
    f.fb.fill(Rect{0, 0, 8, 6}, 0x123456);
    Recorder rec;
    W s;
    write_update_header(s.w, 1);
    write_desktop_size_rect(s.w, 8, 6);
    ASSERT_EQ(f.reader.feed(s.b, rec).status, ServerReadResult::kOk);
    EXPECT_EQ(rec.ev, (std::vector<std::string>{"begin", "end"}));
    EXPECT_EQ(f.fb.at(3, 3), 0x123456u);
    W t;
    write_update_header(t.w, 1);
    write_desktop_size_rect(t.w, 16, 2);
    ASSERT_EQ(f.reader.feed(t.b, rec).status, ServerReadResult::kOk);
    EXPECT_EQ(f.fb.width(), 16u);
    EXPECT_EQ(rec.ev.back(), "end");
    EXPECT_EQ(rec.ev[rec.ev.size() - 2], "resize 16x2");
}

TEST(ServerMessageReader, OversizeCutTextIsSkippedNotFatal) {
    Fixture f;
    f.reader.set_limits(ServerReaderLimits{4});
    Recorder rec;
    W s;
    write_server_cut_text(s.w, "too long");
    write_server_cut_text(s.w, "ok");
    const uint8_t clip[] = {0, 0, 0, 1, 'x', 'y'};
    write_server_cut_text_extended(s.w, clip);  // 6 > 4: skipped too
    write_bell(s.w);
    for (size_t cut = 1; cut < s.b.size(); ++cut) {
        Fixture g;
        g.reader.set_limits(ServerReaderLimits{4});
        Recorder r2;
        ASSERT_EQ(feed_chunks(g.reader, r2, s.b, {cut}).status, ServerReadResult::kOk);
        ASSERT_EQ(r2.ev, (std::vector<std::string>{"cut ok", "bell"})) << cut;
    }
}

TEST(ServerMessageReader, HugeCutTextLengthStreamsAway) {
    Fixture f;
    Recorder rec;
    Bytes hdr{3, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff};
    ServerReadResult r = f.reader.feed(hdr, rec);
    ASSERT_EQ(r.status, ServerReadResult::kOk);
    EXPECT_EQ(r.consumed, hdr.size());
    Bytes junk(1 << 20, 'j');
    r = f.reader.feed(junk, rec);
    ASSERT_EQ(r.status, ServerReadResult::kOk);
    EXPECT_EQ(r.consumed, junk.size());  // nothing buffered, nothing delivered
    EXPECT_TRUE(rec.ev.empty());
}

ServerReadResult feed_once(const Bytes& b, Fixture& f) {
    Recorder rec;
    return f.reader.feed(b, rec);
}

TEST(ServerMessageReader, RectOutsideFramebufferIsAnError) {
    for (Rect bad :
         {Rect{7, 0, 2, 1}, Rect{0, 5, 1, 2}, Rect{9, 0, 0, 0}, Rect{0, 0, 0xffff, 0xffff}}) {
        Fixture f;
        W s;
        write_update_header(s.w, 1);
        write_rect_header(s.w, bad, encoding::kRaw);
        ServerReadResult r = feed_once(s.b, f);
        ASSERT_EQ(r.status, ServerReadResult::kError) << Recorder::r(bad);
        EXPECT_NE(r.error.find("rect outside framebuffer"), std::string::npos) << r.error;
    }
    Fixture f;
    W s;
    write_update_header(s.w, 1);
    write_rect_header(s.w, Rect{7, 5, 2, 2}, encoding::kCopyRect);
    EXPECT_EQ(feed_once(s.b, f).status, ServerReadResult::kError);
}

TEST(ServerMessageReader, CopyRectSourceOutsideIsAnError) {
    Fixture f;
    W s;
    write_update_header(s.w, 1);
    write_rect_header(s.w, Rect{0, 0, 2, 2}, encoding::kCopyRect);
    s.w.u16(7);
    s.w.u16(0);
    EXPECT_EQ(feed_once(s.b, f).status, ServerReadResult::kError);
}

TEST(ServerMessageReader, UnknownEncodingsAndMessagesAreErrors) {
    {
        Fixture f;
        W s;
        write_update_header(s.w, 1);
        write_rect_header(s.w, Rect{0, 0, 1, 1}, 12345);
        ServerReadResult r = feed_once(s.b, f);
        EXPECT_EQ(r.status, ServerReadResult::kError);
        EXPECT_NE(r.error.find("unsupported encoding 12345"), std::string::npos) << r.error;
    }
    {
        Fixture f;
        W s;
        write_update_header(s.w, 1);
        // A pseudo-encoding the reader has no use for (and never asks for) is refused too.
        write_rect_header(s.w, Rect{0, 0, 1, 1}, encoding::kPointerPos);
        EXPECT_EQ(feed_once(s.b, f).status, ServerReadResult::kError);
    }
    for (uint8_t t : {4, 5, 127, 149, 250, 252, 253, 255}) {
        Fixture f;
        ServerReadResult r = feed_once(Bytes{t, 0, 0, 0}, f);
        EXPECT_EQ(r.status, ServerReadResult::kError) << int(t);
        EXPECT_NE(r.error.find("unknown server message type"), std::string::npos);
    }
}

TEST(ServerMessageReader, PseudoEncodingLimits) {
    Fixture a;
    EXPECT_EQ(feed_once(one_rect(Rect{0, 0, 257, 1}, encoding::kCursor, {}), a).status,
              ServerReadResult::kError);
    Fixture b;
    EXPECT_EQ(feed_once(one_rect(Rect{0, 0, 1, 257}, encoding::kXCursor, {}), b).status,
              ServerReadResult::kError);
    Fixture c;  // 256x256 is allowed: needs its bytes
    ServerReadResult rc = feed_once(one_rect(Rect{0, 0, 256, 256}, encoding::kCursor, {}), c);
    EXPECT_EQ(rc.status, ServerReadResult::kOk);
    Fixture d;  // desktop name 4097 bytes: fails on the length alone
    EXPECT_EQ(feed_once(one_rect(Rect{}, encoding::kDesktopName, {0, 0, 0x10, 0x01}), d).status,
              ServerReadResult::kError);
    Fixture e;
    EXPECT_EQ(
        feed_once(one_rect(Rect{}, encoding::kDesktopName, {0xff, 0xff, 0xff, 0xff}), e).status,
        ServerReadResult::kError);
    Fixture g;
    EXPECT_EQ(feed_once(one_rect(Rect{0, 0, 0, 0}, encoding::kDesktopSize, {}), g).status,
              ServerReadResult::kError);
    Fixture h;
    EXPECT_EQ(feed_once(one_rect(Rect{0, 0, 16385, 10}, encoding::kDesktopSize, {}), h).status,
              ServerReadResult::kError);
    Fixture i;
    EXPECT_EQ(feed_once(one_rect(Rect{0, 0, 16384, 1}, encoding::kDesktopSize, {}), i).status,
              ServerReadResult::kOk);
    Fixture j;
    EXPECT_EQ(
        feed_once(one_rect(Rect{0, 0, 20000, 10}, encoding::kExtendedDesktopSize, {0, 0, 0, 0}), j)
            .status,
        ServerReadResult::kError);
}

TEST(ServerMessageReader, FenceAndClipboardLimits) {
    Fixture a;
    EXPECT_EQ(feed_once(Bytes{248, 0, 0, 0, 0, 0, 0, 0, 65}, a).status, ServerReadResult::kError);
    Fixture b;
    EXPECT_EQ(feed_once(Bytes{248, 0, 0, 0, 0, 0, 0, 0, 64}, b).status, ServerReadResult::kOk);
    Fixture c;  // extended clipboard without room for its flags
    EXPECT_EQ(feed_once(Bytes{3, 0, 0, 0, 0xff, 0xff, 0xff, 0xfe}, c).status,
              ServerReadResult::kError);
    Fixture d;  // 2^32-1 is -1: an extended payload of 1 byte, too short
    EXPECT_EQ(feed_once(Bytes{3, 0, 0, 0, 0xff, 0xff, 0xff, 0xff}, d).status,
              ServerReadResult::kError);
}

TEST(ServerMessageReader, DecoderResultsAreChecked) {
    auto one_rect = [](int32_t enc) {
        W s;
        write_update_header(s.w, 1);
        write_rect_header(s.w, Rect{0, 0, 2, 2}, enc);
        s.b.push_back(0);
        return s.b;
    };
    Fixture a;
    ServerReadResult r = feed_once(one_rect(encoding::kHextile), a);
    EXPECT_EQ(r.status, ServerReadResult::kError);
    EXPECT_NE(r.error.find("bad subencoding"), std::string::npos);
    Fixture b;  // claims more bytes than it was given
    EXPECT_EQ(feed_once(one_rect(encoding::kZlib), b).status, ServerReadResult::kError);
    Fixture c;  // progress without consuming: must not spin
    r = feed_once(one_rect(encoding::kZRLE), c);
    EXPECT_EQ(r.status, ServerReadResult::kOk);
    EXPECT_EQ(r.consumed, 16u);
    EXPECT_TRUE(c.reader.in_update());
}

// The reflector counts which cap fired (issue 9) from `limit`, and tells decoder failures apart.
TEST(ServerMessageReader, ErrorsNameTheCapThatFired) {
    struct Case {
        Bytes stream;
        LimitKind limit;
        bool decoder;
    };
    const Case cases[] = {
        {one_rect(Rect{0, 0, 257, 1}, encoding::kCursor, {}), LimitKind::kCursorSize, false},
        {one_rect(Rect{}, encoding::kDesktopName, {0, 0, 0x10, 0x01}), LimitKind::kDesktopName,
         false},
        {one_rect(Rect{0, 0, 16385, 10}, encoding::kDesktopSize, {}), LimitKind::kFramebufferSize,
         false},
        {one_rect(Rect{0, 0, 20000, 10}, encoding::kExtendedDesktopSize, {0, 0, 0, 0}),
         LimitKind::kFramebufferSize, false},
        {Bytes{248, 0, 0, 0, 0, 0, 0, 0, 65}, LimitKind::kFence, false},
        // Malformed, not over a cap.
        {Bytes{99}, LimitKind::kNone, false},
        {one_rect(Rect{0, 0, 2, 2}, encoding::kHextile, {0}), LimitKind::kNone, true},
    };
    for (const Case& c : cases) {
        Fixture f;
        Recorder rec;
        const ServerReadResult r = f.reader.feed(c.stream, rec);
        ASSERT_EQ(r.status, ServerReadResult::kError) << r.error;
        EXPECT_EQ(r.limit, c.limit) << r.error;
        EXPECT_EQ(r.decoder, c.decoder) << r.error;
        // The error stays, with its kind, until reset().
        const ServerReadResult again = f.reader.feed(Bytes{2}, rec);
        EXPECT_EQ(again.limit, c.limit);
        EXPECT_EQ(again.decoder, c.decoder);
        f.reader.reset();
        const ServerReadResult fresh = f.reader.feed(Bytes{2}, rec);
        EXPECT_EQ(fresh.status, ServerReadResult::kOk);
        EXPECT_EQ(fresh.limit, LimitKind::kNone);
        EXPECT_FALSE(fresh.decoder);
    }
}

// The configured caps (issue 7: each limit configurable) replace the protocol's bounds: a
// message that was legal becomes an error with the same LimitKind, one byte past the new cap.
TEST(ServerMessageReader, LoweredLimitsAreEnforcedAtTheirValue) {
    ServerReaderLimits lowered;
    lowered.max_framebuffer_dim = 100;
    lowered.max_cursor_dim = 32;
    lowered.max_fence_payload = 8;
    struct Case {
        Bytes at_cap, over_cap;
        LimitKind limit;
    };
    const Case cases[] = {
        {one_rect(Rect{0, 0, 100, 90}, encoding::kDesktopSize),
         one_rect(Rect{0, 0, 101, 90}, encoding::kDesktopSize), LimitKind::kFramebufferSize},
        {one_rect(Rect{0, 0, 90, 100}, encoding::kDesktopSize),
         one_rect(Rect{0, 0, 90, 101}, encoding::kDesktopSize), LimitKind::kFramebufferSize},
        {{}, one_rect(Rect{0, 0, 33, 1}, encoding::kCursor), LimitKind::kCursorSize},
        {{}, one_rect(Rect{0, 0, 1, 33}, encoding::kCursorWithAlpha), LimitKind::kCursorSize},
        {Bytes{248, 0, 0, 0, 0, 0, 0, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8},
         Bytes{248, 0, 0, 0, 0, 0, 0, 0, 9}, LimitKind::kFence},
    };
    for (const Case& c : cases) {
        Recorder rec;
        if (!c.at_cap.empty()) {
            Fixture f;
            f.reader.set_limits(lowered);
            const ServerReadResult ok = f.reader.feed(c.at_cap, rec);
            EXPECT_EQ(ok.status, ServerReadResult::kOk) << ok.error;
            EXPECT_EQ(ok.consumed, c.at_cap.size());
        }
        Fixture f;
        f.reader.set_limits(lowered);
        const ServerReadResult r = f.reader.feed(c.over_cap, rec);
        ASSERT_EQ(r.status, ServerReadResult::kError);
        EXPECT_EQ(r.limit, c.limit) << r.error;
        // The same bytes under the default limits are fine.
        Fixture d;
        EXPECT_NE(d.reader.feed(c.over_cap, rec).status, ServerReadResult::kError);
    }
}

TEST(ServerMessageReader, ErrorsAreStickyUntilReset) {
    Fixture f;
    Recorder rec;
    EXPECT_EQ(f.reader.feed(Bytes{99}, rec).status, ServerReadResult::kError);
    EXPECT_EQ(f.reader.feed(Bytes{2}, rec).status, ServerReadResult::kError);
    EXPECT_TRUE(rec.ev.empty());
    f.reader.reset();
    EXPECT_EQ(f.reader.feed(Bytes{2}, rec).status, ServerReadResult::kOk);
    EXPECT_EQ(rec.ev, (std::vector<std::string>{"bell"}));
}

TEST(ServerMessageReader, ResetAbandonsAPartialRectAndResetsDecoders) {
    Fixture f;
    Recorder rec;
    W s;
    write_update_header(s.w, 1);
    write_rect_header(s.w, Rect{0, 0, 2, 2}, encoding::kRaw);
    px32(s.b, 1);
    px32(s.b, 2);  // first row only
    ServerReadResult r = f.reader.feed(s.b, rec);
    ASSERT_EQ(r.status, ServerReadResult::kOk);
    EXPECT_TRUE(f.reader.in_update());
    f.reader.reset();
    EXPECT_EQ(f.resets, 1);
    EXPECT_FALSE(f.reader.in_update());
    // A fresh stream starts cleanly: a new 2x2 rect needs both rows again.
    W t;
    write_update_header(t.w, 1);
    write_rect_header(t.w, Rect{0, 0, 2, 2}, encoding::kRaw);
    for (uint32_t p : {5u, 6u, 7u, 8u})
        px32(t.b, p);
    Recorder rec2;
    ASSERT_EQ(f.reader.feed(t.b, rec2).status, ServerReadResult::kOk);
    EXPECT_EQ(rec2.ev, (std::vector<std::string>{"begin", "damage 0,0 2x2", "end"}));
    EXPECT_EQ(f.fb.at(1, 1), 8u);
}

// The same reader with the real decoders from make_decoder().
TEST(ServerMessageReader, RealDecodersAnySplit) {
    W s;
    write_update_header(s.w, 3);
    write_rect_header(s.w, Rect{0, 0, 3, 2}, encoding::kRaw);
    for (uint32_t p : {0x010203u, 0x040506u, 0x070809u, 0x0a0b0cu, 0x0d0e0fu, 0x101112u})
        px32(s.b, p);
    // Hextile 2x2: one tile, subencoding BackgroundSpecified (2) with a red background.
    write_rect_header(s.w, Rect{4, 0, 2, 2}, encoding::kHextile);
    s.w.u8(2);
    px32(s.b, 0xff0000);
    // Hextile 2x1: one tile, subencoding Raw (1).
    write_rect_header(s.w, Rect{6, 5, 2, 1}, encoding::kHextile);
    s.w.u8(1);
    px32(s.b, 0x00ff00);
    px32(s.b, 0x0000ff);
    const std::vector<std::string> events = {"begin", "damage 0,0 3x2", "damage 4,0 2x2",
                                             "damage 6,5 2x1", "end"};
    for (size_t cut = 0; cut < s.b.size(); ++cut) {
        Framebuffer fb(8, 6);
        ServerMessageReader reader(fb, PixelFormat{});
        Recorder rec;
        std::vector<size_t> cuts;
        if (cut) cuts.push_back(cut);
        ServerReadResult r = feed_chunks(reader, rec, s.b, cuts);
        ASSERT_EQ(r.status, ServerReadResult::kOk) << r.error << " cut " << cut;
        ASSERT_EQ(rec.ev, events) << "cut " << cut;
        EXPECT_EQ(fb.at(0, 0), 0x010203u);
        EXPECT_EQ(fb.at(2, 1), 0x101112u);
        EXPECT_EQ(fb.at(5, 1), 0xff0000u);
        EXPECT_EQ(fb.at(6, 5), 0x00ff00u);
        EXPECT_EQ(fb.at(7, 5), 0x0000ffu);
        EXPECT_EQ(fb.at(3, 0), 0u);
    }
    Framebuffer fb(8, 6);
    ServerMessageReader reader(fb, PixelFormat{});
    Recorder rec;
    std::vector<size_t> every;
    for (size_t i = 1; i < s.b.size(); ++i)
        every.push_back(i);
    ASSERT_EQ(feed_chunks(reader, rec, s.b, every).status, ServerReadResult::kOk);
    EXPECT_EQ(rec.ev, events);
    EXPECT_EQ(fb.at(7, 5), 0x0000ffu);
}

TEST(ServerMessageReader, RealDecodersRejectUnknownEncodings) {
    Framebuffer fb(8, 6);
    ServerMessageReader reader(fb, PixelFormat{});
    Recorder rec;
    W s;
    write_update_header(s.w, 1);
    write_rect_header(s.w, Rect{0, 0, 1, 1}, 12345);
    ServerReadResult r = reader.feed(s.b, rec);
    EXPECT_EQ(r.status, ServerReadResult::kError);
    EXPECT_NE(r.error.find("unsupported encoding"), std::string::npos);
}

// Mutated sessions through the real decoders: whatever happens must be a clean result.
TEST(ServerMessageReader, MutatedInputNeverCrashes) {
    const Bytes session = full_session();
    std::mt19937 rng(1234);
    for (int iter = 0; iter < 3000; ++iter) {
        Bytes b = session;
        const int flips = 1 + static_cast<int>(rng() % 4);
        for (int i = 0; i < flips; ++i)
            b[rng() % b.size()] = static_cast<uint8_t>(rng());
        if (iter % 3 == 0) b.resize(rng() % b.size());
        Framebuffer fb(8, 6);
        ServerMessageReader reader(fb, PixelFormat{});
        Recorder rec;
        std::vector<size_t> cuts;
        if (!b.empty()) cuts.push_back(rng() % b.size());
        Bytes buf;
        size_t from = 0;
        cuts.push_back(b.size());
        for (size_t end : cuts) {
            buf.insert(buf.end(), b.begin() + from, b.begin() + end);
            from = end;
            ServerReadResult r = reader.feed(buf, rec);
            if (r.status == ServerReadResult::kError) {
                EXPECT_FALSE(r.error.empty());
                break;
            }
            ASSERT_LE(r.consumed, buf.size());
            buf.erase(buf.begin(), buf.begin() + r.consumed);
        }
    }
}

TEST(ServerMessageReader, InvalidWireFormatIsAnError) {
    PixelFormat pf;
    pf.bits_per_pixel = 24;
    Fixture f(pf);
    EXPECT_EQ(feed_once(Bytes{2}, f).status, ServerReadResult::kError);
}

// ---- Cursor With Alpha (-314) ------------------------------------------------------------------

// What Xvnc 1.12 sent for a 4x2 ARGB cursor with hotspot (1,0): inner encoding Raw, then R, G, B,
// A bytes, pre-multiplied (see cursor_conversion_test.cpp for the same pixels).
Bytes xvnc_alpha_cursor_update() {
    W s;
    write_update_header(s.w, 1);
    write_rect_header(s.w, Rect{1, 0, 4, 2}, encoding::kCursorWithAlpha);
    s.w.s32(encoding::kRaw);
    for (uint8_t b : {0xff, 0x00, 0x00, 0xff, 0x00, 0xff, 0x00, 0xff, 0x00, 0x00, 0xff,
                      0xff, 0x80, 0x00, 0x00, 0x80, 0x40, 0x40, 0x40, 0x40, 0x00, 0x00,
                      0x00, 0x00, 0x10, 0x20, 0x30, 0xff, 0x3f, 0x1f, 0x0f, 0x80})
        s.w.u8(b);
    return s.b;
}

TEST(ServerMessageReader, CursorWithAlphaAnySplit) {
    const Bytes stream = xvnc_alpha_cursor_update();
    std::vector<std::vector<size_t>> plans = {{}};
    std::vector<size_t> every;
    for (size_t i = 1; i < stream.size(); ++i) {
        every.push_back(i);
        plans.push_back({i});
    }
    plans.push_back(every);
    for (const auto& cuts : plans) {
        Fixture f;
        Recorder rec;
        ASSERT_EQ(feed_chunks(f.reader, rec, stream, cuts).status, ServerReadResult::kOk);
        EXPECT_EQ(rec.ev, (std::vector<std::string>{"begin", "cursor 4x2 hot 1,0", "end"}));
        const CursorImage& c = rec.cursor;
        EXPECT_TRUE(c.consistent());
        EXPECT_EQ(c.pixels, (std::vector<uint32_t>{0xff0000, 0x00ff00, 0x0000ff, 0xff0000, 0xffffff,
                                                   0x000000, 0x102030, 0x7e3e1e}));
        EXPECT_EQ(c.alpha, (Bytes{0xff, 0xff, 0xff, 0x80, 0x40, 0x00, 0xff, 0x80}));
        EXPECT_EQ(c.mask, (Bytes{0xf0, 0x20}));  // the mask Xvnc sends classic viewers
        EXPECT_FALSE(f.reader.in_update());
    }
}

TEST(ServerMessageReader, CursorWithAlphaTruncatedWaits) {
    const Bytes stream = xvnc_alpha_cursor_update();
    for (size_t n = 0; n < stream.size(); ++n) {
        Fixture f;
        Recorder rec;
        const ServerReadResult r = f.reader.feed(Bytes(stream.begin(), stream.begin() + n), rec);
        ASSERT_EQ(r.status, ServerReadResult::kOk);
        EXPECT_EQ(r.consumed, n);  // buffered by the reader, nothing left to the caller
        EXPECT_EQ(rec.cursor.width, 0) << "cursor reported after " << n << " bytes";
        EXPECT_EQ(f.reader.in_update(), n >= 4);
    }
}

TEST(ServerMessageReader, CursorWithAlphaEmptyAndClampedHotspot) {
    Fixture f;
    Recorder rec;
    W s;
    write_update_header(s.w, 2);
    write_rect_header(s.w, Rect{7, 9, 2, 1}, encoding::kCursorWithAlpha);  // hotspot outside
    s.w.s32(encoding::kRaw);
    for (uint8_t b : {0x10, 0x20, 0x30, 0xff, 0, 0, 0, 0})
        s.w.u8(b);
    write_rect_header(s.w, Rect{}, encoding::kCursorWithAlpha);  // no cursor: encoding only
    s.w.s32(encoding::kRaw);
    const ServerReadResult r = f.reader.feed(s.b, rec);
    ASSERT_EQ(r.status, ServerReadResult::kOk) << r.error;
    EXPECT_EQ(r.consumed, s.b.size());
    EXPECT_EQ(rec.ev, (std::vector<std::string>{"begin", "cursor 2x1 hot 1,0", "cursor 0x0 hot 0,0",
                                                "end"}));
    EXPECT_TRUE(rec.cursor.consistent());
    EXPECT_FALSE(rec.cursor.has_alpha());
}

TEST(ServerMessageReader, CursorWithAlphaErrors) {
    {
        // Only Raw is read: Tight, or any other inner encoding, is refused by name.
        Fixture f;
        Recorder rec;
        W s;
        write_update_header(s.w, 1);
        write_rect_header(s.w, Rect{0, 0, 2, 2}, encoding::kCursorWithAlpha);
        s.w.s32(encoding::kTight);
        const ServerReadResult r = f.reader.feed(s.b, rec);
        EXPECT_EQ(r.status, ServerReadResult::kError);
        EXPECT_NE(r.error.find("cursor with alpha in encoding 7"), std::string::npos) << r.error;
        EXPECT_EQ(rec.cursor.width, 0);
    }
    {
        // The same size cap as Cursor, checked before any body is awaited.
        Fixture f;
        Recorder rec;
        W s;
        write_update_header(s.w, 1);
        write_rect_header(s.w, Rect{0, 0, 257, 1}, encoding::kCursorWithAlpha);
        const ServerReadResult r = f.reader.feed(s.b, rec);
        EXPECT_EQ(r.status, ServerReadResult::kError);
        EXPECT_NE(r.error.find("cursor 257x1 too large"), std::string::npos) << r.error;
    }
    {
        Fixture f;
        Recorder rec;
        W s;
        write_update_header(s.w, 1);
        write_rect_header(s.w, Rect{0, 0, 0xffff, 0xffff}, encoding::kCursorWithAlpha);
        s.w.s32(encoding::kRaw);
        EXPECT_EQ(f.reader.feed(s.b, rec).status, ServerReadResult::kError);
    }
}

TEST(ServerMessageReader, CursorWithAlphaRoundTripsThroughTheWriter) {
    Fixture f;
    Recorder rec;
    const Bytes stream = xvnc_alpha_cursor_update();
    ASSERT_EQ(f.reader.feed(stream, rec).status, ServerReadResult::kOk);
    W again;
    write_update_header(again.w, 1);
    write_cursor_with_alpha_rect(again.w, rec.cursor);
    EXPECT_EQ(again.b, stream);
}

}  // namespace
}  // namespace rfb
