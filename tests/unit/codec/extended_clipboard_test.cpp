#include "codec/extended_clipboard.h"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <zlib.h>

#include <cstdint>
#include <string>
#include <vector>

#include "codec/client_message_parser.h"
#include "codec/client_messages.h"
#include "tests/unit/codec/decoder_test_support.h"

// Expected bytes are written from rfbproto.rst ("Extended Clipboard Pseudo-Encoding"): flags bit
// 0 text, 1 rtf, 2 html, 3 dib, 4 files; 24 caps, 25 request, 26 peek, 27 notify, 28 provide.
namespace rfb {
namespace {

using Bytes = std::vector<uint8_t>;
using test::Deflater;

Bytes cat(Bytes a, const Bytes& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

Bytes str_bytes(std::string_view s) {
    return Bytes(s.begin(), s.end());
}

// A whole zlib stream as TigerVNC writes it (sync flush, never ended) or as a complete stream.
Bytes zlib_sync(const Bytes& plain) {
    Deflater d;
    return d.compress(plain, Z_SYNC_FLUSH);
}
Bytes zlib_finished(const Bytes& plain) {
    Deflater d;
    return d.compress(plain, Z_FINISH);
}

// Inflates a complete zlib stream with zlib itself, not with the code under test.
Bytes zlib_inflate_all(const Bytes& packed) {
    Bytes out(1 << 20);
    uLongf size = out.size();
    EXPECT_EQ(uncompress(out.data(), &size, packed.data(), packed.size()), Z_OK);
    out.resize(size);
    return out;
}

// "héllo ✓" CRLF "line2" in UTF-8: 17 bytes.
const std::string kHelloUtf8 = "h\xC3\xA9llo \xE2\x9C\x93\r\nline2";
// The provide stream's contents for it: U32 size 18 (17 + NUL), the text, NUL.
const Bytes kHelloPlain = cat(cat(Bytes{0, 0, 0, 18}, str_bytes(kHelloUtf8)), Bytes{0});
const Bytes kProvideTextFlags = {0x10, 0x00, 0x00, 0x01};

TEST(ExtendedClipboardWrite, CapsForTextWith256KiB) {
    const uint32_t sizes[] = {256 * 1024};
    EXPECT_EQ(make_clipboard_caps(clipboard_flags::kText | clipboard_flags::kRequest |
                                      clipboard_flags::kNotify | clipboard_flags::kProvide,
                                  sizes),
              (Bytes{0x1B, 0x00, 0x00, 0x01, 0x00, 0x04, 0x00, 0x00}));
}

TEST(ExtendedClipboardWrite, CapsPadsMissingSizesAndDropsExtraOnes) {
    const uint32_t one[] = {0x01020304};
    EXPECT_EQ(make_clipboard_caps(clipboard_flags::kText | clipboard_flags::kHtml, one),
              (Bytes{0x01, 0x00, 0x00, 0x05, 1, 2, 3, 4, 0, 0, 0, 0}));
    const uint32_t three[] = {7, 8, 9};
    EXPECT_EQ(make_clipboard_caps(clipboard_flags::kRtf, three),
              (Bytes{0x01, 0x00, 0x00, 0x02, 0, 0, 0, 7}));
}

TEST(ExtendedClipboardWrite, BareActions) {
    EXPECT_EQ(make_clipboard_notify(clipboard_flags::kText), (Bytes{0x08, 0x00, 0x00, 0x01}));
    EXPECT_EQ(make_clipboard_notify(0), (Bytes{0x08, 0x00, 0x00, 0x00}));
    EXPECT_EQ(make_clipboard_request(clipboard_flags::kText | clipboard_flags::kDib),
              (Bytes{0x02, 0x00, 0x00, 0x09}));
    EXPECT_EQ(make_clipboard_peek(), (Bytes{0x04, 0x00, 0x00, 0x00}));
    // Only format bits pass: an action smuggled into `formats` is dropped.
    EXPECT_EQ(make_clipboard_notify(clipboard_flags::kProvide | clipboard_flags::kText),
              (Bytes{0x08, 0x00, 0x00, 0x01}));
}

TEST(ExtendedClipboardWrite, ProvideTextIsFlagsThenOneZlibStream) {
    const Bytes p = make_clipboard_provide_text(kHelloUtf8);
    ASSERT_GT(p.size(), 4u);
    EXPECT_EQ(Bytes(p.begin(), p.begin() + 4), kProvideTextFlags);
    EXPECT_EQ(zlib_inflate_all(Bytes(p.begin() + 4, p.end())), kHelloPlain);
}

TEST(ExtendedClipboardWrite, ProvideTextStopsAtTheFirstNul) {
    const Bytes p = make_clipboard_provide_text(std::string_view("ab\0cd", 5));
    ASSERT_GT(p.size(), 4u);
    EXPECT_EQ(zlib_inflate_all(Bytes(p.begin() + 4, p.end())), (Bytes{0, 0, 0, 3, 'a', 'b', 0}));
}

TEST(ExtendedClipboardWrite, ProvideEmptyText) {
    const Bytes p = make_clipboard_provide_text("");
    ASSERT_GT(p.size(), 4u);
    EXPECT_EQ(zlib_inflate_all(Bytes(p.begin() + 4, p.end())), (Bytes{0, 0, 0, 1, 0}));
}

TEST(ExtendedClipboardWrite, ClientCutTextWithNegativeLength) {
    std::vector<uint8_t> out;
    ByteWriter w(out);
    write_client_cut_text_extended(w, Bytes{0x08, 0x00, 0x00, 0x01});
    EXPECT_EQ(out, (Bytes{6, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFC, 0x08, 0x00, 0x00, 0x01}));

    // And the parser of viewer messages reads it back as the same raw payload.
    const ClientParse parsed = ClientMessageParser().parse(out);
    ASSERT_EQ(parsed.status, ClientParse::kMessage) << parsed.error;
    EXPECT_EQ(parsed.consumed, out.size());
    const auto* cut = std::get_if<ClientCutTextMsg>(&parsed.message);
    ASSERT_NE(cut, nullptr);
    EXPECT_TRUE(cut->extended);
    EXPECT_EQ(cut->extended_payload, (Bytes{0x08, 0x00, 0x00, 0x01}));
}

// ---- parse: caps and bare actions ----------------------------------------------------------

TEST(ExtendedClipboardParse, CapsLikeTigerVnc) {
    // Xvnc: text, rtf, html with request, peek, notify, provide; text 20 MiB, others 0.
    const Bytes p = {0x1F, 0x00, 0x00, 0x07, 0x01, 0x40, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0, 0};
    const ExtendedClipboardParse r = parse_extended_clipboard(p);
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.message.action, ClipboardAction::kCaps);
    EXPECT_EQ(r.message.formats, 0x7u);
    EXPECT_EQ(r.message.actions, 0x1F000000u);
    EXPECT_EQ(r.message.max_sizes, (std::vector<uint32_t>{20u << 20, 0, 0}));
}

TEST(ExtendedClipboardParse, CapsSizesFollowBitOrder) {
    // text and dib: sizes for bit 0 then bit 3.
    const Bytes p = {0x01, 0x00, 0x00, 0x09, 0, 0, 0, 5, 0, 0, 1, 0};
    const ExtendedClipboardParse r = parse_extended_clipboard(p);
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.message.max_sizes, (std::vector<uint32_t>{5, 256}));
}

TEST(ExtendedClipboardParse, CapsWithoutFormatsHasNoSizes) {
    const ExtendedClipboardParse r = parse_extended_clipboard(Bytes{0x01, 0, 0, 0});
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_TRUE(r.message.max_sizes.empty());
}

TEST(ExtendedClipboardParse, CapsRoundTrip) {
    const uint32_t sizes[] = {1000, 2000};
    const ExtendedClipboardParse r = parse_extended_clipboard(
        make_clipboard_caps(clipboard_flags::kText | clipboard_flags::kHtml, sizes));
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.message.formats, clipboard_flags::kText | clipboard_flags::kHtml);
    EXPECT_EQ(r.message.actions, clipboard_flags::kCaps);
    EXPECT_EQ(r.message.max_sizes, (std::vector<uint32_t>{1000, 2000}));
}

TEST(ExtendedClipboardParse, Notify) {
    const ExtendedClipboardParse r = parse_extended_clipboard(Bytes{0x08, 0x00, 0x00, 0x01});
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.message.action, ClipboardAction::kNotify);
    EXPECT_EQ(r.message.formats, 1u);
    EXPECT_EQ(r.message.actions, 0x08000000u);
}

TEST(ExtendedClipboardParse, RequestAndPeek) {
    ExtendedClipboardParse r = parse_extended_clipboard(Bytes{0x02, 0x00, 0x00, 0x01});
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.message.action, ClipboardAction::kRequest);
    EXPECT_EQ(r.message.formats, 1u);
    r = parse_extended_clipboard(Bytes{0x04, 0x00, 0x00, 0x00});
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.message.action, ClipboardAction::kPeek);
}

void expect_error(const Bytes& p, LimitKind limit = LimitKind::kNone, size_t max_text = 1024) {
    const ExtendedClipboardParse r = parse_extended_clipboard(p, max_text);
    EXPECT_FALSE(r.ok);
    EXPECT_FALSE(r.error.empty());
    EXPECT_EQ(r.limit, limit) << r.error;
}

TEST(ExtendedClipboardParse, TooShortForFlags) {
    expect_error({});
    expect_error({0x08, 0x00, 0x00});
}

TEST(ExtendedClipboardParse, NoActionBit) {
    expect_error({0x00, 0x00, 0x00, 0x01});
}

TEST(ExtendedClipboardParse, TwoActionBits) {
    expect_error({0x0A, 0x00, 0x00, 0x01});  // request + notify
    expect_error({0x18, 0x00, 0x00, 0x01});  // notify + provide
}

TEST(ExtendedClipboardParse, ReservedActionBitAlone) {
    expect_error({0x20, 0x00, 0x00, 0x01});
}

TEST(ExtendedClipboardParse, TruncatedCapsSizes) {
    expect_error({0x01, 0x00, 0x00, 0x03, 0x00, 0x04, 0x00, 0x00});  // two formats, one size
    expect_error({0x01, 0x00, 0x00, 0x01, 0x00, 0x04, 0x00});        // a size cut short
}

TEST(ExtendedClipboardParse, TrailingBytes) {
    expect_error({0x01, 0x00, 0x00, 0x01, 0, 0, 0, 1, 0, 0, 0, 2});  // caps: a size too many
    expect_error({0x08, 0x00, 0x00, 0x01, 0x00});                    // notify carries nothing
    expect_error({0x04, 0x00, 0x00, 0x00, 0xFF, 0xFF});              // nor does peek
}

// ---- parse: provide ------------------------------------------------------------------------

TEST(ExtendedClipboardParse, ProvideTextWithSyncFlushedStream) {
    const ExtendedClipboardParse r =
        parse_extended_clipboard(cat(kProvideTextFlags, zlib_sync(kHelloPlain)));
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.message.action, ClipboardAction::kProvide);
    EXPECT_EQ(r.message.formats, clipboard_flags::kText);
    EXPECT_EQ(r.message.text, kHelloUtf8);
}

TEST(ExtendedClipboardParse, ProvideTextWithFinishedStream) {
    const ExtendedClipboardParse r =
        parse_extended_clipboard(cat(kProvideTextFlags, zlib_finished(kHelloPlain)));
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.message.text, kHelloUtf8);
}

TEST(ExtendedClipboardParse, ProvideRoundTrip) {
    const ExtendedClipboardParse r =
        parse_extended_clipboard(make_clipboard_provide_text(kHelloUtf8));
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.message.text, kHelloUtf8);
    EXPECT_EQ(to_crlf(from_crlf(r.message.text)), kHelloUtf8);
}

TEST(ExtendedClipboardParse, ProvideTextStopsAtFirstNul) {
    const Bytes plain = {0, 0, 0, 6, 'a', 'b', 0, 'c', 'd', 0};
    const ExtendedClipboardParse r =
        parse_extended_clipboard(cat(kProvideTextFlags, zlib_sync(plain)));
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.message.text, "ab");
}

TEST(ExtendedClipboardParse, ProvideTextWithoutNulOrEmpty) {
    ExtendedClipboardParse r =
        parse_extended_clipboard(cat(kProvideTextFlags, zlib_sync({0, 0, 0, 2, 'h', 'i'})));
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.message.text, "hi");
    r = parse_extended_clipboard(cat(kProvideTextFlags, zlib_sync({0, 0, 0, 0})));
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.message.text, "");
}

TEST(ExtendedClipboardParse, ProvideTextThenOtherFormatsReadsTheText) {
    // text + html: the html part follows the text in the same stream.
    const Bytes plain = cat(kHelloPlain, Bytes{0, 0, 0, 3, '<', 'b', '>'});
    const ExtendedClipboardParse r =
        parse_extended_clipboard(cat(Bytes{0x10, 0x00, 0x00, 0x05}, zlib_sync(plain)));
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.message.formats, clipboard_flags::kText | clipboard_flags::kHtml);
    EXPECT_EQ(r.message.text, kHelloUtf8);
}

TEST(ExtendedClipboardParse, ProvideWithoutTextIsNotInflated) {
    const ExtendedClipboardParse r =
        parse_extended_clipboard(Bytes{0x10, 0x00, 0x00, 0x02, 0xDE, 0xAD});
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.message.formats, clipboard_flags::kRtf);
    EXPECT_TRUE(r.message.text.empty());
}

TEST(ExtendedClipboardParse, ProvideTextAtTheCapIsAccepted) {
    // 16 bytes of text plus its NUL, with max_text 16.
    const Bytes plain = cat(cat(Bytes{0, 0, 0, 17}, Bytes(16, 'x')), Bytes{0});
    const ExtendedClipboardParse r =
        parse_extended_clipboard(cat(kProvideTextFlags, zlib_sync(plain)), 16);
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.message.text, std::string(16, 'x'));
}

TEST(ExtendedClipboardParse, ProvideTextOverTheCapIsALimitError) {
    // 17 bytes + NUL: declared 18 > 16 + 1.
    const Bytes plain = cat(cat(Bytes{0, 0, 0, 18}, Bytes(17, 'x')), Bytes{0});
    expect_error(cat(kProvideTextFlags, zlib_sync(plain)), LimitKind::kCutText, 16);
    // 17 bytes without a NUL: declared 17 passes the first check, the text itself does not.
    const Bytes no_nul = cat(Bytes{0, 0, 0, 17}, Bytes(17, 'x'));
    expect_error(cat(kProvideTextFlags, zlib_sync(no_nul)), LimitKind::kCutText, 16);
}

// Compresses `count` bytes of 'a' behind a size field without ever holding them in memory, so
// that the test's own peak memory stays small.
Bytes zlib_run_of_a(uint32_t declared, size_t count) {
    z_stream z{};
    EXPECT_EQ(deflateInit(&z, 9), Z_OK);
    Bytes out;
    std::vector<uint8_t> buf(64 * 1024);
    auto pump = [&](const uint8_t* in, size_t n, int flush) {
        z.next_in = const_cast<Bytef*>(in);
        z.avail_in = static_cast<uInt>(n);
        do {
            z.next_out = buf.data();
            z.avail_out = static_cast<uInt>(buf.size());
            deflate(&z, flush);
            out.insert(out.end(), buf.data(), buf.data() + (buf.size() - z.avail_out));
        } while (z.avail_out == 0);
    };
    const uint8_t size_field[4] = {
        static_cast<uint8_t>(declared >> 24), static_cast<uint8_t>(declared >> 16),
        static_cast<uint8_t>(declared >> 8), static_cast<uint8_t>(declared)};
    pump(size_field, 4, Z_NO_FLUSH);
    const std::vector<uint8_t> run(64 * 1024, 'a');
    for (size_t left = count; left > 0;) {
        const size_t n = std::min(left, run.size());
        pump(run.data(), n, Z_NO_FLUSH);
        left -= n;
    }
    pump(nullptr, 0, Z_FINISH);
    deflateEnd(&z);
    return out;
}

long peak_rss_kib() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return u.ru_maxrss;
}

constexpr size_t kTenMegabytes = 10 * 1000 * 1000;

TEST(ExtendedClipboardParse, ZlibBombDeclaringItsSizeStopsBeforeInflating) {
    const Bytes packed = zlib_run_of_a(kTenMegabytes + 1, kTenMegabytes);
    ASSERT_LT(packed.size(), 64u * 1024);  // it is a bomb: ~10 KB for 10 MB
    const long before = peak_rss_kib();
    const ExtendedClipboardParse r = parse_extended_clipboard(cat(kProvideTextFlags, packed));
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.limit, LimitKind::kCutText) << r.error;
    EXPECT_TRUE(r.message.text.empty());
    // Run alone (ctest runs each test in its own process) this catches a parser that inflates
    // the 10 MB; after bigger tests in the same process the peak is already higher.
    EXPECT_LT(peak_rss_kib() - before, 4 * 1024);
}

TEST(ExtendedClipboardParse, ZlibBombLyingAboutItsSizeStopsAtTheDeclaredSize) {
    // Declares 100 bytes (well under the default cap) and inflates to 10 MB.
    const Bytes packed = zlib_run_of_a(100, kTenMegabytes);
    const long before = peak_rss_kib();
    const ExtendedClipboardParse r = parse_extended_clipboard(cat(kProvideTextFlags, packed));
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.limit, LimitKind::kNone) << r.error;
    EXPECT_LT(peak_rss_kib() - before, 4 * 1024);
}

TEST(ExtendedClipboardParse, ProvideWithoutStream) {
    expect_error(kProvideTextFlags);
}

TEST(ExtendedClipboardParse, ProvideTruncatedZlib) {
    // Streams need not end (TigerVNC only flushes them), so a cut that loses only what follows
    // the last text byte (end-of-block code, flush marker, Adler-32) still gives the whole text.
    // Any other cut must be an error, never a partial text.
    for (const Bytes& packed : {zlib_finished(kHelloPlain), zlib_sync(kHelloPlain)}) {
        size_t accepted = 0;
        for (size_t cut = 0; cut < packed.size(); ++cut) {
            SCOPED_TRACE(cut);
            const ExtendedClipboardParse r = parse_extended_clipboard(
                cat(kProvideTextFlags, Bytes(packed.begin(), packed.begin() + cut)));
            if (r.ok) {
                EXPECT_EQ(r.message.text, kHelloUtf8);
                EXPECT_GE(cut, packed.size() - 6);
                ++accepted;
            } else {
                EXPECT_EQ(r.limit, LimitKind::kNone);
            }
        }
        EXPECT_LE(accepted, 6u);
    }
}

TEST(ExtendedClipboardParse, ProvideSizePastTheEnd) {
    // Declares 100 bytes, holds 18.
    Bytes plain = kHelloPlain;
    plain[3] = 100;
    expect_error(cat(kProvideTextFlags, zlib_finished(plain)));
    expect_error(cat(kProvideTextFlags, zlib_sync(plain)));
}

TEST(ExtendedClipboardParse, ProvideMoreDataThanDeclared) {
    expect_error(cat(kProvideTextFlags, zlib_sync(cat(kHelloPlain, Bytes{'!'}))));
}

TEST(ExtendedClipboardParse, ProvideGarbageAfterTheStream) {
    expect_error(cat(cat(kProvideTextFlags, zlib_finished(kHelloPlain)), Bytes{0x00}));
}

TEST(ExtendedClipboardParse, ProvideCorruptZlib) {
    expect_error({0x10, 0x00, 0x00, 0x01, 0x12, 0x34, 0x56, 0x78});  // not a zlib header
    Bytes packed = zlib_sync(kHelloPlain);
    packed[2] ^= 0xFF;  // the first deflate block header
    expect_error(cat(kProvideTextFlags, packed));
}

// ---- text conversions ----------------------------------------------------------------------

TEST(ClipboardText, Latin1ToUtf8) {
    EXPECT_EQ(latin1_to_utf8("caf\xE9 \xFF\x80!"), "caf\xC3\xA9 \xC3\xBF\xC2\x80!");
    EXPECT_EQ(latin1_to_utf8(""), "");
}

TEST(ClipboardText, Utf8ToLatin1) {
    EXPECT_EQ(utf8_to_latin1("caf\xC3\xA9 \xC3\xBF"), "caf\xE9 \xFF");
    EXPECT_EQ(utf8_to_latin1(kHelloUtf8), "h\xE9llo ?\r\nline2");  // U+2713 has no Latin-1 form
    EXPECT_EQ(utf8_to_latin1("\xE2\x82\xAC"), "?");                // U+20AC
    EXPECT_EQ(utf8_to_latin1("\xF0\x9F\x98\x80x"), "?x");          // U+1F600: one '?'
}

TEST(ClipboardText, InvalidUtf8BecomesQuestionMarks) {
    EXPECT_EQ(utf8_to_latin1("\x80"), "?");                 // stray continuation byte
    EXPECT_EQ(utf8_to_latin1("\xC0\xAF"), "??");            // overlong '/'
    EXPECT_EQ(utf8_to_latin1("\xE0\x80\x80"), "???");       // overlong NUL
    EXPECT_EQ(utf8_to_latin1("\xED\xA0\x80"), "???");       // surrogate U+D800
    EXPECT_EQ(utf8_to_latin1("\xF4\x90\x80\x80"), "????");  // over U+10FFFF
    EXPECT_EQ(utf8_to_latin1("\xF5\x80"), "??");            // never a lead byte
    EXPECT_EQ(utf8_to_latin1("\xE2\x9C"
                             "a"),
              "?a");                                     // truncated: one '?' for the part
    EXPECT_EQ(utf8_to_latin1("a\xC3"), "a?");            // cut at the end
    EXPECT_EQ(utf8_to_latin1("\xC3\xC3\xA9"), "?\xE9");  // a lead byte interrupted by another
}

TEST(ClipboardText, EveryLatin1ByteRoundTrips) {
    std::string all;
    for (int c = 0; c < 256; ++c)
        all.push_back(static_cast<char>(c));
    const std::string utf8 = latin1_to_utf8(all);
    EXPECT_EQ(utf8.size(), 128u + 2 * 128u);
    EXPECT_EQ(utf8_to_latin1(utf8), all);
}

TEST(ClipboardText, ToCrlf) {
    EXPECT_EQ(to_crlf("a\nb\r\nc\rd"), "a\r\nb\r\nc\r\nd");
    EXPECT_EQ(to_crlf("\r\r\n\n"), "\r\n\r\n\r\n");
    EXPECT_EQ(to_crlf("no line end"), "no line end");
    EXPECT_EQ(to_crlf(""), "");
}

TEST(ClipboardText, FromCrlf) {
    EXPECT_EQ(from_crlf("a\r\nb\nc\rd\r\n"), "a\nb\nc\nd\n");
    EXPECT_EQ(from_crlf("\r\r\n"), "\n\n");
    EXPECT_EQ(from_crlf(kHelloUtf8), "h\xC3\xA9llo \xE2\x9C\x93\nline2");
}

}  // namespace
}  // namespace rfb
