#include "reflector/http_connection.h"

#include "codec/http_response.h"
#include "codec/websocket_handshake.h"
#include "reflector/log.h"
#include "reflector/web_pages.h"

namespace rfbcast {
namespace {

// The viewer page loads only our own scripts and talks only to our own WebSocket.
constexpr const char* kViewerCsp =
    "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data: blob:; "
    "style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'none'";

constexpr uint8_t kTlsHandshakeRecord = 0x16;

// "/ws/lab1" -> "lab1" for prefix "/ws/"; "" when the path is not under it or names a deeper
// path.
std::string session_in(const std::string& path, const std::string& prefix) {
    if (path.compare(0, prefix.size(), prefix) != 0) return {};
    std::string name = path.substr(prefix.size());
    if (name.find('/') != std::string::npos) return {};
    return name;
}

}  // namespace

HttpConnection::HttpConnection(EventLoop& loop, WebRouter& router,
                               std::shared_ptr<const HttpSettings> settings, Connection* conn,
                               std::function<void(HttpConnection*)> done)
    : loop_(loop),
      router_(router),
      settings_(std::move(settings)),
      conn_(conn),
      done_(std::move(done)),
      parser_(std::make_unique<rfb::HttpRequestParser>()) {}

HttpConnection::~HttpConnection() {
    if (deadline_) loop_.cancel_timer(deadline_);
    if (conn_) conn_->close();
}

void HttpConnection::start() {
    conn_->set_owner(this);
    arm_deadline();
    conn_->start();
    // A connection handed over from a viewer port already holds the request's first bytes.
    if (!conn_->rx().empty()) on_data(*conn_);
}

void HttpConnection::arm_deadline() {
    if (deadline_) loop_.cancel_timer(deadline_);
    deadline_ = loop_.add_timer(kRequestDeadline, [this] {
        deadline_ = 0;
        LOG_DEBUG("http-closed", "peer=%s reason=\"no complete request within 10 s\"",
                  conn_ ? conn_->peer().c_str() : "?");
        finish(false);
    });
}

void HttpConnection::on_data(Connection& conn) {
    if (finished_) return;
    if (!tls_checked_) {
        if (conn.rx().empty()) return;
        tls_checked_ = true;
        if (conn.rx()[0] == kTlsHandshakeRecord) {
            if (!settings_->tls) {
                LOG_INFO("http-refused", "peer=%s reason=\"TLS, but no certificate configured\"",
                         conn.peer().c_str());
                finish(false);
                return;
            }
            TlsSessionOptions options;
            options.priority = "NORMAL:-VERS-TLS1.1:-VERS-TLS1.0";
            std::string error;
            auto tls = TlsSession::create(settings_->tls, options, &error);
            if (!tls) {
                LOG_WARN("http-refused", "peer=%s reason=\"cannot start TLS: %s\"",
                         conn.peer().c_str(), error.c_str());
                finish(false);
                return;
            }
            conn.start_tls(std::move(tls));
            return;
        }
    }
    while (!finished_ && conn_ && !conn_->rx().empty()) {
        const rfb::HttpParseResult& r = parser_->feed(conn_->rx());
        if (r.status == rfb::HttpParseResult::kNeedMore) {
            // The parser keeps what it was fed: hand it only new bytes next time.
            conn_->consume(conn_->rx().size());
            return;
        }
        conn_->consume(r.consumed);
        if (r.status == rfb::HttpParseResult::kError) {
            fail(r.http_status, r.error);
            return;
        }
        const rfb::HttpRequest request = parser_->request();
        parser_ = std::make_unique<rfb::HttpRequestParser>();
        ++requests_;
        handle(request);
    }
}

void HttpConnection::on_closed(Connection&, const std::string& reason) {
    LOG_DEBUG("http-closed", "peer=%s reason=\"%s\"", conn_ ? conn_->peer().c_str() : "?",
              reason.c_str());
    conn_ = nullptr;
    finish(false);
}

void HttpConnection::handle(const rfb::HttpRequest& request) {
    const std::string& path = request.path;
    if (path == "/websockify" || !session_in(path, "/ws/").empty()) {
        const std::string name =
            path == "/websockify" ? router_.default_web_session() : session_in(path, "/ws/");
        upgrade(request, name);
        return;
    }
    if (path == "/" || path == "/index.html") {
        respond_page(200, session_listing_page(router_.listed_sessions()), request);
        return;
    }
    const std::string view = session_in(path, "/view/");
    if (!view.empty()) {
        serve_view(request, view);
        return;
    }
    const StaticFiles::File* f = settings_->files ? settings_->files->find(path) : nullptr;
    if (!f) {
        respond_page(404, message_page(404, "There is nothing at this address."), request);
        return;
    }
    respond(200, f->content_type, f->bytes, request.head_only(), request.keep_alive(), kViewerCsp);
}

WebEntry HttpConnection::entry_for(const rfb::HttpRequest& request, const std::string& session) {
    WebEntry entry =
        router_.web_entry(session, request.query_param("token"), conn_->peer_address());
    if (!entry.ok)
        LOG_INFO("web-refused", "session=%s peer=%s reason=\"%s\"", session.c_str(),
                 conn_->peer().c_str(), entry.message.c_str());
    return entry;
}

void HttpConnection::serve_view(const rfb::HttpRequest& request, const std::string& session) {
    const WebEntry entry = entry_for(request, session);
    if (!entry.ok) {
        respond_page(entry.http_status, message_page(entry.http_status, entry.message), request);
        return;
    }
    const StaticFiles::File* f =
        settings_->files ? settings_->files->find("/viewer.html") : nullptr;
    if (!f) {
        respond_page(503,
                     message_page(503,
                                  "The browser viewer is not installed on this server "
                                  "(its web root has no viewer.html)."),
                     request);
        return;
    }
    respond(200, f->content_type, f->bytes, request.head_only(), request.keep_alive(), kViewerCsp);
}

void HttpConnection::upgrade(const rfb::HttpRequest& request, const std::string& session) {
    if (!rfb::is_websocket_upgrade(request)) {
        fail(400, "not a WebSocket upgrade");
        return;
    }
    if (session.empty()) {
        fail(404, "no session named (several sessions: use /ws/<session>)");
        return;
    }
    const WebEntry entry = entry_for(request, session);
    if (!entry.ok) {
        fail(entry.http_status, entry.message);
        return;
    }
    rfb::WsHandshakeOptions options;
    options.allowed_origins = settings_->allowed_origins;
    const rfb::WsHandshakeResult hs = rfb::websocket_handshake(request, options);
    conn_->send_copy(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(hs.response.data()),
                                              hs.response.size()));
    if (!hs.ok) {
        LOG_INFO("web-refused", "session=%s peer=%s reason=\"%s\"", session.c_str(),
                 conn_->peer().c_str(), hs.error.c_str());
        finish(true);
        return;
    }
    conn_->start_websocket(settings_->max_ws_frame);
    finished_ = true;
    if (deadline_) loop_.cancel_timer(deadline_);
    deadline_ = 0;
    Connection* c = conn_;
    conn_ = nullptr;
    router_.websocket_viewer(session, entry, c);
    done_(this);
}

void HttpConnection::respond(int status, const std::string& content_type, rfb::SharedBytes body,
                             bool head_only, bool keep_alive, const std::string& csp) {
    keep_alive = keep_alive && requests_ < kMaxRequests;
    rfb::HttpResponseHead head;
    head.status = status;
    head.content_type = content_type;
    head.content_length = body ? body->size() : 0;
    head.connection = keep_alive ? "keep-alive" : "close";
    head.content_security_policy = csp;
    // noVNC's modules change only with the installation; the pages carry live data.
    if (status == 200 && content_type.find("html") == std::string::npos)
        head.cache_control = "public, max-age=3600";
    std::string text;
    if (!rfb::append_http_response_head(head, text)) {
        fail(500, "response head refused");
        return;
    }
    conn_->send_copy(
        std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
    if (!head_only && body && !body->empty()) conn_->send(std::move(body));
    if (!keep_alive) {
        finish(true);
        return;
    }
    arm_deadline();
}

void HttpConnection::respond_page(int status, const std::string& html,
                                  const rfb::HttpRequest& request) {
    std::vector<uint8_t> bytes(html.begin(), html.end());
    respond(status, "text/html; charset=utf-8", rfb::make_shared_bytes(std::move(bytes)),
            request.head_only(), status < 400 && request.keep_alive(),
            std::string(rfb::kStrictCsp));
}

void HttpConnection::fail(int status, const std::string& log_reason) {
    LOG_INFO("http-refused", "peer=%s status=%d reason=\"%s\"", conn_ ? conn_->peer().c_str() : "?",
             status, log_reason.c_str());
    if (conn_) {
        const std::string response = rfb::http_error_response(status);
        conn_->send_copy(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(response.data()),
                                                  response.size()));
    }
    finish(true);
}

void HttpConnection::finish(bool send_first) {
    if (finished_) return;
    finished_ = true;
    if (deadline_) loop_.cancel_timer(deadline_);
    deadline_ = 0;
    release_connection(conn_, send_first);
    done_(this);
}

}  // namespace rfbcast
