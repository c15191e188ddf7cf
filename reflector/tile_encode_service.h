#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <unordered_map>
#include <vector>

#include "codec/encode_cache.h"
#include "codec/framebuffer.h"
#include "codec/rect.h"
#include "metrics/metrics_fwd.h"
#include "reflector/encode_pool.h"

namespace rfbcast {

// Encode once, send to many, off the loop: finds a rectangle's body in the process-wide
// EncodeCache by (content hash, profile), or has it encoded on the EncodePool and cached.
//
// Requests for the same key that arrive while it is being encoded wait for that one encode, so
// fifty viewers asking for a changed tile at once still cost one encode. The pixels are copied
// when the job is submitted: the upstream may overwrite the framebuffer while a worker encodes,
// and the body must match the hash it is cached under (DESIGN.md invariant).
class TileEncodeService {
  public:
    using Ready = std::function<void(rfb::SharedBytes)>;  // nullptr: the encoder refused

    struct Stats {
        uint64_t hits = 0;     // found in the cache
        uint64_t encodes = 0;  // encodes started (inline or on the pool)
        uint64_t joins = 0;    // requests that waited for an encode already under way
        uint64_t refused = 0;  // the pool was full; the caller retries later
    };

    enum class Outcome { kReady, kPending, kRefused };

    // `metrics`: where encodes and their durations are counted (null: nowhere scraped).
    TileEncodeService(rfb::EncodeCache& cache, EncodePool& pool,
                      metrics::Metrics* metrics = nullptr);

    // Called on the loop after encodes finish: sessions use it to let viewers that were refused
    // (pool full) try again. Returns an id for remove_progress_listener.
    uint64_t add_progress_listener(std::function<void()> fn);
    void remove_progress_listener(uint64_t id);

    // kReady: `body` is set now (nullptr when the encoder refused the rectangle). kPending:
    // `ready` runs later on the loop. kRefused: the pool is full; nothing happens, ask again
    // after progress (EncodePool::set_on_progress).
    Outcome get(const rfb::Framebuffer& fb, const rfb::Rect& r, uint64_t content_hash,
                const rfb::EncodeProfile& profile, uint64_t profile_id, rfb::SharedBytes& body,
                Ready ready, EncodePool::Priority priority = EncodePool::Priority::kForeground);

    const Stats& stats() const { return stats_; }
    rfb::EncodeCache& cache() { return cache_; }
    const rfb::EncodeCache& cache() const { return cache_; }
    EncodePool& pool() { return pool_; }
    size_t pending_keys() const { return pending_.size(); }

  private:
    struct KeyHash {
        size_t operator()(const rfb::EncodeKey& k) const {
            return static_cast<size_t>(k.tile_hash ^ (k.profile * 0x9E3779B97F4A7C15ull));
        }
    };
    void finish(const rfb::EncodeKey& key, rfb::SharedBytes body);

    rfb::EncodeCache& cache_;
    EncodePool& pool_;
    metrics::Metrics& metrics_;
    std::unordered_map<rfb::EncodeKey, std::vector<Ready>, KeyHash> pending_;
    std::vector<std::pair<uint64_t, std::function<void()>>> listeners_;
    uint64_t next_listener_ = 1;
    Stats stats_;
};

// Encodes one rectangle of `fb` for `profile` with this thread's encoder for that encoding;
// nullptr when rfbcast has no such encoder or it refused the rectangle. Callable from any
// thread: encoders keep scratch state, so each thread has its own.
rfb::SharedBytes encode_rect(const rfb::Framebuffer& fb, const rfb::Rect& r,
                             const rfb::EncodeProfile& profile);
// encode_rect, counted in `metrics` (rfbcast_encodes_total, rfbcast_encode_duration_seconds).
rfb::SharedBytes encode_rect_counted(const rfb::Framebuffer& fb, const rfb::Rect& r,
                                     const rfb::EncodeProfile& profile, metrics::Metrics& metrics);

}  // namespace rfbcast
