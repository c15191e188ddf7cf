#include "codec/zlib_decoder.h"

#include "codec/compressed_raw_body.h"

namespace rfb {

DecodeResult ZlibDecoder::decode(const Rect& r, std::span<const uint8_t> data, DecodeTarget& t) {
    // igzip moves its 32 KiB history after every call: fewer, larger calls (a band of 64 full
    // rows of a 1024-wide screen is 256 KiB) decode full-width text 10-15 % faster than 64 KiB.
    constexpr size_t kChunkBytes = 256 * 1024;
    return decode_compressed_raw("zlib", kMaxCompressedLength, stream_, rows_, r, data, t,
                                 kChunkBytes);
}

}  // namespace rfb
