#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "codec/byte_writer.h"
#include "codec/client_message_parser.h"
#include "codec/encode_cache.h"
#include "codec/pixel_converter.h"
#include "codec/rect_framing.h"
#include "codec/server_handshake.h"
#include "codec/tile_bitmap.h"
#include "reflector/connection.h"
#include "reflector/preauth_limit.h"
#include "reflector/quality_ladder.h"
#include "reflector/session.h"
#include "reflector/shared_update.h"
#include "reflector/viewer_pacer.h"

namespace rfbcast {

class Session;
struct CopyOp;
struct FrameChange;

// The socket caps of every viewer connection (native, or a browser's once it upgraded).
Connection::Limits viewer_connection_limits();

// The handshake a viewer of a session with these options gets: its passwords and, with
// options.security, the VeNCrypt sub-types that fit them.
rfb::ServerHandshakeConfig viewer_handshake_config(const SessionOptions& options,
                                                   const std::array<uint8_t, 16>& challenge);

// Plays the RFB server for one viewer: handshake and auth, then SetPixelFormat, SetEncodings,
// update requests and input. Updates are built from the session's dirty tiles; each tile body
// comes from the shared EncodeCache, so the only per-viewer bytes are rectangle headers.
class ViewerConnection final : public ConnectionOwner {
  public:
    ViewerConnection(Session& session, Connection* conn, uint64_t id,
                     const std::array<uint8_t, 16>& challenge);
    // A viewer whose handshake finished before its session was known (one port serving several
    // sessions told apart by their passwords).
    ViewerConnection(Session& session, Connection* conn, uint64_t id,
                     rfb::ServerHandshake finished);
    ~ViewerConnection() override;

    void start();
    // Holds a pre-auth slot (PreauthLimit) until the viewer has authenticated or is gone.
    void hold_preauth(PreauthLimit::Ticket ticket) { preauth_ = std::move(ticket); }
    uint64_t id() const { return id_; }
    const std::string& peer() const;
    rfb::AccessLevel access() const { return access_; }

    // Called by the session.
    void on_frame(const FrameChange& change);
    void on_resize();
    void try_send();
    void send_message(const SharedBytes& msg);
    // Closes the connection without asking the session to remove us (the session is doing it).
    void shutdown(const std::string& reason);
    // Shutting down: no new update starts; the one being encoded or sent is finished, then the
    // viewer is closed with `reason` (at once if nothing is under way).
    void drain(const std::string& reason);

    // Called by the session about once a second: closes the viewer if it stalled.
    void check_progress(Clock::time_point now);
    // Once a second: this viewer's rate estimate and unsent bytes into the session's histograms.
    void sample_metrics(Clock::time_point now);
    // Bytes/s this viewer takes (0: nothing measured yet).
    double rate_estimate(Clock::time_point now) const { return pacer_.rate(now).rate; }

    void on_data(Connection& c) override;
    void on_sent(Connection& c) override;
    void on_writable(Connection& c) override;
    void on_closed(Connection& c, const std::string& reason) override;

  private:
    enum class State { kHandshake, kFailing, kWaitingForFrame, kNormal, kClosed };

    void handle_handshake();
    void after_handshake();
    void finish_init();
    void handle_messages();
    void handle(const rfb::ClientMessage& m);
    void set_encodings(const std::vector<int32_t>& encodings);
    void set_pixel_format(const rfb::PixelFormat& pf);
    void close(const std::string& reason);
    // Closes the connection and logs why; false when it was already closed.
    bool teardown(const std::string& reason);
    bool build_update();
    void write_pseudo_rects(rfb::ByteWriter& w, size_t& count);
    void finish_update(const SharedUpdate::Outcome& o);
    void abandon_update();
    bool can_send_now();
    bool wants_update() const { return update_requested_ || continuous_; }
    // Ours and the kernel's bytes not yet on the wire.
    size_t unsent_bytes();
    void configure_levels();
    void handle_fence(const rfb::ClientFenceMsg& f);
    void handle_continuous(const rfb::EnableContinuousUpdatesMsg& m);
    void cancel_timers();
    bool can_replay(const FrameChange& change);
    void arm_refresh_timer();
    void fit_to_budget(std::vector<size_t>& tiles, size_t level, double rate);
    bool screen_still(Clock::time_point now) const;
    void sync_size();

    Session& session_;
    Connection* conn_;
    uint64_t id_;
    std::string peer_;
    State state_ = State::kHandshake;
    rfb::ServerHandshake handshake_;
    rfb::ClientMessageParser parser_;
    rfb::AccessLevel access_ = rfb::AccessLevel::kNone;
    PreauthLimit::Ticket preauth_;
    EventLoop::TimerId wait_timer_ = 0;

    // What the viewer asked for.
    rfb::PixelFormat format_;
    std::unique_ptr<rfb::PixelWriter> writer_;
    int32_t preferred_encoding_ = 0;
    bool supports_copyrect_ = false, supports_desktop_size_ = false,
         supports_ext_desktop_size_ = false, supports_cursor_ = false,
         supports_desktop_name_ = false, supports_last_rect_ = false, supports_qemu_keys_ = false,
         supports_cursor_alpha_ = false;
    bool qemu_keys_announced_ = false;
    rfb::EncodeTuning tuning_;
    rfb::EncodeProfile profile_;
    uint64_t profile_id_ = 0;

    // What the viewer has and needs.
    bool update_requested_ = false;
    uint32_t width_ = 0, height_ = 0;  // the size this viewer knows
    uint64_t size_generation_ = 0, cursor_generation_ = 0, name_generation_ = 0;
    rfb::TileBitmap dirty_;
    std::vector<CopyOp> pending_copies_;  // replayed at the start of the next update
    rfb::ViewerStreamState stream_state_;
    uint64_t updates_sent_ = 0;
    uint64_t last_generation_sent_ = 0;  // the session's generation at the last update sent

    // The update this viewer waits for while its tile bodies are encoded (build_update); it
    // may be shared with other viewers in step with this one.
    struct Building {
        std::shared_ptr<SharedUpdate> update;
        uint64_t size_generation = 0, format_generation = 0;
        size_t level = 0;
        bool refresh = false;
    };
    Building building_;
    uint64_t build_seq_ = 0;
    // Pacing (issue 5): when to send, at which quality step, and what to make lossless later.
    ViewerPacer pacer_;
    QualityLadder ladder_;
    struct LevelProfile {
        rfb::EncodeProfile profile;
        uint64_t id = 0;
    };
    std::vector<LevelProfile> levels_;  // by ladder step; [0] is lossless
    uint64_t format_generation_ = 0;    // pixel format or encodings changed
    rfb::TileBitmap lossy_;             // tiles this viewer holds as JPEG
    bool supports_tight_ = false, supports_fence_ = false, supports_continuous_ = false;
    bool hard_close_ = false;   // close without waiting for queued output (a stalled viewer)
    std::string drain_reason_;  // non-empty: close after the update under way (drain())
    bool fence_announced_ = false, continuous_announced_ = false;
    bool continuous_ = false;  // EnableContinuousUpdates is on
    rfb::Rect continuous_area_;
    EventLoop::TimerId pace_timer_ = 0, refresh_timer_ = 0;
    Clock::time_point pace_timer_at_{};
    uint32_t min_rtt_us_ = 0;
    uint32_t peer_window_ = 0, max_peer_window_ = 0;  // check_progress's last and largest
    size_t tile_cursor_ = 0;  // where the next partial update starts (fit_to_budget)

    // Encode completions hold a weak reference: a viewer gone before its bodies come back is
    // simply not called.
    std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

}  // namespace rfbcast
