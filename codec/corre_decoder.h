#pragma once
#include <cstdint>

#include "codec/decoder.h"
#include "codec/rfb_constants.h"
#include "codec/rre_decoder.h"

namespace rfb {

// CoRRE (4): RRE with u8 subrectangle coordinates (the body parser is shared with RRE).
class CoRreDecoder final : public RectDecoder {
  public:
    int32_t encoding() const override { return encoding::kCoRRE; }
    DecodeResult decode(const Rect& r, std::span<const uint8_t> data, DecodeTarget& t) override;
};

}  // namespace rfb
