#pragma once
#include "reflector/event_loop.h"
#include "reflector/session.h"
#include "reflector/session_registry.h"
#include "reflector/tile_encode_service.h"

namespace rfbcast {

// Periodic 'stats' log lines, one per session: what it and the shared encoder did since start,
// and a 'stats-routing' line for the registry (viewers routed and refused, servers dialled in). The
// numbers are cumulative so that a reader (bench/fanout, an operator with grep) takes
// differences between two lines; the Prometheus endpoint will carry the same counters.
class StatsLogger {
  public:
    StatsLogger(EventLoop& loop, Clock::duration interval, const SessionRegistry& registry,
                const TileEncodeService& encoder)
        : loop_(loop), interval_(interval), registry_(registry), encoder_(encoder) {}
    ~StatsLogger();
    StatsLogger(const StatsLogger&) = delete;
    StatsLogger& operator=(const StatsLogger&) = delete;

    // Does nothing when the interval is zero.
    void start();
    void log_now() const;

  private:
    void arm();
    void log_session(const Session& session) const;

    EventLoop& loop_;
    Clock::duration interval_;
    const SessionRegistry& registry_;
    const TileEncodeService& encoder_;
    EventLoop::TimerId timer_ = 0;
};

}  // namespace rfbcast
