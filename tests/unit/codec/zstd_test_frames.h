#pragma once
// Hand-built zstd frames for the Zstd (25) and ZSTDRLE (28) decoder tests, written from the
// format specification (RFC 8878, "Zstandard Frames"), not from libzstd's compressor, plus a
// server-like compressor that continues one frame per connection as UltraVNC servers do.
#include <gtest/gtest.h>
#include <zstd.h>

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace rfb::test {

using ZBytes = std::vector<uint8_t>;

inline void append(ZBytes& out, std::span<const uint8_t> b) {
    out.insert(out.end(), b.begin(), b.end());
}

// Magic number 0xFD2FB528, little-endian.
inline ZBytes zstd_magic() {
    return {0x28, 0xb5, 0x2f, 0xfd};
}

// A frame header. With `window_descriptor`, the frame is not single-segment (its window is
// 2^(10 + exponent) plus mantissa eighths); without one it is, and the content size must be
// given. The content size uses the smallest field that holds it (1, 2, 4 or 8 bytes).
inline ZBytes frame_header(std::optional<uint64_t> content_size,
                           std::optional<uint8_t> window_descriptor, bool checksum = false) {
    const bool single = !window_descriptor;
    EXPECT_TRUE(!single || content_size) << "a single-segment frame needs its content size";
    unsigned fcs_flag = 0;
    size_t fcs_bytes = 0;
    uint64_t fcs = content_size.value_or(0);
    if (content_size) {
        if (single && fcs < 256) {
            fcs_flag = 0, fcs_bytes = 1;
        } else if (fcs >= 256 && fcs < 65536 + 256) {
            fcs_flag = 1, fcs_bytes = 2, fcs -= 256;  // the 2-byte field stores size - 256
        } else if (fcs <= 0xffffffffu) {
            fcs_flag = 2, fcs_bytes = 4;
        } else {
            fcs_flag = 3, fcs_bytes = 8;
        }
    }
    ZBytes out = zstd_magic();
    out.push_back(static_cast<uint8_t>(fcs_flag << 6 | (single ? 0x20 : 0) | (checksum ? 4 : 0)));
    if (window_descriptor) out.push_back(*window_descriptor);
    for (size_t i = 0; i < fcs_bytes; ++i)
        out.push_back(static_cast<uint8_t>(fcs >> (8 * i)));
    return out;
}

// Block header: 3 bytes little-endian, bit 0 last block, bits 1-2 type, bits 3-23 size.
inline ZBytes block_header(bool last, unsigned type, uint32_t size) {
    const uint32_t v = (last ? 1u : 0u) | type << 1 | size << 3;
    return {static_cast<uint8_t>(v), static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v >> 16)};
}

inline ZBytes raw_block(bool last, std::span<const uint8_t> data) {
    ZBytes out = block_header(last, 0, static_cast<uint32_t>(data.size()));
    append(out, data);
    return out;
}

// `size` copies of `byte`, stored as one byte.
inline ZBytes rle_block(bool last, uint8_t byte, uint32_t size) {
    ZBytes out = block_header(last, 1, size);
    out.push_back(byte);
    return out;
}

// A complete single-segment frame holding `data` in one raw block (what a minimal zstd encoder
// would send, and the shape of rfbcast's bodies).
inline ZBytes raw_frame(std::span<const uint8_t> data) {
    ZBytes out = frame_header(data.size(), std::nullopt);
    append(out, raw_block(true, data));
    return out;
}

// u32 length + payload, as Zstd and ZSTDRLE frame their compressed data.
inline ZBytes zstd_length_prefixed(std::span<const uint8_t> payload) {
    ZBytes out;
    const size_t n = payload.size();
    for (int i = 0; i < 4; ++i)
        out.push_back(static_cast<uint8_t>(n >> (24 - 8 * i)));
    append(out, payload);
    return out;
}

// An UltraVNC server's stream: one CStream for the connection, ZSTD_e_flush after each
// rectangle, so the first rectangle opens a frame that never ends.
class ZstdServerStream {
  public:
    explicit ZstdServerStream(int level = 1) : cs_(ZSTD_createCStream()) {
        ZSTD_initCStream(cs_, level);
    }
    ~ZstdServerStream() { ZSTD_freeCStream(cs_); }
    ZstdServerStream(const ZstdServerStream&) = delete;
    ZstdServerStream& operator=(const ZstdServerStream&) = delete;

    ZBytes compress(std::span<const uint8_t> data) {
        ZBytes out(ZSTD_compressBound(data.size()) + 1024);
        ZSTD_inBuffer in{data.data(), data.size(), 0};
        ZSTD_outBuffer ob{out.data(), out.size(), 0};
        const size_t rc = ZSTD_compressStream2(cs_, &ob, &in, ZSTD_e_flush);
        EXPECT_FALSE(ZSTD_isError(rc));
        EXPECT_EQ(rc, 0u);
        EXPECT_EQ(in.pos, in.size);
        out.resize(ob.pos);
        return out;
    }

  private:
    ZSTD_CStream* cs_;
};

// The fields of a frame header that the encoder tests check, read per RFC 8878.
struct FrameHeaderInfo {
    bool ok = false;
    bool single_segment = false;
    bool checksum = false;
    uint64_t window_size = 0;  // for a single-segment frame, its content size
};

inline FrameHeaderInfo read_frame_header(std::span<const uint8_t> f) {
    FrameHeaderInfo h;
    if (f.size() < 6 || f[0] != 0x28 || f[1] != 0xb5 || f[2] != 0x2f || f[3] != 0xfd) return h;
    const uint8_t fhd = f[4];
    h.single_segment = fhd & 0x20;
    h.checksum = fhd & 0x04;
    if (h.single_segment) {
        const unsigned long long size = ZSTD_getFrameContentSize(f.data(), f.size());
        if (size == ZSTD_CONTENTSIZE_UNKNOWN || size == ZSTD_CONTENTSIZE_ERROR) return h;
        h.window_size = size;
    } else {
        const uint8_t wd = f[5];
        const uint64_t base = uint64_t{1} << (10 + (wd >> 3));
        h.window_size = base + base / 8 * (wd & 7);
    }
    h.ok = true;
    return h;
}

// A complete frame from libzstd's one-shot compressor, optionally with a checksum.
inline ZBytes zstd_frame(std::span<const uint8_t> data, int level = 3, bool checksum = false) {
    ZSTD_CCtx* c = ZSTD_createCCtx();
    ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, level);
    ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, checksum ? 1 : 0);
    ZBytes out(ZSTD_compressBound(data.size()));
    const size_t n = ZSTD_compress2(c, out.data(), out.size(), data.data(), data.size());
    ZSTD_freeCCtx(c);
    EXPECT_FALSE(ZSTD_isError(n));
    out.resize(ZSTD_isError(n) ? 0 : n);
    return out;
}

}  // namespace rfb::test
