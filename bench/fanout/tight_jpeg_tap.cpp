#include "bench/fanout/tight_jpeg_tap.h"

#include <utility>

#include "bench/fanout/jpeg_quality.h"

namespace fanout {
namespace {

constexpr uint8_t kTightJpeg = 0x09;  // compression-control byte, high nibble

}  // namespace

uint64_t JpegTally::estimated() const {
    uint64_t n = 0;
    for (uint64_t c : by_quality)
        n += c;
    return n;
}

std::optional<int> JpegTally::median_quality() const {
    const uint64_t n = estimated();
    if (n == 0) return std::nullopt;
    // The lower median: the (n+1)/2-th estimate in quality order.
    const uint64_t rank = (n + 1) / 2;
    uint64_t seen = 0;
    for (size_t q = 0; q < by_quality.size(); ++q) {
        seen += by_quality[q];
        if (seen >= rank) return static_cast<int>(q);
    }
    return std::nullopt;
}

JpegTally& JpegTally::operator+=(const JpegTally& o) {
    tight_rects += o.tight_rects;
    jpeg_rects += o.jpeg_rects;
    unreadable += o.unreadable;
    inexact += o.inexact;
    for (size_t q = 0; q < by_quality.size(); ++q)
        by_quality[q] += o.by_quality[q];
    return *this;
}

std::optional<std::span<const uint8_t>> tight_jpeg_data(std::span<const uint8_t> body) {
    if (body.empty() || (body[0] >> 4) != kTightJpeg) return std::nullopt;
    // Compact length: 7 bits per byte, low bits first, the top bit of the first two bytes
    // saying another byte follows; the third byte is used whole (22 bits at most).
    size_t length = 0, pos = 1;
    for (unsigned i = 0; i < 3; ++i) {
        if (pos >= body.size()) return std::nullopt;
        const uint8_t b = body[pos++];
        length |= static_cast<size_t>(i < 2 ? (b & 0x7F) : b) << (7 * i);
        if (i == 2 || !(b & 0x80)) break;
    }
    if (body.size() - pos < length) return std::nullopt;
    return body.subspan(pos, length);
}

void tally_tight_rect(std::span<const uint8_t> body, JpegTally& tally) {
    ++tally.tight_rects;
    if (body.empty() || (body[0] >> 4) != kTightJpeg) return;
    ++tally.jpeg_rects;
    const auto jpeg = tight_jpeg_data(body);
    const auto q = jpeg ? estimate_jpeg_quality(*jpeg) : std::nullopt;
    if (!q || q->quality < 1 || q->quality > 100) {
        ++tally.unreadable;
        return;
    }
    ++tally.by_quality[static_cast<size_t>(q->quality)];
    if (!q->exact) ++tally.inexact;
}

TightJpegTap::TightJpegTap(std::unique_ptr<rfb::RectDecoder> inner, JpegTally* tally,
                           const bool* enabled)
    : inner_(std::move(inner)), tally_(tally), enabled_(enabled) {}

rfb::DecodeResult TightJpegTap::decode(const rfb::Rect& r, std::span<const uint8_t> data,
                                       rfb::DecodeTarget& t) {
    rfb::DecodeResult res = inner_->decode(r, data, t);
    if (res.status == rfb::DecodeStatus::kProgress) streamed_ = true;
    if (res.status == rfb::DecodeStatus::kDone) {
        if (*enabled_) {
            if (streamed_) {
                // Only the tail is here: the rectangle counts, its kind is unknown.
                ++tally_->tight_rects;
            } else if (res.consumed <= data.size()) {
                tally_tight_rect(data.first(res.consumed), *tally_);
            }
        }
        streamed_ = false;
    }
    if (res.status == rfb::DecodeStatus::kError) streamed_ = false;
    return res;
}

void TightJpegTap::reset() {
    streamed_ = false;
    inner_->reset();
}

}  // namespace fanout
