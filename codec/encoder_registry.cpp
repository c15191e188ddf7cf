#include "codec/encoder.h"
#include "codec/hextile_encoder.h"
#include "codec/raw_encoder.h"
#include "codec/rfb_constants.h"
#include "codec/rre_encoder.h"
#include "codec/tight_encoder.h"
#include "codec/tight_zstd_encoder.h"
#include "codec/zlib_encoder.h"
#include "codec/zrle_encoder.h"
#include "codec/zstd_encoder.h"
#include "codec/zstdrle_encoder.h"

namespace rfb {

std::unique_ptr<RectEncoder> make_encoder(int32_t enc) {
    switch (enc) {
        case encoding::kRaw:
            return std::make_unique<RawEncoder>();
        case encoding::kHextile:
            return std::make_unique<HextileEncoder>();
        case encoding::kZRLE:
            return std::make_unique<ZrleEncoder>();
        case encoding::kRRE:
            return std::make_unique<RreEncoder>();
        case encoding::kZlib:
            return std::make_unique<ZlibEncoder>();
        case encoding::kZstd:
            return std::make_unique<ZstdEncoder>();
        case encoding::kZSTDRLE:
            return std::make_unique<ZstdrleEncoder>();
        case encoding::kTight:
            return std::make_unique<TightEncoder>();
        case encoding::kTightZstd:
            return std::make_unique<TightZstdEncoder>();
        default:
            return nullptr;
    }
}

}  // namespace rfb
