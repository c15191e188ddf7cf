#pragma once
// Crafted protocol bytes for the hostile-peer suites, written as a chain:
// Wire().u8(0).u16(1).text("x").take(). CRTP, so that a suite's own additions (an update header,
// a rectangle) chain with the basic fields.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "codec/byte_writer.h"

namespace rfbcast::test {

template <class Derived>
class ByteChain {
  public:
    Derived& u8(uint8_t v) {
        w_.u8(v);
        return self();
    }
    Derived& u16(uint16_t v) {
        w_.u16(v);
        return self();
    }
    Derived& u32(uint32_t v) {
        w_.u32(v);
        return self();
    }
    Derived& s32(int32_t v) {
        w_.s32(v);
        return self();
    }
    Derived& text(std::string_view s) {
        w_.text(s);
        return self();
    }
    Derived& bytes(std::span<const uint8_t> b) {
        w_.bytes(b);
        return self();
    }
    Derived& fill(size_t n, uint8_t v) {
        b_.insert(b_.end(), n, v);
        return self();
    }
    std::vector<uint8_t> take() { return std::move(b_); }

  protected:
    rfb::ByteWriter& writer() { return w_; }

  private:
    Derived& self() { return static_cast<Derived&>(*this); }
    std::vector<uint8_t> b_;
    rfb::ByteWriter w_{b_};
};

}  // namespace rfbcast::test
