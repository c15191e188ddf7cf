#pragma once
#include <sys/socket.h>

#include <cstdint>
#include <functional>
#include <string>

#include "reflector/event_loop.h"

namespace rfbcast {

// A listening TCP socket that keeps one accept in flight on the event loop and hands each new
// connection (fd, peer address text and address) to `on_accept`.
class Listener final : public IoHandler {
  public:
    using AcceptFn =
        std::function<void(int fd, const std::string& peer, const sockaddr_storage& address)>;

    Listener(EventLoop& loop, AcceptFn on_accept) : loop_(loop), on_accept_(std::move(on_accept)) {}
    ~Listener() override;

    // Binds and listens; on failure `error` says what to check (a port in use names the port).
    bool open(const std::string& address, std::string& error);
    void on_completion(OpKind op, int32_t res, uint32_t flags) override;
    const std::string& address() const { return address_; }
    // The port the socket is bound to (getsockname), for logs and tests; 0 before open().
    uint16_t port() const;

  private:
    EventLoop& loop_;
    AcceptFn on_accept_;
    std::string address_;
    int fd_ = -1;
    uint32_t slot_ = 0;
    bool registered_ = false;
    EventLoop::TimerId retry_timer_ = 0;
};

}  // namespace rfbcast
