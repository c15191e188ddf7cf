#include "codec/corre_decoder.h"

namespace rfb {

DecodeResult CoRreDecoder::decode(const Rect& r, std::span<const uint8_t> data, DecodeTarget& t) {
    return decode_rre_body(r, data, t, RreLayout::kCoRre);
}

}  // namespace rfb
