#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "codec/http_request.h"
#include "reflector/connection.h"
#include "reflector/static_files.h"
#include "reflector/tls_session.h"
#include "reflector/web_router.h"

namespace rfbcast {

struct HttpSettings {
    const StaticFiles* files = nullptr;  // null: no viewer page (WebSocket only)
    // Set: a client whose first byte is a TLS handshake record gets HTTPS (the viewers'
    // certificate), so one port serves http:// and https://.
    std::shared_ptr<const TlsCredentials> tls;
    std::vector<std::string> allowed_origins;  // empty: any
    size_t max_ws_frame = size_t{16} << 20;
};

// One browser connection on the HTTP listener (or on a viewer port, once it began with "GET "):
// serves the session listing, the viewer page and noVNC's files, with keep-alive, and turns a
// WebSocket upgrade into a viewer. Each request must arrive within kRequestDeadline.
class HttpConnection final : public ConnectionOwner {
  public:
    static constexpr auto kRequestDeadline = std::chrono::seconds(10);
    static constexpr int kMaxRequests = 200;

    // `done` is called once the connection left us (closed, or handed over as a viewer); the
    // caller then destroys this object later, outside its own callbacks.
    HttpConnection(EventLoop& loop, WebRouter& router, std::shared_ptr<const HttpSettings> settings,
                   Connection* conn, std::function<void(HttpConnection*)> done);
    ~HttpConnection() override;
    void start();

    void on_data(Connection& conn) override;
    void on_tls_ready(Connection& conn) override { on_data(conn); }
    void on_closed(Connection& conn, const std::string& reason) override;

  private:
    void handle(const rfb::HttpRequest& request);
    // The router's verdict on `session` for this request's token; a refusal is logged here.
    WebEntry entry_for(const rfb::HttpRequest& request, const std::string& session);
    void serve_view(const rfb::HttpRequest& request, const std::string& session);
    void upgrade(const rfb::HttpRequest& request, const std::string& session);
    void respond(int status, const std::string& content_type, rfb::SharedBytes body, bool head_only,
                 bool keep_alive, const std::string& csp);
    void respond_page(int status, const std::string& html, const rfb::HttpRequest& request);
    void fail(int status, const std::string& log_reason);
    void finish(bool close_conn);
    void arm_deadline();

    EventLoop& loop_;
    WebRouter& router_;
    std::shared_ptr<const HttpSettings> settings_;
    Connection* conn_;
    std::function<void(HttpConnection*)> done_;
    std::unique_ptr<rfb::HttpRequestParser> parser_;
    EventLoop::TimerId deadline_ = 0;
    int requests_ = 0;
    bool tls_checked_ = false;
    bool finished_ = false;
};

}  // namespace rfbcast
