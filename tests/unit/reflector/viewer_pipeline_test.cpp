// The whole reflector path in one process: a session fed by a fake upstream, real
// ViewerConnections on the event loop, and test viewers built from our own client-side codec on
// the other end of socketpairs. Pixels, access control and encode sharing are checked end to end.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <memory>
#include <random>
#include <vector>

#include "codec/byte_writer.h"
#include "codec/client_handshake.h"
#include "codec/client_messages.h"
#include "codec/cursor_conversion.h"
#include "codec/encode_cache.h"
#include "codec/rfb_constants.h"
#include "codec/server_message_reader.h"
#include "reflector/connection.h"
#include "reflector/encode_pool.h"
#include "reflector/event_loop.h"
#include "reflector/session.h"
#include "reflector/tile_encode_service.h"
#include "reflector/upstream_link.h"
#include "reflector/viewer_connection.h"

namespace rfbcast {
namespace {

class FakeUpstream : public UpstreamLink {
  public:
    void start() override {}
    bool connected() const override { return true; }
    void send_key(bool down, uint32_t keysym) override {
        if (down) keys.push_back(keysym);
        key_events.push_back({down, keysym});
    }
    void send_pointer(uint8_t, uint16_t, uint16_t) override { ++pointer_events; }
    void send_cut_text(const std::string& t) override { cut_texts.push_back(t); }
    std::string describe() const override { return "fake"; }
    bool supports_qemu_keys() const override { return qemu; }
    void send_qemu_key(bool down, uint32_t keysym, uint32_t keycode) override {
        if (down) qemu_keys.push_back({keysym, keycode});
    }
    bool qemu = false;
    std::vector<std::pair<uint32_t, uint32_t>> qemu_keys;
    std::vector<uint32_t> keys;
    std::vector<std::pair<bool, uint32_t>> key_events;  // downs and ups, in order
    std::vector<std::string> cut_texts;
    int pointer_events = 0;
};

// A viewer made of the codec's client side, pumped from a timer on the same loop.
class TestViewer : public rfb::ServerMessageSink {
  public:
    TestViewer(EventLoop& loop, int fd, std::optional<std::string> password)
        : loop_(loop), fd_(fd) {
        rfb::ClientHandshakeConfig cfg;
        cfg.password = std::move(password);
        handshake_ = std::make_unique<rfb::ClientHandshake>(cfg);
        pump();
    }
    ~TestViewer() override {
        if (timer_) loop_.cancel_timer(timer_);
        if (fd_ >= 0) ::close(fd_);
    }

    void send(const rfb::ClientMessage& m) {
        std::vector<uint8_t> out;
        rfb::ByteWriter w(out);
        rfb::write_client_message(w, m);
        write_all(out);
    }
    void send_raw(std::vector<uint8_t> bytes) { write_all(bytes); }
    void setup(const rfb::PixelFormat& pf, std::vector<int32_t> encodings) {
        send(rfb::SetPixelFormatMsg{pf});
        reader_->set_wire_format(pf);
        send(rfb::SetEncodingsMsg{std::move(encodings)});
        request(false);
    }
    void request(bool incremental) {
        send(rfb::UpdateRequestMsg{incremental, rfb::Rect{0, 0, fb.width(), fb.height()}});
    }

    bool ready() const { return ready_; }
    bool failed() const { return failed_; }
    bool closed() const { return closed_; }
    int updates = 0;
    rfb::Framebuffer fb;
    std::string error;

    void on_update_end() override { ++updates; }
    void on_copy(const rfb::Rect&, uint32_t, uint32_t) override { ++copies; }
    void on_rect(const rfb::Rect&, int32_t) override { ++rects; }
    int rects = 0;
    void on_cursor(const rfb::CursorImage& c) override { cursors.push_back(c); }
    void on_bell() override { ++bells; }
    void on_qemu_extended_key_events() override { qemu_announced = true; }
    bool qemu_announced = false;
    void on_cut_text(const std::string& t) override { cut_texts.push_back(t); }
    void on_fence(uint32_t flags, std::span<const uint8_t> payload) override {
        ++fences;
        if (flags & 0x80000000u) {  // a request: answer as a viewer must
            if (answer_fences)
                send(rfb::ClientFenceMsg{flags & 0x7,
                                         std::vector<uint8_t>(payload.begin(), payload.end())});
        }
    }
    void on_end_of_continuous_updates() override { ++end_of_continuous; }
    int fences = 0, end_of_continuous = 0;
    bool answer_fences = true;
    // A viewer that stops reading: its socket fills and rfbcast must not wait for it.
    bool paused = false;
    int copies = 0, bells = 0;
    std::vector<rfb::CursorImage> cursors;
    std::vector<std::string> cut_texts;

  private:
    void write_all(const std::vector<uint8_t>& b) {
        size_t off = 0;
        while (off < b.size()) {
            const ssize_t n = ::write(fd_, b.data() + off, b.size() - off);
            if (n <= 0) return;
            off += static_cast<size_t>(n);
        }
    }
    void pump() {
        timer_ = loop_.add_timer(std::chrono::milliseconds(1), [this] {
            timer_ = 0;
            read_some();
            if (!closed_) pump();
        });
    }
    void read_some() {
        if (paused) return;
        uint8_t buf[65536];
        for (;;) {
            const ssize_t n = ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
            if (n == 0) {
                closed_ = true;  // still parse what arrived before the close
                break;
            }
            if (n < 0) break;
            rx_.insert(rx_.end(), buf, buf + n);
        }
        if (!ready_ && !failed_) {
            std::vector<uint8_t> out;
            const auto step = handshake_->feed(rx_, out);
            rx_.erase(rx_.begin(), rx_.begin() + static_cast<long>(step.consumed));
            write_all(out);
            if (step.status == rfb::HandshakeStep::kFailed) {
                failed_ = true;
                error = step.error;
                return;
            }
            if (step.status != rfb::HandshakeStep::kDone) return;
            const auto& init = handshake_->server_init();
            fb.resize(init.width, init.height);
            reader_ = std::make_unique<rfb::ServerMessageReader>(fb, init.format);
            ready_ = true;
        }
        if (ready_ && !rx_.empty()) {
            const auto r = reader_->feed(rx_, *this);
            if (r.status == rfb::ServerReadResult::kError) {
                failed_ = true;
                error = r.error;
            }
            rx_.erase(rx_.begin(), rx_.begin() + static_cast<long>(r.consumed));
        }
    }

    EventLoop& loop_;
    int fd_;
    EventLoop::TimerId timer_ = 0;
    std::unique_ptr<rfb::ClientHandshake> handshake_;
    std::unique_ptr<rfb::ServerMessageReader> reader_;
    std::vector<uint8_t> rx_;
    bool ready_ = false, failed_ = false, closed_ = false;
};

// Encodes run on two pool threads here, as in production; ViewerPipelineInline below runs the
// same checks with encodes done on the loop.
class ViewerPipeline : public ::testing::Test {
  protected:
    virtual unsigned encode_threads() const { return 2; }
    void SetUp() override {
        std::string err;
        loop_ = EventLoop::create(256, &err);
        ASSERT_TRUE(loop_) << err;
        cache_ = std::make_unique<rfb::EncodeCache>(64 << 20);
        pool_ = std::make_unique<EncodePool>(*loop_, encode_threads());
        encoder_ = std::make_unique<TileEncodeService>(*cache_, *pool_);
        base_handlers_ = loop_->handler_count();
    }
    void make_session(SessionOptions o = {}) {
        session_ = std::make_unique<Session>(*loop_, o, *encoder_);
        session_->set_upstream(&upstream_);
        rfb::Framebuffer& fb = session_->framebuffer_for_upstream();
        fb.resize(300, 170);  // not a multiple of 64: edge tiles are clipped
        session_->resized(300, 170);
        paint(1);
    }
    // Text-like blocks, a gradient and noise: every encoder sub-encoding gets exercised.
    void paint(uint32_t seed) {
        rfb::Framebuffer& fb = session_->framebuffer_for_upstream();
        std::mt19937 rng(seed);
        session_->begin_update();
        for (uint32_t y = 0; y < fb.height(); ++y)
            for (uint32_t x = 0; x < fb.width(); ++x) {
                uint32_t p;
                if (x < 100)
                    p = ((x / 7 + y / 5 + seed) % 3) ? 0xffffff : 0x101010;
                else if (x < 200)
                    p = ((x * 2) << 16) | ((y + seed) & 0xff) << 8 | 0x40;
                else
                    p = rng() & 0xffffff;
                fb.row(y)[x] = p;
            }
        session_->damage(fb.bounds());
        session_->end_update();
    }
    std::unique_ptr<TestViewer> connect(std::optional<std::string> password = std::nullopt) {
        int sv[2];
        EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
        auto* conn = new Connection(*loop_, sv[0], nullptr, Connection::Limits{}, "test");
        std::array<uint8_t, 16> challenge{};
        for (size_t i = 0; i < challenge.size(); ++i)
            challenge[i] = static_cast<uint8_t>(i * 7 + 1);
        auto viewer = std::make_unique<ViewerConnection>(*session_, conn, ++ids_, challenge);
        ViewerConnection* v = viewer.get();
        session_->add_viewer(std::move(viewer));
        v->start();
        return std::make_unique<TestViewer>(*loop_, sv[1], std::move(password));
    }
    bool run_until(const std::function<bool()>& cond,
                   Clock::duration max = std::chrono::seconds(5)) {
        loop_->run_until(cond, max);
        return cond();
    }
    void settle() {
        loop_->run_until([] { return false; }, std::chrono::milliseconds(50));
    }
    // What a viewer in `pf` must show for the session's pixels.
    void expect_same_pixels(const TestViewer& v, const rfb::PixelFormat& pf) {
        const rfb::Framebuffer& src = session_->framebuffer();
        ASSERT_EQ(v.fb.width(), src.width());
        ASSERT_EQ(v.fb.height(), src.height());
        rfb::PixelWriter w(pf);
        rfb::PixelReader r(pf);
        size_t diff = 0;
        for (uint32_t y = 0; y < src.height(); ++y)
            for (uint32_t x = 0; x < src.width(); ++x)
                if (v.fb.at(x, y) != r.unpack(w.pack(src.at(x, y)))) ++diff;
        EXPECT_EQ(diff, 0u) << "pixels differ in " << pf.describe();
    }
    void TearDown() override {
        if (session_) session_->close_all_viewers("test over");
        loop_->run_until([&] { return loop_->handler_count() == base_handlers_; },
                         std::chrono::seconds(2));
    }

    std::unique_ptr<EventLoop> loop_;
    std::unique_ptr<rfb::EncodeCache> cache_;
    std::unique_ptr<EncodePool> pool_;
    std::unique_ptr<TileEncodeService> encoder_;
    size_t base_handlers_ = 0;
    std::unique_ptr<Session> session_;
    FakeUpstream upstream_;
    uint64_t ids_ = 0;
};

struct Case {
    int32_t encoding;
    rfb::PixelFormat format;
};

TEST_F(ViewerPipeline, EveryEncodingAndFormatShowsTheSessionPixels) {
    make_session();
    rfb::PixelFormat be32 = rfb::PixelFormat::canonical();
    be32.big_endian = true;
    const Case cases[] = {
        {rfb::encoding::kRaw, rfb::PixelFormat::canonical()},
        {rfb::encoding::kHextile, rfb::PixelFormat::canonical()},
        {rfb::encoding::kZRLE, rfb::PixelFormat::canonical()},
        {rfb::encoding::kZRLE, rfb::PixelFormat::rgb565()},
        {rfb::encoding::kHextile, rfb::PixelFormat::rgb565()},
        {rfb::encoding::kRaw, be32},
        {rfb::encoding::kZRLE, rfb::PixelFormat::bgr233()},
        {rfb::encoding::kTight, rfb::PixelFormat::canonical()},
        {rfb::encoding::kTight, rfb::PixelFormat::rgb565()},
        {rfb::encoding::kZlib, rfb::PixelFormat::canonical()},
        {rfb::encoding::kZlib, be32},
        {rfb::encoding::kRRE, rfb::PixelFormat::rgb565()},
        {rfb::encoding::kZstd, rfb::PixelFormat::canonical()},
        {rfb::encoding::kZSTDRLE, rfb::PixelFormat::canonical()},
    };
    for (const Case& c : cases) {
        auto v = connect();
        ASSERT_TRUE(run_until([&] { return v->ready() || v->failed(); })) << v->error;
        ASSERT_FALSE(v->failed()) << v->error;
        v->setup(c.format, {c.encoding});
        ASSERT_TRUE(run_until([&] { return v->updates >= 1 || v->failed(); }));
        ASSERT_FALSE(v->failed()) << v->error;
        expect_same_pixels(*v, c.format);
        // A later change arrives incrementally and is right too.
        v->request(true);
        paint(7);
        ASSERT_TRUE(run_until([&] { return v->updates >= 2 || v->failed(); }));
        expect_same_pixels(*v, c.format);
        paint(1);
    }
}

// Tight with a JPEG quality on a link that cannot carry lossless (here: a rate cap): photo-like
// tiles go out as JPEG (close, not equal), the rest lossless (equal); viewers asking different
// qualities get different profiles.
TEST_F(ViewerPipeline, TightJpegViewersGetCloseLossyPixelsAndSeparateProfiles) {
    SessionOptions o;
    // Lossless does not fit in this cap within a frame's time; every JPEG step does.
    o.pacing.rate_cap = 60 * 1024;
    o.lossless_refresh_delay = std::chrono::hours(1);
    make_session(o);
    auto q8 = connect();
    auto q2 = connect();
    ASSERT_TRUE(run_until([&] { return q8->ready() && q2->ready(); }));
    const uint64_t before = encoder_->stats().encodes;
    q8->setup(rfb::PixelFormat::canonical(),
              {rfb::encoding::kTight, rfb::encoding::kJpegQuality0 + 8});
    q2->setup(rfb::PixelFormat::canonical(),
              {rfb::encoding::kTight, rfb::encoding::kJpegQuality0 + 2});
    ASSERT_TRUE(run_until([&] { return q8->updates >= 1 && q2->updates >= 1; }));
    EXPECT_EQ(encoder_->stats().encodes - before, 2 * session_->tiles().count());
    const rfb::Framebuffer& src = session_->framebuffer();
    auto max_diff = [&](const TestViewer& v, uint32_t x0, uint32_t x1) {
        int worst = 0;
        for (uint32_t y = 0; y < src.height(); ++y)
            for (uint32_t x = x0; x < x1; ++x)
                for (int sh = 0; sh < 24; sh += 8) {
                    const int a = (src.at(x, y) >> sh) & 0xff, b = (v.fb.at(x, y) >> sh) & 0xff;
                    worst = std::max(worst, std::abs(a - b));
                }
        return worst;
    };
    // Columns 0..63: the two-colour text pattern, lossless (palette) whatever the quality.
    EXPECT_EQ(max_diff(*q8, 0, 64), 0);
    EXPECT_EQ(max_diff(*q2, 0, 64), 0);
    // Columns 128..191: a smooth gradient, JPEG.
    EXPECT_LE(max_diff(*q8, 128, 192), 16);
    EXPECT_GT(max_diff(*q2, 128, 192), 0) << "quality 2 is lossy";
    EXPECT_LE(max_diff(*q2, 128, 192), 64);
}

TEST_F(ViewerPipeline, FiftyViewersWithOneProfileCostOneEncodePerChangedTile) {
    make_session();
    std::vector<std::unique_ptr<TestViewer>> viewers;
    for (int i = 0; i < 50; ++i)
        viewers.push_back(connect());
    auto all = [&](const std::function<bool(TestViewer&)>& pred) {
        return run_until([&] {
            for (auto& v : viewers)
                if (!pred(*v)) return false;
            return true;
        });
    };
    ASSERT_TRUE(all([](TestViewer& v) { return v.ready(); }));
    const uint64_t before = encoder_->stats().encodes;
    const uint64_t inserts_before = cache_->stats().inserts;
    const auto shared_before = session_->shared_updates().stats();
    for (auto& v : viewers)
        v->setup(rfb::PixelFormat::canonical(), {rfb::encoding::kZRLE});
    ASSERT_TRUE(all([](TestViewer& v) { return v.updates >= 1; }));
    const size_t tiles = session_->tiles().count();
    EXPECT_EQ(encoder_->stats().encodes - before, tiles)
        << "fifty viewers, one profile: one encode per tile";
    EXPECT_EQ(cache_->stats().inserts - inserts_before, tiles);
    // In step (same profile, same dirty tiles, same frame), they share the whole update too.
    auto shared = session_->shared_updates().stats();
    EXPECT_EQ(shared.built - shared_before.built, 1u);
    EXPECT_EQ(shared.shared - shared_before.shared, 49u);
    for (auto& v : viewers)
        expect_same_pixels(*v, rfb::PixelFormat::canonical());

    // A change to part of the screen: one encode per changed tile, whatever the viewer count.
    for (auto& v : viewers)
        v->request(true);
    const uint64_t mid = encoder_->stats().encodes;
    rfb::Framebuffer& fb = session_->framebuffer_for_upstream();
    session_->begin_update();
    for (uint32_t y = 10; y < 80; ++y)  // rows of tile row 0 and 1, columns of tiles 0..1
        for (uint32_t x = 5; x < 70; ++x)
            fb.row(y)[x] = 0x123456 + x * y;
    session_->damage(rfb::Rect{5, 10, 65, 70});
    session_->end_update();
    ASSERT_TRUE(all([](TestViewer& v) { return v.updates >= 2; }));
    EXPECT_EQ(encoder_->stats().encodes - mid, 4u) << "four tiles changed";
    shared = session_->shared_updates().stats();
    EXPECT_EQ(shared.built - shared_before.built, 2u);
    EXPECT_EQ(shared.shared - shared_before.shared, 98u);
    for (auto& v : viewers)
        expect_same_pixels(*v, rfb::PixelFormat::canonical());
}

// Viewers out of step (one skipped a frame) need different updates: each builds its own, and
// both end with the session's pixels.
TEST_F(ViewerPipeline, ViewersOutOfStepDoNotShareAnUpdate) {
    make_session();
    auto a = connect();
    auto b = connect();
    ASSERT_TRUE(run_until([&] { return a->ready() && b->ready(); }));
    a->setup(rfb::PixelFormat::canonical(), {rfb::encoding::kZRLE});
    b->setup(rfb::PixelFormat::canonical(), {rfb::encoding::kZRLE});
    ASSERT_TRUE(run_until([&] { return a->updates >= 1 && b->updates >= 1; }));
    rfb::Framebuffer& fb = session_->framebuffer_for_upstream();
    auto draw = [&](uint32_t x0, uint32_t colour) {
        session_->begin_update();
        for (uint32_t y = 0; y < 64; ++y)
            for (uint32_t x = x0; x < x0 + 64; ++x)
                fb.row(y)[x] = colour + x + y;
        session_->damage(rfb::Rect{x0, 0, 64, 64});
        session_->end_update();
    };
    a->request(true);  // b does not ask: it misses this frame
    draw(0, 0x102030);
    ASSERT_TRUE(run_until([&] { return a->updates >= 2; }));
    const auto before = session_->shared_updates().stats();
    a->request(true);
    b->request(true);
    draw(128, 0x405060);  // a needs one tile, b two
    ASSERT_TRUE(run_until([&] { return a->updates >= 3 && b->updates >= 2; }));
    const auto after = session_->shared_updates().stats();
    EXPECT_EQ(after.built - before.built, 2u);
    EXPECT_EQ(after.shared - before.shared, 0u);
    expect_same_pixels(*a, rfb::PixelFormat::canonical());
    expect_same_pixels(*b, rfb::PixelFormat::canonical());
}

// The upstream keeps drawing while tile bodies are being encoded on the pool: each body must be
// the pixels its hash was taken from, and every viewer must end with the newest frame.
TEST_F(ViewerPipeline, FramesArrivingDuringEncodesEndWithTheNewestPixels) {
    make_session();
    std::vector<std::unique_ptr<TestViewer>> viewers;
    for (int i = 0; i < 4; ++i)
        viewers.push_back(connect());
    ASSERT_TRUE(run_until([&] {
        for (auto& v : viewers)
            if (!v->ready()) return false;
        return true;
    }));
    const int32_t encs[] = {rfb::encoding::kZRLE, rfb::encoding::kHextile, rfb::encoding::kZRLE,
                            rfb::encoding::kRaw};
    for (size_t i = 0; i < viewers.size(); ++i)
        viewers[i]->setup(rfb::PixelFormat::canonical(), {encs[i]});
    ASSERT_TRUE(run_until([&] {
        for (auto& v : viewers)
            if (v->updates < 1) return false;
        return true;
    }));
    // New frames land while earlier frames' tiles are still on the pool.
    for (uint32_t seed = 2; seed < 14; ++seed) {
        for (auto& v : viewers)
            v->request(true);
        loop_->run_until([] { return false; }, std::chrono::milliseconds(1));
        paint(seed);
    }
    for (int round = 0; round < 5; ++round) {
        for (auto& v : viewers)
            v->request(true);
        settle();
    }
    for (auto& v : viewers)
        expect_same_pixels(*v, rfb::PixelFormat::canonical());
}

// The same behaviour with encodes done inline on the loop (--encode-threads 0).
class ViewerPipelineInline : public ViewerPipeline {
  protected:
    unsigned encode_threads() const override { return 0; }
};

TEST_F(ViewerPipelineInline, EncodesInlineShowTheSessionPixelsAndShare) {
    make_session();
    std::vector<std::unique_ptr<TestViewer>> viewers;
    for (int i = 0; i < 3; ++i)
        viewers.push_back(connect());
    ASSERT_TRUE(run_until([&] {
        for (auto& v : viewers)
            if (!v->ready()) return false;
        return true;
    }));
    const uint64_t before = encoder_->stats().encodes;
    for (auto& v : viewers)
        v->setup(rfb::PixelFormat::rgb565(), {rfb::encoding::kHextile});
    ASSERT_TRUE(run_until([&] {
        for (auto& v : viewers)
            if (v->updates < 1) return false;
        return true;
    }));
    EXPECT_EQ(encoder_->stats().encodes - before, session_->tiles().count());
    for (auto& v : viewers)
        expect_same_pixels(*v, rfb::PixelFormat::rgb565());
}

// Pacing (issue 5). A viewer on a fast link gets lossless pixels even when it allowed JPEG.
TEST_F(ViewerPipeline, FastViewerThatAllowsJpegStillGetsLosslessPixels) {
    make_session();
    auto v = connect();
    ASSERT_TRUE(run_until([&] { return v->ready(); }));
    v->setup(rfb::PixelFormat::canonical(),
             {rfb::encoding::kTight, rfb::encoding::kJpegQuality0 + 2});
    ASSERT_TRUE(run_until([&] { return v->updates >= 1; }));
    expect_same_pixels(*v, rfb::PixelFormat::canonical());
}

// Tiles sent as JPEG are sent again losslessly once the screen has been still for the refresh
// delay, within what the viewer's rate allows, and the viewer ends pixel-exact.
TEST_F(ViewerPipeline, LossyTilesBecomeLosslessWhenTheScreenIsStill) {
    SessionOptions o;
    o.pacing.rate_cap = 40 * 1024;
    o.lossless_refresh_delay = std::chrono::milliseconds(100);
    make_session(o);
    auto v = connect();
    ASSERT_TRUE(run_until([&] { return v->ready(); }));
    v->setup(rfb::PixelFormat::canonical(),
             {rfb::encoding::kTight, rfb::encoding::kJpegQuality0 + 2});
    ASSERT_TRUE(run_until([&] { return v->updates >= 1; }));
    const rfb::Framebuffer& src = session_->framebuffer();
    // Canonical pixels carry an unused top byte; viewers see the 24 colour bits.
    auto differs = [&](uint32_t x, uint32_t y) {
        return ((src.at(x, y) ^ v->fb.at(x, y)) & 0xFFFFFF) != 0;
    };
    bool lossy = false;
    for (uint32_t y = 0; y < src.height() && !lossy; ++y)
        for (uint32_t x = 0; x < src.width() && !lossy; ++x)
            lossy = differs(x, y);
    ASSERT_TRUE(lossy) << "the capped link got JPEG first";
    // The viewer keeps asking, as viewers do; the refreshes come as the cap allows.
    int asked = v->updates;
    v->request(true);
    ASSERT_TRUE(run_until(
        [&] {
            if (v->updates > asked) {
                asked = v->updates;
                v->request(true);
            }
            for (uint32_t y = 0; y < src.height(); ++y)
                for (uint32_t x = 0; x < src.width(); ++x)
                    if (differs(x, y)) return false;
            return true;
        },
        std::chrono::seconds(10)));
    EXPECT_GE(session_->stats().lossless_refreshes, 1u);
    expect_same_pixels(*v, rfb::PixelFormat::canonical());
}

// A viewer that stops reading is closed after the stall timeout with a reason once bytes pile
// up undelivered; the one beside it keeps getting every frame meanwhile.
TEST_F(ViewerPipeline, ViewerThatStopsReadingIsClosedOthersKeepGoing) {
    SessionOptions o;
    o.pacing.stall_timeout = std::chrono::seconds(2);
    make_session(o);
    auto stuck = connect();
    auto fine = connect();
    ASSERT_TRUE(run_until([&] { return stuck->ready() && fine->ready(); }));
    stuck->setup(rfb::PixelFormat::canonical(), {rfb::encoding::kRaw});
    fine->setup(rfb::PixelFormat::canonical(), {rfb::encoding::kRaw});
    ASSERT_TRUE(run_until([&] { return stuck->updates >= 1 && fine->updates >= 1; }));
    stuck->paused = true;
    int frames = 0;
    const auto start = std::chrono::steady_clock::now();
    for (uint32_t seed = 2; session_->stats().viewers_stalled == 0; ++seed) {
        ASSERT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
        // It still asks (writing works) but reads nothing: what it was sent piles up.
        stuck->request(true);
        fine->request(true);
        paint(seed);
        const int before = fine->updates;
        ASSERT_TRUE(run_until([&] { return fine->updates > before; }));
        ++frames;
    }
    EXPECT_EQ(session_->stats().viewers_stalled, 1u);
    EXPECT_GE(frames, 5) << "the other viewer kept getting frames while one stalled";
    expect_same_pixels(*fine, rfb::PixelFormat::canonical());
    EXPECT_EQ(session_->viewer_count(), 1u);
    stuck->paused = false;
    ASSERT_TRUE(run_until([&] { return stuck->closed(); }));
}

// Continuous updates and fences: announced once asked for, updates without requests, each
// acknowledged by a fence answer; disabling them is confirmed.
TEST_F(ViewerPipeline, ContinuousUpdatesFlowWithoutRequestsAndFencesAreAnswered) {
    make_session();
    auto v = connect();
    ASSERT_TRUE(run_until([&] { return v->ready(); }));
    v->setup(rfb::PixelFormat::canonical(),
             {rfb::encoding::kZRLE, rfb::encoding::kFence, rfb::encoding::kContinuousUpdates});
    ASSERT_TRUE(run_until([&] { return v->updates >= 1 && v->end_of_continuous >= 1; }));
    EXPECT_EQ(v->end_of_continuous, 1) << "announced once";
    EXPECT_GE(v->fences, 1) << "fence support announced";
    v->send(rfb::EnableContinuousUpdatesMsg{true, rfb::Rect{0, 0, 300, 170}});
    for (uint32_t seed = 2; seed < 6; ++seed) {
        const int before = v->updates;
        paint(seed);  // no request: continuous updates carry it
        ASSERT_TRUE(run_until([&] { return v->updates > before; }));
        expect_same_pixels(*v, rfb::PixelFormat::canonical());
    }
    EXPECT_GE(v->fences, 5) << "one fence after each continuous update";
    // The viewer's own fence request is answered.
    const int fences = v->fences;
    v->send(rfb::ClientFenceMsg{0x80000000u | 0x1, {1, 2, 3}});
    ASSERT_TRUE(run_until([&] { return v->fences > fences; }));
    v->send(rfb::EnableContinuousUpdatesMsg{false, rfb::Rect{0, 0, 300, 170}});
    ASSERT_TRUE(run_until([&] { return v->end_of_continuous >= 2; }));
    const int before = v->updates;
    paint(9);
    run_until([] { return false; }, std::chrono::milliseconds(100));
    EXPECT_EQ(v->updates, before) << "off again: nothing without a request";
}

// A continuous-update viewer that stops answering fences gets at most the unacknowledged
// limit of updates, however many frames the upstream draws.
TEST_F(ViewerPipeline, ContinuousViewerThatStopsAnsweringFencesIsNotFlooded) {
    make_session();
    auto v = connect();
    ASSERT_TRUE(run_until([&] { return v->ready(); }));
    v->setup(rfb::PixelFormat::canonical(),
             {rfb::encoding::kRaw, rfb::encoding::kFence, rfb::encoding::kContinuousUpdates});
    ASSERT_TRUE(run_until([&] { return v->updates >= 1; }));
    v->answer_fences = false;
    v->send(rfb::EnableContinuousUpdatesMsg{true, rfb::Rect{0, 0, 300, 170}});
    run_until([] { return false; }, std::chrono::milliseconds(50));
    const int before = v->updates;
    for (uint32_t seed = 2; seed < 12; ++seed) {
        paint(seed);
        run_until([] { return false; }, std::chrono::milliseconds(20));
    }
    EXPECT_EQ(v->updates - before, static_cast<int>(PacingOptions{}.max_unacknowledged));
}

TEST_F(ViewerPipeline, ViewOnlyInputIsDroppedFullControlInputArrives) {
    SessionOptions o;
    o.full_password = "control1";
    o.viewonly_password = "view1";
    make_session(o);
    auto viewer = connect(std::string("view1"));
    auto control = connect(std::string("control1"));
    ASSERT_TRUE(run_until([&] { return viewer->ready() && control->ready(); }));
    viewer->send(rfb::KeyEventMsg{true, 0x61});
    viewer->send(rfb::PointerEventMsg{1, 5, 5});
    rfb::ClientCutTextMsg cut;
    cut.latin1 = "from view-only";
    viewer->send(cut);
    control->send(rfb::KeyEventMsg{true, 0x62});
    cut.latin1 = "from control";
    control->send(cut);
    ASSERT_TRUE(run_until([&] { return !upstream_.keys.empty() && !upstream_.cut_texts.empty(); }));
    EXPECT_EQ(upstream_.keys, std::vector<uint32_t>{0x62});
    EXPECT_EQ(upstream_.cut_texts, std::vector<std::string>{"from control"});
    EXPECT_EQ(upstream_.pointer_events, 0);
}

// Classroom control, "first": the first control viewer to type holds the keyboard; another
// control viewer's input is dropped until the holder leaves, and the holder's keys still down
// are released on the server when it does.
TEST_F(ViewerPipeline, FirstInputPolicyHoldsUntilTheHolderLeaves) {
    SessionOptions o;
    o.full_password = "control1";
    o.input_policy = InputPolicy::kFirst;
    o.input_idle_timeout = std::chrono::seconds(0);  // only leaving frees the hold
    make_session(o);
    auto teacher = connect(std::string("control1"));
    auto student = connect(std::string("control1"));
    ASSERT_TRUE(run_until([&] { return teacher->ready() && student->ready(); }));
    teacher->send(rfb::KeyEventMsg{true, 0xffe1});  // Shift held
    teacher->send(rfb::KeyEventMsg{true, 0x41});
    ASSERT_TRUE(run_until([&] { return upstream_.keys.size() == 2; }));
    student->send(rfb::KeyEventMsg{true, 0x62});
    student->send(rfb::PointerEventMsg{1, 5, 5});
    rfb::ClientCutTextMsg cut;
    cut.latin1 = "from the student";
    student->send(cut);
    settle();
    EXPECT_EQ(upstream_.keys, (std::vector<uint32_t>{0xffe1, 0x41}));
    EXPECT_EQ(upstream_.pointer_events, 0);
    EXPECT_TRUE(upstream_.cut_texts.empty());
    teacher.reset();  // leaves with Shift and A down
    ASSERT_TRUE(run_until([&] { return session_->viewer_count() == 1; }));
    // Both keys were released on the server, newest first.
    const std::vector<std::pair<bool, uint32_t>> released = {
        {true, 0xffe1}, {true, 0x41}, {false, 0x41}, {false, 0xffe1}};
    EXPECT_EQ(upstream_.key_events, released);
    student->send(rfb::KeyEventMsg{true, 0x63});
    ASSERT_TRUE(run_until([&] { return upstream_.keys.size() == 3; }));
    EXPECT_EQ(upstream_.keys.back(), 0x63u);
}

TEST_F(ViewerPipeline, ClipboardPolicyAndViewOnlyViewers) {
    SessionOptions o;
    o.full_password = "control1";
    o.viewonly_password = "view1";
    o.clipboard = ClipboardPolicy::kToViewers;
    make_session(o);
    auto viewer = connect(std::string("view1"));
    auto control = connect(std::string("control1"));
    ASSERT_TRUE(run_until([&] { return viewer->ready() && control->ready(); }));
    rfb::ClientCutTextMsg cut;
    cut.latin1 = "to the server";
    control->send(cut);
    session_->server_cut_text("from the server");
    ASSERT_TRUE(run_until([&] { return !control->cut_texts.empty(); }));
    settle();
    EXPECT_EQ(control->cut_texts, std::vector<std::string>{"from the server"});
    EXPECT_TRUE(viewer->cut_texts.empty());    // view-only: never the clipboard
    EXPECT_TRUE(upstream_.cut_texts.empty());  // to-viewers only
}

TEST_F(ViewerPipeline, WrongPasswordIsRefused) {
    SessionOptions o;
    o.full_password = "control1";
    make_session(o);
    auto v = connect(std::string("wrong"));
    ASSERT_TRUE(run_until([&] { return v->failed() || v->ready(); }));
    EXPECT_TRUE(v->failed());
    EXPECT_FALSE(v->ready());
}

TEST_F(ViewerPipeline, HostileViewerIsClosedOthersKeepReceiving) {
    make_session();
    auto good = connect();
    auto bad = connect();
    ASSERT_TRUE(run_until([&] { return good->ready() && bad->ready(); }));
    good->setup(rfb::PixelFormat::canonical(), {rfb::encoding::kZRLE});
    ASSERT_TRUE(run_until([&] { return good->updates >= 1; }));
    ASSERT_EQ(session_->viewer_count(), 2u);
    // ClientCutText claiming 4 GiB: refused as soon as the length is read.
    bad->send_raw({6, 0, 0, 0, 0xff, 0xff, 0xff, 0xff});
    ASSERT_TRUE(run_until([&] { return bad->closed(); }));
    ASSERT_TRUE(run_until([&] { return session_->viewer_count() == 1; }));
    good->request(true);
    paint(3);
    ASSERT_TRUE(run_until([&] { return good->updates >= 2; }));
    expect_same_pixels(*good, rfb::PixelFormat::canonical());
}

TEST_F(ViewerPipeline, UnknownMessageTypeClosesOnlyThatViewer) {
    make_session();
    auto good = connect();
    auto bad = connect();
    ASSERT_TRUE(run_until([&] { return good->ready() && bad->ready(); }));
    bad->send_raw({77, 1, 2, 3});
    ASSERT_TRUE(run_until([&] { return bad->closed(); }));
    good->setup(rfb::PixelFormat::canonical(), {rfb::encoding::kHextile});
    ASSERT_TRUE(run_until([&] { return good->updates >= 1; }));
    expect_same_pixels(*good, rfb::PixelFormat::canonical());
}

TEST_F(ViewerPipeline, ResizeReachesViewersThatSupportIt) {
    make_session();
    auto v = connect();
    ASSERT_TRUE(run_until([&] { return v->ready(); }));
    v->setup(rfb::PixelFormat::canonical(), {rfb::encoding::kZRLE, rfb::encoding::kDesktopSize});
    ASSERT_TRUE(run_until([&] { return v->updates >= 1; }));
    v->request(true);
    rfb::Framebuffer& fb = session_->framebuffer_for_upstream();
    fb.resize(130, 90);
    session_->resized(130, 90);
    paint(5);
    ASSERT_TRUE(run_until([&] { return v->updates >= 2 && v->fb.width() == 130; }));
    EXPECT_EQ(v->fb.height(), 90u);
    expect_same_pixels(*v, rfb::PixelFormat::canonical());
}

TEST_F(ViewerPipeline, UpstreamCopyRectIsReplayedNotReencoded) {
    make_session();
    auto copier = connect();
    auto plain = connect();
    ASSERT_TRUE(run_until([&] { return copier->ready() && plain->ready(); }));
    copier->setup(rfb::PixelFormat::canonical(), {rfb::encoding::kZRLE, rfb::encoding::kCopyRect});
    plain->setup(rfb::PixelFormat::canonical(), {rfb::encoding::kZRLE});
    ASSERT_TRUE(run_until([&] { return copier->updates >= 1 && plain->updates >= 1; }));
    copier->request(true);
    plain->request(true);
    settle();  // let the loop read the requests
    // Scroll the left 192x64 block down by one tile row, as an X server does for XCopyArea.
    rfb::Framebuffer& fb = session_->framebuffer_for_upstream();
    session_->begin_update();
    const rfb::Rect dst{0, 64, 192, 64};
    ASSERT_TRUE(fb.copy_within(0, 0, dst));
    session_->copy(dst, 0, 0);
    session_->end_update();
    ASSERT_TRUE(run_until([&] { return copier->updates >= 2 && plain->updates >= 2; }));
    EXPECT_EQ(copier->copies, 1);
    EXPECT_EQ(plain->copies, 0);
    expect_same_pixels(*copier, rfb::PixelFormat::canonical());
    expect_same_pixels(*plain, rfb::PixelFormat::canonical());
}

// Most servers redraw a scrolled window instead of sending CopyRect: rfbcast finds the move in
// its row hashes and sends viewers that take CopyRect a copy plus the new rows only.
TEST_F(ViewerPipeline, UnannouncedScrollIsDetectedAndSentAsCopyRect) {
    make_session();
    // Text-like rows over the whole screen, every row different.
    rfb::Framebuffer& fb = session_->framebuffer_for_upstream();
    auto text_row = [](uint32_t y, uint32_t x) {
        return ((x * 5 + y * 31 + (y * y) % 13) % 9 < 3) ? 0x202020u : 0xe8e8e8u ^ (y & 0xff);
    };
    session_->begin_update();
    for (uint32_t y = 0; y < fb.height(); ++y)
        for (uint32_t x = 0; x < fb.width(); ++x)
            fb.row(y)[x] = text_row(y, x);
    session_->damage(fb.bounds());
    session_->end_update();
    auto copier = connect();
    auto plain = connect();
    ASSERT_TRUE(run_until([&] { return copier->ready() && plain->ready(); }));
    copier->setup(rfb::PixelFormat::canonical(), {rfb::encoding::kZRLE, rfb::encoding::kCopyRect});
    plain->setup(rfb::PixelFormat::canonical(), {rfb::encoding::kZRLE});
    ASSERT_TRUE(run_until([&] { return copier->updates >= 1 && plain->updates >= 1; }));
    copier->request(true);
    plain->request(true);
    settle();
    // Scroll everything up by 23 rows and draw new lines at the bottom; announce only damage.
    const int copier_rects = copier->rects, plain_rects = plain->rects;
    const uint64_t before = encoder_->stats().encodes;
    session_->begin_update();
    for (uint32_t y = 0; y + 23 < fb.height(); ++y)
        std::copy_n(fb.row(y + 23), fb.width(), fb.row(y));
    for (uint32_t y = fb.height() - 23; y < fb.height(); ++y)
        for (uint32_t x = 0; x < fb.width(); ++x)
            fb.row(y)[x] = text_row(y + 1000, x);
    session_->damage(fb.bounds());
    session_->end_update();
    EXPECT_EQ(session_->stats().scrolls_detected, 1u);
    ASSERT_TRUE(run_until([&] { return copier->updates >= 2 && plain->updates >= 2; }));
    EXPECT_EQ(copier->copies, 1);
    EXPECT_EQ(plain->copies, 0);
    expect_same_pixels(*copier, rfb::PixelFormat::canonical());
    expect_same_pixels(*plain, rfb::PixelFormat::canonical());
    // 300x170: the copy covers tile rows 0 and 1 (rows 0..146), so only the last tile row (5
    // tiles) is sent to the copier, after the CopyRect; the plain viewer gets all 15 tiles.
    EXPECT_EQ(copier->rects - copier_rects, 1 + 5);
    EXPECT_EQ(plain->rects - plain_rects, 15);
    EXPECT_EQ(encoder_->stats().encodes - before, session_->tiles().count());
}

TEST_F(ViewerPipeline, CopyAfterDamageInTheSameUpdateIsNotReplayed) {
    make_session();
    auto copier = connect();
    ASSERT_TRUE(run_until([&] { return copier->ready(); }));
    copier->setup(rfb::PixelFormat::canonical(), {rfb::encoding::kZRLE, rfb::encoding::kCopyRect});
    ASSERT_TRUE(run_until([&] { return copier->updates >= 1; }));
    copier->request(true);
    settle();
    // The source is redrawn and then copied in one update: the viewer never had those source
    // pixels, so replaying the copy would show the old ones.
    rfb::Framebuffer& fb = session_->framebuffer_for_upstream();
    session_->begin_update();
    fb.fill(rfb::Rect{0, 0, 192, 64}, 0x00ff00);
    session_->damage(rfb::Rect{0, 0, 192, 64});
    const rfb::Rect dst{0, 64, 192, 64};
    ASSERT_TRUE(fb.copy_within(0, 0, dst));
    session_->copy(dst, 0, 0);
    session_->end_update();
    ASSERT_TRUE(run_until([&] { return copier->updates >= 2; }));
    EXPECT_EQ(copier->copies, 0);
    expect_same_pixels(*copier, rfb::PixelFormat::canonical());
}

TEST_F(ViewerPipeline, CursorBellAndClipboardReachViewers) {
    make_session();
    auto with_cursor = connect();
    auto without = connect();
    ASSERT_TRUE(run_until([&] { return with_cursor->ready() && without->ready(); }));
    with_cursor->setup(rfb::PixelFormat::rgb565(), {rfb::encoding::kZRLE, rfb::encoding::kCursor});
    without->setup(rfb::PixelFormat::canonical(), {rfb::encoding::kZRLE});
    ASSERT_TRUE(run_until([&] { return with_cursor->updates >= 1 && without->updates >= 1; }));
    with_cursor->request(true);
    without->request(true);
    settle();

    rfb::CursorImage cursor;
    cursor.width = 3;
    cursor.height = 2;
    cursor.hot_x = 1;
    cursor.hot_y = 1;
    cursor.pixels = {0xff0000, 0x00ff00, 0x0000ff, 0xffffff, 0x000000, 0x808080};
    cursor.mask = {0b10100000, 0b01000000};
    session_->set_cursor(cursor);
    session_->bell();
    session_->server_cut_text("hello from the desktop");
    ASSERT_TRUE(run_until([&] {
        return !with_cursor->cursors.empty() && with_cursor->bells == 1 && without->bells == 1 &&
               !without->cut_texts.empty() && !with_cursor->cut_texts.empty();
    }));
    const rfb::CursorImage& got = with_cursor->cursors.back();
    EXPECT_EQ(got.width, 3);
    EXPECT_EQ(got.height, 2);
    EXPECT_EQ(got.hot_x, 1);
    EXPECT_EQ(got.mask, cursor.mask);
    // The shape went out in the viewer's 16 bpp format and came back widened.
    rfb::PixelWriter w(rfb::PixelFormat::rgb565());
    rfb::PixelReader r(rfb::PixelFormat::rgb565());
    for (size_t i = 0; i < cursor.pixels.size(); ++i)
        EXPECT_EQ(got.pixels[i], r.unpack(w.pack(cursor.pixels[i]))) << "pixel " << i;
    EXPECT_TRUE(without->cursors.empty()) << "a viewer that did not ask gets no cursor";
    EXPECT_EQ(without->cut_texts.back(), "hello from the desktop");
}

// An alpha cursor from the upstream: viewers that take Cursor With Alpha get the alpha, the
// others the classic shape with a mask made from it.
TEST_F(ViewerPipeline, AlphaCursorReachesAlphaViewersAndClassicViewersGetAMask) {
    make_session();
    auto alpha = connect();
    auto classic = connect();
    ASSERT_TRUE(run_until([&] { return alpha->ready() && classic->ready(); }));
    alpha->setup(rfb::PixelFormat::canonical(),
                 {rfb::encoding::kZRLE, rfb::encoding::kCursorWithAlpha, rfb::encoding::kCursor});
    classic->setup(rfb::PixelFormat::canonical(), {rfb::encoding::kZRLE, rfb::encoding::kCursor});
    ASSERT_TRUE(run_until([&] { return alpha->updates >= 1 && classic->updates >= 1; }));
    alpha->request(true);
    classic->request(true);
    settle();
    rfb::CursorImage c;
    c.width = 2;
    c.height = 2;
    c.pixels = {0xff0000, 0x00ff00, 0x0000ff, 0xffffff};
    c.alpha = {255, 0, 255, 255};
    c.mask = rfb::mask_from_alpha(2, 2, c.alpha);
    session_->set_cursor(c);
    ASSERT_TRUE(run_until([&] { return !alpha->cursors.empty() && !classic->cursors.empty(); }));
    const rfb::CursorImage& a = alpha->cursors.back();
    EXPECT_EQ(a.alpha, c.alpha) << "the alpha channel arrived";
    EXPECT_EQ(a.pixels[0], 0xff0000u);
    EXPECT_EQ(a.pixels[3], 0xffffffu);
    const rfb::CursorImage& k = classic->cursors.back();
    EXPECT_TRUE(k.alpha.empty());
    // Opaque pixels are in the mask, the transparent one is not.
    EXPECT_EQ(k.mask[0] & 0xc0, 0x80) << "row 0: first pixel shown, second transparent";
    EXPECT_EQ(k.mask[1] & 0xc0, 0xc0);
}

// An 8-bit colour-map viewer gets rfbcast's BGR233 map, then pixels as indices into it.
TEST_F(ViewerPipeline, ColourMapViewerGetsTheBgr233MapAndIndices) {
    make_session();
    auto v = connect();
    ASSERT_TRUE(run_until([&] { return v->ready(); }));
    rfb::PixelFormat cmap = rfb::PixelFormat::bgr233();
    cmap.true_colour = false;
    v->setup(cmap, {rfb::encoding::kZRLE});
    ASSERT_TRUE(run_until([&] { return v->updates >= 1 || v->failed(); }));
    ASSERT_FALSE(v->failed()) << v->error;
    // What a BGR233 true-colour viewer would show is what the map makes of the indices.
    expect_same_pixels(*v, rfb::PixelFormat::bgr233());
}

TEST_F(ViewerPipeline, QemuKeyEventsPassThroughWithTheirKeycodes) {
    upstream_.qemu = true;
    make_session();
    auto v = connect();
    ASSERT_TRUE(run_until([&] { return v->ready(); }));
    v->setup(rfb::PixelFormat::canonical(),
             {rfb::encoding::kZRLE, rfb::encoding::kQemuExtendedKeyEvent});
    ASSERT_TRUE(run_until([&] { return v->updates >= 1; }));
    EXPECT_TRUE(v->qemu_announced) << "the viewer must be told it may send QEMU key events";
    v->send(rfb::QemuKeyEventMsg{true, 0x61, 0x1e});
    ASSERT_TRUE(run_until([&] { return !upstream_.qemu_keys.empty(); }));
    EXPECT_EQ(upstream_.qemu_keys[0], (std::pair<uint32_t, uint32_t>{0x61, 0x1e}));
}

}  // namespace
}  // namespace rfbcast
