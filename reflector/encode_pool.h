#pragma once
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "reflector/event_loop.h"

namespace rfbcast {

// Worker threads for CPU-heavy encodes (JPEG, zlib, zstd). The event loop hands a job over and
// gets its completion back on the loop thread, so it never waits on an encode and protocol
// state is only ever touched by the loop.
//
// Work and completion are separate closures: `work` runs on a worker and must only touch what it
// captured (a pixel snapshot, a pixel format); `done` runs on the loop afterwards. Completions
// are batched through one eventfd read on the ring.
//
// The queue is capped (`max_queued` jobs); submit() refuses past it and the caller keeps the work
// for later: a burst can never pile up unbounded snapshots.
class EncodePool final : public IoHandler {
  public:
    // threads == 0: no workers; submit() runs work and done inline (deterministic tests, or a
    // one-core box where a hand-off only adds latency).
    EncodePool(EventLoop& loop, unsigned threads, size_t max_queued = 4096);
    ~EncodePool() override;
    EncodePool(const EncodePool&) = delete;
    EncodePool& operator=(const EncodePool&) = delete;

    // Background jobs run only when no foreground job waits: work for viewers whose link takes
    // far longer than an encode (slow viewers, lossless refreshes) never delays the others.
    enum class Priority { kForeground, kBackground };
    bool submit(std::function<void()> work, std::function<void()> done,
                Priority priority = Priority::kForeground);
    // Runs after each batch of completions (on the loop): lets waiting viewers retry.
    void set_on_progress(std::function<void()> fn) { on_progress_ = std::move(fn); }

    unsigned threads() const { return static_cast<unsigned>(workers_.size()); }
    size_t in_flight() const { return in_flight_; }
    size_t max_queued() const { return max_queued_; }
    uint64_t refused() const { return refused_; }

    void on_completion(OpKind op, int32_t res, uint32_t flags) override;

  private:
    struct Job {
        std::function<void()> work, done;
    };
    void worker_main();
    void arm();

    EventLoop& loop_;
    size_t max_queued_;
    uint32_t slot_ = 0;
    int efd_ = -1;
    uint64_t efd_value_ = 0;
    bool read_in_flight_ = false;
    size_t in_flight_ = 0;  // submitted, completion not yet run (loop thread only)
    uint64_t refused_ = 0;
    std::function<void()> on_progress_;

    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<Job> queue_, background_;
    std::vector<Job> finished_;
    bool stopping_ = false;
    std::vector<std::thread> workers_;
};

// Threads for the pool: the cores, minus the one the event loop runs on, at least 1.
unsigned default_encode_threads();

}  // namespace rfbcast
