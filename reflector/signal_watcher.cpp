#include "reflector/signal_watcher.h"

#include <signal.h>
#include <unistd.h>

namespace rfbcast {

SignalWatcher::SignalWatcher(EventLoop& loop, Handler handler)
    : loop_(loop), handler_(std::move(handler)) {
    slot_ = loop_.add_handler(this);
}

SignalWatcher::~SignalWatcher() {
    loop_.remove_handler(slot_);
    if (fd_ >= 0) ::close(fd_);
}

bool SignalWatcher::start() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    if (sigprocmask(SIG_BLOCK, &set, nullptr) != 0) return false;
    ::signal(SIGPIPE, SIG_IGN);
    fd_ = signalfd(-1, &set, SFD_CLOEXEC);
    if (fd_ < 0) return false;
    loop_.submit_read(slot_, fd_, &info_, sizeof info_);
    return true;
}

void SignalWatcher::on_completion(OpKind, int32_t res, uint32_t) {
    if (res == static_cast<int32_t>(sizeof info_)) handler_(static_cast<int>(info_.ssi_signo));
    loop_.submit_read(slot_, fd_, &info_, sizeof info_);
}

}  // namespace rfbcast
