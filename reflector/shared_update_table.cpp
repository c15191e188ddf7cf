#include "reflector/shared_update_table.h"

namespace rfbcast {

void SharedUpdateTable::roll(uint64_t epoch) {
    if (epoch == epoch_) return;
    epoch_ = epoch;
    map_.clear();
}

std::shared_ptr<SharedUpdate> SharedUpdateTable::find(uint64_t epoch, const std::string& key) {
    roll(epoch);
    auto it = map_.find(key);
    if (it == map_.end()) return nullptr;
    ++stats_.shared;
    return it->second;
}

void SharedUpdateTable::insert(uint64_t epoch, std::string key,
                               std::shared_ptr<SharedUpdate> update) {
    roll(epoch);
    size_t bytes = 0;
    for (const auto& e : map_)
        bytes += e.second->bytes() + e.first.size();
    if (map_.size() >= limits_.max_entries ||
        bytes + update->bytes() + key.size() > limits_.max_bytes) {
        ++stats_.unshared;
        return;
    }
    ++stats_.built;
    map_.insert_or_assign(std::move(key), std::move(update));
}

}  // namespace rfbcast
