#include "codec/inflate_stream.h"

#include <isa-l/igzip_lib.h>
#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <new>

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

// ---- BulkInflateStream (ISA-L) ---------------------------------------------------------------

namespace {

const char* describe(int ret) {
    switch (ret) {
        case ISAL_INVALID_BLOCK:
            return "invalid block";
        case ISAL_INVALID_SYMBOL:
            return "invalid code";
        case ISAL_INVALID_LOOKBACK:
            return "invalid distance too far back";
        default:
            return "unknown error";
    }
}

// Raw deflate with the full 32 KiB window; the zlib wrapper is handled by BulkInflateStream.
void raw_deflate(inflate_state* s) {
    s->crc_flag = ISAL_DEFLATE;
    s->hist_bits = 0;
    s->next_in = nullptr;
    s->avail_in = 0;
}

}  // namespace

void BulkInflateStream::StateDeleter::operator()(inflate_state* s) const {
    delete s;
}

BulkInflateStream::BulkInflateStream() = default;
BulkInflateStream::~BulkInflateStream() = default;

void BulkInflateStream::reset() {
    if (s_) {
        isal_inflate_reset(s_.get());
        raw_deflate(s_.get());
    }
    header_have_ = 0;
    trailer_left_ = 0;
    buffered_ = 0;
    ended_ = false;
    broken_ = false;
}

void BulkInflateStream::abandon() {
    if (s_) {
        s_->next_in = nullptr;
        s_->avail_in = 0;
    }
    broken_ = true;
}

bool BulkInflateStream::fail(std::string& error, std::string why) {
    abandon();
    error = std::move(why);
    return false;
}

bool BulkInflateStream::ensure_ready(std::string& error) {
    if (s_) return true;
    s_.reset(new (std::nothrow) inflate_state);
    if (!s_) return fail(error, "cannot initialise zlib");
    isal_inflate_init(s_.get());
    raw_deflate(s_.get());
    return true;
}

bool BulkInflateStream::begin(std::span<const uint8_t> input, std::string& error) {
    if (broken_) return fail(error, "zlib stream broken by an earlier rectangle");
    if (!ensure_ready(error)) return false;
    // igzip counts input in uint32_t; decoders cap rectangle payloads far below 4 GiB.
    if (input.size() > UINT32_MAX) return fail(error, "zlib data too large");
    s_->next_in = const_cast<uint8_t*>(input.data());
    s_->avail_in = static_cast<uint32_t>(input.size());
    return true;
}

// The two-byte zlib header (RFC 1950) starts every stream, and may itself arrive split across
// rectangles. Checked as zlib's inflate checks it.
bool BulkInflateStream::read_header(std::string& error) {
    if (header_have_ == 3) return true;
    while (header_have_ < 2 && s_->avail_in > 0) {
        header_[header_have_++] = *s_->next_in++;
        --s_->avail_in;
    }
    if (header_have_ < 2) return true;
    const unsigned cmf = header_[0], flg = header_[1];
    if (((cmf << 8) | flg) % 31 != 0)
        return fail(error, "zlib data is corrupt (incorrect header check)");
    if ((cmf & 0x0f) != 8) return fail(error, "zlib data is corrupt (unknown compression method)");
    if ((cmf >> 4) > 7) return fail(error, "zlib data is corrupt (invalid window size)");
    if (flg & 0x20) return fail(error, "zlib data is corrupt (needs a preset dictionary)");
    header_have_ = 3;
    return true;
}

// The last deflate block ended. igzip reads input up to eight bytes ahead, so whole bytes past
// the block may sit in its bit buffer: they count as input still to consume (the Adler-32
// trailer, which zlib would consume too, then anything else, which finish() refuses).
void BulkInflateStream::stream_ended() {
    ended_ = true;
    buffered_ = static_cast<uint8_t>(std::clamp(s_->read_in_length / 8, 0, 8));
    s_->read_in = 0;
    s_->read_in_length = 0;
    trailer_left_ = 4;
    skip_trailer();
}

void BulkInflateStream::skip_trailer() {
    const uint8_t from_buffer = std::min(trailer_left_, buffered_);
    buffered_ = static_cast<uint8_t>(buffered_ - from_buffer);
    trailer_left_ = static_cast<uint8_t>(trailer_left_ - from_buffer);
    const uint32_t from_input = std::min<uint32_t>(trailer_left_, s_->avail_in);
    s_->next_in += from_input;
    s_->avail_in -= from_input;
    trailer_left_ = static_cast<uint8_t>(trailer_left_ - from_input);
}

bool BulkInflateStream::read_some(std::span<uint8_t> out, size_t& produced, std::string& error) {
    produced = 0;
    if (!s_ || broken_) return fail(error, "zlib stream not started");
    if (!read_header(error)) return false;
    inflate_state& s = *s_;
    while (produced < out.size() && !ended_ && header_have_ == 3) {
        const size_t want = std::min<size_t>(out.size() - produced, UINT32_MAX);
        s.next_out = out.data() + produced;
        s.avail_out = static_cast<uint32_t>(want);
        const uint32_t in_before = s.avail_in;
        const int ret = isal_inflate(&s);
        const size_t got = want - s.avail_out;
        produced += got;
        s.next_out = nullptr;
        s.avail_out = 0;
        if (ret != ISAL_DECOMP_OK && ret != ISAL_END_INPUT && ret != ISAL_OUT_OVERFLOW)
            return fail(error, std::string("zlib data is corrupt (") + describe(ret) + ")");
        if (s.block_state == ISAL_BLOCK_FINISH) {
            stream_ended();
            break;
        }
        if (got == 0 && s.avail_in == in_before) break;  // no progress possible: input used up
    }
    return true;
}

bool BulkInflateStream::read_exact(std::span<uint8_t> out, std::string& error) {
    size_t produced = 0;
    if (!read_some(out, produced, error)) return false;
    if (produced < out.size())
        return fail(error, ended_ ? "zlib stream ended before the rectangle did"
                                  : "zlib data ends before the rectangle does");
    return true;
}

bool BulkInflateStream::finish(std::string& error) {
    if (!s_ || broken_) return fail(error, "zlib stream not started");
    // igzip may hold output decoded from input it has already taken, even with no input left:
    // ask at least once.
    while (!ended_) {
        const uint32_t in_before = s_->avail_in;
        uint8_t probe[64];
        size_t produced = 0;
        if (!read_some(probe, produced, error)) return false;
        if (produced > 0) return fail(error, "zlib data inflates to more than the rectangle needs");
        if (s_->avail_in == 0 || s_->avail_in == in_before) break;
    }
    if (ended_) skip_trailer();
    if (s_->avail_in > 0 || buffered_ > 0)
        return fail(error, "bytes left after the end of the zlib stream");
    s_->next_in = nullptr;
    return true;
}

}  // namespace rfb
