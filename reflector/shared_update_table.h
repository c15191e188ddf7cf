#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>

#include "reflector/shared_update.h"

namespace rfbcast {

// A session's updates that viewers in step can share, at the current framebuffer content.
//
// The key is everything an update's bytes depend on besides the pixels (the caller serialises
// it: profile, stream state, visible size, pseudo-rectangles and copies, tile list); the pixels
// are the content epoch, and a new epoch forgets every entry. Updates still being built stay
// alive with the viewers that wait for them. Capped in entries and in bytes (an update still
// being encoded counts once it is ready): when full, a viewer builds its update for itself.
class SharedUpdateTable {
  public:
    struct Limits {
        size_t max_entries = 64;
        size_t max_bytes = 64 * 1024 * 1024;
    };
    struct Stats {
        uint64_t built = 0;     // updates started and remembered
        uint64_t shared = 0;    // times a viewer took an update another one started
        uint64_t unshared = 0;  // updates started while the table was full
    };

    SharedUpdateTable() = default;
    explicit SharedUpdateTable(Limits limits) : limits_(limits) {}

    // The update remembered under `key` at `epoch`, or null.
    std::shared_ptr<SharedUpdate> find(uint64_t epoch, const std::string& key);
    // Remembers `update` (just started) under `key`, unless the table is full.
    void insert(uint64_t epoch, std::string key, std::shared_ptr<SharedUpdate> update);

    size_t entries() const { return map_.size(); }
    const Stats& stats() const { return stats_; }

  private:
    void roll(uint64_t epoch);

    Limits limits_;
    uint64_t epoch_ = 0;
    std::unordered_map<std::string, std::shared_ptr<SharedUpdate>> map_;
    Stats stats_;
};

}  // namespace rfbcast
