#include "reflector/link_estimator.h"

#include <algorithm>

#include "codec/rfb_constants.h"

namespace rfbcast {

namespace {

using std::chrono::nanoseconds;

nanoseconds scale(nanoseconds d, double f) {
    const double v = static_cast<double>(d.count()) * f;
    if (v >= static_cast<double>(nanoseconds::max().count())) return nanoseconds::max();
    return nanoseconds(static_cast<int64_t>(v));
}

}  // namespace

const char* link_class_name(LinkClass c) {
    switch (c) {
        case LinkClass::kLocal:
            return "local";
        case LinkClass::kLan:
            return "lan";
        case LinkClass::kSlow:
            return "slow";
    }
    return "unknown";
}

LinkEstimator::LinkEstimator(LinkEstimatorConfig config, LinkClass initial)
    : config_(config), class_(initial) {
    // A hysteresis factor below 1 would make the bands overlap and the class oscillate.
    if (!(config_.hysteresis >= 1.0) || config_.hysteresis > 100.0) config_.hysteresis = 1.0;
    rtts_.reserve(kMaxRttSamples);
    rates_.reserve(kMaxRateSamples);
}

LinkEstimator::Clock::time_point LinkEstimator::advance(Clock::time_point now) {
    if (!have_now_ || now > now_) now_ = now;
    have_now_ = true;
    return now_;
}

void LinkEstimator::expire() {
    // The newest sample of each kind stays whatever its age: a link that stopped producing
    // samples (a still screen, no fences) keeps its last estimate instead of becoming unknown.
    const auto too_old = [&](Clock::time_point at) { return now_ - at > config_.window; };
    while (rtts_.size() > 1 && too_old(rtts_.front().at))
        rtts_.erase(rtts_.begin());
    while (rates_.size() > 1 && too_old(rates_.front().at))
        rates_.erase(rates_.begin());
}

bool LinkEstimator::add_rtt(nanoseconds rtt, Clock::time_point now) {
    if (rtt <= nanoseconds::zero() || rtt > config_.max_rtt) return false;
    const Clock::time_point at = advance(now);
    if (rtts_.size() == kMaxRttSamples) rtts_.erase(rtts_.begin());
    rtts_.push_back({at, rtt});
    ++rtt_count_;
    srtt_ = srtt_ ? *srtt_ + (rtt - *srtt_) / 8 : rtt;
    expire();
    evaluate();
    return true;
}

bool LinkEstimator::add_transfer(const TransferSample& s, Clock::time_point now) {
    if (s.elapsed < config_.min_elapsed || s.bytes_waiting > s.bytes) return false;
    const uint64_t timed = s.bytes - s.bytes_waiting;
    if (timed < config_.min_timed_bytes) return false;
    const double seconds = std::chrono::duration<double>(s.elapsed).count();
    const double bps = static_cast<double>(timed) * 8.0 / seconds;
    if (!(bps > 0.0) || bps > config_.max_bps) return false;
    const Clock::time_point at = advance(now);
    if (rates_.size() == kMaxRateSamples) rates_.erase(rates_.begin());
    rates_.push_back({at, bps, s.reader_limited});
    expire();
    evaluate();
    return true;
}

std::optional<nanoseconds> LinkEstimator::min_rtt() const {
    if (rtts_.empty()) return std::nullopt;
    nanoseconds best = rtts_.front().rtt;
    for (const RttSample& s : rtts_)
        best = std::min(best, s.rtt);
    return best;
}

std::optional<nanoseconds> LinkEstimator::smoothed_rtt() const {
    return rtts_.empty() ? std::nullopt : srtt_;
}

std::optional<double> LinkEstimator::throughput_bps() const {
    if (rates_.empty()) return std::nullopt;
    double best = 0.0;
    for (const RateSample& s : rates_)
        best = std::max(best, s.bps);
    return best;
}

bool LinkEstimator::throughput_is_lower_bound() const {
    return std::all_of(rates_.begin(), rates_.end(),
                       [](const RateSample& s) { return s.lower_bound; });
}

LinkClass LinkEstimator::candidate() const {
    const std::optional<nanoseconds> rtt = min_rtt();
    const std::optional<double> bps = throughput_bps();
    // Only a measurement the link itself paced can say the link is slow.
    const bool rate_known = bps && !throughput_is_lower_bound();
    const double h = config_.hysteresis;

    // Inside a class its own thresholds are widened by the hysteresis factor, so leaving it
    // takes a clearer signal than entering it did.
    const bool in_slow = class_ == LinkClass::kSlow;
    const nanoseconds slow_rtt =
        in_slow ? scale(config_.slow_min_rtt, 1.0 / h) : config_.slow_min_rtt;
    const double slow_bps = in_slow ? config_.slow_max_bps * h : config_.slow_max_bps;
    const bool in_local = class_ == LinkClass::kLocal;
    const nanoseconds local_rtt =
        in_local ? scale(config_.local_max_rtt, h) : config_.local_max_rtt;
    const double local_bps = in_local ? config_.local_min_bps / h : config_.local_min_bps;

    if ((rtt && *rtt > slow_rtt) || (rate_known && *bps < slow_bps)) return LinkClass::kSlow;
    if (rtt && *rtt < local_rtt && !(rate_known && *bps < local_bps)) return LinkClass::kLocal;
    if (!rtt && !rate_known) return class_;  // no evidence either way
    return LinkClass::kLan;
}

void LinkEstimator::evaluate() {
    const bool rate_known = !rates_.empty() && !throughput_is_lower_bound();
    if (!decided_ && rtt_count_ < config_.min_rtt_samples && !rate_known) return;
    decided_ = true;
    const LinkClass c = candidate();
    if (c == class_) {
        pending_.reset();
    } else if (!settled_) {
        // Until both kinds of evidence are in, a new kind of evidence refines the guess at once
        // (the first big update showing that a 0.3 ms LAN is not loopback, say).
        class_ = c;
        ++changes_;
        pending_.reset();
    } else {
        if (!pending_ || *pending_ != c) {
            pending_ = c;
            pending_since_ = now_;
        }
        if (now_ - pending_since_ >= config_.hold) {
            class_ = c;
            ++changes_;
            pending_.reset();
        }
    }
    settled_ = settled_ || (rtt_count_ >= config_.min_rtt_samples && rate_known);
}

std::vector<int32_t> preferred_encodings(LinkClass c) {
    namespace e = rfb::encoding;
    switch (c) {
        case LinkClass::kLocal:
            // Nothing that compresses: TigerVNC ignores a Raw preference and falls back to
            // ZRLE or Tight whenever the client lists them. RRE stays for solid areas, which
            // every server then sends as one fill instead of raw pixels.
            return {e::kRaw, e::kCopyRect, e::kRRE};
        case LinkClass::kLan:
            break;
        case LinkClass::kSlow:
            return {e::kTight,
                    e::kCopyRect,
                    e::kZRLE,
                    e::kHextile,
                    e::kZlib,
                    e::kTRLE,
                    e::kRRE,
                    e::kCoRRE,
                    e::kRaw,
                    e::kJpegQuality0 + 6,
                    e::kCompressLevel0 + 6};
    }
    return {e::kZRLE, e::kCopyRect, e::kHextile, e::kTight, e::kZlib,
            e::kTRLE, e::kRRE,      e::kCoRRE,   e::kRaw};
}

}  // namespace rfbcast
