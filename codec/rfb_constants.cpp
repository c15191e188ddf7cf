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

bool from_name(std::string_view n, int32_t& out) {
    static constexpr int32_t kPixelEncodings[] = {kRaw,       kCopyRect, kRRE,     kCoRRE, kHextile,
                                                  kZlib,      kTight,    kTRLE,    kZRLE,  kZstd,
                                                  kTightZstd, kZSTDRLE,  kTightPNG};
    for (int32_t e : kPixelEncodings)
        if (n == name(e)) {
            out = e;
            return true;
        }
    return false;
}

bool parse_list(std::string_view list, std::vector<int32_t>& out, std::string& bad) {
    out.clear();
    while (true) {
        const size_t comma = list.find(',');
        const std::string_view name = list.substr(0, comma);
        int32_t e = 0;
        if (!from_name(name, e)) {
            bad = std::string(name);
            return false;
        }
        out.push_back(e);
        if (comma == std::string_view::npos) return true;
        list.remove_prefix(comma + 1);
    }
}

}  // namespace rfb::encoding
