#pragma once
#include <cstddef>
#include <cstdint>
#include <span>

namespace rfb {

// Big-endian reader over a borrowed span. Every read checks the remaining length first and
// reports a shortage by returning false (leaving the output untouched), so incremental parsers
// can answer "need more bytes" without exceptions and without ever reading past the end.
class ByteReader {
  public:
    explicit ByteReader(std::span<const uint8_t> data) : data_(data) {}

    size_t remaining() const { return data_.size() - pos_; }
    size_t position() const { return pos_; }
    bool has(size_t n) const { return remaining() >= n; }

    bool u8(uint8_t& v) {
        if (!has(1)) return false;
        v = data_[pos_++];
        return true;
    }
    bool u16(uint16_t& v) {
        if (!has(2)) return false;
        v = static_cast<uint16_t>((data_[pos_] << 8) | data_[pos_ + 1]);
        pos_ += 2;
        return true;
    }
    bool u32(uint32_t& v) {
        if (!has(4)) return false;
        v = (uint32_t{data_[pos_]} << 24) | (uint32_t{data_[pos_ + 1]} << 16) |
            (uint32_t{data_[pos_ + 2]} << 8) | uint32_t{data_[pos_ + 3]};
        pos_ += 4;
        return true;
    }
    bool s32(int32_t& v) {
        uint32_t u;
        if (!u32(u)) return false;
        v = static_cast<int32_t>(u);
        return true;
    }
    bool skip(size_t n) {
        if (!has(n)) return false;
        pos_ += n;
        return true;
    }
    bool bytes(size_t n, std::span<const uint8_t>& out) {
        if (!has(n)) return false;
        out = data_.subspan(pos_, n);
        pos_ += n;
        return true;
    }
    std::span<const uint8_t> rest() const { return data_.subspan(pos_); }

  private:
    std::span<const uint8_t> data_;
    size_t pos_ = 0;
};

}  // namespace rfb
