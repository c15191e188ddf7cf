#include "reflector/preauth_limit.h"

namespace rfbcast {

std::optional<PreauthLimit::Ticket> PreauthLimit::take(const std::shared_ptr<PreauthLimit>& self,
                                                       const sockaddr* addr, const char** why) {
    PreauthLimit& l = *self;
    if (l.total_ >= l.max_total_) {
        ++l.counters_.refused_total;
        *why = "too many connections are authenticating; try again shortly";
        return std::nullopt;
    }
    std::optional<LockoutKey> key = lockout_key(addr);
    if (key) {
        size_t& n = l.per_address_[*key];
        if (n >= l.max_per_address_) {
            ++l.counters_.refused_per_address;
            *why = "too many connections from your address are authenticating";
            return std::nullopt;
        }
        ++n;
    }
    ++l.total_;
    Ticket t;
    t.owner_ = self;
    t.key_ = key;
    return t;
}

void PreauthLimit::Ticket::release() {
    if (!owner_) return;
    PreauthLimit& l = *owner_;
    --l.total_;
    if (key_) {
        auto it = l.per_address_.find(*key_);
        if (it != l.per_address_.end() && --it->second == 0) l.per_address_.erase(it);
    }
    owner_.reset();
}

}  // namespace rfbcast
