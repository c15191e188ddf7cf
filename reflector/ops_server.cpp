#include "reflector/ops_server.h"

#include <unistd.h>

#include <algorithm>

#include "metrics/text_format.h"
#include "reflector/log.h"

namespace rfbcast {
namespace {

constexpr const char* kPlainText = "text/plain; charset=utf-8";

}  // namespace

OpsServer::OpsServer(EventLoop& loop, OpsHandlers handlers, OpsLimits limits)
    : loop_(loop), handlers_(std::move(handlers)), limits_(limits) {}

OpsServer::~OpsServer() {
    close();
}

bool OpsServer::listen(const std::string& address, std::string& error) {
    auto l = std::make_unique<Listener>(
        loop_, [this](int fd, const std::string& peer, const sockaddr_storage& addr) {
            accept(fd, peer, addr);
        });
    if (!l->open(address, error)) return false;
    listener_ = std::move(l);
    LOG_INFO("ops-listening", "address=%s port=%u", address.c_str(), unsigned{port()});
    return true;
}

void OpsServer::close() {
    listener_.reset();
    conns_.clear();
    // Removals already deferred name connections that no longer exist.
    alive_ = std::make_shared<int>(0);
}

void OpsServer::accept(int fd, const std::string& peer, const sockaddr_storage& address) {
    if (handlers_.on_accepted) handlers_.on_accepted();
    if (conns_.size() >= limits_.max_connections) {
        LOG_WARN("ops-refused", "peer=%s reason=\"%zu connections already open\"", peer.c_str(),
                 conns_.size());
        if (handlers_.on_refused) handlers_.on_refused();
        ::close(fd);
        return;
    }
    auto* conn = new Connection(loop_, fd, nullptr, ops_connection_limits(), peer);
    conn->set_peer(peer, address);
    auto c = std::make_unique<OpsHttpConnection>(
        loop_, conn, [this](const rfb::HttpRequest& request) { return route(request); },
        limits_.request_deadline,
        [this, alive = std::weak_ptr<int>(alive_)](OpsHttpConnection* p) {
            loop_.defer([this, p, alive] {
                if (alive.expired()) return;
                std::erase_if(conns_, [&](const auto& x) { return x.get() == p; });
            });
        });
    OpsHttpConnection* p = c.get();
    conns_.push_back(std::move(c));
    p->start();
}

OpsReply OpsServer::route(const rfb::HttpRequest& request) const {
    const std::string& path = request.path;
    if (path == "/healthz") return {200, kPlainText, "ok\n"};
    if (path == "/readyz") {
        if (!handlers_.ready || handlers_.ready()) return {200, kPlainText, "ready\n"};
        return {503, kPlainText, "draining\n"};
    }
    if (path == "/metrics" && handlers_.render_metrics)
        return {200, metrics::kTextContentType, handlers_.render_metrics()};
    return {404, kPlainText, "not found\n"};
}

}  // namespace rfbcast
