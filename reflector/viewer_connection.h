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
#include "reflector/session.h"
#include "reflector/shared_update.h"

namespace rfbcast {

class Session;
struct CopyOp;
struct FrameChange;

// Plays the RFB server for one viewer: handshake and auth, then SetPixelFormat, SetEncodings,
// update requests and input. Updates are built from the session's dirty tiles; each tile body
// comes from the shared EncodeCache, so the only per-viewer bytes are rectangle headers.
class ViewerConnection final : public ConnectionOwner {
  public:
    ViewerConnection(Session& session, Connection* conn, uint64_t id,
                     const std::array<uint8_t, 16>& challenge);
    ~ViewerConnection() override;

    void start();
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

    // Budget of queued output under which a new update may be built. Fixed for now; the
    // adaptive pacing work replaces it with a per-viewer estimate.
    static constexpr size_t kSendBudget = 4 * 1024 * 1024;

    void on_data(Connection& c) override;
    void on_sent(Connection& c) override;
    void on_closed(Connection& c, const std::string& reason) override;

  private:
    enum class State { kHandshake, kWaitingForFrame, kNormal, kClosed };

    void handle_handshake();
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
    bool can_send_now() const;
    bool can_replay(const FrameChange& change) const;
    void sync_size();

    Session& session_;
    Connection* conn_;
    uint64_t id_;
    std::string peer_;
    State state_ = State::kHandshake;
    rfb::ServerHandshake handshake_;
    rfb::ClientMessageParser parser_;
    rfb::AccessLevel access_ = rfb::AccessLevel::kNone;
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

    // The update this viewer waits for while its tile bodies are encoded (build_update); it
    // may be shared with other viewers in step with this one.
    struct Building {
        std::shared_ptr<SharedUpdate> update;
        uint64_t size_generation = 0, profile_id = 0;
    };
    Building building_;
    uint64_t build_seq_ = 0;
    // Encode completions hold a weak reference: a viewer gone before its bodies come back is
    // simply not called.
    std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

}  // namespace rfbcast
