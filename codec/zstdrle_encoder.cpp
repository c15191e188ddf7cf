#include "codec/zstdrle_encoder.h"

namespace rfb {

bool ZstdrleEncoder::encode(const Framebuffer& fb, const Rect& r, const PixelWriter& px,
                            const EncodeTuning& tuning, std::vector<uint8_t>& out) {
    if (!writer_.begin(zstd_level(tuning), ZstdFrameWriter::kUnknownSize)) return false;
    const size_t start = out.size();
    pending_.clear();
    const bool ok = tiles_.encode_tiles(fb, r, px, [&](std::span<const uint8_t> tile) {
        pending_.insert(pending_.end(), tile.begin(), tile.end());
        if (pending_.size() < kOneShotBytes) return true;
        const bool added = writer_.add(pending_, out);
        pending_.clear();
        return added;
    }) && writer_.finish(pending_, out);
    // Never more than kOneShotBytes plus one tile (at most 1 + 4096 * 5 bytes) is held.
    pending_.clear();
    if (!ok) out.resize(start);
    return ok;
}

}  // namespace rfb
