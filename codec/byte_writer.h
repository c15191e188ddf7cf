#pragma once
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace rfb {

// Big-endian writer that appends to a caller-owned vector, so one buffer can collect a whole
// message (or a whole update) without intermediate copies.
class ByteWriter {
  public:
    explicit ByteWriter(std::vector<uint8_t>& out) : out_(out) {}

    void u8(uint8_t v) { out_.push_back(v); }
    void u16(uint16_t v) {
        out_.push_back(static_cast<uint8_t>(v >> 8));
        out_.push_back(static_cast<uint8_t>(v));
    }
    void u32(uint32_t v) {
        out_.push_back(static_cast<uint8_t>(v >> 24));
        out_.push_back(static_cast<uint8_t>(v >> 16));
        out_.push_back(static_cast<uint8_t>(v >> 8));
        out_.push_back(static_cast<uint8_t>(v));
    }
    void s32(int32_t v) { u32(static_cast<uint32_t>(v)); }
    void bytes(std::span<const uint8_t> b) { out_.insert(out_.end(), b.begin(), b.end()); }
    void text(std::string_view s) { out_.insert(out_.end(), s.begin(), s.end()); }
    void zeros(size_t n) { out_.insert(out_.end(), n, 0); }
    size_t size() const { return out_.size(); }
    std::vector<uint8_t>& buffer() { return out_; }

  private:
    std::vector<uint8_t>& out_;
};

}  // namespace rfb
