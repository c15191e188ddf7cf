#include "codec/rfb_constants.h"

namespace rfb::encoding {

const char* name(int32_t enc) {
    switch (enc) {
        case kRaw:
            return "raw";
        case kCopyRect:
            return "copyrect";
        case kRRE:
            return "rre";
        case kCoRRE:
            return "corre";
        case kHextile:
            return "hextile";
        case kZlib:
            return "zlib";
        case kTight:
            return "tight";
        case kZlibHex:
            return "zlibhex";
        case kTRLE:
            return "trle";
        case kZRLE:
            return "zrle";
        case kZstd:
            return "zstd";
        case kTightZstd:
            return "tightzstd";
        case kZSTDRLE:
            return "zstdrle";
        case kTightPNG:
            return "tightpng";
        case kDesktopSize:
            return "desktopsize";
        case kLastRect:
            return "lastrect";
        case kPointerPos:
            return "pointerpos";
        case kCursor:
            return "cursor";
        case kXCursor:
            return "xcursor";
        case kQemuExtendedKeyEvent:
            return "qemu-extended-key";
        case kDesktopName:
            return "desktopname";
        case kExtendedDesktopSize:
            return "extended-desktopsize";
        case kFence:
            return "fence";
        case kContinuousUpdates:
            return "continuous-updates";
        case kCursorWithAlpha:
            return "cursor-alpha";
        case kExtendedClipboard:
            return "extended-clipboard";
        default:
            return "unknown";
    }
}

}  // namespace rfb::encoding
