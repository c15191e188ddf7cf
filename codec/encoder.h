#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "codec/framebuffer.h"
#include "codec/pixel_converter.h"
#include "codec/rect.h"

namespace rfb {

// Tuning a viewer asked for with pseudo-encodings; -1 means "not asked".
struct EncodeTuning {
    int quality = -1;   // JPEG quality level 0..9
    int compress = -1;  // compression level 0..9
    // TurboVNC's fine-grained JPEG settings, which override what `quality` implies:
    // pseudo-encoding kJpegFineQuality0 + q (-512..-412) gives fine_quality q (0..100), and
    // kJpegSubsamp1X + n (-768..-763) gives subsampling n, one of the JpegSubsamplingLevel values.
    int fine_quality = -1;
    int subsampling = -1;
};

// Subsampling levels in the order of their pseudo-encodings (rfb_constants.h, kJpegSubsamp*).
enum JpegSubsamplingLevel : int {
    kSubsampNone = 0,  // 1X: 4:4:4
    kSubsamp4X = 1,    // 4:2:0
    kSubsamp2X = 2,    // 4:2:2
    kSubsampGray = 3,
    kSubsamp8X = 4,  // TurboVNC-only ratios; encoders treat them as 4:2:0, like TigerVNC
    kSubsamp16X = 5,
};

// Encodes the pixels of one rectangle into the body of one RFB rectangle: everything after the
// 12-byte rectangle header and after any per-viewer stream prefix (see rect_framing.h).
//
// The output never depends on what was sent before, so one encoding of a tile can be sent to
// any number of viewers (DESIGN.md, "Encode once, send to many"). Encoders hold only scratch
// buffers and compressor objects that are reset per rectangle; use one instance per thread.
// The body is appended to `out`. encode() returns false, leaving `out` as it was, when the
// rectangle does not fit the framebuffer or the pixel format has no 1/2/4-byte pixels.
class RectEncoder {
  public:
    virtual ~RectEncoder() = default;
    virtual int32_t encoding() const = 0;
    virtual bool encode(const Framebuffer& fb, const Rect& r, const PixelWriter& px,
                        const EncodeTuning& tuning, std::vector<uint8_t>& out) = 0;
};

// An encoder for `encoding`, or nullptr when rfbcast cannot produce it.
std::unique_ptr<RectEncoder> make_encoder(int32_t encoding);

}  // namespace rfb
