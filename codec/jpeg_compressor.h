#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace rfb {

enum class JpegSubsampling { k444, k422, k420, kGray };

// The one class that talks to libjpeg-turbo's compressor. It uses the TurboJPEG 2 API that
// Debian 12 ships (tjInitCompress, tjCompress2 reading the pixels in place through a pitch); a
// move to the 3.x API (tj3Init, tj3Set, tj3Compress8) changes only jpeg_compressor.cpp.
//
// Input is canonical framebuffer pixels (0x00RRGGBB host-order words, framebuffer.h), so a tile
// is compressed straight out of the session framebuffer without a copy. One instance per thread.
class JpegCompressor {
  public:
    // Quality 96 and up uses the accurate integer DCT: the fast one's rounding error is larger
    // than the quantisation error there (libjpeg-turbo's own advice). Below, the fast DCT.
    static constexpr int kAccurateDctFrom = 96;

    JpegCompressor() = default;
    ~JpegCompressor();
    JpegCompressor(const JpegCompressor&) = delete;
    JpegCompressor& operator=(const JpegCompressor&) = delete;

    // Appends a JFIF stream of the w x h pixels at `pixels` (rows `stride` pixels apart) to
    // `out`. `quality` is clamped to 1..100. Returns false, leaving `out` as it was, when w or h is
    // 0 or above 65535, stride < w, or libjpeg-turbo fails.
    bool compress(const uint32_t* pixels, size_t stride, uint32_t w, uint32_t h, int quality,
                  JpegSubsampling subsampling, std::vector<uint8_t>& out);

  private:
    void* handle_ = nullptr;  // tjhandle, created on first use
};

}  // namespace rfb
