#pragma once
#include <sys/socket.h>
#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <span>
#include <string>
#include <vector>

#include "codec/shared_bytes.h"
#include "reflector/event_loop.h"

namespace rfbcast {

using rfb::make_shared_bytes;
using rfb::SharedBytes;

class Connection;

// What a connection tells its owner. on_closed reports a close the owner did not ask for (the peer
// left, an I/O error, the output cap); it always arrives from the event loop, never from inside a
// call the owner made, and after it the owner must forget the Connection pointer.
class ConnectionOwner {
  public:
    virtual ~ConnectionOwner() = default;
    virtual void on_connected(Connection&) {}
    virtual void on_data(Connection&) = 0;
    virtual void on_sent(Connection&) {}
    virtual void on_closed(Connection&, const std::string& reason) = 0;
};

// One TCP socket on the event loop: a capped receive buffer, a queue of shared buffers to send
// (one sendmsg in flight, scatter-gather, no per-viewer copies) and orderly teardown.
//
// Memory is bounded: the receive buffer never grows past `rx_cap` (a peer whose single message
// does not fit is closed), and queued output past `tx_cap` closes the connection; owners pace
// themselves well below that with queued_bytes().
class Connection final : public IoHandler {
  public:
    struct Limits {
        size_t rx_chunk = 16 * 1024;       // bytes asked per recv
        size_t rx_cap = 1024 * 1024;       // largest buffered, unparsed input
        size_t tx_cap = 64 * 1024 * 1024;  // hard cap on queued output
    };

    // Takes ownership of a connected (or connecting) non-blocking socket.
    Connection(EventLoop& loop, int fd, ConnectionOwner* owner, Limits limits, std::string peer);
    void set_owner(ConnectionOwner* owner) { owner_ = owner; }
    // Starts a non-blocking connect; on_connected or on_closed follows.
    void connect(const sockaddr* addr, socklen_t len);
    // Starts receiving (call once, after construction or on_connected).
    void start();

    std::span<const uint8_t> rx() const { return {rx_.data() + rx_head_, rx_tail_ - rx_head_}; }
    void consume(size_t n);

    void send(SharedBytes bytes) { send(std::move(bytes), 0, SIZE_MAX); }
    void send(SharedBytes bytes, size_t offset, size_t len);
    void send_copy(std::span<const uint8_t> bytes);
    size_t queued_bytes() const { return queued_; }
    uint64_t bytes_sent() const { return sent_total_; }
    uint64_t bytes_received() const { return recv_total_; }
    // Bytes allocated for input: never shrinks, never exceeds limits().rx_cap.
    size_t rx_buffer_size() const { return rx_.size(); }
    const Limits& limits() const { return limits_; }

    // The owner closes: no callback follows, the connection finishes its teardown by itself and
    // the owner must forget the pointer.
    void close();
    // Like close(), but first sends what is queued (an RFB failure reason, say); stops reading.
    void close_when_sent();
    bool closing() const { return closing_; }
    int fd() const { return fd_; }
    const std::string& peer() const { return peer_; }

    void on_completion(OpKind op, int32_t res, uint32_t flags) override;

  private:
    ~Connection() override;
    void arm_recv();
    void flush();
    void fail(const std::string& reason);
    void maybe_destroy();

    struct Chunk {
        SharedBytes bytes;
        size_t offset, len;
    };

    EventLoop& loop_;
    int fd_;
    uint32_t slot_;
    ConnectionOwner* owner_;
    Limits limits_;
    std::string peer_;

    std::vector<uint8_t> rx_;
    size_t rx_head_ = 0, rx_tail_ = 0;
    bool recv_in_flight_ = false;
    bool started_ = false;

    std::deque<Chunk> tx_;
    size_t queued_ = 0;
    bool send_in_flight_ = false;
    bool connect_in_flight_ = false;
    std::vector<iovec> iov_;
    msghdr msg_{};
    sockaddr_storage connect_addr_{};

    bool closing_ = false;
    bool close_when_sent_ = false;
    bool flush_scheduled_ = false;
    bool notify_pending_ = false;
    bool in_callback_ = false;
    uint64_t sent_total_ = 0, recv_total_ = 0;
};

}  // namespace rfbcast
