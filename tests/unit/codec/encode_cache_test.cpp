#include <gtest/gtest.h>

#include "codec/encode_cache.h"
#include "codec/rfb_constants.h"

namespace rfb {
namespace {

SharedBytes bytes(size_t n, uint8_t v) {
    return make_shared_bytes(std::vector<uint8_t>(n, v));
}

TEST(EncodeCache, HitMissAndCounters) {
    EncodeCache c(1000);
    EXPECT_EQ(c.find({1, 2}), nullptr);
    c.insert({1, 2}, bytes(10, 7));
    auto hit = c.find({1, 2});
    ASSERT_NE(hit, nullptr);
    EXPECT_EQ((*hit)[0], 7);
    EXPECT_EQ(c.find({1, 3}), nullptr);
    EXPECT_EQ(c.stats().hits, 1u);
    EXPECT_EQ(c.stats().misses, 2u);
    EXPECT_EQ(c.stats().bytes, 10u);
}

TEST(EncodeCache, EvictsLeastRecentlyUsedWithinCap) {
    EncodeCache c(300);
    c.insert({1, 0}, bytes(100, 1));
    c.insert({2, 0}, bytes(100, 2));
    c.insert({3, 0}, bytes(100, 3));
    ASSERT_NE(c.find({1, 0}), nullptr);  // 1 is now the most recent
    c.insert({4, 0}, bytes(100, 4));     // evicts 2
    EXPECT_EQ(c.find({2, 0}), nullptr);
    EXPECT_NE(c.find({1, 0}), nullptr);
    EXPECT_NE(c.find({4, 0}), nullptr);
    EXPECT_LE(c.stats().bytes, 300u);
    EXPECT_EQ(c.stats().evictions, 1u);
}

TEST(EncodeCache, EvictedBytesStayAliveForHolders) {
    EncodeCache c(100);
    c.insert({1, 0}, bytes(100, 9));
    SharedBytes held = c.find({1, 0});
    c.insert({2, 0}, bytes(100, 8));
    EXPECT_EQ(c.find({1, 0}), nullptr);
    ASSERT_NE(held, nullptr);
    EXPECT_EQ((*held)[99], 9);
}

TEST(EncodeCache, OversizeEntryIsNotCached) {
    EncodeCache c(10);
    c.insert({1, 0}, bytes(11, 0));
    EXPECT_EQ(c.find({1, 0}), nullptr);
    EXPECT_EQ(c.stats().bytes, 0u);
}

TEST(EncodeProfile, DistinguishesEveryField) {
    EncodeProfile a;
    a.encoding = encoding::kZRLE;
    EncodeProfile b = a;
    EXPECT_EQ(a.id(), b.id());
    b.format = PixelFormat::rgb565();
    EXPECT_NE(a.id(), b.id());
    b = a;
    b.tuning.compress = 9;
    EXPECT_NE(a.id(), b.id());
    b = a;
    b.encoding = encoding::kHextile;
    EXPECT_NE(a.id(), b.id());
}

}  // namespace
}  // namespace rfb
