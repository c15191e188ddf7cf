#include "codec/rre_decoder.h"

#include <string>

#include "codec/byte_reader.h"
#include "codec/decode_support.h"

namespace rfb {

namespace {

struct SubRect {
    uint32_t x, y, w, h;
};

SubRect read_coords(const uint8_t* p, RreLayout layout) {
    if (layout == RreLayout::kCoRre) return {p[0], p[1], p[2], p[3]};
    auto u16 = [](const uint8_t* q) { return uint32_t{q[0]} << 8 | q[1]; };
    return {u16(p), u16(p + 2), u16(p + 4), u16(p + 6)};
}

}  // namespace

DecodeResult decode_rre_body(const Rect& r, std::span<const uint8_t> data, DecodeTarget& t,
                             RreLayout layout) {
    const std::string name = layout == RreLayout::kRre ? "rre" : "corre";
    if (!decode::target_ok(r, t))
        return DecodeResult::fail(name + ": rectangle or pixel format invalid");
    const size_t bpp = t.pixels.bytes_per_pixel();
    const size_t coord_bytes = layout == RreLayout::kRre ? 8 : 4;

    ByteReader in(data);
    uint32_t count = 0;
    if (!in.u32(count) || !in.has(bpp)) return DecodeResult::need_more();
    // A real encoder never needs more subrectangles than there are pixels; refusing more keeps a
    // count of 2^32-1 from making the caller wait for (and buffer) tens of gigabytes.
    if (count > r.area()) return DecodeResult::fail(name + ": more subrects than pixels");

    const size_t header = 4 + bpp, entry = bpp + coord_bytes;
    size_t body = 0, need = 0;
    if (!decode::mul(count, entry, body) || !decode::add(header, body, need))
        return DecodeResult::fail(name + ": body length overflows");
    if (data.size() < need) return DecodeResult::need_more();

    const uint8_t* first = data.data() + header;
    for (size_t i = 0; i < count; ++i) {
        const SubRect s = read_coords(first + i * entry + bpp, layout);
        if (s.x + s.w > r.w || s.y + s.h > r.h)
            return DecodeResult::fail(name + ": subrect outside rectangle");
    }

    t.fb.fill(r, t.pixels.load(data.data() + 4));
    for (size_t i = 0; i < count; ++i) {
        const uint8_t* p = first + i * entry;
        const SubRect s = read_coords(p + bpp, layout);
        t.fb.fill(Rect{r.x + s.x, r.y + s.y, s.w, s.h}, t.pixels.load(p));
    }
    return DecodeResult::done(need);
}

}  // namespace rfb
