#include "codec/shared_tile_encoder.h"

namespace rfb {

RectEncoder* SharedTileEncoder::encoder_for(int32_t encoding) {
    auto it = encoders_.find(encoding);
    if (it != encoders_.end()) return it->second.get();
    auto enc = make_encoder(encoding);
    RectEncoder* raw = enc.get();
    if (raw) encoders_.emplace(encoding, std::move(enc));
    return raw;
}

SharedBytes SharedTileEncoder::get(const Framebuffer& fb, const Rect& r, uint64_t content_hash,
                                   const EncodeProfile& profile, uint64_t profile_id,
                                   const PixelWriter& px) {
    const EncodeKey key{content_hash, profile_id};
    if (SharedBytes hit = cache_.find(key)) return hit;
    RectEncoder* enc = encoder_for(profile.encoding);
    if (!enc) return nullptr;
    std::vector<uint8_t> out;
    ++encodes_;
    if (!enc->encode(fb, r, px, profile.tuning, out)) return nullptr;
    SharedBytes bytes = make_shared_bytes(std::move(out));
    cache_.insert(key, bytes);
    return bytes;
}

}  // namespace rfb
