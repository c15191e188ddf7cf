#include "codec/zstd_decoder.h"

#include <algorithm>
#include <string>

#include "codec/byte_reader.h"
#include "codec/decode_support.h"

namespace rfb {

namespace {
constexpr size_t kChunkBytes = 64 * 1024;  // decompress this much at a time (at least one row)
}

DecodeResult ZstdDecoder::decode(const Rect& r, std::span<const uint8_t> data, DecodeTarget& t) {
    if (!decode::target_ok(r, t))
        return DecodeResult::fail("zstd: rectangle or pixel format invalid");
    ByteReader in(data);
    uint32_t length = 0;
    if (!in.u32(length)) return DecodeResult::need_more();
    if (length > kMaxCompressedLength)
        return DecodeResult::fail("zstd: compressed length too large");
    std::span<const uint8_t> payload;
    if (!in.bytes(length, payload)) return DecodeResult::need_more();

    std::string error;
    if (!stream_.begin(payload, error)) return DecodeResult::fail("zstd: " + error);
    if (!r.empty()) {
        const size_t row_bytes = size_t{r.w} * t.pixels.bytes_per_pixel();
        const size_t chunk_rows = std::clamp<size_t>(kChunkBytes / row_bytes, 1, r.h);
        rows_.resize(chunk_rows * row_bytes);
        for (uint32_t y = 0; y < r.h;) {
            const uint32_t n = static_cast<uint32_t>(std::min<size_t>(chunk_rows, r.h - y));
            if (!stream_.read_exact(std::span(rows_.data(), n * row_bytes), error))
                return DecodeResult::fail("zstd: " + error);
            for (uint32_t i = 0; i < n; ++i)
                t.pixels.read_row(rows_.data() + i * row_bytes, r.w, t.fb.row(r.y + y + i) + r.x);
            y += n;
        }
    }
    if (!stream_.finish(error)) return DecodeResult::fail("zstd: " + error);
    return DecodeResult::done(in.position());
}

}  // namespace rfb
