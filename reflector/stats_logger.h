#pragma once
#include "reflector/event_loop.h"
#include "reflector/session.h"
#include "reflector/tile_encode_service.h"

namespace rfbcast {

// A periodic 'stats' log line: what the session and the shared encoder did since start. The
// numbers are cumulative so that a reader (bench/fanout, an operator with grep) takes
// differences between two lines; the Prometheus endpoint will carry the same counters.
class StatsLogger {
  public:
    StatsLogger(EventLoop& loop, Clock::duration interval, const Session& session,
                const TileEncodeService& encoder)
        : loop_(loop), interval_(interval), session_(session), encoder_(encoder) {}
    ~StatsLogger();
    StatsLogger(const StatsLogger&) = delete;
    StatsLogger& operator=(const StatsLogger&) = delete;

    // Does nothing when the interval is zero.
    void start();
    void log_now() const;

  private:
    void arm();

    EventLoop& loop_;
    Clock::duration interval_;
    const Session& session_;
    const TileEncodeService& encoder_;
    EventLoop::TimerId timer_ = 0;
};

}  // namespace rfbcast
