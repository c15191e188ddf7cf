#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "codec/repeater_header.h"
#include "codec/rfb_constants.h"
#include "codec/server_handshake.h"
#include "reflector/connection.h"
#include "reflector/preauth_limit.h"
#include "reflector/viewer_security.h"

namespace rfbcast {

class Session;
class ViewerGate;

// What a gate asks of whoever owns the sessions (SessionRegistry).
class ViewerRouter {
  public:
    virtual ~ViewerRouter() = default;
    // The viewer named a repeater target: the session to join, or nullptr and why not.
    virtual Session* route_repeater(const rfb::RepeaterTarget& target, const std::string& peer,
                                    std::string& refusal) = 0;
    // The viewer authenticated with the password of route `route`: its session, or nullptr.
    virtual Session* route_password(size_t route, std::string& refusal) = 0;
    // Hands the connection to the session as a viewer; `finished` is its completed handshake
    // (password routing) or nullopt (the viewer's RFB handshake starts now).
    virtual void attach_viewer(Session& session, Connection* conn,
                               std::optional<rfb::ServerHandshake> finished,
                               PreauthLimit::Ticket preauth) = 0;
    // The gate is done with its connection (handed over or closed); destroy it later.
    virtual void gate_finished(ViewerGate* gate) = 0;
};

// A viewer on a port that serves several sessions, before it belongs to one:
// - kRepeater: UltraVNC repeater Mode I/II. We send "RFB 000.000\n"; the viewer answers with
//   the 250-byte field naming an ID (or host:port); its session then runs the RFB handshake.
// - kPassword: the RFB handshake runs here, offering every session's passwords; the one the
//   viewer answers with picks the session.
// - kRefuse: the handshake runs only to tell the viewer why it is refused (an RFB failure
//   reason is what viewers show their users), then the connection closes.
// Every mode has a deadline (from accept; 10 s unless set) so a silent peer cannot hold a slot.
class ViewerGate final : public ConnectionOwner {
  public:
    enum class Mode { kRepeater, kPassword, kRefuse };

    // kPassword: `credentials` carry routes; kRefuse: `refusal` is the reason.
    // `security` (may be null) must outlive the gate.
    ViewerGate(EventLoop& loop, ViewerRouter& router, Connection* conn, Mode mode,
               std::vector<rfb::Credential> credentials, std::string refusal,
               const std::array<uint8_t, 16>& challenge,
               std::shared_ptr<const ViewerSecurity> security = nullptr);
    ~ViewerGate() override;
    ViewerGate(const ViewerGate&) = delete;
    ViewerGate& operator=(const ViewerGate&) = delete;

    // Before start(): the handshake_timeout of the configuration's defaults.
    void set_deadline(Clock::duration d) { deadline_after_accept_ = d; }
    void start();
    Mode mode() const { return mode_; }
    void hold_preauth(PreauthLimit::Ticket ticket) { preauth_ = std::move(ticket); }

    void on_data(Connection& c) override;
    void on_closed(Connection& c, const std::string& reason) override;

  private:
    void read_repeater_header();
    void run_handshake();
    void refuse(const std::string& reason);
    void finish(const std::string& log_reason);

    EventLoop& loop_;
    ViewerRouter& router_;
    Connection* conn_;
    Mode mode_;
    std::string refusal_;
    std::array<uint8_t, 16> challenge_;
    std::unique_ptr<rfb::ServerHandshake> handshake_;
    std::shared_ptr<const ViewerSecurity> security_;
    EventLoop::TimerId deadline_ = 0;
    Clock::duration deadline_after_accept_ =
        std::chrono::seconds(rfb::limits::kDefaultHandshakeTimeoutSeconds);
    bool finished_ = false;
    bool failing_ = false;  // a wrong password's answer is waiting for its delay
    PreauthLimit::Ticket preauth_;
    std::shared_ptr<int> alive_ = std::make_shared<int>(0);  // for off-loop Plain checks
};

}  // namespace rfbcast
