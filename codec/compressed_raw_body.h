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
// pixels. `Stream` is BulkInflateStream or ZstdStream (begin / read_exact / finish). The whole
// compressed body must be present before anything is decompressed; `name` prefixes errors.
// Pixels are decompressed `chunk_bytes` at a time (at least a row), into `rows`.
template <class Stream>
DecodeResult decode_compressed_raw(const char* name, size_t max_length, Stream& stream,
                                   std::vector<uint8_t>& rows, const Rect& r,
                                   std::span<const uint8_t> data, DecodeTarget& t,
                                   size_t chunk_bytes = 64 * 1024) {
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
    if (!r.empty() && t.pixels.is_identity() && r.w == t.fb.width()) {
        // Full-width rows of canonical wire pixels are one run of framebuffer pixels: decompress
        // straight into it a chunk at a time, clearing each chunk's padding bytes while they are
        // still in cache. No intermediate copy.
        uint32_t* px = t.fb.row(r.y);
        const size_t total = r.area();  // fits: the framebuffer holds it
        for (size_t done = 0; done < total;) {
            const size_t n = std::min(chunk_bytes / 4, total - done);
            const bool ok =
                stream.read_exact(std::span(reinterpret_cast<uint8_t*>(px + done), n * 4), error);
            clear_padding(px + done, n);  // a failed chunk may have been partly written
            if (!ok) return fail(error);
            done += n;
        }
    } else if (!r.empty()) {
        const size_t row_bytes = size_t{r.w} * t.pixels.bytes_per_pixel();
        const size_t chunk_rows = std::clamp<size_t>(chunk_bytes / row_bytes, 1, r.h);
        // Grow only: shrinking and growing again would zero-fill the buffer per rectangle.
        if (rows.size() < chunk_rows * row_bytes) rows.resize(chunk_rows * row_bytes);
        for (uint32_t y = 0; y < r.h;) {
            const uint32_t n = static_cast<uint32_t>(std::min<size_t>(chunk_rows, r.h - y));
            if (!stream.read_exact(std::span(rows.data(), n * row_bytes), error))
                return fail(error);
            t.pixels.read_rows(rows.data(), row_bytes, r.w, n, t.fb.row(r.y + y) + r.x,
                               t.fb.width());
            y += n;
        }
    }
    if (!stream.finish(error)) return fail(error);
    return DecodeResult::done(in.position());
}

}  // namespace rfb
