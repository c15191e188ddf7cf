#include "reflector/quality_ladder.h"

#include <algorithm>

namespace rfbcast {

namespace {

// What a 64x64 tile of mixed desktop content costs losslessly (Tight zlib or ZRLE) before
// anything was observed: only a starting point, replaced by the first updates.
constexpr double kPriorLosslessBytesPerTile = 6000;
constexpr double kSmoothing = 0.3;  // weight of a new observation
constexpr size_t kMinTilesToLearn = 2;

}  // namespace

double QualityLadder::typical_ratio(int quality) {
    // Rough size relative to lossless for photo-like tiles (TurboJPEG against Tight zlib):
    // only used until a step has been observed; text tiles stay on palettes anyway.
    switch (quality) {
        case kLossless:
            return 1.0;
        case 9:
            return 0.45;
        case 8:
            return 0.25;
        case 6:
            return 0.17;
        case 4:
            return 0.13;
        case 2:
            return 0.10;
        default:
            return 0.08;
    }
}

void QualityLadder::configure(int asked_quality, int min_quality, int max_quality) {
    std::vector<int> q = {kLossless};
    if (asked_quality >= 0) {
        // The viewer's own quality first (within the session's bounds), then the shared steps.
        const int top = std::clamp(asked_quality, min_quality, max_quality);
        q.push_back(top);
        for (int s : kSteps)
            if (s < top && s >= min_quality) q.push_back(s);
    }
    if (q == qualities_) return;
    // Keep what was learnt for steps that stay.
    std::vector<double> learnt(q.size(), 0);
    for (size_t i = 0; i < q.size(); ++i)
        for (size_t j = 0; j < qualities_.size(); ++j)
            if (qualities_[j] == q[i]) learnt[i] = bytes_per_tile_[j];
    qualities_ = std::move(q);
    bytes_per_tile_ = std::move(learnt);
    current_ = std::min(current_, qualities_.size() - 1);
    set_top(top_);
}

void QualityLadder::set_top(size_t level) {
    top_ = std::min(level, levels() - 1);
    current_ = std::max(current_, top_);
}

void QualityLadder::observe(size_t level, size_t bytes, size_t tiles) {
    if (level >= levels() || tiles < kMinTilesToLearn) return;
    const double per_tile = static_cast<double>(bytes) / static_cast<double>(tiles);
    double& b = bytes_per_tile_[level];
    b = b == 0 ? per_tile : (1 - kSmoothing) * b + kSmoothing * per_tile;
}

double QualityLadder::predict(size_t level, size_t tiles) const {
    if (level >= levels()) return 0;
    double per_tile = bytes_per_tile_[level];
    if (per_tile == 0) {
        // Scale from the nearest observed step, else from the prior.
        double anchor = kPriorLosslessBytesPerTile;
        int anchor_q = kLossless;
        size_t best = levels();
        for (size_t i = 0; i < levels(); ++i) {
            if (bytes_per_tile_[i] == 0) continue;
            const size_t d = i > level ? i - level : level - i;
            const size_t bd = best > level ? best - level : level - best;
            if (best == levels() || d < bd) best = i;
        }
        if (best < levels()) {
            anchor = bytes_per_tile_[best];
            anchor_q = qualities_[best];
        }
        per_tile = anchor * typical_ratio(qualities_[level]) / typical_ratio(anchor_q);
    }
    return per_tile * static_cast<double>(tiles);
}

size_t QualityLadder::choose(Clock::time_point now, size_t tiles, double rate, bool exact,
                             double target) {
    if (levels() == 1 || rate <= 0 || tiles == 0) return current_;
    const double budget = rate * target;
    // The best step that fits; the last one if none does (then frame rate falls instead).
    size_t fit = levels() - 1;
    for (size_t i = top_; i < levels(); ++i) {
        if (predict(i, tiles) <= budget) {
            fit = i;
            break;
        }
    }
    if (fit > current_) {
        if (exact) current_ = fit;  // a lower bound never lowers quality
    } else if (fit < current_ && current_ > top_) {
        // One step at a time, with headroom, at most once per interval.
        const size_t up = current_ - 1;
        if (now - last_up_ >= kUpInterval && predict(up, tiles) <= kUpHeadroom * budget) {
            current_ = up;
            last_up_ = now;
        }
    }
    return current_;
}

}  // namespace rfbcast
