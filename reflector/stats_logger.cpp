#include "reflector/stats_logger.h"

#include "reflector/log.h"

namespace rfbcast {

StatsLogger::~StatsLogger() {
    if (timer_) loop_.cancel_timer(timer_);
}

void StatsLogger::start() {
    if (interval_ > Clock::duration::zero()) arm();
}

void StatsLogger::arm() {
    timer_ = loop_.add_timer(interval_, [this] {
        timer_ = 0;
        log_now();
        arm();
    });
}

void StatsLogger::log_now() const {
    for (const Session* s : registry_.sessions())
        log_session(*s);
    const SessionRegistry::Stats& r = registry_.stats();
    const AuthLockout::Counters& l = registry_.lockout().counters();
    const PreauthLimit::Counters& p = registry_.preauth().counters();
    auto u = [](uint64_t v) { return static_cast<unsigned long long>(v); };
    LOG_INFO("stats-routing",
             "sessions=%zu viewers-routed=%llu viewers-refused=%llu repeater-refused=%llu "
             "servers-dialled-in=%llu sessions-created=%llu sessions-removed=%llu "
             "refused-by-address=%llu auth-failures=%llu lockouts=%llu "
             "refused-while-locked=%llu lockout-evictions=%llu preauth=%zu "
             "preauth-refused=%llu preauth-refused-per-address=%llu",
             registry_.session_count(), u(r.viewers_routed), u(r.viewers_refused),
             u(r.repeater_refused), u(r.servers_dialled_in), u(r.sessions_created),
             u(r.sessions_removed), u(r.refused_by_address), u(l.failures), u(l.blocks_started),
             u(l.refused_while_blocked), u(l.evictions), registry_.preauth().total(),
             u(p.refused_total), u(p.refused_per_address));
}

void StatsLogger::log_session(const Session& session_) const {
    const Session::Stats& s = session_.stats();
    const TileEncodeService::Stats& e = encoder_.stats();
    const rfb::EncodeCacheStats& c = encoder_.cache().stats();
    const SharedUpdateTable::Stats& u = session_.shared_updates().stats();
    const ViewerRateHistogram r = session_.viewer_rates();
    LOG_INFO("stats",
             "session=%s viewers=%zu updates=%llu changed-tiles=%llu unchanged-tiles=%llu "
             "scrolls=%llu encodes=%llu cache-hits=%llu joins=%llu pool-refused=%llu "
             "cache-bytes=%zu cache-entries=%zu cache-evictions=%llu shared-updates=%llu "
             "built-updates=%llu viewers-stalled=%llu lossless-refreshes=%llu "
             "viewer-rates=<256k:%zu,<1M:%zu,<10M:%zu,<100M:%zu,faster-or-unknown:%zu",
             session_.options().name.c_str(), session_.viewer_count(),
             static_cast<unsigned long long>(s.updates),
             static_cast<unsigned long long>(s.changed_tiles),
             static_cast<unsigned long long>(s.unchanged_tiles),
             static_cast<unsigned long long>(s.scrolls_detected),
             static_cast<unsigned long long>(e.encodes), static_cast<unsigned long long>(e.hits),
             static_cast<unsigned long long>(e.joins), static_cast<unsigned long long>(e.refused),
             c.bytes, c.entries, static_cast<unsigned long long>(c.evictions),
             static_cast<unsigned long long>(u.shared), static_cast<unsigned long long>(u.built),
             static_cast<unsigned long long>(s.viewers_stalled),
             static_cast<unsigned long long>(s.lossless_refreshes), r.counts[0], r.counts[1],
             r.counts[2], r.counts[3], r.counts[4]);
}

}  // namespace rfbcast
