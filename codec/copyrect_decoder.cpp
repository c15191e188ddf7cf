#include "codec/copyrect_decoder.h"

#include "codec/byte_reader.h"

namespace rfb {

DecodeResult CopyRectDecoder::decode(const Rect& r, std::span<const uint8_t> data,
                                     DecodeTarget& t) {
    if (!t.fb.contains(r)) return DecodeResult::fail("copyrect: rectangle outside framebuffer");
    ByteReader in(data);
    uint16_t sx = 0, sy = 0;
    if (!in.u16(sx) || !in.u16(sy)) return DecodeResult::need_more();
    if (!Rect{sx, sy, r.w, r.h}.fits_in(t.fb.width(), t.fb.height()))
        return DecodeResult::fail("copyrect: source outside framebuffer");
    if (!t.fb.copy_within(sx, sy, r)) return DecodeResult::fail("copyrect: copy failed");
    return DecodeResult::done(4);
}

}  // namespace rfb
