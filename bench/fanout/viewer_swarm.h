#pragma once
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "bench/fanout/frame_times.h"
#include "bench/fanout/stall_watch.h"
#include "bench/fanout/tight_jpeg_tap.h"
#include "codec/rfb_constants.h"

// N RFB viewers in one thread on one epoll loop, all watching the reflector under test. Each
// keeps one incremental FramebufferUpdateRequest outstanding, asking again as soon as an update
// has ended, as vncviewer does. Most viewers only find message boundaries (UpdateSkipper);
// a few "probes" decode every rectangle into a framebuffer, read the frame marker and measure
// upstream-to-viewer latency. "Slow" viewers read at a fixed byte rate, like a viewer behind
// a thin link, and decode and measure like probes (separately). "Stalled" viewers behave like
// the others until stall(), then never read or ask again, like a laptop asleep with its socket
// open; stall_watch.h says how their closing by the reflector is seen.
namespace fanout {

using Clock = std::chrono::steady_clock;

struct SwarmOptions {
    uint16_t port = 0;  // the reflector, on 127.0.0.1
    size_t viewers = 1;
    size_t probes = 4;  // the first `probes` viewers decode fully (capped at `viewers`)
    int32_t encoding = rfb::encoding::kZRLE;
    int quality = -1;           // JPEG quality pseudo-encoding 0..9 to ask for; -1 none (lossless)
    size_t slow = 0;            // the last `slow` non-probe viewers read at most `slow_rate` B/s
    double slow_rate = 0;       // bytes per second
    size_t stalled = 0;         // extra viewers, after the `viewers`, that stall() stops
    size_t connect_batch = 32;  // connections and handshakes in flight at once
    std::chrono::milliseconds greeting_timeout{3000};
    unsigned max_attempts = 3;  // per viewer, for connecting and the handshake
};

struct ViewerCounters {
    uint64_t updates = 0;  // FramebufferUpdates completed
    uint64_t bytes = 0;    // bytes received after the handshake
    uint64_t frames = 0;   // probes and slow viewers: distinct upstream frames shown
    bool probe = false, slow = false, stalled = false, alive = false;
};

class ViewerSwarm {
  public:
    ViewerSwarm(const SwarmOptions& opt, const FrameClock& times);
    ~ViewerSwarm();
    ViewerSwarm(const ViewerSwarm&) = delete;
    ViewerSwarm& operator=(const ViewerSwarm&) = delete;

    // Connects every viewer (a ramp of connect_batch at a time, retrying one that gets no
    // greeting within greeting_timeout) through the handshake, SetPixelFormat and
    // SetEncodings; none asks for an update yet. Returns the number ready by `deadline`.
    size_t connect_all(Clock::time_point deadline);
    // Every ready viewer sends a full (non-incremental) request; from then on, an incremental
    // one after each update.
    void start_requesting();
    // Serves the sockets until `until`, calling `tick` about every `tick_every`.
    void run_until(Clock::time_point until, const std::function<void()>& tick,
                   std::chrono::milliseconds tick_every);

    std::vector<ViewerCounters> counters() const;
    // Probes and slow viewers record the latency of each new frame (ms), and what JPEG they
    // receive, only while recording is on.
    void set_recording(bool on) { recording_ = on; }
    // Probes' latencies; slow viewers' in take_slow_latencies().
    std::vector<double> take_latencies();
    std::vector<double> take_slow_latencies();
    // Tight rectangles and JPEG qualities received by probes (fast) or slow viewers (slow);
    // both tallies start again from zero.
    void take_jpeg_tallies(JpegTally& fast, JpegTally& slow);
    // Since each frame was drawn rather than sent (see FrameClock), for the same frames.
    std::vector<double> take_ages();
    // Probe frames whose send time was unknown (not recorded by the upstream, or a bad marker).
    uint64_t unmatched_frames() const { return unmatched_; }
    // Probes count updates twice (full decode and UpdateSkipper); how often the counts parted.
    uint64_t skipper_mismatches() const;

    // Every stalled viewer that is ready stops reading and asking, for good, from now; it is
    // left out of epoll and watched by check_stalled(). Returns how many stopped.
    size_t stall();
    // Looks (without reading) whether the reflector has closed stalled viewers' connections:
    // one pass over /proc/net/tcp and a poll() per viewer not yet seen closed.
    void check_stalled();
    // One per stalled viewer, in order.
    std::vector<StallOutcome> stall_outcomes() const;

    size_t ready() const;
    size_t failed() const { return failed_; }
    size_t disconnected() const { return disconnected_; }
    uint64_t retries() const { return retries_; }
    std::string first_error() const { return first_error_; }
    void close_all();

  private:
    struct Viewer;
    struct Probe;
    void start_connect(Viewer& v);
    void on_event(Viewer& v, uint32_t events);
    void on_connected(Viewer& v);
    void on_readable(Viewer& v);
    bool handshake_bytes(Viewer& v, const uint8_t* data, size_t n);
    bool protocol_bytes(Viewer& v, const uint8_t* data, size_t n);
    void send_setup(Viewer& v);
    void send_request(Viewer& v, bool incremental);
    void queue(Viewer& v, const std::vector<uint8_t>& bytes);
    void flush(Viewer& v);
    void set_events(Viewer& v);
    void fail(Viewer& v, const std::string& why);
    void check_timeouts(Clock::time_point now);
    void wake_slow(Clock::time_point now);
    int poll_once(int timeout_ms);

    SwarmOptions opt_;
    const FrameClock& times_;
    int epoll_fd_ = -1;
    std::vector<std::unique_ptr<Viewer>> viewers_;
    std::vector<uint32_t> waiting_;    // to connect (again), in order
    std::vector<uint32_t> in_flight_;  // connecting or in the handshake
    std::vector<uint32_t> paused_;     // slow viewers out of read budget
    std::vector<uint8_t> buf_;         // shared receive buffer
    bool requesting_ = false;
    bool recording_ = false;
    std::vector<double> latencies_, ages_, slow_latencies_;
    JpegTally jpeg_fast_, jpeg_slow_;  // the taps in decoding viewers count into these
    uint64_t unmatched_ = 0, retries_ = 0;
    size_t failed_ = 0, disconnected_ = 0;
    std::string first_error_;
};

}  // namespace fanout
