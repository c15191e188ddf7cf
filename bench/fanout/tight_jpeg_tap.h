#pragma once
#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>

#include "codec/decoder.h"

// What JPEG a viewer actually receives in Tight rectangles: a RectDecoder that wraps the real
// Tight decoder and, for each rectangle it finishes, looks at the compression-control byte and,
// for a JPEG rectangle, estimates the quality from the JPEG's luminance table (jpeg_quality.h).
namespace fanout {

struct JpegTally {
    uint64_t tight_rects = 0;                // Tight rectangles decoded
    uint64_t jpeg_rects = 0;                 // of which JPEG
    uint64_t unreadable = 0;                 // JPEG rectangles whose quality could not be estimated
    uint64_t inexact = 0;                    // estimated, but the table is not exactly libjpeg's
    std::array<uint64_t, 101> by_quality{};  // estimated quality 1..100 -> rectangles

    uint64_t estimated() const;
    // The median estimated quality, nothing without estimates.
    std::optional<int> median_quality() const;
    JpegTally& operator+=(const JpegTally& o);
};

// The JPEG data of one complete Tight rectangle body (control byte first), or nothing when the
// rectangle is not JPEG or its compact length is malformed or runs past `body`.
std::optional<std::span<const uint8_t>> tight_jpeg_data(std::span<const uint8_t> body);

// Adds one complete Tight rectangle body to `tally`.
void tally_tight_rect(std::span<const uint8_t> body, JpegTally& tally);

class TightJpegTap final : public rfb::RectDecoder {
  public:
    // Counts into `*tally` only while `*enabled` is true; both must outlive the tap.
    TightJpegTap(std::unique_ptr<rfb::RectDecoder> inner, JpegTally* tally, const bool* enabled);

    int32_t encoding() const override { return inner_->encoding(); }
    rfb::DecodeResult decode(const rfb::Rect& r, std::span<const uint8_t> data,
                             rfb::DecodeTarget& t) override;
    void reset() override;

  private:
    std::unique_ptr<rfb::RectDecoder> inner_;
    JpegTally* tally_;
    const bool* enabled_;
    // The body is whole in `data` only if the decoder consumed none of it before finishing.
    bool streamed_ = false;
};

}  // namespace fanout
