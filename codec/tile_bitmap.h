#pragma once
#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace rfb {

// One bit per tile. OR-ing a session's changed set into every viewer's dirty set costs
// tiles/64 word operations per viewer, with no per-viewer copies of pixels or rectangles.
class TileBitmap {
  public:
    TileBitmap() = default;
    explicit TileBitmap(size_t tiles) { resize(tiles); }

    void resize(size_t tiles) {
        tiles_ = tiles;
        words_.assign((tiles + 63) / 64, 0);
    }
    size_t size() const { return tiles_; }
    void set(size_t i) { words_[i / 64] |= uint64_t{1} << (i % 64); }
    void reset(size_t i) { words_[i / 64] &= ~(uint64_t{1} << (i % 64)); }
    bool test(size_t i) const { return (words_[i / 64] >> (i % 64)) & 1; }
    void set_all() {
        for (auto& w : words_)
            w = ~uint64_t{0};
        trim();
    }
    void clear() {
        for (auto& w : words_)
            w = 0;
    }
    bool any() const {
        for (auto w : words_)
            if (w) return true;
        return false;
    }
    size_t count() const {
        size_t n = 0;
        for (auto w : words_)
            n += static_cast<size_t>(std::popcount(w));
        return n;
    }
    // Same size required; a mismatch (a resize in between) marks everything instead.
    void merge(const TileBitmap& o) {
        if (o.words_.size() != words_.size()) {
            set_all();
            return;
        }
        for (size_t i = 0; i < words_.size(); ++i)
            words_[i] |= o.words_[i];
    }
    bool intersects(const TileBitmap& o) const {
        const size_t n = std::min(words_.size(), o.words_.size());
        for (size_t i = 0; i < n; ++i)
            if (words_[i] & o.words_[i]) return true;
        return false;
    }
    // Clears every bit set in `o` (same size; a mismatch changes nothing).
    void subtract(const TileBitmap& o) {
        if (o.words_.size() != words_.size()) return;
        for (size_t i = 0; i < words_.size(); ++i)
            words_[i] &= ~o.words_[i];
    }
    // Calls fn(tile_index) for every set bit, in order.
    template <typename Fn>
    void for_each(Fn&& fn) const {
        for (size_t w = 0; w < words_.size(); ++w) {
            uint64_t bits = words_[w];
            while (bits) {
                const int b = std::countr_zero(bits);
                fn(w * 64 + static_cast<size_t>(b));
                bits &= bits - 1;
            }
        }
    }

  private:
    void trim() {
        if (tiles_ % 64 && !words_.empty()) words_.back() &= (uint64_t{1} << (tiles_ % 64)) - 1;
    }
    size_t tiles_ = 0;
    std::vector<uint64_t> words_;
};

}  // namespace rfb
