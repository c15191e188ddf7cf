#include "codec/encoder.h"
#include "codec/hextile_encoder.h"
#include "codec/raw_encoder.h"
#include "codec/rfb_constants.h"
#include "codec/zrle_encoder.h"

namespace rfb {

std::unique_ptr<RectEncoder> make_encoder(int32_t enc) {
    switch (enc) {
        case encoding::kRaw:
            return std::make_unique<RawEncoder>();
        case encoding::kHextile:
            return std::make_unique<HextileEncoder>();
        case encoding::kZRLE:
            return std::make_unique<ZrleEncoder>();
        default:
            return nullptr;
    }
}

}  // namespace rfb
