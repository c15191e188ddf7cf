#include "reflector/listener.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "reflector/log.h"
#include "reflector/socket_address.h"

namespace rfbcast {

Listener::~Listener() {
    if (retry_timer_) loop_.cancel_timer(retry_timer_);
    if (registered_) {
        // The accept in flight holds the socket: without this the port would stay bound and a
        // reload could not listen on it again. shutdown() ends a listening socket's accepts.
        loop_.submit_cancel_fd(slot_, fd_);
        loop_.remove_handler(slot_);
    }
    if (fd_ >= 0) {
        ::shutdown(fd_, SHUT_RDWR);
        ::close(fd_);
    }
}

bool Listener::open(const std::string& address, std::string& error) {
    address_ = address;
    sockaddr_storage addr{};
    socklen_t len = 0;
    if (!parse_listen_address(address, addr, len, error)) return false;
    fd_ = ::socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd_ < 0) {
        error = std::string("socket: ") + std::strerror(errno);
        return false;
    }
    int one = 1;
    setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0) {
        const int e = errno;
        if (e == EADDRINUSE)
            error = "port of " + address +
                    " is already in use: another VNC server (Xvnc, x11vnc) or rfbcast is "
                    "listening there; check with `ss -ltnp` and pick another --listen port";
        else if (e == EACCES)
            error = "not allowed to listen on " + address + " (ports below 1024 need privileges)";
        else
            error = "cannot listen on " + address + ": " + std::strerror(e);
        return false;
    }
    if (::listen(fd_, 512) != 0) {
        error = "listen on " + address + ": " + std::strerror(errno);
        return false;
    }
    slot_ = loop_.add_handler(this);
    registered_ = true;
    loop_.submit_accept(slot_, fd_);
    return true;
}

uint16_t Listener::port() const {
    if (fd_ < 0) return 0;
    sockaddr_storage addr{};
    socklen_t len = sizeof addr;
    if (::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return 0;
    if (addr.ss_family == AF_INET) {
        sockaddr_in v4{};
        std::memcpy(&v4, &addr, sizeof v4);
        return ntohs(v4.sin_port);
    }
    if (addr.ss_family == AF_INET6) {
        sockaddr_in6 v6{};
        std::memcpy(&v6, &addr, sizeof v6);
        return ntohs(v6.sin6_port);
    }
    return 0;
}

void Listener::on_completion(OpKind op, int32_t res, uint32_t) {
    if (op != OpKind::kAccept) return;
    if (res >= 0) {
        sockaddr_storage peer{};
        socklen_t len = sizeof peer;
        std::string name = "?";
        if (getpeername(res, reinterpret_cast<sockaddr*>(&peer), &len) == 0)
            name = peer_name(peer);
        else
            peer.ss_family = AF_UNSPEC;
        on_accept_(res, name, peer);
    } else if (res != -ECANCELED) {
        // EMFILE and friends: log and keep accepting; the next attempt may succeed.
        // Back off a little so a full fd table does not turn into a busy loop.
        LOG_WARN("accept-failed", "listen=%s error=\"%s\"", address_.c_str(), std::strerror(-res));
        retry_timer_ = loop_.add_timer(std::chrono::milliseconds(100), [this] {
            retry_timer_ = 0;
            loop_.submit_accept(slot_, fd_);
        });
        return;
    }
    loop_.submit_accept(slot_, fd_);
}

}  // namespace rfbcast
