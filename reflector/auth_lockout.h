#pragma once
#include <sys/socket.h>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>

#include "reflector/event_loop.h"

namespace rfbcast {

// Which addresses count as one for the lockout: an IPv4 address, or an IPv6 /64. An IPv4-mapped
// IPv6 address (::ffff:a.b.c.d, a dual-stack socket's view of an IPv4 peer) is that IPv4
// address. /64 because that is what one subscriber, one LAN or one cloud VM usually gets: per
// address, an IPv6 attacker would have 2^64 fresh addresses to guess from.
struct LockoutKey {
    bool v6 = false;
    std::array<uint8_t, 8> bytes{};  // IPv4: the first 4; IPv6: the /64 prefix
    auto operator<=>(const LockoutKey&) const = default;
};

// From a sockaddr_in / sockaddr_in6 (anything else: nullopt, which the caller should treat as
// "no lockout applies", e.g. a Unix socket, or refuse).
std::optional<LockoutKey> lockout_key(const sockaddr* addr);
// From raw network-order bytes, as a PROXY protocol header gives them.
LockoutKey lockout_key_v4(const uint8_t* four_bytes);
LockoutKey lockout_key_v6(const uint8_t* sixteen_bytes);
// "192.0.2.7" or "2001:db8:1:2::/64", for logs.
std::string lockout_key_text(const LockoutKey& key);

struct AuthLockoutConfig {
    // Failures allowed before the first block (TigerVNC, TurboVNC and KasmVNC: 5 and 10 s).
    unsigned threshold = 5;
    std::chrono::seconds first_block{10};
    // Each failure after a block has ended starts a block twice as long as the last, up to this.
    // Why a cap: a shared address (a NAT, a campus, one /64) may hold an attacker and a real user;
    // without it one night of guessing would lock the user out for weeks. An hour still limits
    // guessing to about 24 tries a day per address once the doubling has reached it. It also
    // keeps the duration arithmetic far from overflow.
    std::chrono::seconds max_block{3600};
    // An address with no failure for this long (and not blocked) starts again from zero, so a
    // user's typo today is not added to last month's. TigerVNC never forgets until a success.
    // Raised to max_block if shorter, so an ended block's doubling is not forgotten at once.
    std::chrono::seconds forget_after{24 * 3600};
    // Table size cap; at least 1.
    size_t max_entries = 65536;
};

// Brute-force lockout per source address (see LockoutKey for what "address" means). Pure: the
// caller passes the time (Clock from the event loop) and decides what to do with the answers.
//
//   blocked(addr, now)  before any authentication work (DES challenge, TLS handshake): true means
//                       refuse with "Too many security failures". Counts refused_while_blocked.
//   failure(addr, now)  after a failed authentication.
//   success(addr)       after a successful one: the address is forgotten entirely.
//
// Timeline with the defaults: failures 1-4 are only counted; the 5th starts a 10 s block. After
// it ends, the next failure starts a 20 s block, then 40 s, ... up to max_block. A failure that
// is reported while a block is running (a connection that passed blocked() before the block
// started and failed later) is counted but changes nothing: the doubling is for failures after a
// block ended. Callers should therefore ask blocked() again just before checking a password, so
// that attempts already in flight when the block started are refused too.
//
// The table is capped. A new address that does not fit evicts, in this order:
//   1. the least recently failed address that is not blocked now;
//   2. only if every entry is blocked, the one whose block ends soonest.
// Why: an attacker who sprays failures from many addresses (easy with IPv6: 65536 /64s in a /48)
// must not be able to flush the blocks of real attacks; unblocked entries are only partial
// counts, and the oldest of them are the least useful to keep. Only failure() adds entries, so
// connecting without failing costs the table nothing.
class AuthLockout {
  public:
    struct Counters {
        uint64_t failures = 0;
        uint64_t blocks_started = 0;
        uint64_t refused_while_blocked = 0;
        uint64_t evictions = 0;
        uint64_t forgotten = 0;  // dropped after forget_after without failures
    };

    explicit AuthLockout(AuthLockoutConfig config = {});

    // True while `addr` is blocked; `remaining` (if given) gets the time left, else zero.
    bool blocked(const LockoutKey& key, Clock::time_point now,
                 Clock::duration* remaining = nullptr);
    void failure(const LockoutKey& key, Clock::time_point now);
    void success(const LockoutKey& key);

    // sockaddr forms: addresses other than IPv4/IPv6 are never blocked and never recorded.
    bool blocked(const sockaddr* addr, Clock::time_point now, Clock::duration* remaining = nullptr);
    void failure(const sockaddr* addr, Clock::time_point now);
    void success(const sockaddr* addr);

    size_t size() const { return entries_.size(); }
    const Counters& counters() const { return counters_; }
    const AuthLockoutConfig& config() const { return config_; }

    // Failures counted for `key` (0 if unknown); for tests and status pages.
    unsigned failures_of(const LockoutKey& key) const;

  private:
    struct Entry {
        unsigned failures = 0;
        Clock::time_point last_failure{};
        Clock::time_point blocked_until{};
        Clock::duration next_block{};  // the length of the next block to start
        bool in_block_index = false;   // indexed by blocked_until, else by last_failure
    };
    using Map = std::map<LockoutKey, Entry>;

    // Moves entries whose block has ended to the unblocked index and forgets stale ones.
    void expire(Clock::time_point now);
    void index(const LockoutKey& key, Entry& e, Clock::time_point now);
    void unindex(const LockoutKey& key, const Entry& e);
    void make_room();
    void erase(Map::iterator it);

    AuthLockoutConfig config_;
    Map entries_;
    // Entries whose block had not ended when last looked at, by end of block.
    std::set<std::pair<Clock::time_point, LockoutKey>> by_block_end_;
    // All other entries, by last failure (oldest first).
    std::set<std::pair<Clock::time_point, LockoutKey>> by_last_failure_;
    Counters counters_;
};

}  // namespace rfbcast
