#include "bench/fanout/viewer_swarm.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <optional>
#include <unordered_map>

#include "bench/fanout/frame_marker.h"
#include "bench/fanout/moving_content.h"
#include "bench/fanout/stall_watch.h"
#include "bench/fanout/update_skipper.h"
#include "codec/byte_writer.h"
#include "codec/client_handshake.h"
#include "codec/client_messages.h"
#include "codec/framebuffer.h"
#include "codec/server_message_reader.h"

namespace fanout {
namespace {

constexpr size_t kRecvChunk = 64 * 1024;
constexpr size_t kMaxReadPerEvent = 4 * kRecvChunk;  // then let other viewers have a turn
constexpr size_t kMaxHandshakeBytes = 64 * 1024;
constexpr size_t kMaxQueued = 4096;  // requests only: a viewer that cannot send them is stuck
constexpr int kSlowRcvBuf = 16 * 1024;
constexpr auto kSlowMinNap = std::chrono::milliseconds(5);

int64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
        .count();
}

// Counts the updates a probe decodes; the frame marker is read at each update's end.
class UpdateEndSink final : public rfb::ServerMessageSink {
  public:
    void on_update_end() override { ++ended; }
    uint64_t ended = 0;
};

}  // namespace

struct ViewerSwarm::Probe {
    rfb::Framebuffer fb;
    std::unique_ptr<rfb::ServerMessageReader> reader;
    UpdateEndSink sink;
    std::vector<uint8_t> pending;  // bytes the reader left unconsumed
    uint64_t skipper_updates = 0;
    uint64_t mismatches = 0;
    std::optional<uint32_t> last_frame;
};

struct ViewerSwarm::Viewer {
    enum class State : uint8_t { kWaiting, kConnecting, kHandshake, kReady, kFailed };
    uint32_t index = 0;
    int fd = -1;
    State state = State::kWaiting;
    uint8_t attempts = 0;
    bool probe = false, slow = false, requested = false, paused = false;
    // Stalled viewers: `stopped` from stall() on; `watched` when /proc/net/tcp listed the
    // reflector's end of the connection, established, at that moment.
    bool stalled = false, stopped = false, watched = false;
    uint16_t local_port = 0;
    Clock::time_point stopped_at{};
    StallOutcome outcome;
    uint32_t events = 0;  // what epoll watches now
    Clock::time_point started{};
    std::unique_ptr<rfb::ClientHandshake> handshake;  // only during the handshake
    std::vector<uint8_t> hs_rx;
    std::optional<UpdateSkipper> skipper;
    std::unique_ptr<Probe> probe_state;
    std::vector<uint8_t> out;
    uint32_t width = 0, height = 0;
    ViewerCounters n;
    // Slow viewers: a token bucket of bytes.
    double tokens = 0;
    Clock::time_point refilled{}, wake{};
};

ViewerSwarm::ViewerSwarm(const SwarmOptions& opt, const FrameClock& times)
    : opt_(opt), times_(times), buf_(kRecvChunk) {
    opt_.probes = std::min(opt_.probes, opt_.viewers);
    opt_.slow = std::min(opt_.slow, opt_.viewers - opt_.probes);
    opt_.connect_batch = std::max<size_t>(opt_.connect_batch, 1);
    epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
    for (size_t i = 0; i < opt_.viewers + opt_.stalled; ++i) {
        auto v = std::make_unique<Viewer>();
        v->index = static_cast<uint32_t>(i);
        v->stalled = i >= opt_.viewers;
        v->probe = !v->stalled && i < opt_.probes;
        v->slow = !v->stalled && opt_.slow_rate > 0 && i >= opt_.viewers - opt_.slow;
        v->n.probe = v->probe;
        v->n.slow = v->slow;
        v->n.stalled = v->stalled;
        viewers_.push_back(std::move(v));
        waiting_.push_back(static_cast<uint32_t>(i));
    }
    std::reverse(waiting_.begin(), waiting_.end());  // pop_back() takes them in order
}

ViewerSwarm::~ViewerSwarm() {
    close_all();
    if (epoll_fd_ >= 0) close(epoll_fd_);
}

void ViewerSwarm::close_all() {
    for (auto& v : viewers_) {
        if (v->fd >= 0) close(v->fd);
        v->fd = -1;
        v->n.alive = false;
    }
}

size_t ViewerSwarm::ready() const {
    return static_cast<size_t>(std::count_if(viewers_.begin(), viewers_.end(), [](const auto& v) {
        return v->state == Viewer::State::kReady;
    }));
}

uint64_t ViewerSwarm::skipper_mismatches() const {
    uint64_t m = 0;
    for (const auto& v : viewers_)
        if (v->probe_state) m += v->probe_state->mismatches;
    return m;
}

std::vector<ViewerCounters> ViewerSwarm::counters() const {
    std::vector<ViewerCounters> out;
    out.reserve(viewers_.size());
    for (const auto& v : viewers_)
        out.push_back(v->n);
    return out;
}

std::vector<double> ViewerSwarm::take_ages() {
    std::vector<double> out;
    out.swap(ages_);
    return out;
}

std::vector<double> ViewerSwarm::take_latencies() {
    std::vector<double> out;
    out.swap(latencies_);
    return out;
}

std::vector<double> ViewerSwarm::take_slow_latencies() {
    std::vector<double> out;
    out.swap(slow_latencies_);
    return out;
}

void ViewerSwarm::take_jpeg_tallies(JpegTally& fast, JpegTally& slow) {
    fast = jpeg_fast_;
    slow = jpeg_slow_;
    jpeg_fast_ = {};
    jpeg_slow_ = {};
}

size_t ViewerSwarm::stall() {
    std::unordered_map<uint16_t, TcpEnd> ends;
    const bool listed = sockets_on_port(opt_.port, ends);
    const auto now = Clock::now();
    size_t stopped = 0;
    for (auto& vp : viewers_) {
        Viewer& v = *vp;
        if (!v.stalled || v.stopped || v.state != Viewer::State::kReady || v.fd < 0) continue;
        // Out of epoll: nothing is read again, and a hang-up is not reported over and over.
        epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, v.fd, nullptr);
        v.events = 0;
        v.stopped = true;
        v.stopped_at = now;
        v.outcome.stalled = true;
        const auto it = ends.find(v.local_port);
        v.watched = listed && v.local_port != 0 && it != ends.end() &&
                    it->second.state == kTcpEstablished && it->second.inode != 0;
        if (!v.watched)
            v.outcome.how = "the reflector's end was not in /proc/net/tcp: watched by poll() only";
        ++stopped;
    }
    return stopped;
}

void ViewerSwarm::check_stalled() {
    std::unordered_map<uint16_t, TcpEnd> ends;
    bool listed = false, read = false;
    const auto now = Clock::now();
    for (auto& vp : viewers_) {
        Viewer& v = *vp;
        if (!v.stopped || v.outcome.closed) continue;
        if (!read) {
            listed = sockets_on_port(opt_.port, ends);
            read = true;
        }
        const bool hung_up = peer_hung_up(v.fd);
        const auto it = ends.find(v.local_port);
        StallVerdict verdict;
        if (hung_up || (v.watched && listed))
            verdict = judge_stalled(hung_up, it == ends.end() ? nullptr : &it->second);
        if (!verdict.closed) continue;
        v.outcome.closed = true;
        v.outcome.after_s = std::chrono::duration<double>(now - v.stopped_at).count();
        v.outcome.how = verdict.how;
    }
}

std::vector<StallOutcome> ViewerSwarm::stall_outcomes() const {
    std::vector<StallOutcome> out;
    for (const auto& v : viewers_)
        if (v->stalled) out.push_back(v->outcome);
    return out;
}

void ViewerSwarm::fail(Viewer& v, const std::string& why) {
    if (v.fd >= 0) {
        epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, v.fd, nullptr);
        close(v.fd);
        v.fd = -1;
    }
    v.events = 0;
    v.paused = false;
    v.n.alive = false;
    std::erase(in_flight_, v.index);
    const bool in_setup =
        v.state == Viewer::State::kConnecting || v.state == Viewer::State::kHandshake;
    v.handshake.reset();
    v.hs_rx.clear();
    v.out.clear();
    if (in_setup && v.attempts < opt_.max_attempts) {
        ++retries_;
        v.state = Viewer::State::kWaiting;
        waiting_.insert(waiting_.begin(), v.index);  // at the back of the queue
        return;
    }
    if (first_error_.empty()) first_error_ = "viewer " + std::to_string(v.index) + ": " + why;
    if (v.state == Viewer::State::kReady)
        ++disconnected_;
    else
        ++failed_;
    v.state = Viewer::State::kFailed;
}

void ViewerSwarm::start_connect(Viewer& v) {
    ++v.attempts;
    v.state = Viewer::State::kConnecting;
    v.started = Clock::now();
    in_flight_.push_back(v.index);
    v.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (v.fd < 0) return fail(v, std::string("socket: ") + std::strerror(errno));
    const int one = 1;
    setsockopt(v.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (v.slow) {
        // A small receive window, or the kernel would soak up seconds of data for the viewer
        // and hide how slowly it reads.
        const int rcv = kSlowRcvBuf;
        setsockopt(v.fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv);
    }
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(opt_.port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(v.fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 && errno != EINPROGRESS)
        return fail(v, std::string("connect: ") + std::strerror(errno));
    epoll_event ev{};
    ev.events = EPOLLOUT;
    ev.data.u64 = v.index;
    v.events = EPOLLOUT;
    epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, v.fd, &ev);
}

void ViewerSwarm::set_events(Viewer& v) {
    if (v.fd < 0 || v.stopped) return;
    uint32_t want = v.paused ? 0u : static_cast<uint32_t>(EPOLLIN);
    if (!v.out.empty() || v.state == Viewer::State::kConnecting) want |= EPOLLOUT;
    if (want == v.events) return;
    epoll_event ev{};
    ev.events = want;
    ev.data.u64 = v.index;
    epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, v.fd, &ev);
    v.events = want;
}

void ViewerSwarm::on_connected(Viewer& v) {
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(v.fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) return fail(v, std::string("connect: ") + std::strerror(err));
    sockaddr_in mine{};
    len = sizeof mine;
    if (getsockname(v.fd, reinterpret_cast<sockaddr*>(&mine), &len) == 0)
        v.local_port = ntohs(mine.sin_port);
    v.state = Viewer::State::kHandshake;
    // Plain RFB: the load is the reflector's pixels, not TLS (rfbcast offers VeNCrypt first).
    rfb::ClientHandshakeConfig hc;
    hc.tls = rfb::TlsPolicy::kOff;
    v.handshake = std::make_unique<rfb::ClientHandshake>(hc);
    set_events(v);
}

void ViewerSwarm::on_event(Viewer& v, uint32_t events) {
    if (v.state == Viewer::State::kConnecting) {
        if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) on_connected(v);
        return;
    }
    if (events & EPOLLOUT) flush(v);
    if (v.fd >= 0 && (events & (EPOLLIN | EPOLLERR | EPOLLHUP))) on_readable(v);
}

void ViewerSwarm::on_readable(Viewer& v) {
    size_t total = 0;
    while (v.fd >= 0 && total < kMaxReadPerEvent) {
        size_t want = buf_.size();
        if (v.slow && v.state == Viewer::State::kReady) {
            const auto now = Clock::now();
            const double burst = std::max(opt_.slow_rate * 0.1, 4096.0);
            v.tokens = std::min(
                burst, v.tokens + opt_.slow_rate *
                                      std::chrono::duration<double>(now - v.refilled).count());
            v.refilled = now;
            if (v.tokens < 1) {
                // Out of budget: stop reading until enough time has passed for ~1 KiB more.
                const double wait_s = (1024 - v.tokens) / opt_.slow_rate;
                v.wake = now + std::max<Clock::duration>(
                                   kSlowMinNap, std::chrono::duration_cast<Clock::duration>(
                                                    std::chrono::duration<double>(wait_s)));
                v.paused = true;
                paused_.push_back(v.index);
                set_events(v);
                return;
            }
            want = std::min(want, static_cast<size_t>(v.tokens));
        }
        const ssize_t got = recv(v.fd, buf_.data(), want, MSG_DONTWAIT);
        if (got == 0) return fail(v, "the reflector closed the connection");
        if (got < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) return;
            return fail(v, std::string("recv: ") + std::strerror(errno));
        }
        const auto n = static_cast<size_t>(got);
        total += n;
        if (v.slow) v.tokens -= static_cast<double>(n);
        const bool ok = v.state == Viewer::State::kHandshake ? handshake_bytes(v, buf_.data(), n)
                                                             : protocol_bytes(v, buf_.data(), n);
        if (!ok) return;
    }
}

bool ViewerSwarm::handshake_bytes(Viewer& v, const uint8_t* data, size_t n) {
    v.hs_rx.insert(v.hs_rx.end(), data, data + n);
    if (v.hs_rx.size() > kMaxHandshakeBytes) {
        fail(v, "handshake larger than 64 KiB");
        return false;
    }
    std::vector<uint8_t> reply;
    const rfb::HandshakeStep step = v.handshake->feed(v.hs_rx, reply);
    if (!reply.empty()) queue(v, reply);
    if (v.fd < 0) return false;
    if (step.status == rfb::HandshakeStep::kFailed) {
        fail(v, "handshake: " + step.error);
        return false;
    }
    if (step.status == rfb::HandshakeStep::kContinue) {
        v.hs_rx.erase(v.hs_rx.begin(),
                      v.hs_rx.begin() + static_cast<std::ptrdiff_t>(step.consumed));
        return true;
    }
    const rfb::ServerInitInfo& init = v.handshake->server_init();
    v.width = init.width;
    v.height = init.height;
    std::vector<uint8_t> rest(v.hs_rx.begin() + static_cast<std::ptrdiff_t>(step.consumed),
                              v.hs_rx.end());
    v.handshake.reset();
    v.hs_rx = {};
    std::erase(in_flight_, v.index);
    // Every viewer asks for canonical pixels, so that all share one encoding profile.
    const rfb::PixelFormat pf = rfb::PixelFormat::canonical();
    v.skipper.emplace(pf, v.width, v.height);
    if (v.probe || v.slow) {
        v.probe_state = std::make_unique<Probe>();
        if (!v.probe_state->fb.resize(v.width, v.height)) {
            fail(v, "server framebuffer size unusable");
            return false;
        }
        // Tight rectangles pass a tap that tallies what JPEG this class of viewer receives.
        JpegTally* tally = v.slow ? &jpeg_slow_ : &jpeg_fast_;
        const bool* enabled = &recording_;
        v.probe_state->reader = std::make_unique<rfb::ServerMessageReader>(
            v.probe_state->fb, pf,
            [tally, enabled](int32_t enc) -> std::unique_ptr<rfb::RectDecoder> {
                std::unique_ptr<rfb::RectDecoder> d = rfb::make_decoder(enc);
                if (d && enc == rfb::encoding::kTight)
                    return std::make_unique<TightJpegTap>(std::move(d), tally, enabled);
                return d;
            });
    }
    v.state = Viewer::State::kReady;
    v.n.alive = true;
    v.refilled = Clock::now();
    send_setup(v);
    if (requesting_) send_request(v, false);
    if (v.fd < 0) return false;
    return rest.empty() || protocol_bytes(v, rest.data(), rest.size());
}

bool ViewerSwarm::protocol_bytes(Viewer& v, const uint8_t* data, size_t n) {
    v.n.bytes += n;
    uint64_t skipped = 0;
    if (!v.skipper->feed(std::span(data, n), skipped)) {
        fail(v, std::string("stream not understood: ") + v.skipper->error());
        return false;
    }
    uint64_t ended = skipped;
    if (Probe* p = v.probe_state.get()) {
        p->skipper_updates += skipped;
        p->pending.insert(p->pending.end(), data, data + n);
        const uint64_t before = p->sink.ended;
        const rfb::ServerReadResult r = p->reader->feed(p->pending, p->sink);
        if (r.status == rfb::ServerReadResult::kError) {
            fail(v, "probe decode: " + r.error);
            return false;
        }
        p->pending.erase(p->pending.begin(),
                         p->pending.begin() + static_cast<std::ptrdiff_t>(r.consumed));
        ended = p->sink.ended - before;
        // The reader may hold back a rectangle body the skipper has already passed, but never
        // a whole update: counts further apart than one mean the skipper is wrong.
        const uint64_t a = p->sink.ended, b = p->skipper_updates;
        if ((a > b ? a - b : b - a) > 1) {
            ++p->mismatches;
            p->skipper_updates = a;
        }
        if (ended > 0) {
            const std::optional<uint32_t> frame =
                read_marker(p->fb, MovingContent::kMarkerX, MovingContent::kMarkerY);
            if (frame && frame != p->last_frame) {
                p->last_frame = frame;
                ++v.n.frames;
                int64_t sent = 0, drawn = 0;
                const int64_t now = now_ns();
                if (!times_.sent.lookup(*frame, sent)) {
                    ++unmatched_;
                } else if (recording_ && v.slow) {
                    // A slow viewer's latency is the age of the backlog it is shown.
                    slow_latencies_.push_back(static_cast<double>(now - sent) / 1e6);
                } else if (recording_) {
                    latencies_.push_back(static_cast<double>(now - sent) / 1e6);
                    if (times_.drawn.lookup(*frame, drawn))
                        ages_.push_back(static_cast<double>(now - drawn) / 1e6);
                }
            } else if (!frame) {
                ++unmatched_;
            }
        }
    }
    v.n.updates += ended;
    if (ended > 0 && requesting_) send_request(v, true);
    return v.fd >= 0;
}

void ViewerSwarm::send_setup(Viewer& v) {
    std::vector<uint8_t> msg;
    rfb::ByteWriter w(msg);
    rfb::write_client_message(w, rfb::SetPixelFormatMsg{rfb::PixelFormat::canonical()});
    rfb::SetEncodingsMsg enc;
    enc.encodings = {opt_.encoding, rfb::encoding::kCopyRect};
    if (opt_.quality >= 0 && opt_.quality <= 9)
        enc.encodings.push_back(rfb::encoding::kJpegQuality0 + opt_.quality);
    rfb::write_client_message(w, enc);
    queue(v, msg);
}

void ViewerSwarm::send_request(Viewer& v, bool incremental) {
    if (v.state != Viewer::State::kReady || v.stopped) return;
    std::vector<uint8_t> msg;
    rfb::ByteWriter w(msg);
    rfb::UpdateRequestMsg req;
    req.incremental = incremental;
    req.area = rfb::Rect{0, 0, v.width, v.height};
    rfb::write_client_message(w, req);
    v.requested = true;
    queue(v, msg);
}

void ViewerSwarm::queue(Viewer& v, const std::vector<uint8_t>& bytes) {
    if (v.out.size() + bytes.size() > kMaxQueued) return fail(v, "requests not being read");
    v.out.insert(v.out.end(), bytes.begin(), bytes.end());
    flush(v);
}

void ViewerSwarm::flush(Viewer& v) {
    while (v.fd >= 0 && !v.out.empty()) {
        const ssize_t n = send(v.fd, v.out.data(), v.out.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n > 0) {
            v.out.erase(v.out.begin(), v.out.begin() + n);
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        return fail(v, std::string("send: ") + std::strerror(errno));
    }
    set_events(v);
}

void ViewerSwarm::check_timeouts(Clock::time_point now) {
    const std::vector<uint32_t> snapshot = in_flight_;
    for (uint32_t i : snapshot) {
        Viewer& v = *viewers_[i];
        if (now - v.started > opt_.greeting_timeout) fail(v, "no handshake within the timeout");
    }
}

void ViewerSwarm::wake_slow(Clock::time_point now) {
    for (size_t k = 0; k < paused_.size();) {
        Viewer& v = *viewers_[paused_[k]];
        if (!v.paused || v.fd < 0) {
            paused_[k] = paused_.back();
            paused_.pop_back();
        } else if (now >= v.wake) {
            v.paused = false;
            set_events(v);
            paused_[k] = paused_.back();
            paused_.pop_back();
        } else {
            ++k;
        }
    }
}

int ViewerSwarm::poll_once(int timeout_ms) {
    std::array<epoll_event, 256> events{};
    const int n = epoll_wait(epoll_fd_, events.data(), static_cast<int>(events.size()), timeout_ms);
    for (int i = 0; i < n; ++i) {
        const uint64_t idx = events[i].data.u64;
        if (idx < viewers_.size()) on_event(*viewers_[idx], events[i].events);
    }
    return n;
}

size_t ViewerSwarm::connect_all(Clock::time_point deadline) {
    for (;;) {
        const auto now = Clock::now();
        check_timeouts(now);
        while (in_flight_.size() < opt_.connect_batch && !waiting_.empty()) {
            const uint32_t i = waiting_.back();
            waiting_.pop_back();
            start_connect(*viewers_[i]);
        }
        if (waiting_.empty() && in_flight_.empty()) break;
        if (now >= deadline) break;
        poll_once(20);
    }
    return ready();
}

void ViewerSwarm::start_requesting() {
    requesting_ = true;
    for (auto& v : viewers_)
        if (v->state == Viewer::State::kReady && !v->requested) send_request(*v, false);
}

void ViewerSwarm::run_until(Clock::time_point until, const std::function<void()>& tick,
                            std::chrono::milliseconds tick_every) {
    auto next_tick = Clock::now() + tick_every;
    for (;;) {
        auto now = Clock::now();
        if (now >= until) return;
        if (now >= next_tick) {
            if (tick) tick();
            next_tick = now + tick_every;
        }
        wake_slow(now);
        auto wait = std::min(until, next_tick) - now;
        if (!paused_.empty()) wait = std::min<Clock::duration>(wait, kSlowMinNap);
        const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(wait).count();
        poll_once(static_cast<int>(std::clamp<int64_t>(ms, 0, 1000)));
    }
}

}  // namespace fanout
