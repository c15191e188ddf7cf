#include <memory>

#include "codec/copyrect_decoder.h"
#include "codec/corre_decoder.h"
#include "codec/decoder.h"
#include "codec/hextile_decoder.h"
#include "codec/raw_decoder.h"
#include "codec/rfb_constants.h"
#include "codec/rre_decoder.h"
#include "codec/tight_decoder.h"
#include "codec/trle_decoder.h"
#include "codec/zlib_decoder.h"
#include "codec/zrle_decoder.h"
#include "codec/zstd_decoder.h"
#include "codec/zstdrle_decoder.h"

namespace rfb {

std::unique_ptr<RectDecoder> make_decoder(int32_t enc) {
    switch (enc) {
        case encoding::kRaw:
            return std::make_unique<RawDecoder>();
        case encoding::kCopyRect:
            return std::make_unique<CopyRectDecoder>();
        case encoding::kRRE:
            return std::make_unique<RreDecoder>();
        case encoding::kCoRRE:
            return std::make_unique<CoRreDecoder>();
        case encoding::kHextile:
            return std::make_unique<HextileDecoder>();
        case encoding::kZlib:
            return std::make_unique<ZlibDecoder>();
        case encoding::kTight:
            return std::make_unique<TightDecoder>();
        case encoding::kTRLE:
            return std::make_unique<TrleDecoder>();
        case encoding::kZRLE:
            return std::make_unique<ZrleDecoder>();
        case encoding::kZstd:
            return std::make_unique<ZstdDecoder>();
        case encoding::kZSTDRLE:
            return std::make_unique<ZstdrleDecoder>();
        default:
            return nullptr;
    }
}

}  // namespace rfb
