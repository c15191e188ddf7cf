#include "reflector/auth_lockout.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <string>

namespace rfbcast {
namespace {

using namespace std::chrono_literals;

// A fixed origin: the lockout only ever compares and adds, so any time_point works.
const Clock::time_point T0 = Clock::time_point{} + 1000h;

sockaddr_storage v4(const char* addr, uint16_t port = 5900) {
    sockaddr_storage ss{};
    auto* in = reinterpret_cast<sockaddr_in*>(&ss);
    in->sin_family = AF_INET;
    in->sin_port = htons(port);
    EXPECT_EQ(inet_pton(AF_INET, addr, &in->sin_addr), 1) << addr;
    return ss;
}

sockaddr_storage v6(const char* addr, uint16_t port = 5900) {
    sockaddr_storage ss{};
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&ss);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(port);
    EXPECT_EQ(inet_pton(AF_INET6, addr, &in6->sin6_addr), 1) << addr;
    return ss;
}

const sockaddr* sa(const sockaddr_storage& ss) {
    return reinterpret_cast<const sockaddr*>(&ss);
}

LockoutKey key(const char* text) {
    sockaddr_storage ss = std::strchr(text, ':') ? v6(text) : v4(text);
    return *lockout_key(sa(ss));
}

void fail_n(AuthLockout& l, const LockoutKey& k, int n, Clock::time_point at) {
    for (int i = 0; i < n; ++i)
        l.failure(k, at);
}

TEST(LockoutKey, Ipv4AndMappedAreTheSame) {
    const sockaddr_storage a = v4("192.0.2.7", 1000);
    const sockaddr_storage b = v6("::ffff:192.0.2.7", 2000);
    ASSERT_TRUE(lockout_key(sa(a)));
    EXPECT_EQ(*lockout_key(sa(a)), *lockout_key(sa(b)));
    EXPECT_FALSE(lockout_key(sa(a))->v6);
    EXPECT_EQ(lockout_key_text(*lockout_key(sa(b))), "192.0.2.7");
    EXPECT_NE(key("192.0.2.7"), key("192.0.2.8"));
}

TEST(LockoutKey, Ipv6GroupedPer64) {
    EXPECT_EQ(key("2001:db8:1:2::1"), key("2001:db8:1:2:ffff:ffff:ffff:ffff"));
    EXPECT_NE(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
    EXPECT_EQ(lockout_key_text(key("2001:db8:1:2:aaaa::1")), "2001:db8:1:2::/64");
    // ::ffff:0:0/96 is IPv4; its neighbours in the same /64 are not.
    EXPECT_TRUE(key("::fffe:192.0.2.7").v6);
    EXPECT_NE(key("::fffe:192.0.2.7"), key("192.0.2.7"));
    // An IPv4 address never equals an IPv6 /64 with the same leading bytes.
    const uint8_t bytes16[16] = {192, 0, 2, 7};
    EXPECT_NE(lockout_key_v6(bytes16), key("192.0.2.7"));
    const uint8_t mapped[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 7};
    EXPECT_EQ(lockout_key_v6(mapped), key("192.0.2.7"));
    const uint8_t four[4] = {192, 0, 2, 7};
    EXPECT_EQ(lockout_key_v4(four), key("192.0.2.7"));
}

TEST(LockoutKey, OtherFamiliesHaveNoKey) {
    sockaddr_un un{};
    un.sun_family = AF_UNIX;
    EXPECT_FALSE(lockout_key(reinterpret_cast<const sockaddr*>(&un)));
    EXPECT_FALSE(lockout_key(nullptr));
    AuthLockout l;
    for (int i = 0; i < 10; ++i)
        l.failure(reinterpret_cast<const sockaddr*>(&un), T0);
    EXPECT_FALSE(l.blocked(reinterpret_cast<const sockaddr*>(&un), T0));
    EXPECT_EQ(l.size(), 0u);
}

TEST(AuthLockout, FiveFailuresBlockForTenSeconds) {
    AuthLockout l;
    const LockoutKey k = key("192.0.2.7");
    Clock::duration left;
    for (int i = 1; i <= 4; ++i) {
        l.failure(k, T0 + std::chrono::seconds(i));
        EXPECT_FALSE(l.blocked(k, T0 + std::chrono::seconds(i), &left)) << i;
        EXPECT_EQ(left, 0s);
    }
    EXPECT_EQ(l.failures_of(k), 4u);
    l.failure(k, T0 + 5s);  // the 5th
    ASSERT_TRUE(l.blocked(k, T0 + 5s, &left));
    EXPECT_EQ(left, 10s);
    ASSERT_TRUE(l.blocked(k, T0 + 14s + 999ms, &left));
    EXPECT_EQ(left, 1ms);
    EXPECT_FALSE(l.blocked(k, T0 + 15s, &left));
    EXPECT_EQ(left, 0s);
    // Other addresses are not affected.
    EXPECT_FALSE(l.blocked(key("192.0.2.8"), T0 + 6s));
    EXPECT_EQ(l.counters().failures, 5u);
    EXPECT_EQ(l.counters().blocks_started, 1u);
    EXPECT_EQ(l.counters().refused_while_blocked, 2u);
}

TEST(AuthLockout, EachFailureAfterABlockDoublesIt) {
    AuthLockout l;
    const LockoutKey k = key("2001:db8::1");
    Clock::duration left;
    fail_n(l, k, 5, T0);
    ASSERT_TRUE(l.blocked(k, T0, &left));
    EXPECT_EQ(left, 10s);
    // After the block: one more failure, 20 s; then 40 s, 80 s.
    Clock::time_point t = T0 + 10s;
    for (auto expected : {20s, 40s, 80s, 160s}) {
        EXPECT_FALSE(l.blocked(k, t));
        l.failure(k, t);
        ASSERT_TRUE(l.blocked(k, t, &left));
        EXPECT_EQ(left, expected);
        EXPECT_TRUE(l.blocked(k, t + expected - 1ns));
        EXPECT_FALSE(l.blocked(k, t + expected));
        t += expected + 3s;  // some quiet time after each block
    }
    EXPECT_EQ(l.counters().blocks_started, 5u);
}

TEST(AuthLockout, FailuresDuringABlockDoNotExtendIt) {
    AuthLockout l;
    const LockoutKey k = key("192.0.2.7");
    Clock::duration left;
    fail_n(l, k, 5, T0);
    // Connections that were already past blocked() fail during the block.
    fail_n(l, k, 20, T0 + 3s);
    ASSERT_TRUE(l.blocked(k, T0 + 3s, &left));
    EXPECT_EQ(left, 7s);
    EXPECT_FALSE(l.blocked(k, T0 + 10s));
    EXPECT_EQ(l.counters().failures, 25u);
    EXPECT_EQ(l.counters().blocks_started, 1u);
    // The next block is still the doubled one, not 2^21 times longer.
    l.failure(k, T0 + 10s);
    ASSERT_TRUE(l.blocked(k, T0 + 10s, &left));
    EXPECT_EQ(left, 20s);
}

TEST(AuthLockout, BlockIsCapped) {
    AuthLockout l;
    const LockoutKey k = key("192.0.2.7");
    Clock::duration left;
    fail_n(l, k, 5, T0);
    Clock::time_point t = T0;
    Clock::duration expected = 10s;
    for (int i = 0; i < 60; ++i) {
        ASSERT_TRUE(l.blocked(k, t, &left));
        ASSERT_EQ(left, expected) << i;
        t += left;
        l.failure(k, t);
        expected = std::min<Clock::duration>(expected * 2, 3600s);
    }
    // 10 s * 2^9 = 5120 s > 3600 s: the cap is reached after 9 doublings and stays.
    EXPECT_EQ(expected, 3600s);
    ASSERT_TRUE(l.blocked(k, t, &left));
    EXPECT_EQ(left, 3600s);
}

TEST(AuthLockout, SuccessClearsTheAddress) {
    AuthLockout l;
    const LockoutKey k = key("192.0.2.7");
    fail_n(l, k, 4, T0);
    l.success(k);
    EXPECT_EQ(l.size(), 0u);
    EXPECT_EQ(l.failures_of(k), 0u);
    // Four more failures do not block: the count started again.
    fail_n(l, k, 4, T0 + 1s);
    EXPECT_FALSE(l.blocked(k, T0 + 1s));
    l.failure(k, T0 + 1s);
    EXPECT_TRUE(l.blocked(k, T0 + 1s));
    // After a block and a success, the next block is 10 s again, not 20 s.
    l.success(k);
    Clock::duration left;
    fail_n(l, k, 5, T0 + 100s);
    ASSERT_TRUE(l.blocked(k, T0 + 100s, &left));
    EXPECT_EQ(left, 10s);
    // Success for an unknown address is harmless.
    l.success(key("198.51.100.1"));
}

TEST(AuthLockout, Ipv6NeighboursShareOneCount) {
    AuthLockout l;
    const sockaddr_storage a = v6("2001:db8:7:7::1");
    const sockaddr_storage b = v6("2001:db8:7:7::2");
    const sockaddr_storage c = v6("2001:db8:7:7:dead:beef:0:1");
    l.failure(sa(a), T0);
    l.failure(sa(b), T0);
    l.failure(sa(c), T0);
    l.failure(sa(a), T0);
    EXPECT_FALSE(l.blocked(sa(c), T0));
    l.failure(sa(b), T0);
    EXPECT_TRUE(l.blocked(sa(a), T0));
    EXPECT_TRUE(l.blocked(sa(c), T0));
    EXPECT_FALSE(l.blocked(sa(v6("2001:db8:7:8::1")), T0));
    EXPECT_EQ(l.size(), 1u);
    // A dual-stack socket's mapped address shares the IPv4 address's count.
    const sockaddr_storage v4a = v4("203.0.113.9");
    const sockaddr_storage mapped = v6("::ffff:203.0.113.9");
    fail_n(l, *lockout_key(sa(v4a)), 3, T0);
    l.failure(sa(mapped), T0);
    l.failure(sa(mapped), T0);
    EXPECT_TRUE(l.blocked(sa(v4a), T0));
}

TEST(AuthLockout, ForgetsAfterAQuietPeriod) {
    AuthLockoutConfig cfg;
    cfg.forget_after = 3600s;
    AuthLockout l(cfg);
    const LockoutKey k = key("192.0.2.7");
    fail_n(l, k, 4, T0);
    l.blocked(k, T0 + 3599s);
    EXPECT_EQ(l.failures_of(k), 4u);
    l.blocked(k, T0 + 3600s);
    EXPECT_EQ(l.failures_of(k), 0u);
    EXPECT_EQ(l.size(), 0u);
    EXPECT_EQ(l.counters().forgotten, 1u);
    // After a block has ended the entry stays (with its doubled next block) until the quiet
    // period is over.
    fail_n(l, k, 5, T0 + 4000s);
    EXPECT_FALSE(l.blocked(k, T0 + 4010s));
    EXPECT_EQ(l.failures_of(k), 5u);
    EXPECT_FALSE(l.blocked(k, T0 + 4000s + 3599s));
    EXPECT_EQ(l.failures_of(k), 5u);
    EXPECT_FALSE(l.blocked(k, T0 + 4000s + 3600s));
    EXPECT_EQ(l.failures_of(k), 0u);

    // A block is never forgotten while it runs, even one longer than the quiet period (which
    // is raised to max_block, so a block's doubling is not forgotten the moment it ends).
    cfg.forget_after = 5s;
    cfg.max_block = 60s;
    AuthLockout m(cfg);
    fail_n(m, k, 5, T0);
    EXPECT_EQ(m.config().forget_after, 60s);
    m.failure(k, T0 + 10s);  // 20 s
    EXPECT_TRUE(m.blocked(k, T0 + 29s));
    EXPECT_FALSE(m.blocked(k, T0 + 30s));
    EXPECT_EQ(m.failures_of(k), 5u);
    EXPECT_FALSE(m.blocked(k, T0 + 70s));
    EXPECT_EQ(m.size(), 0u);
}

TEST(AuthLockout, EvictsLeastRecentlyFailedUnblocked) {
    AuthLockoutConfig cfg;
    cfg.max_entries = 3;
    AuthLockout l(cfg);
    const LockoutKey a = key("10.0.0.1"), b = key("10.0.0.2"), c = key("10.0.0.3"),
                     d = key("10.0.0.4");
    l.failure(a, T0 + 1s);
    l.failure(b, T0 + 2s);
    l.failure(c, T0 + 3s);
    l.failure(a, T0 + 4s);  // a is now the most recent
    l.failure(d, T0 + 5s);  // evicts b
    EXPECT_EQ(l.size(), 3u);
    EXPECT_EQ(l.failures_of(a), 2u);
    EXPECT_EQ(l.failures_of(b), 0u);
    EXPECT_EQ(l.failures_of(c), 1u);
    EXPECT_EQ(l.failures_of(d), 1u);
    EXPECT_EQ(l.counters().evictions, 1u);
}

TEST(AuthLockout, SprayingAddressesDoesNotFlushBlocks) {
    AuthLockoutConfig cfg;
    cfg.max_entries = 4;
    AuthLockout l(cfg);
    const LockoutKey attacker = key("2001:db8:bad::1");
    fail_n(l, attacker, 5, T0);
    ASSERT_TRUE(l.blocked(attacker, T0));
    // 1000 different /64s, one failure each, all within the block.
    for (int i = 0; i < 1000; ++i) {
        uint8_t addr[16] = {0x20,
                            0x01,
                            0x0d,
                            0xb8,
                            0xff,
                            0xff,
                            static_cast<uint8_t>(i >> 8),
                            static_cast<uint8_t>(i)};
        l.failure(lockout_key_v6(addr), T0 + 1s);
    }
    EXPECT_EQ(l.size(), 4u);
    Clock::duration left;
    ASSERT_TRUE(l.blocked(attacker, T0 + 1s, &left));
    EXPECT_EQ(left, 9s);
    EXPECT_EQ(l.counters().evictions, 997u);
}

TEST(AuthLockout, WhenAllAreBlockedTheSoonestEndingGoes) {
    AuthLockoutConfig cfg;
    cfg.max_entries = 2;
    AuthLockout l(cfg);
    const LockoutKey a = key("10.0.0.1"), b = key("10.0.0.2"), c = key("10.0.0.3");
    fail_n(l, a, 5, T0);  // blocked until T0+10
    fail_n(l, b, 5, T0);
    l.failure(b, T0 + 10s);  // b: second block, until T0+30
    ASSERT_TRUE(l.blocked(b, T0 + 10s));
    l.success(a);               // a's block had ended; start it again
    fail_n(l, a, 5, T0 + 11s);  // a: until T0+21
    ASSERT_TRUE(l.blocked(a, T0 + 12s));
    ASSERT_TRUE(l.blocked(b, T0 + 12s));
    l.failure(c, T0 + 12s);  // both blocked: a ends first and goes
    EXPECT_EQ(l.size(), 2u);
    EXPECT_FALSE(l.blocked(a, T0 + 12s));
    EXPECT_TRUE(l.blocked(b, T0 + 12s));
    EXPECT_EQ(l.failures_of(c), 1u);
}

TEST(AuthLockout, EndedBlocksBecomeEvictable) {
    AuthLockoutConfig cfg;
    cfg.max_entries = 2;
    AuthLockout l(cfg);
    const LockoutKey a = key("10.0.0.1"), b = key("10.0.0.2"), c = key("10.0.0.3");
    fail_n(l, a, 5, T0);     // blocked until T0+10, last failure T0
    l.failure(b, T0 + 9s);   // unblocked, last failure T0+9
    l.failure(c, T0 + 10s);  // a's block has ended: a is now the oldest unblocked and goes
    EXPECT_EQ(l.failures_of(a), 0u);
    EXPECT_EQ(l.failures_of(b), 1u);
    EXPECT_EQ(l.failures_of(c), 1u);
}

TEST(AuthLockout, ConfigurableThresholdAndDurations) {
    AuthLockoutConfig cfg;
    cfg.threshold = 2;
    cfg.first_block = 3s;
    cfg.max_block = 5s;
    AuthLockout l(cfg);
    const LockoutKey k = key("192.0.2.1");
    Clock::duration left;
    l.failure(k, T0);
    EXPECT_FALSE(l.blocked(k, T0));
    l.failure(k, T0);
    ASSERT_TRUE(l.blocked(k, T0, &left));
    EXPECT_EQ(left, 3s);
    l.failure(k, T0 + 3s);
    ASSERT_TRUE(l.blocked(k, T0 + 3s, &left));
    EXPECT_EQ(left, 5s);  // 6 s capped at 5
    l.failure(k, T0 + 8s);
    ASSERT_TRUE(l.blocked(k, T0 + 8s, &left));
    EXPECT_EQ(left, 5s);

    // Degenerate values are made safe: threshold 0 acts as 1, max_entries 0 as 1.
    AuthLockoutConfig odd;
    odd.threshold = 0;
    odd.max_entries = 0;
    AuthLockout o(odd);
    o.failure(k, T0);
    EXPECT_TRUE(o.blocked(k, T0));
    o.failure(key("192.0.2.2"), T0);
    EXPECT_EQ(o.size(), 1u);

    // Absurd durations are held to ten years, far from overflowing the clock's nanoseconds.
    AuthLockoutConfig huge;
    huge.threshold = 1;
    huge.first_block = std::chrono::seconds(INT64_MAX / 2);
    huge.max_block = std::chrono::seconds(INT64_MAX);
    huge.forget_after = std::chrono::seconds(INT64_MAX);
    AuthLockout h(huge);
    const auto ten_years = std::chrono::seconds(10LL * 366 * 24 * 3600);
    EXPECT_EQ(h.config().max_block, ten_years);
    EXPECT_EQ(h.config().first_block, ten_years);
    EXPECT_EQ(h.config().forget_after, ten_years);
    h.failure(k, T0);
    ASSERT_TRUE(h.blocked(k, T0, &left));
    EXPECT_EQ(left, ten_years);
}

TEST(AuthLockout, LargeTableStaysConsistent) {
    AuthLockoutConfig cfg;
    cfg.max_entries = 1000;
    AuthLockout l(cfg);
    Clock::time_point t = T0;
    for (uint32_t i = 0; i < 20000; ++i) {
        const uint8_t addr[4] = {10, static_cast<uint8_t>(i >> 16), static_cast<uint8_t>(i >> 8),
                                 static_cast<uint8_t>(i % 97)};
        l.failure(lockout_key_v4(addr), t);
        if (i % 7 == 0) l.success(lockout_key_v4(addr));
        t += 10ms;
        ASSERT_LE(l.size(), 1000u);
    }
    // Let everything end and be forgotten.
    l.blocked(key("10.0.0.1"), t + 25h);
    EXPECT_EQ(l.size(), 0u);
}

}  // namespace
}  // namespace rfbcast
