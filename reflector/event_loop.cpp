#include "reflector/event_loop.h"

#include <cerrno>
#include <cstring>

namespace rfbcast {

std::unique_ptr<EventLoop> EventLoop::create(unsigned entries, std::string* error) {
    std::unique_ptr<EventLoop> loop(new EventLoop());
    const int rc = io_uring_queue_init(entries, &loop->ring_, 0);
    if (rc < 0) {
        if (error) {
            *error = std::string("io_uring is unavailable (") + std::strerror(-rc) + "). ";
            if (rc == -ENOSYS)
                *error += "The kernel lacks io_uring (Linux 5.19 or newer is needed).";
            else if (rc == -EPERM || rc == -EACCES)
                *error +=
                    "A seccomp profile or a sysctl blocks it: the default seccomp profiles of "
                    "Docker and containerd refuse io_uring. Allow the io_uring_setup, "
                    "io_uring_enter and io_uring_register system calls in the container's seccomp "
                    "profile (docker run --security-opt seccomp=PROFILE.json; Kubernetes: "
                    "securityContext.seccompProfile type Localhost), and check that sysctl "
                    "kernel.io_uring_disabled is 0.";
            else
                *error += "Check the kernel and the process limits (ulimit -l).";
        }
        return nullptr;
    }
    loop->ring_ok_ = true;
    return loop;
}

EventLoop::~EventLoop() {
    if (ring_ok_) io_uring_queue_exit(&ring_);
}

uint32_t EventLoop::add_handler(IoHandler* h) {
    uint32_t slot;
    if (!free_slots_.empty()) {
        slot = free_slots_.back();
        free_slots_.pop_back();
    } else {
        slot = static_cast<uint32_t>(slots_.size());
        slots_.push_back({});
    }
    slots_[slot].handler = h;
    return slot;
}

void EventLoop::remove_handler(uint32_t slot) {
    if (slot >= slots_.size()) return;
    slots_[slot].handler = nullptr;
    ++slots_[slot].generation;
    free_slots_.push_back(slot);
}

io_uring_sqe* EventLoop::get_sqe() {
    io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
    if (!sqe) {
        // The submission queue is full: hand what we have to the kernel and take a fresh entry.
        io_uring_submit(&ring_);
        sqe = io_uring_get_sqe(&ring_);
    }
    return sqe;
}

void EventLoop::submit_accept(uint32_t slot, int fd) {
    io_uring_sqe* sqe = get_sqe();
    io_uring_prep_accept(sqe, fd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    io_uring_sqe_set_data64(sqe, pack(slot, slots_[slot].generation, OpKind::kAccept));
}

void EventLoop::submit_connect(uint32_t slot, int fd, const sockaddr* addr, socklen_t len) {
    io_uring_sqe* sqe = get_sqe();
    io_uring_prep_connect(sqe, fd, addr, len);
    io_uring_sqe_set_data64(sqe, pack(slot, slots_[slot].generation, OpKind::kConnect));
}

void EventLoop::submit_recv(uint32_t slot, int fd, void* buf, size_t len) {
    io_uring_sqe* sqe = get_sqe();
    io_uring_prep_recv(sqe, fd, buf, len, 0);
    io_uring_sqe_set_data64(sqe, pack(slot, slots_[slot].generation, OpKind::kRecv));
}

void EventLoop::submit_sendmsg(uint32_t slot, int fd, const msghdr* msg) {
    io_uring_sqe* sqe = get_sqe();
    io_uring_prep_sendmsg(sqe, fd, msg, MSG_NOSIGNAL);
    io_uring_sqe_set_data64(sqe, pack(slot, slots_[slot].generation, OpKind::kSend));
}

void EventLoop::submit_read(uint32_t slot, int fd, void* buf, size_t len) {
    io_uring_sqe* sqe = get_sqe();
    io_uring_prep_read(sqe, fd, buf, static_cast<unsigned>(len), 0);
    io_uring_sqe_set_data64(sqe, pack(slot, slots_[slot].generation, OpKind::kRead));
}

void EventLoop::submit_poll(uint32_t slot, int fd, unsigned events) {
    io_uring_sqe* sqe = get_sqe();
    io_uring_prep_poll_add(sqe, fd, events);
    io_uring_sqe_set_data64(sqe, pack(slot, slots_[slot].generation, OpKind::kPoll));
}

void EventLoop::submit_cancel_fd(uint32_t slot, int fd) {
    io_uring_sqe* sqe = get_sqe();
    io_uring_prep_cancel_fd(sqe, fd, IORING_ASYNC_CANCEL_ALL);
    io_uring_sqe_set_data64(sqe, pack(slot, slots_[slot].generation, OpKind::kCancel));
}

EventLoop::TimerId EventLoop::add_timer(Clock::duration after, std::function<void()> fn) {
    const TimerId id = next_timer_++;
    timers_.push(Timer{Clock::now() + after, id});
    timer_fns_.emplace(id, std::move(fn));
    return id;
}

void EventLoop::cancel_timer(TimerId id) {
    timer_fns_.erase(id);
}

void EventLoop::defer(std::function<void()> fn) {
    deferred_.push_back(std::move(fn));
}

void EventLoop::dispatch(io_uring_cqe* cqe) {
    const uint64_t ud = io_uring_cqe_get_data64(cqe);
    const auto op = static_cast<OpKind>(ud & 0xff);
    const auto gen = static_cast<uint16_t>(ud >> 8);
    const auto slot = static_cast<uint32_t>(ud >> 32);
    if (op == OpKind::kCancel || slot >= slots_.size()) return;
    Slot& s = slots_[slot];
    if (!s.handler || s.generation != gen) return;  // stale: its owner is gone
    s.handler->on_completion(op, cqe->res, cqe->flags);
}

void EventLoop::run_timers() {
    now_ = Clock::now();
    while (!timers_.empty() && timers_.top().when <= now_) {
        const TimerId id = timers_.top().id;
        timers_.pop();
        auto it = timer_fns_.find(id);
        if (it == timer_fns_.end()) continue;  // cancelled
        auto fn = std::move(it->second);
        timer_fns_.erase(it);
        fn();
    }
}

void EventLoop::run_deferred() {
    // Deferred work may defer more; run until quiet, but in batches so new items see a fresh
    // vector.
    while (!deferred_.empty()) {
        auto batch = std::move(deferred_);
        deferred_.clear();
        for (auto& fn : batch)
            fn();
    }
}

void EventLoop::run_until(const std::function<bool()>& done, Clock::duration max) {
    const auto deadline = Clock::now() + max;
    const TimerId guard = add_timer(max, [] {});
    running_ = true;
    while (!done() && Clock::now() < deadline)
        turn();
    cancel_timer(guard);
    run_deferred();
}

void EventLoop::run() {
    running_ = true;
    while (running_)
        turn();
    run_deferred();
}

void EventLoop::turn() {
    ++turns_;
    run_deferred();
    // Drop cancelled timers at the top so they don't shorten the wait.
    while (!timers_.empty() && !timer_fns_.count(timers_.top().id))
        timers_.pop();
    __kernel_timespec ts{};
    __kernel_timespec* wait = nullptr;
    if (!timers_.empty()) {
        auto d = timers_.top().when - Clock::now();
        if (d < Clock::duration::zero()) d = Clock::duration::zero();
        const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
        ts.tv_sec = ns / 1000000000;
        ts.tv_nsec = ns % 1000000000;
        wait = &ts;
    }
    io_uring_cqe* cqe = nullptr;
    const int rc = io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, wait, nullptr);
    now_ = Clock::now();
    if (rc < 0 && rc != -ETIME && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY) {
        // Not recoverable by waiting; keep turning rather than spin on the same error.
        run_timers();
        return;
    }
    unsigned head;
    unsigned seen = 0;
    io_uring_for_each_cqe(&ring_, head, cqe) {
        dispatch(cqe);
        ++seen;
    }
    io_uring_cq_advance(&ring_, seen);
    run_timers();
}

}  // namespace rfbcast
