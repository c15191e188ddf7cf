#pragma once
#include <liburing.h>
#include <sys/socket.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <queue>
#include <string>
#include <unordered_map>
#include <vector>

namespace rfbcast {

using Clock = std::chrono::steady_clock;

// The kind of an io_uring operation, carried in the low byte of its user_data.
enum class OpKind : uint8_t { kAccept = 1, kConnect, kRecv, kSend, kRead, kCancel, kClose, kPoll };

// Receives completions for the operations it submitted. One object may have several operations
// in flight (a recv and a send); it must stay alive until every one of them has completed.
class IoHandler {
  public:
    virtual ~IoHandler() = default;
    virtual void on_completion(OpKind op, int32_t res, uint32_t cqe_flags) = 0;
};

// Single-threaded io_uring event loop: all socket I/O of the process goes through here.
//
// Completions are routed by user_data = slot << 32 | generation << 8 | op kind, so protocol code
// never sees io_uring and a completion that arrives after its handler unregistered (generation
// bumped) is dropped instead of touching freed memory. Timers live in user space (a min-heap) and
// bound the wait; io_uring_submit_and_wait_timeout does the sleeping.
class EventLoop {
  public:
    // Returns nullptr and fills `error` when io_uring cannot be set up (ENOSYS on old kernels,
    // EPERM under a seccomp profile that blocks it); the message says how to allow it.
    static std::unique_ptr<EventLoop> create(unsigned entries, std::string* error);
    ~EventLoop();
    EventLoop(const EventLoop&) = delete;
    EventLoop& operator=(const EventLoop&) = delete;

    uint32_t add_handler(IoHandler* h);
    void remove_handler(uint32_t slot);

    void submit_accept(uint32_t slot, int fd);
    void submit_connect(uint32_t slot, int fd, const sockaddr* addr, socklen_t len);
    void submit_recv(uint32_t slot, int fd, void* buf, size_t len);
    void submit_sendmsg(uint32_t slot, int fd, const msghdr* msg);
    void submit_read(uint32_t slot, int fd, void* buf, size_t len);
    // One-shot poll for `events` (POLLOUT, ...); the result is the ready mask.
    void submit_poll(uint32_t slot, int fd, unsigned events);
    // Cancels every in-flight operation of `slot` on `fd` (their completions still arrive).
    void submit_cancel_fd(uint32_t slot, int fd);

    using TimerId = uint64_t;
    TimerId add_timer(Clock::duration after, std::function<void()> fn);
    void cancel_timer(TimerId id);
    // Runs `fn` on the loop after the current completion batch (never re-entrantly).
    void defer(std::function<void()> fn);

    Clock::time_point now() const { return now_; }
    void run();
    void stop() { running_ = false; }
    // Keeps turning until `done()` holds or `max` has passed: lets connections finish their
    // teardown at exit.
    void run_until(const std::function<bool()>& done, Clock::duration max);
    size_t handler_count() const { return slots_.size() - free_slots_.size(); }
    // Connections closing after their queued output is sent (Connection::close_when_sent): a
    // drain waits for them so that what they owe their peers is delivered.
    size_t lingering() const { return lingering_; }
    void linger_started() { ++lingering_; }
    void linger_ended() { --lingering_; }
    // Increments every turn; /healthz compares it over time to see the loop is alive.
    uint64_t turns() const { return turns_; }

  private:
    EventLoop() = default;
    io_uring_sqe* get_sqe();
    static uint64_t pack(uint32_t slot, uint16_t gen, OpKind op) {
        return (uint64_t{slot} << 32) | (uint64_t{gen} << 8) | static_cast<uint8_t>(op);
    }
    void turn();
    void dispatch(io_uring_cqe* cqe);
    void run_timers();
    void run_deferred();

    struct Slot {
        IoHandler* handler = nullptr;
        uint16_t generation = 0;
    };
    struct Timer {
        Clock::time_point when;
        TimerId id;
        bool operator>(const Timer& o) const { return when > o.when; }
    };

    io_uring ring_{};
    bool ring_ok_ = false;
    bool running_ = false;
    uint64_t turns_ = 0;
    size_t lingering_ = 0;
    Clock::time_point now_ = Clock::now();
    std::vector<Slot> slots_;
    std::vector<uint32_t> free_slots_;
    std::priority_queue<Timer, std::vector<Timer>, std::greater<>> timers_;
    std::unordered_map<TimerId, std::function<void()>> timer_fns_;
    TimerId next_timer_ = 1;
    std::vector<std::function<void()>> deferred_;
};

}  // namespace rfbcast
