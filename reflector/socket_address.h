#pragma once
#include <sys/socket.h>

#include <cstdint>
#include <string>

namespace rfbcast {

// "ADDR:PORT", "[v6]:PORT" or ":PORT" (all addresses) -> a socket address. Numeric only: a
// listener must not depend on DNS.
bool parse_listen_address(const std::string& text, sockaddr_storage& out, socklen_t& len,
                          std::string& error);
// HOST:PORT for an upstream (host may be a name), split without resolving.
bool split_host_port(const std::string& text, std::string& host, uint16_t& port,
                     std::string& error);
std::string peer_name(const sockaddr_storage& addr);
// An IPv6 address (16 network-order bytes) of the form ::ffff:a.b.c.d: a dual-stack socket's view
// of an IPv4 peer, which allow-lists and lockouts treat as that IPv4 address.
bool is_ipv4_mapped(const uint8_t* sixteen_bytes);

}  // namespace rfbcast
