#pragma once
#include <cstdint>
#include <map>
#include <memory>

#include "codec/encode_cache.h"
#include "codec/encoder.h"
#include "codec/framebuffer.h"
#include "codec/pixel_converter.h"

namespace rfb {

// Encode once, send to many: looks a rectangle up in the EncodeCache by (content hash, profile)
// and encodes it only on a miss. `content_hash` must be the hash of exactly the pixels in `r`
// as they are now (TileGrid keeps these for whole tiles).
class SharedTileEncoder {
  public:
    explicit SharedTileEncoder(EncodeCache& cache) : cache_(cache) {}

    // nullptr when the profile's encoding has no encoder or the encoder refused the rectangle
    // (it does not fit the framebuffer); nothing is cached then.
    SharedBytes get(const Framebuffer& fb, const Rect& r, uint64_t content_hash,
                    const EncodeProfile& profile, uint64_t profile_id, const PixelWriter& px);
    uint64_t encodes() const { return encodes_; }
    EncodeCache& cache() { return cache_; }

  private:
    RectEncoder* encoder_for(int32_t encoding);

    EncodeCache& cache_;
    std::map<int32_t, std::unique_ptr<RectEncoder>> encoders_;
    uint64_t encodes_ = 0;
};

}  // namespace rfb
