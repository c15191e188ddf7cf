#pragma once
#include <sys/socket.h>

#include <cstddef>
#include <string>
#include <vector>

#include "reflector/web_token.h"

namespace rfbcast {

class Connection;

// A session as the browser listing shows it.
struct WebSessionInfo {
    std::string name;
    std::string desktop;  // the upstream's desktop name ("" before it connected)
    int width = 0, height = 0;
    size_t viewers = 0;
    bool upstream_up = false;
};

// Whether a browser may open a session, and how it authenticates.
struct WebEntry {
    bool ok = false;
    int http_status = 403;  // when !ok: 403 (token), 404 (no such session)
    std::string message;    // when !ok: shown to the visitor
    // With a valid token the viewer skips RFB authentication and gets `access`; without one
    // it authenticates in RFB as a native viewer does (noVNC asks for the password).
    bool by_token = false;
    WebAccess access = WebAccess::kNone;
};

// What the HTTP listener asks of the sessions (SessionRegistry answers).
class WebRouter {
  public:
    virtual ~WebRouter() = default;
    virtual bool web_address_allowed(const sockaddr_storage& peer) = 0;
    // Sessions a visitor without a token may see and open.
    virtual std::vector<WebSessionInfo> listed_sessions() = 0;
    // The session /websockify means (noVNC's default path): the only session, else "".
    virtual std::string default_web_session() = 0;
    // `token`: the ?token= value, or nullptr when the URL has none.
    virtual WebEntry web_entry(const std::string& session, const std::string* token,
                               const sockaddr_storage& peer) = 0;
    // The WebSocket is up: `conn` (now unframing RFB) becomes a viewer of `session`.
    virtual void websocket_viewer(const std::string& session, const WebEntry& entry,
                                  Connection* conn) = 0;
};

}  // namespace rfbcast
