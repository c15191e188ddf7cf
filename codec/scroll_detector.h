#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "codec/framebuffer.h"
#include "codec/rect.h"
#include "codec/tile_bitmap.h"
#include "codec/tile_grid.h"

namespace rfb {

// A vertical move found by comparing row hashes: the pixels now at `dst` were at
// (dst.x, src_y) in the previous frame.
struct DetectedCopy {
    Rect dst;
    uint32_t src_y = 0;
    bool operator==(const DetectedCopy&) const = default;
};

// Finds scrolling the upstream did not announce (most servers never send CopyRect for it), so
// that viewers get a CopyRect and the few new rows instead of every tile of a scrolled window.
//
// It keeps one XXH3 hash per row segment of each 64-pixel tile column for the previous frame. At
// the end of an upstream update the damaged rows are hashed again; in each tile column, new rows
// whose hash was found at another height in the old frame vote for a vertical offset, and the
// longest run of rows that moved by the winning offset becomes a copy if it covers at least one
// whole tile. Rows of a single colour match everywhere, so they do not vote (they may still
// extend a run). One copy per column keeps the copies independent: no copy reads what another
// one wrote. Adjacent columns with the same move are merged into one rectangle.
class ScrollDetector {
  public:
    // Rows must repeat at least this often to count as a scroll (and cover a whole tile).
    static constexpr uint32_t kMinRun = TileGrid::kTile;

    // Forgets everything (a resize): the next frame is only recorded.
    void reset(uint32_t width, uint32_t height);
    // Compares the damaged tiles of `fb` with the previous frame, records them as the new
    // previous frame and returns the moves found (empty when nothing scrolled).
    std::vector<DetectedCopy> detect(const Framebuffer& fb, const TileGrid& grid,
                                     const TileBitmap& damaged);
    // Records the damaged tiles without looking for moves (the upstream sent its own copies).
    void record(const Framebuffer& fb, const TileGrid& grid, const TileBitmap& damaged);

  private:
    struct Row {
        uint64_t hash = 0;
        bool known = false;
        bool uniform = false;
    };
    Row hash_row(const Framebuffer& fb, uint32_t col, uint32_t y) const;
    // The damaged rows of each tile column, ascending.
    std::vector<std::vector<uint32_t>> damaged_rows(const TileGrid& grid,
                                                    const TileBitmap& damaged) const;

    // Old row hash -> row (-1: ambiguous) for one column; at most half full, so probing ends.
    struct RowIndex {
        struct Slot {
            uint64_t hash = 0;
            int64_t row = -1;
            uint32_t stamp = 0;
        };
        std::vector<Slot> slots;
        uint32_t stamp = 0;
        void begin(uint32_t rows);
        void put(uint64_t hash, uint32_t row);
        int64_t get(uint64_t hash) const;
    };

    uint32_t width_ = 0, height_ = 0, cols_ = 0;
    std::vector<Row> rows_;  // [col * height_ + y]
    RowIndex where_;
    std::vector<int64_t> votes_;
};

}  // namespace rfb
