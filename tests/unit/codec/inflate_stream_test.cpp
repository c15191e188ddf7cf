#include "codec/inflate_stream.h"

#include <gtest/gtest.h>

#include <random>

#include "decoder_test_support.h"

namespace rfb {
namespace {

using Bytes = std::vector<uint8_t>;

// Both implementations keep one contract: every test here runs on each.
template <class Stream>
class InflateContract : public ::testing::Test {};
using Streams = ::testing::Types<InflateStream, BulkInflateStream>;
TYPED_TEST_SUITE(InflateContract, Streams);

TYPED_TEST(InflateContract, ReadsExactlyAndFinishesCleanly) {
    test::Deflater z;
    const Bytes text = {'h', 'e', 'l', 'l', 'o', ' ', 'w', 'o', 'r', 'l', 'd'};
    const auto payload = z.compress(text);
    TypeParam s;
    std::string error;
    ASSERT_TRUE(s.begin(payload, error));
    Bytes out(5);
    ASSERT_TRUE(s.read_exact(out, error));
    EXPECT_EQ(out, Bytes(text.begin(), text.begin() + 5));
    out.resize(6);
    ASSERT_TRUE(s.read_exact(out, error));
    EXPECT_EQ(out, Bytes(text.begin() + 5, text.end()));
    EXPECT_TRUE(s.finish(error)) << error;
}

TYPED_TEST(InflateContract, FinishRefusesUnreadOutput) {
    test::Deflater z;
    const Bytes text(100, 'x');
    const auto payload = z.compress(text);
    TypeParam s;
    std::string error;
    ASSERT_TRUE(s.begin(payload, error));
    Bytes out(99);
    ASSERT_TRUE(s.read_exact(out, error));
    EXPECT_FALSE(s.finish(error));
    EXPECT_EQ(error, "zlib data inflates to more than the rectangle needs");
    // Broken until reset.
    EXPECT_FALSE(s.begin(payload, error));
    s.reset();
    ASSERT_TRUE(s.begin(payload, error));
    out.resize(100);
    EXPECT_TRUE(s.read_exact(out, error));
    EXPECT_TRUE(s.finish(error));
}

// Output beyond the rectangle is refused whatever produces it (a literal, the end of a long
// match, a whole further block) and however far it reaches (igzip decodes ahead into its own
// buffer: the surplus must not be lost there).
TYPED_TEST(InflateContract, FinishRefusesAnySurplus) {
    std::mt19937 rng(3);
    Bytes noise(70000);
    for (auto& b : noise)
        b = static_cast<uint8_t>(rng());
    const std::vector<std::pair<Bytes, size_t>> cases = {
        {Bytes(300, 'a'), 299},                              // inside a long match
        {Bytes{'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'}, 7},  // one literal
        {Bytes(noise.begin(), noise.begin() + 5000), 4000},  // a kilobyte of literals
        {noise, 100},                                        // 68 KiB more than asked
        {Bytes(200000, 0), 65536},                           // a zlib bomb
    };
    for (const auto& [data, take] : cases) {
        test::Deflater z;
        const auto payload = z.compress(data);
        TypeParam s;
        std::string error;
        ASSERT_TRUE(s.begin(payload, error));
        Bytes out(take);
        ASSERT_TRUE(s.read_exact(out, error)) << error;
        EXPECT_EQ(out, Bytes(data.begin(), data.begin() + static_cast<long>(take)));
        EXPECT_FALSE(s.finish(error)) << "size " << data.size() << " take " << take;
        EXPECT_EQ(error, "zlib data inflates to more than the rectangle needs");
    }
}

TYPED_TEST(InflateContract, ReadSomeStopsWhenInputRunsOut) {
    test::Deflater z;
    const auto payload = z.compress(Bytes(10, 'y'));
    TypeParam s;
    std::string error;
    ASSERT_TRUE(s.begin(payload, error));
    Bytes out(64);
    size_t produced = 0;
    ASSERT_TRUE(s.read_some(out, produced, error));
    EXPECT_EQ(produced, 10u);
    EXPECT_TRUE(s.finish(error));
}

TYPED_TEST(InflateContract, TooLittleDataIsAnError) {
    test::Deflater z;
    const auto payload = z.compress(Bytes(10, 'y'));
    TypeParam s;
    std::string error;
    ASSERT_TRUE(s.begin(payload, error));
    Bytes out(11);
    EXPECT_FALSE(s.read_exact(out, error));
    EXPECT_EQ(error, "zlib data ends before the rectangle does");
}

TYPED_TEST(InflateContract, EndOfStreamThenMoreBytesIsAnError) {
    test::Deflater z;
    auto payload = z.compress(Bytes(4, 'z'), Z_FINISH);
    payload.push_back(0);
    TypeParam s;
    std::string error;
    ASSERT_TRUE(s.begin(payload, error));
    Bytes out(4);
    ASSERT_TRUE(s.read_exact(out, error));
    EXPECT_FALSE(s.finish(error));
    EXPECT_EQ(error, "bytes left after the end of the zlib stream");
}

// A stream that ends (Z_FINISH) is accepted with its Adler-32 trailer, also when the trailer
// comes with the next rectangle; asking for more than it holds is an error.
TYPED_TEST(InflateContract, EndOfStreamWithItsTrailer) {
    test::Deflater z;
    const Bytes text(50, 'q');
    const auto payload = z.compress(text, Z_FINISH);
    for (size_t keep = 0; keep <= 4; ++keep) {
        SCOPED_TRACE(keep);
        TypeParam s;
        std::string error;
        const size_t cut = payload.size() - keep;  // `keep` trailer bytes come later
        ASSERT_TRUE(s.begin(std::span(payload).first(cut), error));
        Bytes out(text.size());
        ASSERT_TRUE(s.read_exact(out, error)) << error;
        EXPECT_EQ(out, text);
        ASSERT_TRUE(s.finish(error)) << error;
        ASSERT_TRUE(s.begin(std::span(payload).subspan(cut), error));
        EXPECT_TRUE(s.finish(error)) << error;
        ASSERT_TRUE(s.begin(std::span(payload).first(0), error));
        Bytes more(1);
        EXPECT_FALSE(s.read_exact(more, error));
        EXPECT_EQ(error, "zlib stream ended before the rectangle did");
    }
}

// The zlib header as zlib checks it: FCHECK, method 8, window at most 32 KiB, no dictionary.
TYPED_TEST(InflateContract, BadHeadersAreCorruptData) {
    test::Deflater z;
    const auto good = z.compress(Bytes(20, 'h'));
    ASSERT_EQ(good[0], 0x78);
    const std::vector<std::pair<uint8_t, uint8_t>> bad = {
        {0x78, 0x9d},  // FCHECK wrong
        {0x79, 0x94},  // method 9 (FCHECK right)
        {0x88, 0x98},  // window 2^16 (FCHECK right)
        {0x78, 0xbb},  // preset dictionary (FCHECK right)
    };
    for (const auto& [cmf, flg] : bad) {
        ASSERT_EQ(((cmf << 8) | flg) % 31 == 0, flg != 0x9d);
        Bytes payload = good;
        payload[0] = cmf;
        payload[1] = flg;
        TypeParam s;
        std::string error;
        ASSERT_TRUE(s.begin(payload, error));
        Bytes out(20);
        EXPECT_FALSE(s.read_exact(out, error)) << int{cmf} << " " << int{flg};
        EXPECT_EQ(error.rfind("zlib data is corrupt", 0), 0u) << error;
    }
}

// Rectangles may split the stream anywhere, even inside the two header bytes, as long as each
// one's output is exactly what it asks for.
TYPED_TEST(InflateContract, HeaderSplitAcrossRectangles) {
    test::Deflater z;
    const Bytes text(40, 'k');
    const auto payload = z.compress(text);
    TypeParam s;
    std::string error;
    ASSERT_TRUE(s.begin(std::span(payload).first(1), error));
    EXPECT_TRUE(s.finish(error)) << error;
    ASSERT_TRUE(s.begin(std::span(payload).subspan(1), error));
    Bytes out(text.size());
    ASSERT_TRUE(s.read_exact(out, error)) << error;
    EXPECT_EQ(out, text);
    EXPECT_TRUE(s.finish(error)) << error;
}

// What a server sends: one stream, a sync flush after each rectangle, rectangles from a byte to
// larger than the 32 KiB window, content from flat to noise, at different levels. Every
// rectangle must come out exactly, with the history of all before it; reset() starts over.
TYPED_TEST(InflateContract, ServerLikeStreamsRoundTrip) {
    std::mt19937 rng(17);
    for (int level : {1, 6, 9}) {
        SCOPED_TRACE(level);
        test::Deflater z(level);
        TypeParam s;
        Bytes history;
        for (int rect = 0; rect < 40; ++rect) {
            const size_t sizes[] = {1, 3, 64, 700, 4096, 16384, 40000, 70000};
            const size_t n = sizes[rng() % std::size(sizes)];
            Bytes data(n);
            const int kind = static_cast<int>(rng() % 4);
            for (size_t i = 0; i < n; ++i) {
                if (kind == 0)
                    data[i] = 0xff;
                else if (kind == 1)
                    data[i] = rng() % 13 ? 0xff : static_cast<uint8_t>(rng());
                else if (kind == 2 && history.size() > 1000)
                    data[i] = history[(i * 7) % history.size()];  // matches far back
                else
                    data[i] = static_cast<uint8_t>(rng());
            }
            const auto payload = z.compress(data);
            std::string error;
            ASSERT_TRUE(s.begin(payload, error)) << error;
            Bytes out(n);
            ASSERT_TRUE(s.read_exact(out, error)) << "rect " << rect << ": " << error;
            ASSERT_EQ(out, data) << "rect " << rect;
            ASSERT_TRUE(s.finish(error)) << "rect " << rect << ": " << error;
            history.insert(history.end(), data.begin(), data.end());
        }
    }
}

// Corrupted streams: never a crash, never more output than asked for; an error or a rectangle
// (a flipped bit can still be valid deflate).
TYPED_TEST(InflateContract, CorruptStreamsFailCleanly) {
    std::mt19937 rng(23);
    Bytes data(20000);
    for (size_t i = 0; i < data.size(); ++i)
        data[i] = i % 97 < 60 ? 0xee : static_cast<uint8_t>(rng());
    test::Deflater z;
    const auto first = z.compress(data);
    const auto second = z.compress(data);
    int errors = 0;
    for (int trial = 0; trial < 300; ++trial) {
        Bytes bad = second;
        const int flips = 1 + static_cast<int>(rng() % 4);
        for (int f = 0; f < flips; ++f)
            bad[rng() % bad.size()] ^= static_cast<uint8_t>(1u << (rng() % 8));
        TypeParam s;
        std::string error;
        Bytes out(data.size() + 16, 0xcd);
        ASSERT_TRUE(s.begin(first, error));
        ASSERT_TRUE(s.read_exact(std::span(out).first(data.size()), error));
        ASSERT_TRUE(s.finish(error));
        ASSERT_TRUE(s.begin(bad, error));
        const bool ok = s.read_exact(std::span(out).first(data.size()), error) && s.finish(error);
        for (size_t i = data.size(); i < out.size(); ++i)
            ASSERT_EQ(out[i], 0xcd) << "wrote past the span";
        if (!ok) {
            ++errors;
            EXPECT_TRUE(error.rfind("zlib data", 0) == 0 || error.rfind("bytes left", 0) == 0)
                << error;
            EXPECT_FALSE(s.begin(first, error));  // broken until reset
        }
    }
    EXPECT_GT(errors, 200);
}

// The two implementations agree rectangle by rectangle on the same server-like stream, also with
// bodies cut into odd pieces by read_some.
TEST(BulkInflateStream, AgreesWithZlibPieceByPiece) {
    std::mt19937 rng(29);
    test::Deflater z(6);
    InflateStream a;
    BulkInflateStream b;
    for (int rect = 0; rect < 40; ++rect) {
        Bytes data(1 + rng() % 50000);
        for (auto& v : data)
            v = rng() % 5 ? static_cast<uint8_t>(rect) : static_cast<uint8_t>(rng());
        const auto payload = z.compress(data);
        std::string ea, eb;
        ASSERT_TRUE(a.begin(payload, ea));
        ASSERT_TRUE(b.begin(payload, eb));
        size_t done = 0;
        while (done < data.size()) {
            const size_t piece = std::min<size_t>(1 + rng() % 3000, data.size() - done);
            Bytes oa(piece), ob(piece);
            size_t pa = 0, pb = 0;
            ASSERT_TRUE(a.read_some(oa, pa, ea));
            ASSERT_TRUE(b.read_some(ob, pb, eb));
            ASSERT_EQ(pa, piece);
            ASSERT_EQ(pb, piece);
            ASSERT_EQ(oa, ob);
            ASSERT_EQ(ob, Bytes(data.begin() + static_cast<long>(done),
                                data.begin() + static_cast<long>(done + piece)));
            done += piece;
        }
        ASSERT_TRUE(a.finish(ea)) << ea;
        ASSERT_TRUE(b.finish(eb)) << eb;
    }
}

}  // namespace
}  // namespace rfb
