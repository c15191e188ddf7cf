#include "codec/rect_framing.h"

#include "codec/rfb_constants.h"

namespace rfb {

namespace {
constexpr uint32_t kMaxU16 = 0xffff;
constexpr size_t kMaxU32 = 0xffffffffu;

bool header_fits(const Rect& r) {
    return r.x <= kMaxU16 && r.y <= kMaxU16 && r.w <= kMaxU16 && r.h <= kMaxU16;
}
}  // namespace

bool write_rect_header(ByteWriter& w, const Rect& r, int32_t encoding) {
    if (!header_fits(r)) return false;
    w.u16(static_cast<uint16_t>(r.x));
    w.u16(static_cast<uint16_t>(r.y));
    w.u16(static_cast<uint16_t>(r.w));
    w.u16(static_cast<uint16_t>(r.h));
    w.s32(encoding);
    return true;
}

bool write_rect_prefix(ByteWriter& w, const Rect& r, int32_t encoding, size_t body_len,
                       ViewerStreamState& state) {
    if (!header_fits(r) || body_len > kMaxU32) return false;
    if (encoding == encoding::kZstd || encoding == encoding::kZSTDRLE) {
        write_rect_header(w, r, encoding);
        w.u32(static_cast<uint32_t>(body_len));
        return true;
    }
    bool* started = encoding == encoding::kZRLE   ? &state.zrle_stream_started
                    : encoding == encoding::kZlib ? &state.zlib_stream_started
                                                  : nullptr;
    if (!started) return write_rect_header(w, r, encoding);

    const bool first = !*started;
    const size_t extra = first ? sizeof kZlibHeader : 0;
    if (body_len > kMaxU32 - extra) return false;
    write_rect_header(w, r, encoding);
    w.u32(static_cast<uint32_t>(body_len + extra));
    if (first) w.bytes(kZlibHeader);
    *started = true;
    return true;
}

bool write_copyrect(ByteWriter& w, const Rect& dst, uint32_t src_x, uint32_t src_y) {
    if (!header_fits(dst) || src_x > kMaxU16 || src_y > kMaxU16) return false;
    write_rect_header(w, dst, encoding::kCopyRect);
    w.u16(static_cast<uint16_t>(src_x));
    w.u16(static_cast<uint16_t>(src_y));
    return true;
}

}  // namespace rfb
