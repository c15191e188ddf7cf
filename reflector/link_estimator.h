#pragma once
// How expensive is the link to the upstream server, and so what should rfbcast ask it to send?
//
// Over loopback CPU runs out long before bytes do; over a 5 Mbit/s hotspot it is the other way
// round. The estimator keeps a windowed minimum RTT (the path's propagation delay: server
// think-time and queueing only ever add to a sample) and a windowed maximum throughput (every
// sample is a lower bound of what the link can carry: a server that has little to send, or a
// reader busy decoding, only makes a sample smaller), classifies the link with hysteresis so that
// it does not flap, and maps the class to an encoding list.
//
// Pure: no sockets, no clock. Callers pass the time of each sample; time that goes backwards is
// treated as standing still.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace rfbcast {

enum class LinkClass {
    kLocal,  // same host or a multi-gigabit LAN: bytes are nearly free, decoding is the cost
    kLan,    // a normal LAN: cheap lossless compression pays for itself
    kSlow,   // WAN, Wi-Fi hotspot, VPN: every byte counts, lossy JPEG is worth its artefacts
};

const char* link_class_name(LinkClass c);

struct LinkEstimatorConfig {
    // Thresholds for entering a class. Leaving one takes crossing its threshold by `hysteresis`
    // the other way (slow is left only above 30 Mbit/s and below 20 ms, local only above 3 ms
    // or below 1.33 Gbit/s with the defaults).
    std::chrono::nanoseconds local_max_rtt = std::chrono::milliseconds(2);
    // Local means "Raw is the best choice". A gigabit LAN also has sub-millisecond RTTs, but at
    // 1 Gbit/s Raw moves ~30 Mpixel/s (a 1080p frame in 66 ms) where ZRLE or Tight do better,
    // so only a link measured above 2 Gbit/s (or not measured at all, as on loopback where the
    // reader, not the link, sets the pace) counts as local.
    double local_min_bps = 2e9;
    std::chrono::nanoseconds slow_min_rtt = std::chrono::milliseconds(30);
    double slow_max_bps = 20e6;
    double hysteresis = 1.5;
    // Once the class rests on both an RTT and a link-paced rate, a different class must be
    // indicated without a break for this long before the estimator switches: one bad second on
    // Wi-Fi is not a new link. Before that, new evidence refines the first guess at once.
    std::chrono::nanoseconds hold = std::chrono::seconds(3);
    // RTT samples needed before the first decision (TCP connect plus the handshake give three).
    size_t min_rtt_samples = 3;
    // Samples older than this (relative to the newest time seen) no longer count, so a link
    // that really changed is followed; the newest sample of each kind always counts.
    std::chrono::nanoseconds window = std::chrono::seconds(30);
    // Transfers with fewer timed bytes or a shorter time than this say nothing about the link.
    uint64_t min_timed_bytes = 16 * 1024;
    std::chrono::nanoseconds min_elapsed = std::chrono::microseconds(200);
    // Samples outside these bounds are garbage (clock jumps, counter bugs) and are refused.
    std::chrono::nanoseconds max_rtt = std::chrono::seconds(60);
    double max_bps = 1e12;
};

// One FramebufferUpdate (or any burst the server sent back to back) as the reader saw it.
struct TransferSample {
    uint64_t bytes = 0;  // every byte of the update, message header included
    // From the read that brought the update's first byte to the read that brought its last.
    std::chrono::nanoseconds elapsed{0};
    // Bytes that were already waiting in the socket when the clock started (those returned by
    // the read that brought the first byte): they arrived at some unknown earlier time, so they
    // are not counted in the rate.
    uint64_t bytes_waiting = 0;
    // True when the reader rather than the link set the pace: a read found more data queued
    // than it could take (a full read buffer, or FIONREAD > 0 after it). Such a sample is only a
    // lower bound of the link rate: it can raise the estimate but is never taken as a sign of a
    // slow link.
    bool reader_limited = false;
};

class LinkEstimator {
  public:
    using Clock = std::chrono::steady_clock;

    explicit LinkEstimator(LinkEstimatorConfig config = {}, LinkClass initial = LinkClass::kLan);

    // A round trip: a non-incremental FramebufferUpdateRequest to the first byte of its update,
    // a Fence request to its answer, TCP connect, or a handshake step the server answers at once.
    // (An incremental request is answered only when the screen changes: not an RTT sample.)
    // Returns false when the sample was refused as garbage.
    bool add_rtt(std::chrono::nanoseconds rtt, Clock::time_point now);
    // Returns false when the sample was refused (garbage, or too small to time).
    bool add_transfer(const TransferSample& sample, Clock::time_point now);

    // The current class: `initial` until decided() and then the hysteresis-filtered one.
    LinkClass link_class() const { return class_; }
    bool decided() const { return decided_; }
    // Bumped on every class change, so a caller can tell "changed since I last looked".
    uint64_t changes() const { return changes_; }

    // Windowed minimum and smoothed (EWMA, 1/8) RTT; nullopt without samples in the window.
    std::optional<std::chrono::nanoseconds> min_rtt() const;
    std::optional<std::chrono::nanoseconds> smoothed_rtt() const;
    // Windowed maximum throughput in bit/s over all samples; nullopt without samples.
    std::optional<double> throughput_bps() const;
    // True when throughput_bps() rests only on reader-limited samples (a lower bound).
    bool throughput_is_lower_bound() const;

  private:
    struct RttSample {
        Clock::time_point at;
        std::chrono::nanoseconds rtt;
    };
    struct RateSample {
        Clock::time_point at;
        double bps;
        bool lower_bound;
    };
    static constexpr size_t kMaxRttSamples = 64;
    static constexpr size_t kMaxRateSamples = 32;

    Clock::time_point advance(Clock::time_point now);
    void expire();
    LinkClass candidate() const;
    void evaluate();

    LinkEstimatorConfig config_;
    LinkClass class_;
    bool decided_ = false;
    bool settled_ = false;  // decided on RTT and on a link-paced rate: from now on, hold applies
    uint64_t changes_ = 0;
    bool have_now_ = false;
    Clock::time_point now_{};
    std::vector<RttSample> rtts_;  // oldest first, capped at kMaxRttSamples
    std::vector<RateSample> rates_;
    size_t rtt_count_ = 0;  // accepted since construction, for the first decision
    std::optional<std::chrono::nanoseconds> srtt_;
    std::optional<LinkClass> pending_;
    Clock::time_point pending_since_{};
};

// The encodings to ask the upstream for on a link of this class, most preferred first. For
// kLan and kSlow: every encoding rfbcast decodes (so that any server finds one it speaks), and
// for slow links the JPEG quality and compression level pseudo-encodings at the end.
// Pseudo-encodings rfbcast always sends (cursor, desktop size, fence, ...) are not included.
//
// - kLocal: Raw, CopyRect and RRE only. Over loopback a byte costs a memcpy; Raw costs the
//   server and rfbcast no compression at all, where ZRLE or Tight cost both of them zlib time on
//   every update (the server's encoder is usually what limits the frame rate). Raw must be the
//   only pixel encoding offered: TigerVNC has no Raw preference and would pick ZRLE or Tight if
//   they were listed anywhere. Every server speaks Raw (the RFB spec requires it); RRE lets
//   solid areas go as one fill. TightVNC's viewer prefers Raw for a server on the same machine.
// - kLan: ZRLE first (good lossless compression of desktop content, cheap to decode), Hextile
//   for servers without it.
// - kSlow: Tight first with JPEG quality 6 (what TigerVNC's viewer picks below 16 Mbit/s) and
//   compression level 6: zlib effort is cheaper than bytes here.
std::vector<int32_t> preferred_encodings(LinkClass c);

}  // namespace rfbcast
