#include "metrics/session_metrics.h"

#include <utility>

namespace rfbcast::metrics {

namespace {

using prometheus::BuildCounter;
using prometheus::BuildGauge;

// 10 kB/s (a stalled or dial-up viewer) to 1 GB/s (loopback), in 1-3-10 steps.
std::vector<double> bandwidth_bounds() {
    return {1e4, 3e4, 1e5, 3e5, 1e6, 3e6, 1e7, 3e7, 1e8, 3e8, 1e9};
}

// 0 on its own: an empty queue (the viewer keeps up) is the case worth telling apart.
std::vector<double> send_queue_bounds() {
    return {0, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864};
}

}  // namespace

SessionMetrics::SessionMetrics(std::shared_ptr<SessionFamilies> families, std::string name,
                               Cells cells)
    : families_(std::move(families)), name_(std::move(name)), c_(cells) {}

SessionMetrics::~SessionMetrics() {
    families_->release(*this);
}

SessionFamilies::SessionFamilies(std::shared_ptr<prometheus::Registry> registry)
    : registry_(std::move(registry)),
      sessions_(BuildGauge()
                    .Name("rfbcast_sessions")
                    .Help("Sessions by distinct name: configured, or still draining after a reload")
                    .Register(*registry_)
                    .Add({})),
      upstream_up_(BuildGauge()
                       .Name("rfbcast_upstream_up")
                       .Help("1 while the session's upstream RFB server is connected")
                       .Register(*registry_)),
      viewers_(BuildGauge()
                   .Name("rfbcast_viewers")
                   .Help("Viewers connected to the session")
                   .Register(*registry_)),
      upstream_reconnects_(BuildCounter()
                               .Name("rfbcast_upstream_reconnects_total")
                               .Help("Upstream connection attempts after the first (reconnects)")
                               .Register(*registry_)),
      bytes_received_(BuildCounter()
                          .Name("rfbcast_bytes_received_total")
                          .Help("Bytes read from the upstream server or from viewers")
                          .Register(*registry_)),
      bytes_sent_(BuildCounter()
                      .Name("rfbcast_bytes_sent_total")
                      .Help("Bytes written to the upstream server or to viewers")
                      .Register(*registry_)),
      framebuffer_updates_(BuildCounter()
                               .Name("rfbcast_framebuffer_updates_total")
                               .Help("FramebufferUpdate messages received from upstream")
                               .Register(*registry_)),
      frames_sent_(BuildCounter()
                       .Name("rfbcast_frames_sent_total")
                       .Help("FramebufferUpdate messages sent to viewers")
                       .Register(*registry_)),
      frames_skipped_(BuildCounter()
                          .Name("rfbcast_frames_skipped_total")
                          .Help("Updates merged or dropped because a viewer was behind")
                          .Register(*registry_)),
      viewer_bandwidth_("rfbcast_viewer_bandwidth_bytes_per_second",
                        "Viewers' estimated delivery rates, observed periodically per viewer",
                        bandwidth_bounds()),
      viewer_send_queue_("rfbcast_viewer_send_queue_bytes",
                         "Viewers' send queue lengths, observed periodically per viewer",
                         send_queue_bounds()) {}

std::shared_ptr<SessionMetrics> SessionFamilies::acquire(const std::string& name) {
    std::lock_guard lock(mutex_);
    auto& live = live_[name];
    if (auto existing = live.weak.lock()) return existing;

    // Family::Add returns the existing cell for labels already present, which is what makes a
    // takeover from an expiring holder share its cells (see Live::owner).
    const prometheus::Labels labels{{"session", name}};
    SessionMetrics::Cells c;
    c.upstream_up = &upstream_up_.Add(labels);
    c.viewers = &viewers_.Add(labels);
    c.upstream_reconnects = &upstream_reconnects_.Add(labels);
    for (size_t i = 0; i < SessionMetrics::kSides; ++i) {
        const prometheus::Labels side{{"session", name}, {"side", std::string(kSideNames[i])}};
        c.bytes_received[i] = &bytes_received_.Add(side);
        c.bytes_sent[i] = &bytes_sent_.Add(side);
    }
    c.framebuffer_updates = &framebuffer_updates_.Add(labels);
    c.frames_sent = &frames_sent_.Add(labels);
    c.frames_skipped = &frames_skipped_.Add(labels);
    c.viewer_bandwidth = &viewer_bandwidth_.add(labels);
    c.viewer_send_queue = &viewer_send_queue_.add(labels);

    std::shared_ptr<SessionMetrics> created(new SessionMetrics(shared_from_this(), name, c));
    live.weak = created;
    live.owner = created.get();
    sessions_.Set(static_cast<double>(live_.size()));
    return created;
}

void SessionFamilies::release(const SessionMetrics& gone) {
    std::lock_guard lock(mutex_);
    const auto it = live_.find(gone.name_);
    if (it == live_.end() || it->second.owner != &gone) return;
    const auto& c = gone.c_;
    upstream_up_.Remove(c.upstream_up);
    viewers_.Remove(c.viewers);
    upstream_reconnects_.Remove(c.upstream_reconnects);
    for (size_t i = 0; i < SessionMetrics::kSides; ++i) {
        bytes_received_.Remove(c.bytes_received[i]);
        bytes_sent_.Remove(c.bytes_sent[i]);
    }
    framebuffer_updates_.Remove(c.framebuffer_updates);
    frames_sent_.Remove(c.frames_sent);
    frames_skipped_.Remove(c.frames_skipped);
    viewer_bandwidth_.remove(c.viewer_bandwidth);
    viewer_send_queue_.remove(c.viewer_send_queue);
    live_.erase(it);
    sessions_.Set(static_cast<double>(live_.size()));
}

size_t SessionFamilies::live_sessions() const {
    std::lock_guard lock(mutex_);
    return live_.size();
}

std::vector<prometheus::MetricFamily> SessionFamilies::collect_histograms() const {
    auto out = viewer_bandwidth_.Collect();
    auto more = viewer_send_queue_.Collect();
    out.insert(out.end(), std::make_move_iterator(more.begin()),
               std::make_move_iterator(more.end()));
    return out;
}

}  // namespace rfbcast::metrics
