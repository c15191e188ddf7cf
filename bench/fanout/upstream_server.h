#pragma once
#include <time.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "bench/fanout/frame_times.h"
#include "bench/fanout/moving_content.h"

// The upstream RFB 3.8 server the reflector under test connects to: MovingContent at a fixed
// frame rate, served the classic way (an update only in answer to a FramebufferUpdateRequest,
// with the damage accumulated since the last one). Scrolls go out as CopyRect to clients that
// accept it. Runs its own epoll loop on its own thread, on 127.0.0.1 only, and records in
// FrameTimes when each frame number first left for a client.
namespace fanout {

struct UpstreamOptions {
    ContentOptions content;
    double fps = 30;
    // Encoding of pixel rectangles: -1 takes the client's first choice among Raw, Hextile and
    // ZRLE; otherwise this one if the client lists it (else the client's first choice).
    int32_t encoding = -1;
    bool copyrect = true;
    size_t max_clients = 4;
};

struct UpstreamStats {
    uint64_t frames = 0;       // frames drawn
    uint64_t late_ticks = 0;   // frame ticks missed because the thread was late
    uint64_t updates = 0;      // FramebufferUpdates sent (to all clients)
    uint64_t bytes = 0;        // bytes sent (to all clients)
    uint64_t connections = 0;  // clients accepted so far
    uint64_t disconnects = 0;  // clients that went away or were dropped
    uint32_t clients = 0;      // connected now
    int32_t encoding = -1;     // encoding used for the last client's pixels (-1: none yet)
};

class UpstreamServer {
  public:
    UpstreamServer(const UpstreamOptions& opt, FrameClock& times);
    ~UpstreamServer();
    UpstreamServer(const UpstreamServer&) = delete;
    UpstreamServer& operator=(const UpstreamServer&) = delete;

    // Listens on 127.0.0.1 on a free port and starts the thread.
    bool start(std::string& error);
    void stop();
    uint16_t port() const { return port_; }

    UpstreamStats stats() const;
    double cpu_seconds() const;
    // Why the last client was dropped ("" when none was).
    std::string last_error() const;

  private:
    struct Client;
    void run();
    void accept_clients();
    void on_tick();
    void on_readable(Client& c);
    void on_writable(Client& c);
    bool handle_messages(Client& c);
    void add_frame(Client& c, const FrameChange& change);
    void try_send(Client& c);
    bool flush(Client& c);
    void drop(Client& c, const std::string& why);
    void watch_output(Client& c, bool on);

    UpstreamOptions opt_;
    FrameClock& times_;
    MovingContent content_;
    int listen_fd_ = -1, epoll_fd_ = -1, timer_fd_ = -1, stop_fd_ = -1;
    uint16_t port_ = 0;
    std::thread thread_;
    clockid_t cpu_clock_{};
    bool has_cpu_clock_ = false;
    std::vector<std::unique_ptr<Client>> clients_;

    std::atomic<uint64_t> frames_{0}, late_{0}, updates_{0}, bytes_{0}, connections_{0},
        disconnects_{0};
    std::atomic<uint32_t> client_count_{0};
    std::atomic<int32_t> encoding_{-1};
    mutable std::mutex error_mutex_;
    std::string last_error_;
};

}  // namespace fanout
