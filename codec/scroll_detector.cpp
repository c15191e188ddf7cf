#include "codec/scroll_detector.h"

#include <xxhash.h>

#include <algorithm>

namespace rfb {

void ScrollDetector::RowIndex::begin(uint32_t rows) {
    size_t cap = 16;
    while (cap < size_t{rows} * 2)
        cap *= 2;
    if (slots.size() != cap) slots.assign(cap, Slot{});
    if (++stamp == 0) {  // wrapped: old stamps could look current
        slots.assign(cap, Slot{});
        stamp = 1;
    }
}

void ScrollDetector::RowIndex::put(uint64_t hash, uint32_t row) {
    const size_t mask = slots.size() - 1;
    for (size_t i = static_cast<size_t>(hash) & mask;; i = (i + 1) & mask) {
        Slot& s = slots[i];
        if (s.stamp != stamp) {
            s = Slot{hash, static_cast<int64_t>(row), stamp};
            return;
        }
        if (s.hash == hash) {
            s.row = -1;  // seen twice: ambiguous
            return;
        }
    }
}

int64_t ScrollDetector::RowIndex::get(uint64_t hash) const {
    const size_t mask = slots.size() - 1;
    for (size_t i = static_cast<size_t>(hash) & mask;; i = (i + 1) & mask) {
        const Slot& s = slots[i];
        if (s.stamp != stamp) return -1;
        if (s.hash == hash) return s.row;
    }
}

void ScrollDetector::reset(uint32_t width, uint32_t height) {
    width_ = width;
    height_ = height;
    cols_ = (width + TileGrid::kTile - 1) / TileGrid::kTile;
    rows_.assign(size_t{cols_} * height_, Row{});
}

ScrollDetector::Row ScrollDetector::hash_row(const Framebuffer& fb, uint32_t col,
                                             uint32_t y) const {
    const uint32_t x0 = col * TileGrid::kTile;
    const uint32_t n = std::min(TileGrid::kTile, width_ - x0);
    const uint32_t* p = fb.row(y) + x0;
    Row r;
    r.known = true;
    r.hash = XXH3_64bits(p, size_t{n} * sizeof(uint32_t));
    r.uniform = std::all_of(p + 1, p + n, [&](uint32_t v) { return v == p[0]; });
    return r;
}

std::vector<std::vector<uint32_t>> ScrollDetector::damaged_rows(const TileGrid& grid,
                                                                const TileBitmap& damaged) const {
    std::vector<std::vector<uint32_t>> out(cols_);
    if (grid.cols() != cols_ || damaged.size() != grid.count()) return out;
    // Tiles are numbered row by row, so each column's rows come out ascending.
    damaged.for_each([&](size_t i) {
        const Rect t = grid.tile_rect(i);
        const uint32_t col = t.x / TileGrid::kTile;
        for (uint32_t y = t.y; y < t.y + t.h && y < height_; ++y)
            out[col].push_back(y);
    });
    return out;
}

void ScrollDetector::record(const Framebuffer& fb, const TileGrid& grid,
                            const TileBitmap& damaged) {
    if (fb.width() != width_ || fb.height() != height_) reset(fb.width(), fb.height());
    const auto rows = damaged_rows(grid, damaged);
    for (uint32_t c = 0; c < cols_; ++c)
        for (uint32_t y : rows[c])
            rows_[size_t{c} * height_ + y] = hash_row(fb, c, y);
}

std::vector<DetectedCopy> ScrollDetector::detect(const Framebuffer& fb, const TileGrid& grid,
                                                 const TileBitmap& damaged) {
    std::vector<DetectedCopy> found;
    if (fb.width() != width_ || fb.height() != height_) {
        reset(fb.width(), fb.height());
        record(fb, grid, damaged);
        return found;
    }
    const auto rows = damaged_rows(grid, damaged);
    std::vector<Row> fresh;
    for (uint32_t c = 0; c < cols_; ++c) {
        const std::vector<uint32_t>& ys = rows[c];
        Row* old = rows_.data() + size_t{c} * height_;
        fresh.resize(ys.size());
        for (size_t i = 0; i < ys.size(); ++i)
            fresh[i] = hash_row(fb, c, ys[i]);
        if (ys.size() >= kMinRun) {
            // Where each distinct old row of this column was (non-uniform rows only; a row
            // that occurs twice is ambiguous and does not vote). A flat open-addressing table
            // reused across columns: this runs for every tile column of every update.
            where_.begin(height_);
            for (uint32_t y = 0; y < height_; ++y)
                if (old[y].known && !old[y].uniform) where_.put(old[y].hash, y);
            votes_.clear();
            for (size_t i = 0; i < ys.size(); ++i) {
                if (fresh[i].uniform) continue;
                const int64_t at = where_.get(fresh[i].hash);
                if (at < 0) continue;
                const int64_t dy = int64_t{ys[i]} - at;
                if (dy != 0) votes_.push_back(dy);
            }
            std::sort(votes_.begin(), votes_.end());
            int64_t best = 0;
            uint32_t best_votes = 0;
            for (size_t i = 0; i < votes_.size();) {
                size_t j = i;
                while (j < votes_.size() && votes_[j] == votes_[i])
                    ++j;
                // Ascending order: on a tie the smaller offset wins.
                if (j - i > best_votes) {
                    best = votes_[i];
                    best_votes = static_cast<uint32_t>(j - i);
                }
                i = j;
            }
            if (best_votes >= kMinRun / 4) {
                // The longest run of consecutive damaged rows that all moved by `best`.
                uint32_t run_start = 0, run_len = 0, cur_start = 0, cur_len = 0;
                for (size_t i = 0; i < ys.size(); ++i) {
                    const int64_t sy = int64_t{ys[i]} - best;
                    const bool match = sy >= 0 && sy < int64_t{height_} && old[sy].known &&
                                       old[sy].hash == fresh[i].hash;
                    const bool contiguous = cur_len > 0 && ys[i] == cur_start + cur_len;
                    if (match && contiguous) {
                        ++cur_len;
                    } else if (match) {
                        cur_start = ys[i];
                        cur_len = 1;
                    } else {
                        cur_len = 0;
                    }
                    if (cur_len > run_len) {
                        run_start = cur_start;
                        run_len = cur_len;
                    }
                }
                // Useful only when it covers a whole tile of the grid.
                const uint32_t first_tile_y =
                    (run_start + TileGrid::kTile - 1) / TileGrid::kTile * TileGrid::kTile;
                const uint32_t run_end = run_start + run_len;
                const bool covers_tile =
                    run_len >= kMinRun &&
                    (first_tile_y + TileGrid::kTile <= run_end || run_end == height_);
                if (covers_tile && first_tile_y < run_end) {
                    const uint32_t x0 = c * TileGrid::kTile;
                    const uint32_t w = std::min(TileGrid::kTile, width_ - x0);
                    found.push_back(DetectedCopy{Rect{x0, run_start, w, run_len},
                                                 static_cast<uint32_t>(run_start - best)});
                }
            }
        }
        for (size_t i = 0; i < ys.size(); ++i)
            old[ys[i]] = fresh[i];
    }
    // Merge neighbours that moved the same rows by the same amount.
    std::vector<DetectedCopy> merged;
    for (const DetectedCopy& d : found) {
        if (!merged.empty()) {
            DetectedCopy& m = merged.back();
            if (m.dst.y == d.dst.y && m.dst.h == d.dst.h && m.src_y == d.src_y &&
                m.dst.x + m.dst.w == d.dst.x) {
                m.dst.w += d.dst.w;
                continue;
            }
        }
        merged.push_back(d);
    }
    return merged;
}

}  // namespace rfb
