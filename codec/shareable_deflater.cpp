#include "codec/shareable_deflater.h"

#include <limits>

namespace rfb {

ShareableDeflater::~ShareableDeflater() {
    drop();
}

void ShareableDeflater::drop() {
    if (ready_) deflateEnd(&zs_);
    ready_ = false;
}

bool ShareableDeflater::begin(int level) {
    if (level < 0 || level > 9) return false;
    if (ready_ && level_ == level && deflateReset(&zs_) == Z_OK) return true;
    drop();
    zs_ = z_stream{};
    // Negative window bits: raw deflate. Each viewer's stream has exactly one zlib header,
    // written by rect_framing, and never ends, so a body carries neither header nor checksum.
    if (deflateInit2(&zs_, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) return false;
    ready_ = true;
    level_ = level;
    return true;
}

bool ShareableDeflater::run(std::span<const uint8_t> data, int flush, std::vector<uint8_t>& out) {
    if (!ready_ || data.size() > std::numeric_limits<uInt>::max()) return false;
    zs_.next_in = const_cast<Bytef*>(data.data());
    zs_.avail_in = static_cast<uInt>(data.size());
    do {
        zs_.next_out = buf_.data();
        zs_.avail_out = static_cast<uInt>(buf_.size());
        const int rc = deflate(&zs_, flush);
        out.insert(out.end(), buf_.data(), buf_.data() + (buf_.size() - zs_.avail_out));
        if (rc != Z_OK && rc != Z_BUF_ERROR) return false;
    } while (zs_.avail_out == 0);
    return zs_.avail_in == 0;
}

bool ShareableDeflater::add(std::span<const uint8_t> data, std::vector<uint8_t>& out) {
    if (run(data, Z_NO_FLUSH, out)) return true;
    drop();
    return false;
}

bool ShareableDeflater::finish(std::vector<uint8_t>& out) {
    if (run({}, Z_FULL_FLUSH, out)) return true;
    drop();
    return false;
}

}  // namespace rfb
