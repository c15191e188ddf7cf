#include "codec/zlib_decoder.h"

#include "codec/compressed_raw_body.h"

namespace rfb {

DecodeResult ZlibDecoder::decode(const Rect& r, std::span<const uint8_t> data, DecodeTarget& t) {
    return decode_compressed_raw("zlib", kMaxCompressedLength, stream_, rows_, r, data, t);
}

}  // namespace rfb
