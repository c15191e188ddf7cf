#include "codec/inflate_stream.h"

#include <zlib.h>

#include <algorithm>
#include <cstdint>

namespace rfb {

InflateStream::InflateStream() : z_(std::make_unique<z_stream_s>()) {}

InflateStream::~InflateStream() {
    if (ready_) inflateEnd(z_.get());
}

// RFB's zlib streams never end, so zlib would compute the Adler-32 of every byte inflated (a
// third of the time spent inflating) for a trailer that never comes. Skip it. A stream that does
// end (Z_STREAM_END) is then not checked either; its output is bounded by the rectangle anyway.
static void skip_checksum(z_stream_s* z) {
    inflateValidate(z, 0);
}

void InflateStream::reset() {
    if (ready_) {
        inflateReset(z_.get());
        skip_checksum(z_.get());
    }
    z_->next_in = nullptr;
    z_->avail_in = 0;
    ended_ = false;
    broken_ = false;
}

void InflateStream::abandon() {
    z_->next_in = nullptr;
    z_->avail_in = 0;
    broken_ = true;
}

bool InflateStream::fail(std::string& error, std::string why) {
    abandon();
    error = std::move(why);
    return false;
}

bool InflateStream::ensure_ready(std::string& error) {
    if (ready_) return true;
    *z_ = z_stream_s{};
    if (inflateInit(z_.get()) != Z_OK) return fail(error, "cannot initialise zlib");
    skip_checksum(z_.get());
    ready_ = true;
    return true;
}

bool InflateStream::begin(std::span<const uint8_t> input, std::string& error) {
    if (broken_) return fail(error, "zlib stream broken by an earlier rectangle");
    if (!ensure_ready(error)) return false;
    // zlib counts input in uInt; decoders cap rectangle payloads far below 4 GiB.
    if (input.size() > UINT32_MAX) return fail(error, "zlib data too large");
    z_->next_in = const_cast<Bytef*>(input.data());
    z_->avail_in = static_cast<uInt>(input.size());
    return true;
}

bool InflateStream::read_some(std::span<uint8_t> out, size_t& produced, std::string& error) {
    produced = 0;
    if (!ready_ || broken_) return fail(error, "zlib stream not started");
    while (produced < out.size() && !ended_) {
        const size_t want = std::min<size_t>(out.size() - produced, UINT32_MAX);
        z_->next_out = out.data() + produced;
        z_->avail_out = static_cast<uInt>(want);
        const uInt in_before = z_->avail_in;
        const int ret = inflate(z_.get(), Z_SYNC_FLUSH);
        const size_t got = want - z_->avail_out;
        produced += got;
        z_->next_out = nullptr;
        z_->avail_out = 0;
        if (ret == Z_STREAM_END) {
            ended_ = true;
            break;
        }
        if (ret == Z_BUF_ERROR) break;  // no progress possible: the input is used up
        if (ret != Z_OK)
            return fail(error, std::string("zlib data is corrupt (") +
                                   (z_->msg ? z_->msg : "unknown error") + ")");
        if (got == 0 && z_->avail_in == in_before) break;
    }
    return true;
}

bool InflateStream::read_exact(std::span<uint8_t> out, std::string& error) {
    size_t produced = 0;
    if (!read_some(out, produced, error)) return false;
    if (produced < out.size())
        return fail(error, ended_ ? "zlib stream ended before the rectangle did"
                                  : "zlib data ends before the rectangle does");
    return true;
}

bool InflateStream::finish(std::string& error) {
    uint8_t probe[64];
    while (z_->avail_in > 0 && !ended_) {
        const uInt in_before = z_->avail_in;
        size_t produced = 0;
        if (!read_some(probe, produced, error)) return false;
        if (produced > 0) return fail(error, "zlib data inflates to more than the rectangle needs");
        if (z_->avail_in == in_before) break;
    }
    if (z_->avail_in > 0) return fail(error, "bytes left after the end of the zlib stream");
    z_->next_in = nullptr;
    return true;
}

}  // namespace rfb
