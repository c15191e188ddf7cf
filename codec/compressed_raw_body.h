#pragma once
#include <algorithm>
#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include "codec/byte_reader.h"
#include "codec/decode_support.h"
#include "codec/decoder.h"

namespace rfb {

// The body shared by Zlib (6) and UltraVNC's Zstd (25): U32 length, then that many bytes that
// continue the connection's one compressed stream and decompress to exactly the rectangle's Raw
// pixels. `Stream` is InflateStream or ZstdStream (begin / read_exact / finish). The whole
// compressed body must be present before anything is decompressed; `name` prefixes errors.
template <class Stream>
DecodeResult decode_compressed_raw(const char* name, size_t max_length, Stream& stream,
                                   std::vector<uint8_t>& rows, const Rect& r,
                                   std::span<const uint8_t> data, DecodeTarget& t) {
    constexpr size_t kChunkBytes = 64 * 1024;  // decompress this much at a time (at least a row)
    // Error text is built only on failure: this runs once per rectangle.
    auto fail = [name](const std::string& why) {
        return DecodeResult::fail(std::string(name) + ": " + why);
    };
    if (!decode::target_ok(r, t)) return fail("rectangle or pixel format invalid");
    ByteReader in(data);
    uint32_t length = 0;
    if (!in.u32(length)) return DecodeResult::need_more();
    if (length > max_length) return fail("compressed length too large");
    std::span<const uint8_t> payload;
    if (!in.bytes(length, payload)) return DecodeResult::need_more();

    std::string error;
    if (!stream.begin(payload, error)) return fail(error);
    if (!r.empty()) {
        const size_t row_bytes = size_t{r.w} * t.pixels.bytes_per_pixel();
        const size_t chunk_rows = std::clamp<size_t>(kChunkBytes / row_bytes, 1, r.h);
        rows.resize(chunk_rows * row_bytes);
        for (uint32_t y = 0; y < r.h;) {
            const uint32_t n = static_cast<uint32_t>(std::min<size_t>(chunk_rows, r.h - y));
            if (!stream.read_exact(std::span(rows.data(), n * row_bytes), error))
                return fail(error);
            for (uint32_t i = 0; i < n; ++i)
                t.pixels.read_row(rows.data() + i * row_bytes, r.w, t.fb.row(r.y + y + i) + r.x);
            y += n;
        }
    }
    if (!stream.finish(error)) return fail(error);
    return DecodeResult::done(in.position());
}

}  // namespace rfb
