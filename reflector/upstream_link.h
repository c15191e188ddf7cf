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
    // Closes the upstream until start() is called again (a session without viewers that is
    // configured not to keep it).
    virtual void stop() {}
    virtual bool connected() const = 0;
    virtual void send_key(bool down, uint32_t keysym) = 0;
    virtual void send_pointer(uint8_t buttons, uint16_t x, uint16_t y) = 0;
    virtual void send_cut_text(const std::string& latin1) = 0;
    // QEMU Extended Key Events carry the viewer's hardware keycode as well as the keysym, so
    // keyboard layouts work on QEMU consoles. Sources without them get the keysym alone.
    virtual bool supports_qemu_keys() const { return false; }
    virtual void send_qemu_key(bool down, uint32_t keysym, uint32_t /*keycode*/) {
        send_key(down, keysym);
    }
    virtual std::string describe() const = 0;
};

}  // namespace rfbcast
