#include "reflector/encode_pool.h"

#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>

namespace rfbcast {

unsigned default_encode_threads() {
    const unsigned cores = std::thread::hardware_concurrency();
    return cores > 1 ? cores - 1 : 1;
}

EncodePool::EncodePool(EventLoop& loop, unsigned threads, size_t max_queued)
    : loop_(loop), max_queued_(std::max<size_t>(max_queued, 1)) {
    if (threads == 0) return;
    efd_ = eventfd(0, EFD_CLOEXEC);
    if (efd_ < 0) return;  // no eventfd: stay inline rather than fail
    slot_ = loop_.add_handler(this);
    arm();
    // Signals belong to the loop's signalfd: a worker that took SIGTERM would kill the process
    // with its default action instead of a clean shutdown. Threads inherit the mask they are
    // created with, so block everything around their creation.
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    workers_.reserve(threads);
    for (unsigned i = 0; i < threads; ++i)
        workers_.emplace_back([this] { worker_main(); });
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
}

EncodePool::~EncodePool() {
    {
        std::lock_guard<std::mutex> lock(mu_);
        stopping_ = true;
    }
    cv_.notify_all();
    for (std::thread& t : workers_)
        t.join();
    if (efd_ >= 0) {
        // The ring may still write into efd_value_: wait for the cancelled read to come back.
        if (read_in_flight_) {
            loop_.submit_cancel_fd(slot_, efd_);
            loop_.run_until([this] { return !read_in_flight_; }, std::chrono::seconds(1));
        }
        loop_.remove_handler(slot_);
        ::close(efd_);
    }
}

bool EncodePool::submit(std::function<void()> work, std::function<void()> done, Priority priority) {
    if (workers_.empty()) {
        work();
        done();
        return true;
    }
    if (in_flight_ >= max_queued_) {
        ++refused_;
        return false;
    }
    ++in_flight_;
    {
        std::lock_guard<std::mutex> lock(mu_);
        (priority == Priority::kForeground ? queue_ : background_)
            .push_back(Job{std::move(work), std::move(done)});
    }
    cv_.notify_one();
    return true;
}

void EncodePool::worker_main() {
    for (;;) {
        Job job;
        {
            std::unique_lock<std::mutex> lock(mu_);
            cv_.wait(lock, [this] { return stopping_ || !queue_.empty() || !background_.empty(); });
            if (stopping_) return;
            std::deque<Job>& q = !queue_.empty() ? queue_ : background_;
            job = std::move(q.front());
            q.pop_front();
        }
        job.work();
        bool wake;
        {
            std::lock_guard<std::mutex> lock(mu_);
            wake = finished_.empty();
            finished_.push_back(std::move(job));
        }
        // One wake-up per batch: the loop drains everything finished when it reads.
        if (wake) {
            const uint64_t one = 1;
            [[maybe_unused]] const ssize_t n = ::write(efd_, &one, sizeof one);
        }
    }
}

void EncodePool::arm() {
    read_in_flight_ = true;
    loop_.submit_read(slot_, efd_, &efd_value_, sizeof efd_value_);
}

void EncodePool::on_completion(OpKind, int32_t res, uint32_t) {
    read_in_flight_ = false;
    if (res == -ECANCELED) return;
    std::vector<Job> batch;
    bool stopping = false;
    {
        std::lock_guard<std::mutex> lock(mu_);
        batch.swap(finished_);
        stopping = stopping_;
    }
    // The destructor turns the loop to collect its cancelled read, which may come back with a
    // count instead: whatever the jobs would finish into (the encode service) may be gone by
    // then, so their completions are dropped, and nothing is re-armed.
    if (stopping) return;
    arm();
    for (Job& j : batch) {
        --in_flight_;
        j.done();
    }
    if (!batch.empty() && on_progress_) on_progress_();
}

}  // namespace rfbcast
