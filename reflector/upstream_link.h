#pragma once
#include <cstdint>
#include <string>

namespace rfbcast {

// The source of a session's pixels: a real upstream RFB server, or the built-in demo. Input
// from full-control viewers goes back through it.
class UpstreamLink {
  public:
    virtual ~UpstreamLink() = default;
    virtual void start() = 0;
    virtual bool connected() const = 0;
    virtual void send_key(bool down, uint32_t keysym) = 0;
    virtual void send_pointer(uint8_t buttons, uint16_t x, uint16_t y) = 0;
    virtual void send_cut_text(const std::string& latin1) = 0;
    virtual std::string describe() const = 0;
};

}  // namespace rfbcast
