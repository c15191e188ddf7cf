#include "reflector/encode_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "codec/encode_cache.h"
#include "codec/rfb_constants.h"
#include "reflector/tile_encode_service.h"

namespace rfbcast {
namespace {

struct Loop {
    std::unique_ptr<EventLoop> loop;
    Loop() {
        std::string err;
        loop = EventLoop::create(64, &err);
    }
};

TEST(EncodePool, WorkRunsOnAWorkerAndDoneOnTheLoop) {
    Loop l;
    ASSERT_TRUE(l.loop);
    EncodePool pool(*l.loop, 2);
    const auto loop_thread = std::this_thread::get_id();
    std::atomic<int> worked{0};
    int done = 0;
    bool work_off_loop = true, done_on_loop = true;
    for (int i = 0; i < 50; ++i)
        ASSERT_TRUE(pool.submit(
            [&] {
                if (std::this_thread::get_id() == loop_thread) work_off_loop = false;
                ++worked;
            },
            [&] {
                if (std::this_thread::get_id() != loop_thread) done_on_loop = false;
                ++done;
            }));
    l.loop->run_until([&] { return done == 50; }, std::chrono::seconds(5));
    EXPECT_EQ(worked.load(), 50);
    EXPECT_EQ(done, 50);
    EXPECT_TRUE(work_off_loop);
    EXPECT_TRUE(done_on_loop);
    EXPECT_EQ(pool.in_flight(), 0u);
}

TEST(EncodePool, FullQueueRefusesAndProgressIsReported) {
    Loop l;
    ASSERT_TRUE(l.loop);
    EncodePool pool(*l.loop, 1, 3);
    std::atomic<bool> release{false};
    int done = 0, progress = 0;
    pool.set_on_progress([&] { ++progress; });
    for (int i = 0; i < 3; ++i)
        ASSERT_TRUE(pool.submit(
            [&] {
                while (!release)
                    std::this_thread::yield();
            },
            [&] { ++done; }));
    EXPECT_FALSE(pool.submit([] {}, [] {})) << "the cap holds";
    EXPECT_EQ(pool.refused(), 1u);
    release = true;
    l.loop->run_until([&] { return done == 3; }, std::chrono::seconds(5));
    EXPECT_EQ(done, 3);
    EXPECT_GE(progress, 1);
    EXPECT_TRUE(pool.submit([] {}, [] {})) << "room again once drained";
    l.loop->run_until([&] { return pool.in_flight() == 0; }, std::chrono::seconds(5));
}

TEST(EncodePool, BackgroundJobsWaitForForegroundOnes) {
    Loop l;
    ASSERT_TRUE(l.loop);
    EncodePool pool(*l.loop, 1);
    std::atomic<bool> release{false};
    std::mutex mu;
    std::vector<std::string> order;
    int done = 0;
    auto record = [&](std::string name) {
        return [&, name] {
            std::lock_guard<std::mutex> lock(mu);
            order.push_back(name);
        };
    };
    ASSERT_TRUE(pool.submit(
        [&] {
            while (!release)
                std::this_thread::yield();
        },
        [&] { ++done; }));
    using P = EncodePool::Priority;
    ASSERT_TRUE(pool.submit(
        record("slow-1"), [&] { ++done; }, P::kBackground));
    ASSERT_TRUE(pool.submit(
        record("fast-1"), [&] { ++done; }, P::kForeground));
    ASSERT_TRUE(pool.submit(
        record("slow-2"), [&] { ++done; }, P::kBackground));
    ASSERT_TRUE(pool.submit(record("fast-2"), [&] { ++done; }));
    release = true;
    l.loop->run_until([&] { return done == 5; }, std::chrono::seconds(5));
    ASSERT_EQ(done, 5);
    EXPECT_EQ(order, (std::vector<std::string>{"fast-1", "fast-2", "slow-1", "slow-2"}));
}

TEST(EncodePool, ZeroThreadsRunsInline) {
    Loop l;
    ASSERT_TRUE(l.loop);
    EncodePool pool(*l.loop, 0);
    int order = 0, work_at = -1, done_at = -1;
    ASSERT_TRUE(pool.submit([&] { work_at = order++; }, [&] { done_at = order++; }));
    EXPECT_EQ(work_at, 0);
    EXPECT_EQ(done_at, 1);
    EXPECT_EQ(pool.threads(), 0u);
}

// Two requests for one key while it is being encoded: one encode, both get the same bytes; a
// third request after it finished is a cache hit.
TEST(TileEncodeService, ConcurrentRequestsForOneKeyShareOneEncode) {
    Loop l;
    ASSERT_TRUE(l.loop);
    EncodePool pool(*l.loop, 1);
    rfb::EncodeCache cache(1 << 20);
    TileEncodeService svc(cache, pool);
    rfb::Framebuffer fb(64, 64);
    for (uint32_t y = 0; y < 64; ++y)
        for (uint32_t x = 0; x < 64; ++x)
            fb.row(y)[x] = (x * 3 + y * 5) << 8;
    rfb::EncodeProfile prof;
    prof.encoding = rfb::encoding::kZRLE;
    prof.format = rfb::PixelFormat::canonical();
    const uint64_t pid = prof.id();
    rfb::SharedBytes a, b, body;
    int got = 0;
    EXPECT_EQ(svc.get(fb, fb.bounds(), 42, prof, pid, body,
                      [&](rfb::SharedBytes x) {
                          a = x;
                          ++got;
                      }),
              TileEncodeService::Outcome::kPending);
    EXPECT_EQ(svc.get(fb, fb.bounds(), 42, prof, pid, body,
                      [&](rfb::SharedBytes x) {
                          b = x;
                          ++got;
                      }),
              TileEncodeService::Outcome::kPending);
    // The framebuffer changes while the worker encodes: the body must be of the old pixels.
    const rfb::SharedBytes expected = encode_rect(fb, fb.bounds(), prof);
    for (uint32_t y = 0; y < 64; ++y)
        std::fill_n(fb.row(y), 64, 0xff0000u);
    l.loop->run_until([&] { return got == 2; }, std::chrono::seconds(5));
    ASSERT_EQ(got, 2);
    ASSERT_TRUE(a && b);
    EXPECT_EQ(a.get(), b.get()) << "one buffer, shared";
    EXPECT_EQ(*a, *expected) << "encoded from the snapshot, not the later pixels";
    EXPECT_EQ(svc.stats().encodes, 1u);
    EXPECT_EQ(svc.stats().joins, 1u);
    EXPECT_EQ(svc.get(fb, fb.bounds(), 42, prof, pid, body, [](rfb::SharedBytes) {}),
              TileEncodeService::Outcome::kReady);
    EXPECT_EQ(body.get(), a.get());
    EXPECT_EQ(svc.stats().hits, 1u);
}

}  // namespace
}  // namespace rfbcast
