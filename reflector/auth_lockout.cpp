#include "reflector/auth_lockout.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>

#include "reflector/socket_address.h"

namespace rfbcast {
LockoutKey lockout_key_v4(const uint8_t* four_bytes) {
    LockoutKey k;
    std::memcpy(k.bytes.data(), four_bytes, 4);
    return k;
}

LockoutKey lockout_key_v6(const uint8_t* sixteen_bytes) {
    if (is_ipv4_mapped(sixteen_bytes)) return lockout_key_v4(sixteen_bytes + 12);
    LockoutKey k;
    k.v6 = true;
    std::memcpy(k.bytes.data(), sixteen_bytes, 8);
    return k;
}

std::optional<LockoutKey> lockout_key(const sockaddr* addr) {
    if (addr == nullptr) return std::nullopt;
    if (addr->sa_family == AF_INET) {
        sockaddr_in in;
        std::memcpy(&in, addr, sizeof in);
        return lockout_key_v4(reinterpret_cast<const uint8_t*>(&in.sin_addr));
    }
    if (addr->sa_family == AF_INET6) {
        sockaddr_in6 in6;
        std::memcpy(&in6, addr, sizeof in6);
        return lockout_key_v6(reinterpret_cast<const uint8_t*>(&in6.sin6_addr));
    }
    return std::nullopt;
}

std::string lockout_key_text(const LockoutKey& key) {
    char text[INET6_ADDRSTRLEN];
    if (!key.v6) {
        if (inet_ntop(AF_INET, key.bytes.data(), text, sizeof text) == nullptr) return "?";
        return text;
    }
    uint8_t full[16] = {};
    std::memcpy(full, key.bytes.data(), 8);
    if (inet_ntop(AF_INET6, full, text, sizeof text) == nullptr) return "?";
    return std::string(text) + "/64";
}

AuthLockout::AuthLockout(AuthLockoutConfig config) : config_(config) {
    config_.threshold = std::max(config_.threshold, 1u);
    config_.max_entries = std::max<size_t>(config_.max_entries, 1);
    // Ten years is "forever" here and keeps now + duration far from overflowing nanoseconds.
    constexpr std::chrono::seconds kForever{10LL * 366 * 24 * 3600};
    config_.max_block = std::clamp(config_.max_block, std::chrono::seconds(0), kForever);
    config_.first_block =
        std::clamp(config_.first_block, std::chrono::seconds(0), config_.max_block);
    config_.forget_after = std::clamp(config_.forget_after, config_.max_block, kForever);
}

void AuthLockout::index(const LockoutKey& key, Entry& e, Clock::time_point now) {
    e.in_block_index = e.blocked_until > now;
    if (e.in_block_index)
        by_block_end_.emplace(e.blocked_until, key);
    else
        by_last_failure_.emplace(e.last_failure, key);
}

void AuthLockout::unindex(const LockoutKey& key, const Entry& e) {
    if (e.in_block_index)
        by_block_end_.erase({e.blocked_until, key});
    else
        by_last_failure_.erase({e.last_failure, key});
}

void AuthLockout::erase(Map::iterator it) {
    unindex(it->first, it->second);
    entries_.erase(it);
}

void AuthLockout::expire(Clock::time_point now) {
    while (!by_block_end_.empty() && by_block_end_.begin()->first <= now) {
        const LockoutKey key = by_block_end_.begin()->second;
        by_block_end_.erase(by_block_end_.begin());
        Entry& e = entries_.at(key);
        e.in_block_index = false;
        by_last_failure_.emplace(e.last_failure, key);
    }
    const Clock::time_point stale = now - config_.forget_after;
    while (!by_last_failure_.empty() && by_last_failure_.begin()->first <= stale) {
        erase(entries_.find(by_last_failure_.begin()->second));
        ++counters_.forgotten;
    }
}

void AuthLockout::make_room() {
    while (entries_.size() >= config_.max_entries) {
        // Unblocked entries first (oldest failure first); blocked ones only when none is left,
        // the one whose block ends soonest first.
        const auto& victim =
            !by_last_failure_.empty() ? *by_last_failure_.begin() : *by_block_end_.begin();
        erase(entries_.find(victim.second));
        ++counters_.evictions;
    }
}

bool AuthLockout::blocked(const LockoutKey& key, Clock::time_point now,
                          Clock::duration* remaining) {
    if (remaining != nullptr) *remaining = Clock::duration::zero();
    expire(now);
    const auto it = entries_.find(key);
    if (it == entries_.end() || it->second.blocked_until <= now) return false;
    if (remaining != nullptr) *remaining = it->second.blocked_until - now;
    ++counters_.refused_while_blocked;
    return true;
}

void AuthLockout::failure(const LockoutKey& key, Clock::time_point now) {
    ++counters_.failures;
    expire(now);
    auto it = entries_.find(key);
    if (it == entries_.end()) {
        make_room();
        Entry fresh;
        fresh.next_block = config_.first_block;
        it = entries_.emplace(key, fresh).first;
    } else {
        unindex(it->first, it->second);
    }
    Entry& e = it->second;
    e.last_failure = now;
    if (e.blocked_until <= now) {
        // Counting stops at the threshold: from there on only the block length grows.
        if (e.failures < config_.threshold) ++e.failures;
        if (e.failures >= config_.threshold) {
            e.blocked_until = now + e.next_block;
            ++counters_.blocks_started;
            const Clock::duration cap = config_.max_block;
            e.next_block = e.next_block > cap / 2 ? cap : e.next_block * 2;
        }
    }
    index(it->first, e, now);
}

void AuthLockout::success(const LockoutKey& key) {
    const auto it = entries_.find(key);
    if (it != entries_.end()) erase(it);
}

bool AuthLockout::blocked(const sockaddr* addr, Clock::time_point now, Clock::duration* remaining) {
    const auto key = lockout_key(addr);
    if (!key) {
        if (remaining != nullptr) *remaining = Clock::duration::zero();
        return false;
    }
    return blocked(*key, now, remaining);
}

void AuthLockout::failure(const sockaddr* addr, Clock::time_point now) {
    if (const auto key = lockout_key(addr)) failure(*key, now);
}

void AuthLockout::success(const sockaddr* addr) {
    if (const auto key = lockout_key(addr)) success(*key);
}

unsigned AuthLockout::failures_of(const LockoutKey& key) const {
    const auto it = entries_.find(key);
    return it == entries_.end() ? 0 : it->second.failures;
}

}  // namespace rfbcast
