#pragma once
#include <memory>
#include <string>
#include <vector>

#include "metrics/metrics_fwd.h"
#include "reflector/event_loop.h"
#include "reflector/http_connection.h"
#include "reflector/listener.h"
#include "reflector/static_files.h"

namespace rfbcast {

// The HTTP listener for browser viewers (issue 8): accepts connections, checks the client's
// address, and runs each as an HttpConnection, at most kMaxConnections at once (a browser opens
// several; each one waiting for its request holds only its small buffers).
class WebServer {
  public:
    static constexpr size_t kMaxConnections = 4096;

    // `metrics`: where accepted and refused connections are counted (null: nowhere scraped).
    WebServer(EventLoop& loop, WebRouter& router, std::shared_ptr<const HttpSettings> settings,
              metrics::Metrics* metrics = nullptr);
    ~WebServer();
    bool listen(const std::string& address, std::string& error);
    // Certificates reloaded (SIGHUP): new connections use these.
    void set_settings(std::shared_ptr<const HttpSettings> settings) {
        settings_ = std::move(settings);
    }
    // A connection that another port found to be HTTP (its first bytes are in rx()).
    void adopt(Connection* conn);
    size_t connections() const { return conns_.size(); }

  private:
    void accept(int fd, const std::string& peer, const sockaddr_storage& address);

    EventLoop& loop_;
    WebRouter& router_;
    metrics::Metrics& metrics_;
    std::shared_ptr<const HttpSettings> settings_;
    std::unique_ptr<Listener> listener_;
    std::vector<std::unique_ptr<HttpConnection>> conns_;
    std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

// Where the browser viewer's files are: `configured` if set, else web/ next to the binary (a
// build tree), else ../share/rfbcast/web from it (an installation). Empty when none exists.
std::string find_web_root(const std::string& configured);

}  // namespace rfbcast
