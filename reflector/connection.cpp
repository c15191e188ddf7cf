#include "reflector/connection.h"

#include <poll.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>

#include "metrics/session_metrics.h"

namespace rfbcast {

namespace {
constexpr size_t kMaxIov = 64;
// TLS output is encrypted in batches of this much plaintext, and only while less than this much
// ciphertext waits: a TLS connection holds about two batches of ciphertext however much shared
// plaintext is queued, instead of a private encrypted copy of all of it.
constexpr size_t kTlsBatch = 256 * 1024;
// Smallest free space worth a decrypt call: one full TLS record.
constexpr size_t kTlsRecord = 16 * 1024;
}  // namespace

Connection::Connection(EventLoop& loop, int fd, ConnectionOwner* owner, Limits limits,
                       std::string peer)
    : loop_(loop), fd_(fd), owner_(owner), limits_(limits), peer_(std::move(peer)) {
    created_at_ = loop_.now();
    slot_ = loop_.add_handler(this);
    // Small RFB messages (requests, input) must leave at once, not after Nagle's 40 ms.
    int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    iov_.reserve(kMaxIov);
}

Connection::~Connection() {
    if (linger_timer_) loop_.cancel_timer(linger_timer_);
    if (close_when_sent_) loop_.linger_ended();
    loop_.remove_handler(slot_);
    ::close(fd_);
}

void Connection::connect(const sockaddr* addr, socklen_t len) {
    std::memcpy(&connect_addr_, addr, std::min<size_t>(len, sizeof connect_addr_));
    connect_in_flight_ = true;
    loop_.submit_connect(slot_, fd_, reinterpret_cast<const sockaddr*>(&connect_addr_), len);
}

void Connection::start() {
    started_ = true;
    arm_recv();
}

void Connection::consume(size_t n) {
    if (ws_) {
        ws_head_ += std::min(n, ws_in_.size() - ws_head_);
        if (ws_head_ == ws_in_.size()) {
            ws_in_.clear();
            ws_head_ = 0;
        }
        return;
    }
    if (tls_) {
        plain_head_ += std::min(n, plain_tail_ - plain_head_);
        if (plain_head_ == plain_tail_) plain_head_ = plain_tail_ = 0;
        return;
    }
    rx_head_ += std::min(n, rx_tail_ - rx_head_);
    // A recv in flight writes at rx_tail_: the buffer may only be rewound when none is (an
    // owner that took the connection over mid-callback may already have armed one).
    if (rx_head_ == rx_tail_ && !recv_in_flight_) rx_head_ = rx_tail_ = 0;
}

void Connection::arm_recv() {
    if (closing_ || recv_in_flight_ || !started_) return;
    // Only here, with no recv in flight, may the buffer move.
    if (rx_.size() - rx_tail_ < limits_.rx_chunk && rx_head_ > 0) {
        std::memmove(rx_.data(), rx_.data() + rx_head_, rx_tail_ - rx_head_);
        rx_tail_ -= rx_head_;
        rx_head_ = 0;
    }
    if (rx_.size() - rx_tail_ < limits_.rx_chunk && rx_.size() < limits_.rx_cap)
        rx_.resize(std::min(limits_.rx_cap, std::max(rx_.size() * 2, rx_tail_ + limits_.rx_chunk)));
    const size_t free_space = rx_.size() - rx_tail_;
    if (free_space == 0) {
        fail("message larger than the input cap of " + std::to_string(limits_.rx_cap) + " bytes");
        return;
    }
    recv_in_flight_ = true;
    loop_.submit_recv(slot_, fd_, rx_.data() + rx_tail_, std::min(free_space, limits_.rx_chunk));
}

void Connection::send(SharedBytes bytes, size_t offset, size_t len) {
    if (closing_ || !bytes || offset >= bytes->size()) return;
    len = std::min(len, bytes->size() - offset);
    if (len == 0) return;
    if (ws_) {
        // One binary frame per piece: the shared payload still goes out uncopied, behind its
        // own 2-10 header bytes.
        std::array<uint8_t, rfb::kWsMaxServerHeaderSize> header{};
        const size_t n = rfb::write_ws_frame_header(header, rfb::WsOpcode::kBinary, len);
        send_below_ws(make_shared_bytes(std::vector<uint8_t>(header.begin(), header.begin() + n)),
                      0, n);
    }
    send_below_ws(std::move(bytes), offset, len);
}

void Connection::send_below_ws(SharedBytes bytes, size_t offset, size_t len) {
    if (closing_) return;
    if (!tls_) {
        queue(std::move(bytes), offset, len);
        return;
    }
    tls_plain_out_.push_back(Chunk{std::move(bytes), offset, len});
    tls_plain_queued_ += len;
    queued_ += len;
    if (queued_ > limits_.tx_cap) {
        fail("output queue over its cap of " + std::to_string(limits_.tx_cap) + " bytes");
        return;
    }
    schedule_flush();
}

// Bytes as they go on the wire (plaintext without TLS, ciphertext with it).
void Connection::queue(SharedBytes bytes, size_t offset, size_t len) {
    tx_.push_back(Chunk{std::move(bytes), offset, len});
    queued_ += len;
    if (queued_ > limits_.tx_cap) {
        fail("output queue over its cap of " + std::to_string(limits_.tx_cap) + " bytes");
        return;
    }
    schedule_flush();
}

// Batch everything queued during this loop turn into one sendmsg.
void Connection::schedule_flush() {
    if (flush_scheduled_) return;
    flush_scheduled_ = true;
    loop_.defer([this] {
        flush_scheduled_ = false;
        flush();
        if (close_when_sent_ && queued_ == 0) close();
        maybe_destroy();
    });
}

void Connection::wait_writable() {
    if (closing_ || poll_in_flight_) return;
    poll_in_flight_ = true;
    loop_.submit_poll(slot_, fd_, POLLOUT);
}

void Connection::send_copy(std::span<const uint8_t> bytes) {
    send(make_shared_bytes(std::vector<uint8_t>(bytes.begin(), bytes.end())));
}

void Connection::flush() {
    if (closing_ || send_in_flight_ || connect_in_flight_) return;
    if (tls_) tls_encrypt();
    if (closing_ || tx_.empty()) return;
    iov_.clear();
    for (const Chunk& c : tx_) {
        if (iov_.size() == kMaxIov) break;
        iov_.push_back(iovec{const_cast<uint8_t*>(c.bytes->data() + c.offset), c.len});
    }
    msg_ = msghdr{};
    msg_.msg_iov = iov_.data();
    msg_.msg_iovlen = iov_.size();
    send_in_flight_ = true;
    loop_.submit_sendmsg(slot_, fd_, &msg_);
}

void Connection::start_websocket(size_t max_frame_payload) {
    if (closing_ || ws_) return;
    ws_ = std::make_unique<rfb::WebSocketFrameReader>(max_frame_payload);
    // Frames that came with the upgrade request are parsed with the next input.
}

bool Connection::lower_input(bool raw_arrived) {
    bool got = raw_arrived;
    if (tls_) got = tls_input();
    if (ws_ && !closing_) got = ws_input();
    return got;
}

bool Connection::ws_input() {
    bool got = false;
    while (!closing_) {
        const size_t held = ws_in_.size() - ws_head_;
        if (held >= limits_.rx_cap) break;  // the owner has to consume first
        if (ws_head_ > 0 && ws_head_ >= held) {
            ws_in_.erase(ws_in_.begin(), ws_in_.begin() + static_cast<ptrdiff_t>(ws_head_));
            ws_head_ = 0;
        }
        std::span<const uint8_t> below =
            tls_ ? std::span<const uint8_t>(plain_.data() + plain_head_, plain_tail_ - plain_head_)
                 : std::span<const uint8_t>(rx_.data() + rx_head_, rx_tail_ - rx_head_);
        if (below.empty()) break;
        // Payload never outgrows its input, so this keeps ws_in_ within rx_cap.
        below = below.first(std::min(below.size(), limits_.rx_cap - held));
        const size_t before = ws_in_.size();
        const rfb::WsEvent ev = ws_->feed(below, ws_in_);
        got |= ws_in_.size() > before;
        if (tls_) {
            plain_head_ += ev.consumed;
            if (plain_head_ == plain_tail_) plain_head_ = plain_tail_ = 0;
        } else {
            rx_head_ += ev.consumed;
            if (rx_head_ == rx_tail_ && !recv_in_flight_) rx_head_ = rx_tail_ = 0;
        }
        switch (ev.kind) {
            case rfb::WsEvent::kNeedMore:
                if (ev.consumed == 0) return got;
                break;
            case rfb::WsEvent::kPing: {
                std::vector<uint8_t> pong;
                rfb::append_ws_pong_frame(pong, ev.payload);
                const size_t n = pong.size();
                send_below_ws(make_shared_bytes(std::move(pong)), 0, n);
                break;
            }
            case rfb::WsEvent::kPong:
                break;
            case rfb::WsEvent::kClose:
                ws_send_close_now(ev.close_code == rfb::kWsCloseNoStatus ? rfb::kWsCloseNormal
                                                                         : ev.close_code);
                fail("peer closed the WebSocket (code " + std::to_string(ev.close_code) + ")");
                return got;
            case rfb::WsEvent::kError:
                ws_send_close_now(ev.close_code);
                fail(std::string("WebSocket: ") + ev.error + " (close code " +
                     std::to_string(ev.close_code) + ")");
                return got;
        }
    }
    return got;
}

void Connection::ws_send_close_now(uint16_t code) {
    std::vector<uint8_t> frame;
    if (!tls_ && rfb::append_ws_close_frame(frame, code)) send_now_if_first(frame);
}

void Connection::start_tls(std::unique_ptr<TlsSession> session) {
    if (closing_ || tls_ || !session) return;
    tls_ = std::move(session);
    // Bytes received and not consumed stay in rx_: they are the peer's first TLS records. The
    // first read() (with or without them) makes a client's ClientHello. It runs from the loop,
    // not inside the owner's call that got us here, so that what it leads to (on_tls_ready,
    // on_data, on_closed) reaches the owner the usual way.
    tls_kick_scheduled_ = true;
    loop_.defer([this] {
        tls_kick_scheduled_ = false;
        if (!closing_) {
            const bool got = lower_input(false);
            if (!closing_) deliver(got);
            tls_finish_eof();
        }
        maybe_destroy();
    });
}

void Connection::tls_finish_eof() {
    if (tls_eof_ && !closing_) fail("peer closed the TLS session");
}

bool Connection::tls_input() {
    bool got = false;
    if (tls_eof_) return false;
    for (;;) {
        if (plain_head_ == plain_tail_) plain_head_ = plain_tail_ = 0;
        if (plain_.size() - plain_tail_ < kTlsRecord) {
            if (plain_head_ > 0) {
                std::memmove(plain_.data(), plain_.data() + plain_head_, plain_tail_ - plain_head_);
                plain_tail_ -= plain_head_;
                plain_head_ = 0;
            }
            if (plain_.size() - plain_tail_ < kTlsRecord && plain_.size() < limits_.rx_cap)
                plain_.resize(std::min(
                    limits_.rx_cap, std::max(plain_.size() * 2, plain_tail_ + limits_.rx_chunk)));
        }
        const size_t room = plain_.size() - plain_tail_;
        const std::span<const uint8_t> cipher(rx_.data() + rx_head_, rx_tail_ - rx_head_);
        if (cipher.empty() && !tls_->pending() && tls_->handshake_done()) break;
        if (room == 0 && tls_->handshake_done()) break;  // the owner has to consume first
        const TlsSession::ReadResult r = tls_->read(cipher, plain_.data() + plain_tail_, room);
        rx_head_ += r.consumed;
        // A recv in flight (start_tls's kick runs from the loop) writes at rx_tail_: keep it.
        if (rx_head_ == rx_tail_ && !recv_in_flight_) rx_head_ = rx_tail_ = 0;
        plain_tail_ += r.produced;
        got |= r.produced > 0;
        if (r.failed) {
            tls_send_alert();
            fail(tls_->error());
            return got;
        }
        if (tls_->has_output()) tls_take_output();
        if (r.handshake_completed) {
            tls_ready_pending_ = true;
            schedule_flush();  // plaintext queued during the handshake can go now
        }
        if (r.closed) {
            // What came before close_notify goes to the owner first (tls_finish_eof).
            tls_eof_ = true;
            return got;
        }
        if (closing_) return got;
        if (r.consumed == 0 && r.produced == 0 && !r.handshake_completed) break;
    }
    return got;
}

// The alert that says why the handshake failed is worth a try, though the connection closes at
// once.
void Connection::tls_send_alert() {
    send_now_if_first(tls_->take_output());
}

void Connection::send_now_if_first(std::span<const uint8_t> bytes) {
    if (bytes.empty() || send_in_flight_ || !tx_.empty() || connect_in_flight_) return;
    const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n <= 0) return;
    sent_total_ += static_cast<size_t>(n);
    if (meter_) meter_->bytes_sent(meter_side_, static_cast<uint64_t>(n));
}

void Connection::tls_take_output() {
    std::vector<uint8_t> out = tls_->take_output();
    const size_t n = out.size();
    if (n > 0) queue(make_shared_bytes(std::move(out)), 0, n);
}

void Connection::tls_encrypt() {
    if (!tls_->handshake_done() || tls_->failed()) return;
    if (!tls_plain_out_.empty() && queued_ - tls_plain_queued_ < kTlsBatch) {
        tls_->cork();
        size_t done = 0;
        bool ok = true;
        while (ok && !tls_plain_out_.empty() && done < kTlsBatch) {
            Chunk& c = tls_plain_out_.front();
            const size_t take = std::min(c.len, kTlsBatch - done);
            ok = tls_->write({c.bytes->data() + c.offset, take});
            c.offset += take;
            c.len -= take;
            done += take;
            if (c.len == 0) tls_plain_out_.pop_front();
        }
        tls_plain_queued_ -= done;
        queued_ -= done;
        if (!ok || !tls_->uncork()) {
            fail(tls_->error());
            return;
        }
    }
    // A last close_notify lets the peer tell our orderly close from a cut connection.
    if (close_when_sent_ && tls_plain_out_.empty() && !tls_bye_sent_) {
        tls_bye_sent_ = true;
        tls_->close_notify();
    }
    if (tls_->has_output()) tls_take_output();
}

void Connection::deliver(bool have_data) {
    if (!owner_) {  // closing after a last send: input is moot
        if (!recv_in_flight_) rx_head_ = rx_tail_ = 0;
        plain_head_ = plain_tail_ = 0;
        ws_in_.clear();
        ws_head_ = 0;
        return;
    }
    while (!closing_ && owner_) {
        if (tls_ready_pending_) {
            tls_ready_pending_ = false;
            in_callback_ = true;
            owner_->on_tls_ready(*this);
            in_callback_ = false;
            continue;
        }
        if (!have_data) return;
        in_callback_ = true;
        owner_->on_data(*this);
        in_callback_ = false;
        if ((!tls_ && !ws_) || closing_ || !owner_) return;
        // Records or frames that did not fit before the owner consumed, or (after start_tls
        // or start_websocket inside on_data) the bytes that came with the last ones.
        have_data = lower_input(false);
        const size_t held = ws_ ? ws_in_.size() - ws_head_ : plain_tail_ - plain_head_;
        if (!have_data && !closing_ && held >= limits_.rx_cap)
            fail("message larger than the input cap of " + std::to_string(limits_.rx_cap) +
                 " bytes");
    }
}

void Connection::close() {
    owner_ = nullptr;
    if (!closing_) {
        closing_ = true;
        ::shutdown(fd_, SHUT_RDWR);
        loop_.submit_cancel_fd(slot_, fd_);
    }
    maybe_destroy();
}

void Connection::close_when_sent() {
    owner_ = nullptr;
    if (closing_) return;
    // Mid-handshake nothing queued can be encrypted any more.
    if (tls_ && !tls_->handshake_done()) {
        close();
        return;
    }
    if (ws_) {
        // The browser hears an orderly end (noVNC shows the RFB reason sent before it).
        std::vector<uint8_t> frame;
        rfb::append_ws_close_frame(frame, rfb::kWsCloseNormal);
        const size_t n = frame.size();
        send_below_ws(make_shared_bytes(std::move(frame)), 0, n);
    }
    if (queued_ == 0 && !flush_scheduled_ && !tls_) {
        close();
        return;
    }
    close_when_sent_ = true;
    loop_.linger_started();
    // A peer that stopped reading would hold the queue (and this object) forever.
    linger_timer_ = loop_.add_timer(kLinger, [this] {
        linger_timer_ = 0;
        close();
    });
    if (tls_) schedule_flush();  // encrypts what is left, then close_notify
}

void Connection::fail(const std::string& reason) {
    if (closing_) return;
    closing_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    loop_.submit_cancel_fd(slot_, fd_);
    if (!owner_) return;
    notify_pending_ = true;
    loop_.defer([this, reason] {
        notify_pending_ = false;
        if (owner_) {
            ConnectionOwner* o = owner_;
            owner_ = nullptr;
            o->on_closed(*this, reason);
        }
        maybe_destroy();
    });
}

void Connection::maybe_destroy() {
    if (closing_ && !recv_in_flight_ && !send_in_flight_ && !connect_in_flight_ &&
        !poll_in_flight_ && !flush_scheduled_ && !notify_pending_ && !in_callback_ &&
        !tls_kick_scheduled_)
        delete this;
}

void Connection::on_completion(OpKind op, int32_t res, uint32_t /*flags*/) {
    switch (op) {
        case OpKind::kConnect:
            connect_in_flight_ = false;
            if (res < 0) {
                fail(std::string("connect failed: ") + std::strerror(-res));
            } else if (!closing_ && owner_) {
                in_callback_ = true;
                owner_->on_connected(*this);
                in_callback_ = false;
                flush();
            }
            break;
        case OpKind::kRecv:
            recv_in_flight_ = false;
            if (res == 0) {
                fail(tls_ && !tls_->handshake_done()
                         ? "peer closed the connection during the TLS handshake"
                         : "peer closed the connection");
            } else if (res < 0) {
                fail(res == -ECANCELED ? "cancelled" : std::string("recv: ") + std::strerror(-res));
            } else if (!closing_) {
                rx_tail_ += static_cast<size_t>(res);
                recv_total_ += static_cast<size_t>(res);
                if (meter_) meter_->bytes_received(meter_side_, static_cast<uint64_t>(res));
                if (!owner_) {
                    deliver(false);  // discards
                } else if (tls_ || ws_) {
                    const bool got = lower_input(true);
                    if (!closing_) deliver(got);
                    if (tls_) tls_finish_eof();
                } else {
                    deliver(true);
                }
                arm_recv();
            }
            break;
        case OpKind::kSend:
            send_in_flight_ = false;
            if (res < 0) {
                fail(std::string("send: ") + std::strerror(-res));
            } else {
                size_t n = static_cast<size_t>(res);
                sent_total_ += n;
                if (meter_) meter_->bytes_sent(meter_side_, n);
                queued_ -= std::min(n, queued_);
                while (n > 0 && !tx_.empty()) {
                    Chunk& c = tx_.front();
                    const size_t take = std::min(n, c.len);
                    c.offset += take;
                    c.len -= take;
                    n -= take;
                    if (c.len == 0) tx_.pop_front();
                }
                if (!closing_ && owner_) {
                    in_callback_ = true;
                    owner_->on_sent(*this);
                    in_callback_ = false;
                }
                flush();
                if (close_when_sent_ && queued_ == 0) close();
            }
            break;
        case OpKind::kPoll:
            poll_in_flight_ = false;
            if (res > 0 && !closing_ && owner_) {
                in_callback_ = true;
                owner_->on_writable(*this);
                in_callback_ = false;
                flush();
            }
            break;
        default:
            break;
    }
    maybe_destroy();
}

}  // namespace rfbcast
