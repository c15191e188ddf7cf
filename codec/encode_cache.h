#pragma once
#include <cstddef>
#include <cstdint>
#include <list>
#include <unordered_map>

#include "codec/encoder.h"
#include "codec/pixel_format.h"
#include "codec/shared_bytes.h"

namespace rfb {

// What makes two viewers' encodings of the same pixels interchangeable.
struct EncodeProfile {
    int32_t encoding = 0;
    EncodeTuning tuning;
    PixelFormat format;

    uint64_t id() const;
    bool operator==(const EncodeProfile& o) const {
        return encoding == o.encoding && tuning.quality == o.tuning.quality &&
               tuning.compress == o.tuning.compress &&
               tuning.fine_quality == o.tuning.fine_quality &&
               tuning.subsampling == o.tuning.subsampling && format == o.format;
    }
};

struct EncodeKey {
    uint64_t tile_hash = 0;
    uint64_t profile = 0;
    bool operator==(const EncodeKey&) const = default;
};

struct EncodeCacheStats {
    uint64_t hits = 0, misses = 0, evictions = 0, inserts = 0;
    size_t bytes = 0, entries = 0;
};

// (tile content hash, profile) -> immutable encoded bytes, capped in bytes with LRU eviction.
//
// Entries are reference-counted: evicting one never frees bytes a viewer's send queue still holds,
// it only stops new viewers from finding them. The cache itself is single-threaded (the event
// loop owns it); encoders on worker threads hand results back to the loop to insert.
class EncodeCache {
  public:
    explicit EncodeCache(size_t capacity_bytes) : capacity_(capacity_bytes) {}

    SharedBytes find(const EncodeKey& key);
    void insert(const EncodeKey& key, SharedBytes bytes);
    void set_capacity(size_t bytes);
    const EncodeCacheStats& stats() const { return stats_; }

  private:
    struct KeyHash {
        size_t operator()(const EncodeKey& k) const {
            return static_cast<size_t>(k.tile_hash ^ (k.profile * 0x9E3779B97F4A7C15ull));
        }
    };
    struct Entry {
        EncodeKey key;
        SharedBytes bytes;
    };
    void evict_to(size_t limit);

    size_t capacity_;
    std::list<Entry> lru_;  // front = most recently used
    std::unordered_map<EncodeKey, std::list<Entry>::iterator, KeyHash> index_;
    EncodeCacheStats stats_;
};

}  // namespace rfb
