#include "reflector/connection.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace rfbcast {

namespace {
constexpr size_t kMaxIov = 64;
}

Connection::Connection(EventLoop& loop, int fd, ConnectionOwner* owner, Limits limits,
                       std::string peer)
    : loop_(loop), fd_(fd), owner_(owner), limits_(limits), peer_(std::move(peer)) {
    slot_ = loop_.add_handler(this);
    // Small RFB messages (requests, input) must leave at once, not after Nagle's 40 ms.
    int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    iov_.reserve(kMaxIov);
}

Connection::~Connection() {
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
    rx_head_ += std::min(n, rx_tail_ - rx_head_);
    if (rx_head_ == rx_tail_) rx_head_ = rx_tail_ = 0;
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
    tx_.push_back(Chunk{std::move(bytes), offset, len});
    queued_ += len;
    if (queued_ > limits_.tx_cap) {
        fail("output queue over its cap of " + std::to_string(limits_.tx_cap) + " bytes");
        return;
    }
    // Batch everything queued during this loop turn into one sendmsg.
    if (!flush_scheduled_) {
        flush_scheduled_ = true;
        loop_.defer([this] {
            flush_scheduled_ = false;
            flush();
            if (close_when_sent_ && queued_ == 0) close();
            maybe_destroy();
        });
    }
}

void Connection::send_copy(std::span<const uint8_t> bytes) {
    send(make_shared_bytes(std::vector<uint8_t>(bytes.begin(), bytes.end())));
}

void Connection::flush() {
    if (closing_ || send_in_flight_ || connect_in_flight_ || tx_.empty()) return;
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
    if (queued_ == 0 && !flush_scheduled_) {
        close();
        return;
    }
    close_when_sent_ = true;
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
        !flush_scheduled_ && !notify_pending_ && !in_callback_)
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
                fail("peer closed the connection");
            } else if (res < 0) {
                fail(res == -ECANCELED ? "cancelled" : std::string("recv: ") + std::strerror(-res));
            } else if (!closing_) {
                rx_tail_ += static_cast<size_t>(res);
                recv_total_ += static_cast<size_t>(res);
                if (owner_) {
                    in_callback_ = true;
                    owner_->on_data(*this);
                    in_callback_ = false;
                } else {
                    rx_head_ = rx_tail_ = 0;  // closing after a last send: input is moot
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
        default:
            break;
    }
    maybe_destroy();
}

}  // namespace rfbcast
