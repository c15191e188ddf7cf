#pragma once
#include <chrono>
#include <functional>
#include <optional>
#include <span>

#include "reflector/connection.h"
#include "reflector/event_loop.h"

namespace rfbcast {

// One port for native and browser viewers (issue 8): an RFB client waits for the server's
// greeting, a browser speaks first (an HTTP GET, or a TLS ClientHello for https/wss). So a new
// connection on a viewer port is given a short wait: bytes that start like HTTP or TLS send it
// to the HTTP side, silence (or anything else) to RFB. libvncserver does the same with 100 ms.
class ProtocolSniffer final : public ConnectionOwner {
  public:
    static constexpr Clock::duration kDefaultWait = std::chrono::milliseconds(100);
    enum class Verdict { kRfb, kWeb };
    // Called once with the connection (its first bytes still in rx()), unless it closed first.
    using Next = std::function<void(Connection*, Verdict)>;
    using Finished = std::function<void(ProtocolSniffer*)>;

    ProtocolSniffer(EventLoop& loop, Connection* conn, Clock::duration wait, Next next,
                    Finished finished);
    ~ProtocolSniffer() override;
    ProtocolSniffer(const ProtocolSniffer&) = delete;
    ProtocolSniffer& operator=(const ProtocolSniffer&) = delete;

    void start();
    void on_data(Connection& c) override;
    void on_closed(Connection& c, const std::string& reason) override;

  private:
    void decide(Verdict v);

    EventLoop& loop_;
    Connection* conn_;
    Clock::duration wait_;
    Next next_;
    Finished finished_;
    EventLoop::TimerId timer_ = 0;
    bool done_ = false;
};

// What the first bytes of a viewer-port connection say: kWeb for an HTTP GET or a TLS record
// (0x16), kRfb for anything else; nullopt while they are a proper prefix of "GET " (or empty).
std::optional<ProtocolSniffer::Verdict> sniff_first_bytes(std::span<const uint8_t> first);

}  // namespace rfbcast
