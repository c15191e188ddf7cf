#pragma once
// Viewer-side helpers for the Zlib, RRE, Zstd and ZSTDRLE encoder tests: frame shared bodies the
// way a viewer connection does (rect_framing.h), decode them with the project's decoders, and
// emulate how UltraVNC's viewer feeds zstd data to its one ZSTD_DStream per connection.
#include <gtest/gtest.h>
#include <zlib.h>
#include <zstd.h>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "codec/byte_writer.h"
#include "codec/decoder.h"
#include "codec/framebuffer.h"
#include "codec/pixel_converter.h"
#include "codec/rect_framing.h"

namespace rfb::test {

using ByteVec = std::vector<uint8_t>;

// One viewer connection: its stream state and one decoder, so per-connection zlib/zstd streams
// carry over from rectangle to rectangle exactly as they would in a real viewer.
class ViewerConnectionSim {
  public:
    ViewerConnectionSim(int32_t encoding, const PixelFormat& pf, uint32_t w, uint32_t h)
        : encoding_(encoding), reader_(pf), view_(w, h), dec_(make_decoder(encoding)) {}

    // Frames `body` for rectangle `r` and decodes it; the whole framed body must be consumed.
    ::testing::AssertionResult receive(const Rect& r, const ByteVec& body) {
        if (!dec_) return ::testing::AssertionFailure() << "no decoder";
        ByteVec msg;
        ByteWriter w(msg);
        if (!write_rect_prefix(w, r, encoding_, body.size(), state_))
            return ::testing::AssertionFailure() << "framing refused";
        w.bytes(body);
        last_framed_ = ByteVec(msg.begin() + kRectHeaderSize, msg.end());
        DecodeTarget t{view_, reader_};
        const DecodeResult res = dec_->decode(r, last_framed_, t);
        if (res.status != DecodeStatus::kDone)
            return ::testing::AssertionFailure()
                   << "decode status " << int(res.status) << " " << res.error;
        if (res.consumed != last_framed_.size())
            return ::testing::AssertionFailure()
                   << "consumed " << res.consumed << " of " << last_framed_.size();
        return ::testing::AssertionSuccess();
    }

    const Framebuffer& view() const { return view_; }
    const ByteVec& last_framed() const { return last_framed_; }

  private:
    int32_t encoding_;
    PixelReader reader_;
    Framebuffer view_;
    std::unique_ptr<RectDecoder> dec_;
    ViewerStreamState state_;
    ByteVec last_framed_;
};

// The pixels a viewer in `pf` must show for `r` of `fb`: each canonical pixel narrowed to the
// viewer's format and widened back, which is what any lossless encoding must deliver.
inline ::testing::AssertionResult shows(const Framebuffer& view, const Framebuffer& fb,
                                        const Rect& r, const PixelFormat& pf) {
    const PixelWriter px(pf);
    const PixelReader reader(pf);
    for (uint32_t y = r.y; y < r.bottom(); ++y)
        for (uint32_t x = r.x; x < r.right(); ++x)
            if (view.at(x, y) != reader.unpack(px.pack(fb.at(x, y))))
                return ::testing::AssertionFailure()
                       << "pixel " << x << "," << y << " is " << std::hex << view.at(x, y)
                       << " not " << reader.unpack(px.pack(fb.at(x, y)));
    return ::testing::AssertionSuccess();
}

// The wire pixels of `r` in `pf`, row by row: what Raw, Zlib and Zstd carry once decompressed.
inline ByteVec wire_pixels(const Framebuffer& fb, const Rect& r, const PixelFormat& pf) {
    const PixelWriter px(pf);
    ByteVec out(size_t{r.w} * r.h * px.bytes_per_pixel());
    for (uint32_t y = 0; y < r.h; ++y)
        px.write_row(fb.row(r.y + y) + r.x, r.w,
                     out.data() + size_t{y} * r.w * px.bytes_per_pixel());
    return out;
}

// UltraVNC's viewer for Zstd (25), ClientConnection::ReadZlibRect(zstd = true) through
// UltraVncZ::decompressZstd: ONE ZSTD_decompressStream call per rectangle, with all of the
// rectangle's compressed bytes and an output buffer of exactly the raw size, on one DStream for
// the whole connection. Returns what that call produced.
class UltraVncZstdRectViewer {
  public:
    UltraVncZstdRectViewer() : ds_(ZSTD_createDStream()) { ZSTD_initDStream(ds_); }
    ~UltraVncZstdRectViewer() { ZSTD_freeDStream(ds_); }
    UltraVncZstdRectViewer(const UltraVncZstdRectViewer&) = delete;
    UltraVncZstdRectViewer& operator=(const UltraVncZstdRectViewer&) = delete;

    bool read_rect(std::span<const uint8_t> compressed, size_t raw_size, ByteVec& out) {
        out.assign(raw_size + 256, 0);  // the viewer's buffer has 256 spare bytes
        ZSTD_inBuffer in{compressed.data(), compressed.size(), 0};
        ZSTD_outBuffer ob{out.data(), raw_size, 0};
        const size_t rc = ZSTD_decompressStream(ds_, &ob, &in);
        out.resize(ob.pos);
        consumed_all_ = in.pos == in.size;
        return !ZSTD_isError(rc);
    }
    bool consumed_all() const { return consumed_all_; }

  private:
    ZSTD_DStream* ds_;
    bool consumed_all_ = false;
};

// UltraVNC's viewer for ZSTDRLE (28): rdr::ZstdInStream over one DStream per connection.
// setUnderlying(length) lends the rectangle's bytes; the tile reader pulls output through
// decompress() (one ZSTD_decompressStream call into what is left of a 128 KiB buffer, input
// capped at the bytes still owed); reset() at the end calls decompress() until the rectangle's
// bytes are used up, throwing the output away. Returns the tile data the reader would have seen
// when it asks for exactly `needed` bytes, and what reset() discarded.
class UltraVncZstdInStream {
  public:
    UltraVncZstdInStream() : ds_(ZSTD_createDStream()) { ZSTD_initDStream(ds_); }
    ~UltraVncZstdInStream() { ZSTD_freeDStream(ds_); }
    UltraVncZstdInStream(const UltraVncZstdInStream&) = delete;
    UltraVncZstdInStream& operator=(const UltraVncZstdInStream&) = delete;

    bool read_rect(std::span<const uint8_t> compressed, size_t needed, ByteVec& tiles,
                   size_t& discarded) {
        tiles.clear();
        discarded = 0;
        size_t pos = 0;
        ByteVec buf(std::max(ZSTD_DStreamOutSize(), ZSTD_DStreamInSize()));
        int idle = 0;
        // The tile reader: decompress until it has what it needs (the real one throws when the
        // underlying stream runs dry, so give up after a few fruitless calls).
        while (tiles.size() < needed) {
            size_t got = 0;
            if (!call(compressed, pos, buf, got)) return false;
            tiles.insert(tiles.end(), buf.begin(), buf.begin() + got);
            idle = got ? 0 : idle + 1;
            if (idle > 16) return false;
        }
        if (tiles.size() > needed) {
            discarded = tiles.size() - needed;
            tiles.resize(needed);
        }
        // reset(): drain the rest of the rectangle's bytes.
        idle = 0;
        while (pos < compressed.size()) {
            size_t got = 0;
            const size_t before = pos;
            if (!call(compressed, pos, buf, got)) return false;
            discarded += got;
            idle = pos != before || got ? 0 : idle + 1;
            if (idle > 16) return false;
        }
        return true;
    }

  private:
    bool call(std::span<const uint8_t> compressed, size_t& pos, ByteVec& buf, size_t& got) {
        ZSTD_inBuffer in{compressed.data() + pos, compressed.size() - pos, 0};
        ZSTD_outBuffer ob{buf.data(), buf.size(), 0};
        const size_t rc = ZSTD_decompressStream(ds_, &ob, &in);
        if (ZSTD_isError(rc)) return false;
        pos += in.pos;
        got = ob.pos;
        return true;
    }

    ZSTD_DStream* ds_;
};

// A viewer's zlib stream as libvncclient and UltraVNC run it: one inflate for the connection,
// each rectangle's bytes inflated with Z_SYNC_FLUSH. The zlib header arrives inside the first
// rectangle's bytes.
class ZlibViewerStream {
  public:
    ZlibViewerStream() { ok_ = inflateInit(&zs_) == Z_OK; }
    ~ZlibViewerStream() { inflateEnd(&zs_); }
    ZlibViewerStream(const ZlibViewerStream&) = delete;
    ZlibViewerStream& operator=(const ZlibViewerStream&) = delete;

    bool inflate_rect(std::span<const uint8_t> data, ByteVec& out) {
        if (!ok_) return false;
        out.clear();
        zs_.next_in = const_cast<Bytef*>(data.data());
        zs_.avail_in = static_cast<uInt>(data.size());
        uint8_t buf[4096];
        while (true) {
            zs_.next_out = buf;
            zs_.avail_out = sizeof buf;
            const int rc = inflate(&zs_, Z_SYNC_FLUSH);
            out.insert(out.end(), buf, buf + (sizeof buf - zs_.avail_out));
            if (rc == Z_BUF_ERROR && zs_.avail_in == 0) return true;
            if (rc != Z_OK) return false;
            if (zs_.avail_in == 0 && zs_.avail_out != 0) return true;
        }
    }

  private:
    z_stream zs_{};
    bool ok_ = false;
};

}  // namespace rfb::test
