#pragma once
#include <optional>
#include <string>
#include <string_view>

namespace rfbcast {

// The binary's --healthcheck mode (Docker HEALTHCHECK): GET `path` from `host_port` and return
// 0 on an HTTP 200, 1 otherwise, printing why to stderr. `host_port` is a listen address as the
// config spells it ("0.0.0.0:9100", "[::]:9100", ":9100" mean this host's loopback; a name is
// resolved, without the timeout bounding the lookup). The timeout covers connecting, sending
// and reading the status line. Blocking sockets: this runs as its own short-lived process.
int run_health_check(const std::string& host_port, const std::string& path, int timeout_ms);

// The status code of an HTTP/1.x response's status line ("HTTP/1.1 200 OK\r\n..."), nullopt if
// `head` does not start with a well-formed one.
std::optional<int> parse_http_status(std::string_view head);

}  // namespace rfbcast
