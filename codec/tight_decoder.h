#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "codec/decoder.h"
#include "codec/inflate_stream.h"
#include "codec/rfb_constants.h"

namespace rfb {

// Tight (7): a compression-control byte (reset bits for four per-connection zlib streams, and the
// method), then Fill (one TPIXEL), JPEG (compact length + JFIF) or Basic (optional filter: copy,
// palette or gradient; data below 12 bytes raw, else compact length + zlib data).
//
// The whole rectangle body must be present before anything happens (kNeedMore until then): the
// reset bits and the streams are only touched once the body is complete. Zlib output is pulled a
// few rows at a time and must be exactly the rectangle's filtered data. TPIXELs are 3 bytes
// (R, G, B) for 32 bpp true colour of depth 24 with 8-bit channels, else a PIXEL.
class TightDecoder final : public RectDecoder {
  public:
    // The spec's width limit; TigerVNC enforces it for Basic and JPEG but not Fill rectangles,
    // which its servers sent wider for years.
    static constexpr uint32_t kMaxWidth = 2048;

    TightDecoder() = default;
    ~TightDecoder() override;
    TightDecoder(const TightDecoder&) = delete;
    TightDecoder& operator=(const TightDecoder&) = delete;

    int32_t encoding() const override { return encoding::kTight; }
    DecodeResult decode(const Rect& r, std::span<const uint8_t> data, DecodeTarget& t) override;
    void reset() override;

  private:
    struct Basic;
    DecodeResult decode_jpeg(const Rect& r, std::span<const uint8_t> jpeg, DecodeTarget& t);
    DecodeResult decode_basic(const Rect& r, const Basic& b, DecodeTarget& t);

    std::array<BulkInflateStream, 4> streams_;
    void* jpeg_ = nullptr;           // TurboJPEG decompressor, created by the first JPEG rectangle
    std::vector<uint8_t> rows_;      // filtered data of a few rows
    std::vector<int32_t> gradient_;  // gradient filter: channel values of the previous and this row
};

}  // namespace rfb
