#include "reflector/metric_labels.h"

#include "codec/rfb_constants.h"
#include "metrics/metrics.h"

namespace rfbcast {

metrics::Limit limit_metric(rfb::LimitKind limit) {
    using L = metrics::Limit;
    switch (limit) {
        case rfb::LimitKind::kCutText:
            return L::kCutText;
        case rfb::LimitKind::kFramebufferSize:
            return L::kFramebufferSize;
        case rfb::LimitKind::kCursorSize:
            return L::kCursorSize;
        case rfb::LimitKind::kFence:
            return L::kFence;
        case rfb::LimitKind::kEncodings:
            return L::kEncodings;
        case rfb::LimitKind::kDesktopName:
            return L::kDesktopName;
        case rfb::LimitKind::kScreens:
            return L::kScreens;
        case rfb::LimitKind::kNone:
            break;
    }
    return L::kOther;
}

void count_stream_error(metrics::Metrics& m, metrics::Side side, rfb::LimitKind limit,
                        bool decoder) {
    using K = metrics::ErrorKind;
    if (limit != rfb::LimitKind::kNone) m.limit(limit_metric(limit));
    m.protocol_error(side, limit != rfb::LimitKind::kNone ? K::kLimit
                           : decoder                      ? K::kDecoder
                                                          : K::kMessage);
}

bool encoding_metric(int32_t encoding, std::span<const uint8_t> body, metrics::Encoding& out) {
    namespace enc = rfb::encoding;
    using E = metrics::Encoding;
    // Tight's first body byte is the compression control: 0x9 in the high nibble is JPEG.
    constexpr uint8_t kTightJpeg = 0x9;
    switch (encoding) {
        case enc::kRaw:
            out = E::kRaw;
            return true;
        case enc::kCopyRect:
            out = E::kCopyRect;
            return true;
        case enc::kRRE:
            out = E::kRre;
            return true;
        case enc::kHextile:
            out = E::kHextile;
            return true;
        case enc::kZlib:
            out = E::kZlib;
            return true;
        case enc::kTight:
            out = !body.empty() && (body[0] >> 4) == kTightJpeg ? E::kTightJpeg : E::kTight;
            return true;
        case enc::kZRLE:
            out = E::kZrle;
            return true;
        case enc::kZstd:
            out = E::kZstd;
            return true;
        case enc::kTightZstd:
            out = E::kTightZstd;
            return true;
        case enc::kZSTDRLE:
            out = E::kZstdRle;
            return true;
        default:
            return false;
    }
}

}  // namespace rfbcast
