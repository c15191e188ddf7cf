#include "codec/encode_cache.h"

#include <xxhash.h>

#include <vector>

#include "codec/byte_writer.h"

namespace rfb {

uint64_t EncodeProfile::id() const {
    std::vector<uint8_t> b;
    b.reserve(32);
    ByteWriter w(b);
    w.s32(encoding);
    w.s32(tuning.quality);
    w.s32(tuning.compress);
    w.s32(tuning.fine_quality);
    w.s32(tuning.subsampling);
    format.write(w);
    return XXH3_64bits(b.data(), b.size());
}

SharedBytes EncodeCache::find(const EncodeKey& key) {
    auto it = index_.find(key);
    if (it == index_.end()) {
        ++stats_.misses;
        return nullptr;
    }
    ++stats_.hits;
    lru_.splice(lru_.begin(), lru_, it->second);
    return it->second->bytes;
}

void EncodeCache::insert(const EncodeKey& key, SharedBytes bytes) {
    if (!bytes) return;
    const size_t size = bytes->size();
    if (size > capacity_) return;  // would evict everything and still not fit
    auto it = index_.find(key);
    if (it != index_.end()) {
        stats_.bytes -= it->second->bytes->size();
        it->second->bytes = std::move(bytes);
        stats_.bytes += size;
        lru_.splice(lru_.begin(), lru_, it->second);
    } else {
        lru_.push_front(Entry{key, std::move(bytes)});
        index_.emplace(key, lru_.begin());
        stats_.bytes += size;
        ++stats_.inserts;
    }
    evict_to(capacity_);
    stats_.entries = index_.size();
}

void EncodeCache::set_capacity(size_t bytes) {
    capacity_ = bytes;
    evict_to(capacity_);
    stats_.entries = index_.size();
}

void EncodeCache::evict_to(size_t limit) {
    while (stats_.bytes > limit && !lru_.empty()) {
        const Entry& e = lru_.back();
        stats_.bytes -= e.bytes->size();
        index_.erase(e.key);
        lru_.pop_back();
        ++stats_.evictions;
    }
}

}  // namespace rfb
