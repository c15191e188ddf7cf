#include "reflector/tile_encode_service.h"

#include <algorithm>
#include <chrono>
#include <map>

#include "codec/encoder.h"
#include "codec/pixel_converter.h"
#include "codec/rfb_constants.h"
#include "metrics/metrics.h"
#include "reflector/metric_labels.h"

namespace rfbcast {

rfb::SharedBytes encode_rect(const rfb::Framebuffer& fb, const rfb::Rect& r,
                             const rfb::EncodeProfile& profile) {
    thread_local std::map<int32_t, std::unique_ptr<rfb::RectEncoder>> encoders;
    auto it = encoders.find(profile.encoding);
    if (it == encoders.end()) {
        auto enc = rfb::make_encoder(profile.encoding);
        if (!enc) return nullptr;
        it = encoders.emplace(profile.encoding, std::move(enc)).first;
    }
    const rfb::PixelWriter px(profile.format);
    std::vector<uint8_t> out;
    if (!it->second->encode(fb, r, px, profile.tuning, out)) return nullptr;
    return rfb::make_shared_bytes(std::move(out));
}

rfb::SharedBytes encode_rect_counted(const rfb::Framebuffer& fb, const rfb::Rect& r,
                                     const rfb::EncodeProfile& profile, metrics::Metrics& metrics) {
    const auto start = std::chrono::steady_clock::now();
    rfb::SharedBytes body = encode_rect(fb, r, profile);
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
    metrics::Encoding label{};
    if (body && encoding_metric(profile.encoding, *body, label))
        metrics.encoded(label, took.count());
    return body;
}

namespace {

// Raw is a copy (or a table lookup per pixel): handing it to a thread costs more than doing it.
bool cheap_inline(int32_t encoding) {
    return encoding == rfb::encoding::kRaw;
}

}  // namespace

TileEncodeService::TileEncodeService(rfb::EncodeCache& cache, EncodePool& pool,
                                     metrics::Metrics* metrics)
    : cache_(cache), pool_(pool), metrics_(metrics ? *metrics : metrics::unscraped_metrics()) {
    pool_.set_on_progress([this] {
        // Copy: a listener may add or remove listeners.
        auto listeners = listeners_;
        for (auto& l : listeners)
            l.second();
    });
}

uint64_t TileEncodeService::add_progress_listener(std::function<void()> fn) {
    listeners_.emplace_back(next_listener_, std::move(fn));
    return next_listener_++;
}

void TileEncodeService::remove_progress_listener(uint64_t id) {
    std::erase_if(listeners_, [id](const auto& l) { return l.first == id; });
}

TileEncodeService::Outcome TileEncodeService::get(const rfb::Framebuffer& fb, const rfb::Rect& r,
                                                  uint64_t content_hash,
                                                  const rfb::EncodeProfile& profile,
                                                  uint64_t profile_id, rfb::SharedBytes& body,
                                                  Ready ready, EncodePool::Priority priority) {
    const rfb::EncodeKey key{content_hash, profile_id};
    if (rfb::SharedBytes hit = cache_.find(key)) {
        ++stats_.hits;
        body = std::move(hit);
        return Outcome::kReady;
    }
    if (auto it = pending_.find(key); it != pending_.end()) {
        ++stats_.joins;
        it->second.push_back(std::move(ready));
        return Outcome::kPending;
    }
    if (pool_.threads() == 0 || cheap_inline(profile.encoding) || !fb.contains(r)) {
        ++stats_.encodes;
        body = encode_rect_counted(fb, r, profile, metrics_);
        if (body) cache_.insert(key, body);
        return Outcome::kReady;
    }
    // Snapshot the rectangle: the worker must see the pixels the hash was taken from.
    auto snap = std::make_shared<rfb::Framebuffer>(r.w, r.h);
    for (uint32_t y = 0; y < r.h; ++y)
        std::copy_n(fb.row(r.y + y) + r.x, r.w, snap->row(y));
    auto result = std::make_shared<rfb::SharedBytes>();
    const bool accepted = pool_.submit(
        [snap, profile, result, m = &metrics_] {
            *result = encode_rect_counted(*snap, rfb::Rect{0, 0, snap->width(), snap->height()},
                                          profile, *m);
        },
        [this, key, result] { finish(key, std::move(*result)); }, priority);
    if (!accepted) {
        ++stats_.refused;
        return Outcome::kRefused;
    }
    ++stats_.encodes;
    pending_[key].push_back(std::move(ready));
    return Outcome::kPending;
}

void TileEncodeService::finish(const rfb::EncodeKey& key, rfb::SharedBytes body) {
    auto it = pending_.find(key);
    if (body) cache_.insert(key, body);
    if (it == pending_.end()) return;
    std::vector<Ready> waiters = std::move(it->second);
    pending_.erase(it);
    for (Ready& w : waiters)
        w(body);
}

}  // namespace rfbcast
