#pragma once
// An RFB server for tests, run on its own thread with blocking loopback sockets so that it can
// write faster than the reflector reads and say things no real server would. Each accepted
// connection runs one script; a script talks through a FakePeer.
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "codec/pixel_format.h"

namespace rfbcast::fake {

using Bytes = std::vector<uint8_t>;

// The valid handshakes the fake server can speak (security None or VNC Authentication).
enum class Handshake { k38None, k37None, k33None, k38VncAuth, k33VncAuth };
const char* handshake_name(Handshake h);

// A deterministic test picture in canonical pixels (0x00RRGGBB), w * h of them, row-major.
std::vector<uint32_t> test_picture(uint16_t w, uint16_t h, uint32_t seed);

// One accepted connection, used from the server thread only. Every call returns false once the
// peer has gone, the connection's deadline has passed or the server is stopping.
class FakePeer {
  public:
    FakePeer(int fd, const std::atomic<bool>& stop);
    ~FakePeer();
    FakePeer(const FakePeer&) = delete;
    FakePeer& operator=(const FakePeer&) = delete;

    bool send(std::span<const uint8_t> bytes);
    // Sends `total` bytes made of repeats of `pattern` without holding them all in memory.
    bool send_repeated(std::span<const uint8_t> pattern, size_t total);
    bool read_exact(size_t n, Bytes& out);

    // A valid server handshake up to and including ServerInit (`pf` is the format announced
    // there). With VNC Authentication the client's response is checked against `password`.
    bool handshake(Handshake h, uint16_t width, uint16_t height, const rfb::PixelFormat& pf,
                   const std::string& password);
    // Reads client messages until a FramebufferUpdateRequest; tracks SetPixelFormat.
    bool wait_update_request(bool* incremental = nullptr);
    // One FramebufferUpdate holding the whole picture as a Raw rectangle in the pixel format the
    // client asked for.
    bool send_raw_frame(uint16_t width, uint16_t height, const std::vector<uint32_t>& pixels);
    Bytes raw_frame_bytes(uint16_t width, uint16_t height, const std::vector<uint32_t>& pixels);
    // Reads and discards client messages until `flag` is set (true) or the peer leaves (false).
    bool wait_for(const std::atomic<bool>& flag);
    // Reads and discards until the peer closes or the server stops.
    void drain();
    // Half-closes: the client sees end of stream after everything sent so far.
    void close_write();

    uint64_t bytes_sent() const { return sent_; }
    const rfb::PixelFormat& client_format() const { return client_format_; }

  private:
    bool wait_fd(short events);
    bool fill_rx();

    int fd_;
    const std::atomic<bool>& stop_;
    std::chrono::steady_clock::time_point deadline_;
    Bytes rx_;
    rfb::PixelFormat client_format_;
    uint64_t sent_ = 0;
    bool dead_ = false;
};

class FakeRfbServer {
  public:
    using Script = std::function<void(FakePeer&)>;

    // Connection i runs scripts[i]; connections past the end run the last script again.
    explicit FakeRfbServer(std::vector<Script> scripts);
    ~FakeRfbServer();
    FakeRfbServer(const FakeRfbServer&) = delete;
    FakeRfbServer& operator=(const FakeRfbServer&) = delete;

    uint16_t port() const { return port_; }
    int accepted() const { return accepted_.load(); }
    // Scripts that have returned (their connection then is half-closed and drained).
    int finished() const { return finished_.load(); }
    void stop();

  private:
    void run();

    std::vector<Script> scripts_;
    int listen_fd_ = -1;
    uint16_t port_ = 0;
    std::atomic<bool> stop_{false};
    std::atomic<int> accepted_{0}, finished_{0};
    std::thread thread_;
};

}  // namespace rfbcast::fake
