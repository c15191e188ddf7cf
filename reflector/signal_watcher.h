#pragma once
#include <sys/signalfd.h>

#include <functional>

#include "reflector/event_loop.h"

namespace rfbcast {

// Turns SIGINT/SIGTERM/SIGHUP into calls on the event loop (a signalfd read through io_uring),
// so shutdown and reload run between completions, never inside a signal handler.
class SignalWatcher final : public IoHandler {
  public:
    using Handler = std::function<void(int signo)>;
    SignalWatcher(EventLoop& loop, Handler handler);
    ~SignalWatcher() override;
    bool start();
    void on_completion(OpKind op, int32_t res, uint32_t flags) override;

  private:
    EventLoop& loop_;
    Handler handler_;
    int fd_ = -1;
    uint32_t slot_ = 0;
    signalfd_siginfo info_{};
};

}  // namespace rfbcast
