#include "reflector/shared_update.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "codec/byte_writer.h"
#include "codec/encode_cache.h"
#include "codec/rfb_constants.h"
#include "codec/server_messages.h"
#include "reflector/encode_pool.h"
#include "reflector/shared_update_table.h"
#include "reflector/tile_encode_service.h"

namespace rfbcast {
namespace {

namespace enc = rfb::encoding;

struct Fixture {
    std::unique_ptr<EventLoop> loop;
    std::unique_ptr<EncodePool> pool;
    rfb::EncodeCache cache{16 * 1024 * 1024};
    std::unique_ptr<TileEncodeService> service;
    rfb::Framebuffer fb{128, 64};

    explicit Fixture(unsigned threads, size_t max_queued = 64) {
        std::string err;
        loop = EventLoop::create(64, &err);
        pool = std::make_unique<EncodePool>(*loop, threads, max_queued);
        service = std::make_unique<TileEncodeService>(cache, *pool);
        for (uint32_t y = 0; y < fb.height(); ++y)
            for (uint32_t x = 0; x < fb.width(); ++x)
                fb.row(y)[x] = (x * 7) ^ (y * 131) ^ (x / 16 % 3 == 0 ? 0xFF0000 : 0);
    }
    rfb::EncodeProfile profile(int32_t encoding) const {
        rfb::EncodeProfile p;
        p.encoding = encoding;
        p.format = rfb::PixelFormat::canonical();
        return p;
    }
    SharedUpdate::Request request(int32_t encoding, bool with_copy) const {
        SharedUpdate::Request r;
        rfb::ByteWriter w(r.head);
        rfb::write_update_header(w, 0);
        if (with_copy) {
            rfb::write_copyrect(w, rfb::Rect{0, 0, 8, 8}, 8, 8);
            r.head_rects = 1;
        }
        r.tiles.push_back({rfb::Rect{0, 0, 64, 64}, 11, 0});
        r.tiles.push_back({rfb::Rect{64, 0, 64, 64}, 22, 1});
        r.profile = profile(encoding);
        r.profile_id = r.profile.id();
        return r;
    }
};

std::vector<uint8_t> body_of(const Fixture& f, const rfb::Rect& r, int32_t encoding) {
    rfb::SharedBytes b = encode_rect(f.fb, r, f.profile(encoding));
    return b ? *b : std::vector<uint8_t>{};
}

TEST(SharedUpdate, HeadThenEachTileWithItsHeaderInOrder) {
    Fixture f(0);
    auto u = SharedUpdate::start(*f.service, f.fb, f.request(enc::kRaw, true));
    ASSERT_TRUE(u->ready()) << "inline encodes finish at once";
    const auto& o = u->outcome();
    ASSERT_TRUE(o.message);
    EXPECT_TRUE(o.error.empty());
    EXPECT_EQ(o.rects, 3u);
    std::vector<uint8_t> want;
    rfb::ByteWriter w(want);
    rfb::write_update_header(w, 3);
    rfb::write_copyrect(w, rfb::Rect{0, 0, 8, 8}, 8, 8);
    for (const rfb::Rect& r : {rfb::Rect{0, 0, 64, 64}, rfb::Rect{64, 0, 64, 64}}) {
        rfb::write_rect_header(w, r, enc::kRaw);
        w.bytes(body_of(f, r, enc::kRaw));
    }
    EXPECT_EQ(*o.message, want);
    EXPECT_EQ(u->bytes(), want.size());
}

TEST(SharedUpdate, ZlibHeaderOnlyWhenTheViewersStreamIsFresh) {
    Fixture f(0);
    auto fresh = SharedUpdate::start(*f.service, f.fb, f.request(enc::kZRLE, false));
    auto req = f.request(enc::kZRLE, false);
    req.state_before.zrle_stream_started = true;
    auto going = SharedUpdate::start(*f.service, f.fb, std::move(req));
    ASSERT_TRUE(fresh->ready() && going->ready());
    const auto& a = *fresh->outcome().message;
    const auto& b = *going->outcome().message;
    EXPECT_EQ(a.size(), b.size() + 2) << "one zlib header, in the first rectangle only";
    // First rectangle: 4 header + 12 rect header, then U32 length, then 0x78 0x01.
    ASSERT_GT(a.size(), 22u);
    EXPECT_EQ(a[20], 0x78);
    EXPECT_EQ(a[21], 0x01);
    EXPECT_TRUE(fresh->outcome().state_after.zrle_stream_started);
    EXPECT_TRUE(going->outcome().state_after.zrle_stream_started);
    EXPECT_FALSE(fresh->outcome().state_after.zlib_stream_started);
}

TEST(SharedUpdate, RefusedTilesAreLeftOutAndNamed) {
    Fixture f(1, 1);
    std::atomic<bool> release{false};
    bool blocker_done = false;
    ASSERT_TRUE(f.pool->submit(
        [&] {
            while (!release)
                std::this_thread::yield();
        },
        [&] { blocker_done = true; }));
    auto u = SharedUpdate::start(*f.service, f.fb, f.request(enc::kZRLE, true));
    ASSERT_TRUE(u->ready()) << "nothing to wait for: every body was refused";
    const auto& o = u->outcome();
    EXPECT_EQ(o.refused, (std::vector<uint32_t>{0, 1}));
    ASSERT_TRUE(o.message) << "the copy still goes out";
    EXPECT_EQ(o.rects, 1u);
    release = true;
    f.loop->run_until([&] { return blocker_done; }, std::chrono::seconds(5));
}

TEST(SharedUpdate, EveryWaiterGetsTheSameBytesOnceTheBodiesAreBack) {
    Fixture f(1);
    auto u = SharedUpdate::start(*f.service, f.fb, f.request(enc::kZRLE, false));
    EXPECT_FALSE(u->ready()) << "ZRLE goes to the worker";
    std::vector<rfb::SharedBytes> got;
    for (int i = 0; i < 3; ++i)
        u->wait([&](const SharedUpdate::Outcome& o) { got.push_back(o.message); });
    f.loop->run_until([&] { return got.size() == 3; }, std::chrono::seconds(5));
    ASSERT_EQ(got.size(), 3u);
    ASSERT_TRUE(got[0]);
    EXPECT_EQ(got[0], got[1]);
    EXPECT_EQ(got[1], got[2]);
    // A waiter that comes after the update is ready is called at once.
    bool late = false;
    u->wait([&](const SharedUpdate::Outcome& o) { late = o.message == got[0]; });
    EXPECT_TRUE(late);
}

TEST(SharedUpdateTable, FindsWithinAnEpochAndForgetsAtTheNext) {
    Fixture f(0);
    SharedUpdateTable t;
    auto u = SharedUpdate::start(*f.service, f.fb, f.request(enc::kRaw, false));
    t.insert(5, "key", u);
    EXPECT_EQ(t.find(5, "key"), u);
    EXPECT_EQ(t.find(5, "other"), nullptr);
    EXPECT_EQ(t.stats().built, 1u);
    EXPECT_EQ(t.stats().shared, 1u);
    EXPECT_EQ(t.find(6, "key"), nullptr) << "new pixels: nothing is valid any more";
    EXPECT_EQ(t.entries(), 0u);
    EXPECT_TRUE(u->ready()) << "whoever holds it can still send it";
}

TEST(SharedUpdateTable, FullTableBuildsUnshared) {
    Fixture f(0);
    SharedUpdateTable by_count(SharedUpdateTable::Limits{2, 1 << 30});
    for (int i = 0; i < 3; ++i)
        by_count.insert(1, "k" + std::to_string(i),
                        SharedUpdate::start(*f.service, f.fb, f.request(enc::kRaw, false)));
    EXPECT_EQ(by_count.entries(), 2u);
    EXPECT_EQ(by_count.stats().unshared, 1u);
    EXPECT_EQ(by_count.find(1, "k2"), nullptr);

    auto big = SharedUpdate::start(*f.service, f.fb, f.request(enc::kRaw, false));
    SharedUpdateTable by_bytes(SharedUpdateTable::Limits{64, big->bytes() + 100});
    by_bytes.insert(1, "a", big);
    by_bytes.insert(1, "b", SharedUpdate::start(*f.service, f.fb, f.request(enc::kRaw, false)));
    EXPECT_EQ(by_bytes.entries(), 1u) << "the second update would pass the byte cap";
    EXPECT_EQ(by_bytes.stats().unshared, 1u);
}

}  // namespace
}  // namespace rfbcast
