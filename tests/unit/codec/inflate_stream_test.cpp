#include "codec/inflate_stream.h"

#include <gtest/gtest.h>

#include "decoder_test_support.h"

namespace rfb {
namespace {

TEST(InflateStream, ReadsExactlyAndFinishesCleanly) {
    test::Deflater z;
    const std::vector<uint8_t> text = {'h', 'e', 'l', 'l', 'o', ' ', 'w', 'o', 'r', 'l', 'd'};
    const auto payload = z.compress(text);
    InflateStream s;
    std::string error;
    ASSERT_TRUE(s.begin(payload, error));
    std::vector<uint8_t> out(5);
    ASSERT_TRUE(s.read_exact(out, error));
    EXPECT_EQ(out, std::vector<uint8_t>(text.begin(), text.begin() + 5));
    out.resize(6);
    ASSERT_TRUE(s.read_exact(out, error));
    EXPECT_EQ(out, std::vector<uint8_t>(text.begin() + 5, text.end()));
    EXPECT_TRUE(s.finish(error)) << error;
}

TEST(InflateStream, FinishRefusesUnreadOutput) {
    test::Deflater z;
    const std::vector<uint8_t> text(100, 'x');
    const auto payload = z.compress(text);
    InflateStream s;
    std::string error;
    ASSERT_TRUE(s.begin(payload, error));
    std::vector<uint8_t> out(99);
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

TEST(InflateStream, ReadSomeStopsWhenInputRunsOut) {
    test::Deflater z;
    const auto payload = z.compress(std::vector<uint8_t>(10, 'y'));
    InflateStream s;
    std::string error;
    ASSERT_TRUE(s.begin(payload, error));
    std::vector<uint8_t> out(64);
    size_t produced = 0;
    ASSERT_TRUE(s.read_some(out, produced, error));
    EXPECT_EQ(produced, 10u);
    EXPECT_TRUE(s.finish(error));
}

TEST(InflateStream, EndOfStreamThenMoreBytesIsAnError) {
    test::Deflater z;
    auto payload = z.compress(std::vector<uint8_t>(4, 'z'), Z_FINISH);
    payload.push_back(0);
    InflateStream s;
    std::string error;
    ASSERT_TRUE(s.begin(payload, error));
    std::vector<uint8_t> out(4);
    ASSERT_TRUE(s.read_exact(out, error));
    EXPECT_FALSE(s.finish(error));
    EXPECT_EQ(error, "bytes left after the end of the zlib stream");
}

}  // namespace
}  // namespace rfb
