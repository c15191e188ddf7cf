#pragma once
#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "codec/shared_bytes.h"
#include "codec/websocket_frame_reader.h"
#include "metrics/metric_names.h"
#include "metrics/metrics_fwd.h"
#include "reflector/event_loop.h"
#include "reflector/tls_session.h"

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
    // The kernel's send queue went under the socket's low-water mark (after wait_writable()).
    virtual void on_writable(Connection&) {}
    // The TLS handshake started with start_tls() has finished (Connection::tls() describes it).
    virtual void on_tls_ready(Connection&) {}
    virtual void on_closed(Connection&, const std::string& reason) = 0;
};

// One TCP socket on the event loop: a capped receive buffer, a queue of shared buffers to send
// (one sendmsg in flight, scatter-gather, no per-viewer copies) and orderly teardown.
//
// Memory is bounded: the receive buffer never grows past `rx_cap` (a peer whose single message
// does not fit is closed), and queued output past `tx_cap` closes the connection; owners pace
// themselves well below that with queued_bytes().
//
// After start_tls() the connection carries TLS: rx() shows decrypted bytes (in a second buffer,
// also capped at rx_cap), send() takes plaintext that is encrypted in bounded batches as the
// socket drains, and a TLS failure closes the connection with GnuTLS's reason via on_closed.
// Without TLS nothing changes: received bytes are parsed where recv put them, and shared
// buffers go to sendmsg as they are.
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

    std::span<const uint8_t> rx() const {
        if (ws_) return {ws_in_.data() + ws_head_, ws_in_.size() - ws_head_};
        if (tls_) return {plain_.data() + plain_head_, plain_tail_ - plain_head_};
        return {rx_.data() + rx_head_, rx_tail_ - rx_head_};
    }
    void consume(size_t n);

    // Turns the connection into TLS from the next byte on in both directions. Input received
    // but not consumed is the peer's first TLS bytes; output queued before this call still goes
    // out unencrypted, ahead of the handshake. Output queued after it waits for the handshake.
    // Call it from on_data (or before start()): on_tls_ready, on_data with the first plaintext,
    // or on_closed with the TLS error follow from the event loop.
    void start_tls(std::unique_ptr<TlsSession> session);
    // The session once start_tls() was called (nullptr before): its state and description.
    const TlsSession* tls() const { return tls_.get(); }

    // From the next byte on (above TLS, if any) the connection carries RFC 6455 frames: rx()
    // shows the binary frames' payload, each send() goes out as one binary frame, pings are
    // answered, and a close frame or a framing error closes the connection (on_closed names it).
    // Output queued before this call (the HTTP 101 answer) goes out as it is.
    void start_websocket(size_t max_frame_payload);
    bool websocket() const { return ws_ != nullptr; }

    void send(SharedBytes bytes) { send(std::move(bytes), 0, SIZE_MAX); }
    void send(SharedBytes bytes, size_t offset, size_t len);
    void send_copy(std::span<const uint8_t> bytes);
    size_t queued_bytes() const { return queued_; }
    // Asks for one on_writable() once the socket is writable (with TCP_NOTSENT_LOWAT: once the
    // kernel's unsent bytes fall under the mark). At most one wait is in flight.
    void wait_writable();
    uint64_t bytes_sent() const { return sent_total_; }
    // From now on every byte this socket sends or receives is also counted in `session`'s
    // series for `side` (null: no longer). Set once the connection belongs to a session.
    void set_traffic_meter(std::shared_ptr<metrics::SessionMetrics> session, metrics::Side side) {
        meter_ = std::move(session);
        meter_side_ = side;
    }
    uint64_t bytes_received() const { return recv_total_; }
    // Bytes allocated for input: never shrinks; each of the raw and (with TLS) the decrypted
    // buffer stays within limits().rx_cap.
    size_t rx_buffer_size() const { return rx_.size() + plain_.size(); }
    const Limits& limits() const { return limits_; }
    // The owner's own cap on one buffered message (a viewer's session sizes it for its
    // cut-text limit); never below what is buffered already.
    void set_rx_cap(size_t cap) { limits_.rx_cap = std::max({cap, rx_.size(), plain_.size()}); }

    // The owner closes: no callback follows, the connection finishes its teardown by itself and
    // the owner must forget the pointer.
    void close();
    // Like close(), but first sends what is queued (an RFB failure reason, say); stops reading.
    // Closes anyway after kLinger if the peer does not take it.
    void close_when_sent();
    static constexpr Clock::duration kLinger = std::chrono::seconds(5);
    bool closing() const { return closing_; }
    int fd() const { return fd_; }
    const std::string& peer() const { return peer_; }
    // The peer's address as accepted (family AF_UNSPEC when unknown). A PROXY protocol header
    // from a trusted proxy replaces both with the real client's.
    const sockaddr_storage& peer_address() const { return peer_address_; }
    // When the connection was made: handshake deadlines count from here, whichever owners
    // (PROXY header, repeater gate, viewer) it passes through.
    Clock::time_point created_at() const { return created_at_; }
    void set_peer(std::string text, const sockaddr_storage& address) {
        peer_ = std::move(text);
        peer_address_ = address;
    }

    void on_completion(OpKind op, int32_t res, uint32_t flags) override;

  private:
    ~Connection() override;
    void arm_recv();
    void schedule_flush();
    void queue(SharedBytes bytes, size_t offset, size_t len);
    void flush();
    void fail(const std::string& reason);
    void maybe_destroy();
    // Gives the owner new input: on_data, and with TLS again as long as decrypting what is
    // left (after the owner made room, or after start_tls inside on_data) yields more.
    void deliver(bool have_data);
    // TLS: runs the handshake and decrypts buffered ciphertext into plain_; true when new
    // plaintext arrived. Fails the connection on a TLS error or close.
    bool tls_input();
    // TLS: encrypts queued plaintext into ciphertext chunks while little ciphertext is queued.
    void tls_encrypt();
    void tls_take_output();
    void tls_send_alert();
    // A last message (an alert, a close frame) before the connection fails: one non-blocking
    // send, only when it cannot overtake bytes already queued.
    void send_now_if_first(std::span<const uint8_t> bytes);
    // The peer's close_notify came: once its last plaintext was delivered, close.
    void tls_finish_eof();
    // Below WebSocket framing: queues bytes as they are, for TLS or the socket.
    void send_below_ws(SharedBytes bytes, size_t offset, size_t len);
    // WebSocket: unframes what the layer below holds into ws_in_, as far as it fits; true when
    // new payload arrived. Answers pings; a close or a framing error fails the connection.
    bool ws_input();
    // The layer below WebSocket: new input arrived there (decrypts first with TLS).
    bool lower_input(bool raw_arrived);
    // A close frame, sent at once when nothing is queued ahead of it (the connection is about to
    // fail; with TLS it would need encrypting, so it is left out).
    void ws_send_close_now(uint16_t code);

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
    sockaddr_storage peer_address_{};
    Clock::time_point created_at_{};

    std::vector<uint8_t> rx_;
    size_t rx_head_ = 0, rx_tail_ = 0;
    bool recv_in_flight_ = false;
    bool started_ = false;

    std::deque<Chunk> tx_;
    size_t queued_ = 0;
    bool send_in_flight_ = false;
    bool poll_in_flight_ = false;
    bool connect_in_flight_ = false;
    std::vector<iovec> iov_;
    msghdr msg_{};
    sockaddr_storage connect_addr_{};

    // TLS (all unused without it).
    std::unique_ptr<TlsSession> tls_;
    std::vector<uint8_t> plain_;  // decrypted input
    size_t plain_head_ = 0, plain_tail_ = 0;
    std::deque<Chunk> tls_plain_out_;  // plaintext waiting for encryption
    size_t tls_plain_queued_ = 0;      // its bytes (also counted in queued_)
    bool tls_ready_pending_ = false;   // on_tls_ready is owed to the owner
    bool tls_kick_scheduled_ = false;
    bool tls_bye_sent_ = false;
    bool tls_eof_ = false;

    // WebSocket (all unused without it).
    std::unique_ptr<rfb::WebSocketFrameReader> ws_;
    std::vector<uint8_t> ws_in_;  // unframed input
    size_t ws_head_ = 0;

    bool closing_ = false;
    bool close_when_sent_ = false;
    EventLoop::TimerId linger_timer_ = 0;
    bool flush_scheduled_ = false;
    bool notify_pending_ = false;
    bool in_callback_ = false;
    uint64_t sent_total_ = 0, recv_total_ = 0;
    std::shared_ptr<metrics::SessionMetrics> meter_;
    metrics::Side meter_side_ = metrics::Side::kViewer;
};

// An owner lets go of `conn` for good: after its queued output (a last answer, a failure reason)
// or at once; `conn` is cleared. Does nothing to a null `conn`.
inline void release_connection(Connection*& conn, bool send_queued_first) {
    if (!conn) return;
    if (send_queued_first)
        conn->close_when_sent();
    else
        conn->close();
    conn = nullptr;
}

}  // namespace rfbcast
