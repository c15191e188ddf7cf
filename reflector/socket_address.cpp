#include "reflector/socket_address.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <charconv>
#include <cstring>

namespace rfbcast {

bool split_host_port(const std::string& text, std::string& host, uint16_t& port,
                     std::string& error) {
    std::string port_text;
    if (!text.empty() && text[0] == '[') {
        const auto close = text.find(']');
        if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':') {
            error = "expected [IPv6]:PORT, got '" + text + "'";
            return false;
        }
        host = text.substr(1, close - 1);
        port_text = text.substr(close + 2);
    } else {
        const auto colon = text.rfind(':');
        if (colon == std::string::npos) {
            error = "expected HOST:PORT, got '" + text + "'";
            return false;
        }
        host = text.substr(0, colon);
        port_text = text.substr(colon + 1);
    }
    unsigned value = 0;
    const auto [p, ec] =
        std::from_chars(port_text.data(), port_text.data() + port_text.size(), value);
    if (ec != std::errc() || p != port_text.data() + port_text.size() || value == 0 ||
        value > 65535) {
        error = "bad port '" + port_text + "' in '" + text + "'";
        return false;
    }
    port = static_cast<uint16_t>(value);
    return true;
}

bool parse_listen_address(const std::string& text, sockaddr_storage& out, socklen_t& len,
                          std::string& error) {
    std::string host;
    uint16_t port = 0;
    if (!split_host_port(text, host, port, error)) return false;
    std::memset(&out, 0, sizeof out);
    if (host.empty() || host == "0.0.0.0" || host.find(':') == std::string::npos) {
        auto* a = reinterpret_cast<sockaddr_in*>(&out);
        a->sin_family = AF_INET;
        a->sin_port = htons(port);
        if (host.empty()) host = "0.0.0.0";
        if (inet_pton(AF_INET, host.c_str(), &a->sin_addr) != 1) {
            error = "'" + host + "' is not a numeric IPv4 address";
            return false;
        }
        len = sizeof(sockaddr_in);
        return true;
    }
    auto* a = reinterpret_cast<sockaddr_in6*>(&out);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(port);
    if (inet_pton(AF_INET6, host.c_str(), &a->sin6_addr) != 1) {
        error = "'" + host + "' is not a numeric IPv6 address";
        return false;
    }
    len = sizeof(sockaddr_in6);
    return true;
}

std::string peer_name(const sockaddr_storage& addr) {
    char buf[INET6_ADDRSTRLEN] = "?";
    if (addr.ss_family == AF_INET) {
        const auto* a = reinterpret_cast<const sockaddr_in*>(&addr);
        inet_ntop(AF_INET, &a->sin_addr, buf, sizeof buf);
        return std::string(buf) + ":" + std::to_string(ntohs(a->sin_port));
    }
    if (addr.ss_family == AF_INET6) {
        const auto* a = reinterpret_cast<const sockaddr_in6*>(&addr);
        inet_ntop(AF_INET6, &a->sin6_addr, buf, sizeof buf);
        return "[" + std::string(buf) + "]:" + std::to_string(ntohs(a->sin6_port));
    }
    return "?";
}

bool is_ipv4_mapped(const uint8_t* b) {
    static constexpr uint8_t kPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    return std::memcmp(b, kPrefix, sizeof kPrefix) == 0;
}

}  // namespace rfbcast
