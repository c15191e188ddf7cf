#pragma once
#include <sys/socket.h>

#include <cstddef>
#include <map>
#include <memory>
#include <optional>

#include "reflector/auth_lockout.h"

namespace rfbcast {

// Connections that have not finished authenticating, in all and per source address (IPv6 per
// /64, as the lockout counts them): a flood of half-open handshakes from one address cannot take
// every slot. A Ticket is held for as long as a connection is pre-auth and gives its slot back
// when destroyed, whichever way the connection ends.
class PreauthLimit {
  public:
    struct Counters {
        uint64_t refused_total = 0, refused_per_address = 0;
    };

    PreauthLimit(size_t max_total, size_t max_per_address)
        : max_total_(max_total), max_per_address_(max_per_address) {}

    class Ticket {
      public:
        Ticket() = default;
        ~Ticket() { release(); }
        Ticket(Ticket&& o) noexcept : owner_(o.owner_), key_(o.key_) { o.owner_ = nullptr; }
        Ticket& operator=(Ticket&& o) noexcept {
            if (this != &o) {
                release();
                owner_ = o.owner_;
                key_ = o.key_;
                o.owner_ = nullptr;
            }
            return *this;
        }
        Ticket(const Ticket&) = delete;
        Ticket& operator=(const Ticket&) = delete;
        void release();
        bool held() const { return owner_ != nullptr; }

      private:
        friend class PreauthLimit;
        std::shared_ptr<PreauthLimit> owner_;
        std::optional<LockoutKey> key_;
    };

    // A ticket for a new connection from `addr`, or nullopt (and `why`) at a limit.
    static std::optional<Ticket> take(const std::shared_ptr<PreauthLimit>& self,
                                      const sockaddr* addr, const char** why);

    size_t total() const { return total_; }
    const Counters& counters() const { return counters_; }

  private:
    size_t max_total_, max_per_address_;
    size_t total_ = 0;
    std::map<LockoutKey, size_t> per_address_;
    Counters counters_;
};

}  // namespace rfbcast
