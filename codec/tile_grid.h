#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "codec/framebuffer.h"
#include "codec/rect.h"
#include "codec/tile_bitmap.h"

namespace rfb {

// The framebuffer cut into kTile x kTile tiles (edge tiles smaller), each with an XXH3 hash of
// its pixels. The hash is seeded with the tile's size so that equal bytes in differently shaped
// edge tiles never share a cache entry.
class TileGrid {
  public:
    static constexpr uint32_t kTile = 64;

    void reset(uint32_t width, uint32_t height);
    uint32_t cols() const { return cols_; }
    uint32_t rows() const { return rows_; }
    size_t count() const { return hashes_.size(); }
    Rect tile_rect(size_t index) const;
    uint64_t hash(size_t index) const { return hashes_[index]; }

    // Marks the tiles a damaged rectangle touches (clipped to the grid).
    void mark(const Rect& r, TileBitmap& bits) const;
    // Marks the tiles that lie entirely inside r.
    void mark_covered(const Rect& r, TileBitmap& bits) const;
    // Re-hashes the tiles set in `damaged` and returns, in `changed`, those whose hash changed.
    void rehash(const Framebuffer& fb, const TileBitmap& damaged, TileBitmap& changed);
    // Hashes every tile (after a resize or a full refresh).
    void rehash_all(const Framebuffer& fb);

    static uint64_t hash_rect(const Framebuffer& fb, const Rect& r);

  private:
    uint32_t width_ = 0, height_ = 0, cols_ = 0, rows_ = 0;
    std::vector<uint64_t> hashes_;
};

}  // namespace rfb
