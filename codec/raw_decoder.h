#pragma once
#include <cstdint>

#include "codec/decoder.h"
#include "codec/rfb_constants.h"

namespace rfb {

// Raw (0): width * height wire pixels, row by row. Streams: every call converts the whole rows it
// was given straight into the framebuffer and reports kProgress, so a full-screen rectangle never
// has to be buffered by the caller.
class RawDecoder final : public RectDecoder {
  public:
    int32_t encoding() const override { return encoding::kRaw; }
    DecodeResult decode(const Rect& r, std::span<const uint8_t> data, DecodeTarget& t) override;
    void reset() override;

  private:
    bool active_ = false;  // a rectangle is part-way through
    Rect rect_{};
    uint32_t rows_done_ = 0;
};

}  // namespace rfb
