#pragma once
#include <array>
#include <cstddef>
#include <vector>

#include "reflector/event_loop.h"

namespace rfbcast {

// The picture quality one viewer gets, in steps: level 0 is lossless, then JPEG at the quality
// the viewer asked for, then at falling quality in coarse steps that are the same for everyone,
// so that viewers on similar links land on the same step and share encodes. Only what the
// viewer allowed is on its ladder: JPEG steps exist only when it takes Tight with a JPEG
// quality, and never above the quality it asked for.
//
// The step is chosen so that the update about to be sent drains within `target` at the
// viewer's measured rate: quality falls before frame rate does. A step down happens at once;
// a step up only when the better step would fit with room to spare, and not more often than
// `kUpInterval`, so quality does not flap with each frame.
class QualityLadder {
  public:
    static constexpr int kLossless = -1;
    static constexpr std::array<int, 6> kSteps = {9, 8, 6, 4, 2, 0};  // JPEG quality levels
    static constexpr Clock::duration kUpInterval = std::chrono::seconds(1);
    static constexpr double kUpHeadroom = 0.6;

    // asked_quality: the viewer's JPEG quality (0..9), or -1 when it allowed no JPEG.
    // [min_quality, max_quality]: the session's bounds on the JPEG steps.
    void configure(int asked_quality, int min_quality, int max_quality);

    size_t levels() const { return qualities_.size(); }
    // The best step motion may use (0: lossless when the link carries it; 1: JPEG at the
    // viewer's quality at best, lossless only for refreshes). Clamped to the ladder.
    void set_top(size_t level);
    size_t top() const { return top_; }
    // kLossless or the JPEG quality level of `level`.
    int quality(size_t level) const { return qualities_[level]; }
    size_t current() const { return current_; }
    bool lossy() const { return quality(current_) != kLossless; }

    // An update of `bytes` with `tiles` tile bodies went out at `level`.
    void observe(size_t level, size_t bytes, size_t tiles);
    // Predicted bytes for `tiles` tiles at `level`, from what was observed (at that level, or
    // scaled from another one by typical ratios).
    double predict(size_t level, size_t tiles) const;

    // Picks the step for an update of `tiles` tiles: `rate` bytes/s (`exact` false: only a lower
    // bound, which may raise quality but never lowers it), `target` seconds to drain it in.
    size_t choose(Clock::time_point now, size_t tiles, double rate, bool exact, double target);

  private:
    static double typical_ratio(int quality);

    std::vector<int> qualities_ = {kLossless};
    std::vector<double> bytes_per_tile_ = {0};  // 0: not observed yet
    size_t current_ = 0;
    size_t top_ = 0;
    Clock::time_point last_up_{};
};

}  // namespace rfbcast
