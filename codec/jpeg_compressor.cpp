#include "codec/jpeg_compressor.h"

#include <turbojpeg.h>

#include <algorithm>
#include <bit>

namespace rfb {

namespace {

constexpr uint32_t kMaxJpegDim = 65535;  // JPEG stores sizes in 16 bits

int tj_subsampling(JpegSubsampling s) {
    switch (s) {
        case JpegSubsampling::k444:
            return TJSAMP_444;
        case JpegSubsampling::k422:
            return TJSAMP_422;
        case JpegSubsampling::k420:
            return TJSAMP_420;
        case JpegSubsampling::kGray:
            return TJSAMP_GRAY;
    }
    return TJSAMP_420;
}

}  // namespace

JpegCompressor::~JpegCompressor() {
    if (handle_) tjDestroy(static_cast<tjhandle>(handle_));
}

bool JpegCompressor::compress(const uint32_t* pixels, size_t stride, uint32_t w, uint32_t h,
                              int quality, JpegSubsampling subsampling, std::vector<uint8_t>& out) {
    if (!pixels || w == 0 || h == 0 || w > kMaxJpegDim || h > kMaxJpegDim || stride < w)
        return false;
    // The pitch is an int in bytes.
    if (stride > static_cast<size_t>(INT32_MAX) / 4) return false;
    if (!handle_) handle_ = tjInitCompress();
    if (!handle_) return false;
    auto* tj = static_cast<tjhandle>(handle_);

    const int ss = tj_subsampling(subsampling);
    const unsigned long bound = tjBufSize(static_cast<int>(w), static_cast<int>(h), ss);
    if (bound == static_cast<unsigned long>(-1)) return false;

    // Compress straight into the tail of `out`, sized for the worst case, then trim.
    const size_t start = out.size();
    out.resize(start + bound);
    unsigned char* dst = out.data() + start;
    unsigned long size = bound;
    quality = std::clamp(quality, 1, 100);
    // Canonical pixels are 0x00RRGGBB words: B G R X in memory on little-endian hosts.
    const int format = std::endian::native == std::endian::little ? TJPF_BGRX : TJPF_XRGB;
    const int flags =
        TJFLAG_NOREALLOC | (quality >= kAccurateDctFrom ? TJFLAG_ACCURATEDCT : TJFLAG_FASTDCT);
    const int rc = tjCompress2(tj, reinterpret_cast<const unsigned char*>(pixels),
                               static_cast<int>(w), static_cast<int>(stride * 4),
                               static_cast<int>(h), format, &dst, &size, ss, quality, flags);
    if (rc != 0 || dst != out.data() + start || size > bound) {
        out.resize(start);
        return false;
    }
    out.resize(start + size);
    return true;
}

}  // namespace rfb
