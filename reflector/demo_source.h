#pragma once
#include <cstdint>
#include <string>

#include "reflector/event_loop.h"
#include "reflector/upstream_link.h"

namespace rfbcast {

class Session;

// A synthetic upstream: draws a moving test pattern (scrolling colour bars, a bouncing square, a
// binary frame counter) into the session at a fixed frame rate, so rfbcast can be tried, and
// load-tested, without any VNC server. Input from viewers moves a marker, to show control works.
class DemoSource final : public UpstreamLink {
  public:
    DemoSource(Session& session, uint32_t width = 1280, uint32_t height = 720, unsigned fps = 30);
    ~DemoSource() override;

    void start() override;
    bool connected() const override { return true; }
    void send_key(bool down, uint32_t keysym) override;
    void send_pointer(uint8_t buttons, uint16_t x, uint16_t y) override;
    void send_cut_text(const std::string&) override {}
    std::string describe() const override { return "demo"; }

  private:
    void tick();
    void draw_background();
    void draw_frame();

    Session& session_;
    uint32_t width_, height_;
    Clock::duration period_;
    EventLoop::TimerId timer_ = 0;
    uint64_t frame_ = 0;
    int32_t box_x_ = 40, box_y_ = 300, box_dx_ = 7, box_dy_ = 5;
    uint16_t pointer_x_ = 0, pointer_y_ = 0;
    uint32_t last_key_ = 0;
    bool input_dirty_ = false;
};

}  // namespace rfbcast
