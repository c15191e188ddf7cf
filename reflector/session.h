#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "codec/cursor.h"
#include "codec/framebuffer.h"
#include "codec/scroll_detector.h"
#include "codec/tile_bitmap.h"
#include "codec/tile_grid.h"
#include "metrics/metrics_fwd.h"
#include "reflector/config_file.h"
#include "reflector/event_loop.h"
#include "reflector/input_arbiter.h"
#include "reflector/peer_limits.h"
#include "reflector/shared_update_table.h"
#include "reflector/tile_encode_service.h"
#include "reflector/upstream_link.h"
#include "reflector/viewer_pacer.h"
#include "reflector/viewer_security.h"

namespace rfbcast {

class ViewerConnection;

// A CopyRect the upstream sent in the update that just ended.
struct CopyOp {
    rfb::Rect dst;
    uint32_t src_x = 0, src_y = 0;
    rfb::Rect src() const { return rfb::Rect{src_x, src_y, dst.w, dst.h}; }
};

// What viewers learn at the end of an upstream update.
struct FrameChange {
    const rfb::TileBitmap& changed;
    // Copies a viewer may replay instead of re-sending their destination tiles; empty when the
    // update mixed damage in before them (the source pixels were then not the ones viewers have).
    const std::vector<CopyOp>& copies;
    // Computed once per frame, for every viewer that replays the copies: the tiles the copies
    // read, and what is left to send after replaying them (`changed` minus the tiles the copies
    // fully cover, unless damaged after the first copy).
    const rfb::TileBitmap& copy_sources;
    const rfb::TileBitmap& changed_after_replay;
};

struct SessionOptions {
    std::string name = "default";
    std::optional<std::string> full_password;
    std::optional<std::string> viewonly_password;
    size_t max_viewers = 1000;
    // TLS and the VeNCrypt sub-types offered to viewers; null: None/VNC Authentication only.
    std::shared_ptr<const ViewerSecurity> security;
    // Viewers that did not authenticate with a password (security None) are view-only.
    bool view_only_default = false;
    // Classroom control: which control viewers' input reaches the upstream, and clipboard flow.
    InputPolicy input_policy = InputPolicy::kShared;
    ClipboardPolicy clipboard = ClipboardPolicy::kBoth;
    Clock::duration input_idle_timeout = std::chrono::seconds(10);
    // How long a viewer that finished its handshake waits for the first upstream frame.
    Clock::duration first_frame_wait = std::chrono::seconds(15);
    // Turn unannounced vertical scrolling into CopyRect for viewers that take it.
    bool detect_scroll = true;

    // Each viewer at its own pace (ViewerPacer, QualityLadder).
    PacingOptions pacing;
    int min_quality = 0, max_quality = 9;  // the JPEG steps viewers' ladders may use
    double egress_cap = 0;  // bytes/s to all viewers of the session, split evenly; 0 = none
    // How long the screen must stay still before viewers sent lossy tiles get them lossless
    // (zero: never).
    Clock::duration lossless_refresh_delay = std::chrono::milliseconds(500);
    // Viewers that allowed JPEG get lossless during motion when their link carries it; false:
    // their own JPEG quality at best (less bandwidth and encoder time on fast networks).
    bool lossless_when_fast = true;
    // What its viewers and its upstream may send, and how long a viewer may take to log in.
    PeerLimits peer_limits;
};

// Viewers' measured delivery rates at one moment, for the stats line (and issue 9's metrics):
// counts per bucket, upper bounds in bits/s; the last bucket is everything faster and the
// viewers nothing is known about yet.
struct ViewerRateHistogram {
    static constexpr double kBounds[] = {256e3, 1e6, 10e6, 100e6};
    size_t counts[5] = {};
};

// One upstream, its canonical framebuffer, the per-tile hashes and its viewers (DESIGN.md).
//
// Viewers are served only between upstream updates: while an update is being decoded the
// framebuffer is half old, half new, and an encoding taken from it would be cached under the
// wrong hash. At the end of each update the damaged tiles are re-hashed, unchanged ones dropped,
// and the changed set is OR-ed into every viewer's dirty bitmap.
class Session {
  public:
    // `metrics`: the process's metrics, where the session's series are made (null: a set
    // nobody scrapes, for tests and tools).
    Session(EventLoop& loop, SessionOptions options, TileEncodeService& encoder,
            metrics::Metrics* metrics = nullptr);
    ~Session();

    const SessionOptions& options() const { return options_; }
    // A reload changed the settings: new viewers get them (and the limits read per update apply
    // at once); the name stays.
    void update_options(SessionOptions options);
    // Called after the number of viewers changed (from the event loop).
    void set_viewers_changed(std::function<void()> fn) { viewers_changed_ = std::move(fn); }
    EventLoop& loop() { return loop_; }
    TileEncodeService& encoder() { return encoder_; }
    metrics::SessionMetrics& metrics() { return *metrics_; }
    const std::shared_ptr<metrics::SessionMetrics>& metrics_handle() const { return metrics_; }
    metrics::Metrics& process_metrics() { return process_metrics_; }

    // --- framebuffer state, read by viewers ---
    bool has_frame() const { return has_frame_; }
    bool in_update() const { return in_update_; }
    const rfb::Framebuffer& framebuffer() const { return fb_; }
    rfb::Framebuffer& framebuffer_for_upstream() { return fb_; }
    const rfb::TileGrid& tiles() const { return grid_; }
    uint64_t generation() const { return generation_; }
    // When the pixels last changed, and the smoothed time between changes (seconds; what a
    // viewer's update may take to drain before it falls behind the screen).
    Clock::time_point last_change() const { return last_change_; }
    double frame_interval() const { return frame_interval_; }
    // Changes whenever the framebuffer's pixels may change (each upstream update, a resize):
    // what viewers' shared updates are valid for.
    uint64_t content_epoch() const { return content_epoch_; }
    SharedUpdateTable& shared_updates() { return shared_updates_; }
    const SharedUpdateTable& shared_updates() const { return shared_updates_; }
    uint64_t size_generation() const { return size_generation_; }
    const rfb::CursorImage& cursor() const { return cursor_; }
    uint64_t cursor_generation() const { return cursor_generation_; }
    const std::string& desktop_name() const { return desktop_name_; }
    uint64_t name_generation() const { return name_generation_; }

    // --- the upstream side ---
    void set_upstream(UpstreamLink* upstream) { upstream_ = upstream; }
    UpstreamLink* upstream() { return upstream_; }
    // The framebuffer has been (re)sized by the upstream; its pixels are undefined until drawn.
    void resized(uint32_t width, uint32_t height);
    void begin_update();
    void damage(const rfb::Rect& r);
    // The upstream copied src -> dst (the framebuffer already holds the result).
    void copy(const rfb::Rect& dst, uint32_t src_x, uint32_t src_y);
    void end_update();
    void set_cursor(const rfb::CursorImage& cursor);
    void set_desktop_name(const std::string& name);
    void bell();
    void server_cut_text(const std::string& latin1);

    // --- the viewer side ---
    void add_viewer(std::unique_ptr<ViewerConnection> viewer);
    // Deferred: the viewer may be in the middle of its own call stack.
    void remove_viewer(ViewerConnection* viewer);
    size_t viewer_count() const { return viewers_.size(); }
    void close_all_viewers(const std::string& reason);
    // Shutting down: each viewer finishes the update under way, then closes (ViewerConnection::
    // drain); they leave the list as they close.
    void drain_viewers(const std::string& reason);
    // A viewer's input, passed to the upstream as the session's input policy allows
    // (InputArbiter): `control` says the viewer authenticated for control; `keycode` is the QEMU
    // extended key event's (0: a plain KeyEvent).
    void input_key(uint64_t viewer, bool control, bool down, uint32_t keysym, uint32_t keycode);
    void input_pointer(uint64_t viewer, bool control, uint8_t buttons, uint16_t x, uint16_t y);
    void input_cut_text(uint64_t viewer, bool control, const std::string& latin1);
    bool upstream_supports_qemu_keys() const {
        return upstream_ && upstream_->connected() && upstream_->supports_qemu_keys();
    }
    // The upstream (re)connected: a fresh server has no keys or buttons down.
    void upstream_reset() { arbiter_.reset_server_state(); }
    const InputArbiter& arbiter() const { return arbiter_; }

    struct Stats {
        uint64_t updates = 0, changed_tiles = 0, unchanged_tiles = 0, scrolls_detected = 0;
        uint64_t viewers_stalled = 0;     // closed for making no progress
        uint64_t lossless_refreshes = 0;  // updates that made lossy tiles lossless
    };
    const Stats& stats() const { return stats_; }
    Stats& stats_for_viewers() { return stats_; }
    ViewerRateHistogram viewer_rates() const;
    // The rate cap for one viewer now: its own cap and its share of the session's.
    double viewer_rate_cap() const;

  private:
    EventLoop& loop_;
    SessionOptions options_;
    TileEncodeService& encoder_;
    metrics::Metrics& process_metrics_;
    std::shared_ptr<metrics::SessionMetrics> metrics_;
    uint64_t progress_listener_ = 0;
    UpstreamLink* upstream_ = nullptr;

    rfb::Framebuffer fb_;
    rfb::TileGrid grid_;
    rfb::ScrollDetector scroll_;
    rfb::TileBitmap damaged_, changed_;
    std::vector<CopyOp> copies_;
    bool damage_before_copy_ = false;
    rfb::TileBitmap damaged_after_copies_;
    rfb::TileBitmap copy_sources_, changed_after_replay_;  // scratch for FrameChange
    bool has_frame_ = false;
    bool in_update_ = false;
    bool resized_in_update_ = false;
    uint64_t generation_ = 0, size_generation_ = 0;
    uint64_t content_epoch_ = 1;
    SharedUpdateTable shared_updates_;
    rfb::CursorImage cursor_;
    uint64_t cursor_generation_ = 0;
    std::string desktop_name_;
    uint64_t name_generation_ = 0;

    std::vector<std::unique_ptr<ViewerConnection>> viewers_;
    Stats stats_;
    Clock::time_point last_change_{};
    double frame_interval_ = 1.0;
    EventLoop::TimerId progress_timer_ = 0;
    void check_viewers_progress();
    std::function<void()> viewers_changed_;
    InputArbiter arbiter_;
    void send_input(const InputEvent& e);
    void send_input(const InputDecision& d, const InputEvent& e);
    std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

}  // namespace rfbcast
