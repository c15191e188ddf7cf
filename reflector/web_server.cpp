#include "reflector/web_server.h"

#include <unistd.h>

#include <filesystem>

#include "metrics/metrics.h"
#include "reflector/log.h"
#include "reflector/viewer_connection.h"

namespace rfbcast {

WebServer::WebServer(EventLoop& loop, WebRouter& router,
                     std::shared_ptr<const HttpSettings> settings, metrics::Metrics* metrics)
    : loop_(loop),
      router_(router),
      metrics_(metrics ? *metrics : metrics::unscraped_metrics()),
      settings_(std::move(settings)) {}

WebServer::~WebServer() {
    listener_.reset();
    conns_.clear();
}

bool WebServer::listen(const std::string& address, std::string& error) {
    auto l = std::make_unique<Listener>(
        loop_, [this](int fd, const std::string& peer, const sockaddr_storage& addr) {
            accept(fd, peer, addr);
        });
    if (!l->open(address, error)) return false;
    listener_ = std::move(l);
    LOG_INFO("http-listening", "address=%s", address.c_str());
    return true;
}

void WebServer::accept(int fd, const std::string& peer, const sockaddr_storage& address) {
    // After an upgrade the connection is a viewer's: the caps are a native viewer's.
    auto* conn = new Connection(loop_, fd, nullptr, viewer_connection_limits(), peer);
    conn->set_peer(peer, address);
    metrics_.accepted(metrics::Listener::kHttp);
    if (!router_.web_address_allowed(address)) {
        LOG_WARN("http-refused", "peer=%s reason=\"address not allowed\"", peer.c_str());
        metrics_.refused(metrics::RefuseReason::kAllowList);
        conn->close();
        return;
    }
    adopt(conn);
}

void WebServer::adopt(Connection* conn) {
    if (conns_.size() >= kMaxConnections) {
        LOG_WARN("http-refused", "peer=%s reason=\"%zu HTTP connections already open\"",
                 conn->peer().c_str(), conns_.size());
        metrics_.refused(metrics::RefuseReason::kPreauthLimit);
        conn->close();
        return;
    }
    auto h = std::make_unique<HttpConnection>(
        loop_, router_, settings_, conn,
        [this, alive = std::weak_ptr<int>(alive_)](HttpConnection* p) {
            loop_.defer([this, p, alive] {
                if (alive.expired()) return;
                std::erase_if(conns_, [&](const auto& x) { return x.get() == p; });
            });
        });
    HttpConnection* p = h.get();
    conns_.push_back(std::move(h));
    p->start();
}

std::string find_web_root(const std::string& configured) {
    namespace fs = std::filesystem;
    if (!configured.empty()) return configured;
    std::error_code ec;
    const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    if (ec) return {};
    for (const fs::path& p :
         {exe.parent_path() / "web", exe.parent_path().parent_path() / "share/rfbcast/web"}) {
        if (fs::exists(p / "viewer.html", ec)) return p.string();
    }
    return {};
}

}  // namespace rfbcast
