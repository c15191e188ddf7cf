#pragma once
// Helpers shared by the decoder tests: byte builders for hand-written bodies, a server-like
// persistent deflate stream, and a feeder that plays the caller (ServerMessageReader) with any
// chunking of the input.
#include <gtest/gtest.h>
#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "codec/decoder.h"
#include "codec/framebuffer.h"
#include "codec/pixel_converter.h"
#include "codec/pixel_format.h"

namespace rfb::test {

// Big-endian protocol fields and little-endian wire pixels, appended in order.
struct Bytes {
    std::vector<uint8_t> v;

    Bytes& u8(uint32_t x) {
        v.push_back(static_cast<uint8_t>(x));
        return *this;
    }
    Bytes& u16(uint32_t x) { return u8(x >> 8).u8(x); }
    Bytes& u32(uint32_t x) { return u16(x >> 16).u16(x); }
    // A canonical-format (32 bpp little-endian 0x00RRGGBB) wire pixel.
    Bytes& px32(uint32_t rgb) { return u8(rgb).u8(rgb >> 8).u8(rgb >> 16).u8(0); }
    // An RGB565 little-endian wire pixel (the raw 16-bit value).
    Bytes& px16(uint32_t v565) { return u8(v565).u8(v565 >> 8); }
    Bytes& raw(std::span<const uint8_t> b) {
        v.insert(v.end(), b.begin(), b.end());
        return *this;
    }
    Bytes& repeat(uint8_t b, size_t n) {
        v.insert(v.end(), n, b);
        return *this;
    }
    size_t size() const { return v.size(); }
};

// A server's zlib stream: one deflate state for the whole connection, each rectangle's payload
// ending with a sync flush, exactly as TigerVNC and libvncserver produce them.
class Deflater {
  public:
    explicit Deflater(int level = 6) { deflateInit(&z_, level); }
    ~Deflater() { deflateEnd(&z_); }
    Deflater(const Deflater&) = delete;
    Deflater& operator=(const Deflater&) = delete;

    std::vector<uint8_t> compress(std::span<const uint8_t> in, int flush = Z_SYNC_FLUSH) {
        std::vector<uint8_t> out(deflateBound(&z_, in.size()) + 64);
        z_.next_in = const_cast<Bytef*>(in.data());
        z_.avail_in = static_cast<uInt>(in.size());
        z_.next_out = out.data();
        z_.avail_out = static_cast<uInt>(out.size());
        const int ret = deflate(&z_, flush);
        EXPECT_TRUE(ret == Z_OK || ret == Z_STREAM_END);
        EXPECT_EQ(z_.avail_in, 0u);
        out.resize(out.size() - z_.avail_out);
        return out;
    }

  private:
    z_stream z_{};
};

// u32 length + payload, as Zlib and ZRLE frame their compressed data.
inline std::vector<uint8_t> length_prefixed(const std::vector<uint8_t>& payload) {
    // Sized up front: GCC 12 warns falsely about insert() after push_back() here.
    std::vector<uint8_t> out(4 + payload.size());
    const size_t n = payload.size();
    for (int i = 0; i < 4; ++i)
        out[i] = static_cast<uint8_t>(n >> (24 - 8 * i));
    std::copy(payload.begin(), payload.end(), out.begin() + 4);
    return out;
}

struct Outcome {
    DecodeStatus status = DecodeStatus::kNeedMore;
    size_t consumed = 0;  // total over all calls
    std::string error;
    int progress_calls = 0;
};

// Plays the caller: bytes arrive in chunks ending at `cuts` (ascending positions in `body`, then
// the end); the decoder is called after each arrival with everything received and not yet
// consumed, until it asks for more. Checks the DecodeResult contract on the way.
inline Outcome feed(RectDecoder& d, const Rect& r, std::span<const uint8_t> body,
                    std::vector<size_t> cuts, DecodeTarget& t) {
    cuts.push_back(body.size());
    Outcome o;
    size_t received = 0;
    for (size_t cut : cuts) {
        received = std::max(received, std::min(cut, body.size()));
        for (;;) {
            const auto pending = body.subspan(o.consumed, received - o.consumed);
            DecodeResult res = d.decode(r, pending, t);
            EXPECT_LE(res.consumed, pending.size());
            o.status = res.status;
            if (res.status == DecodeStatus::kNeedMore) {
                EXPECT_EQ(res.consumed, 0u);
                break;
            }
            if (res.status == DecodeStatus::kError) {
                o.error = res.error;
                EXPECT_FALSE(o.error.empty());
                return o;
            }
            o.consumed += res.consumed;
            if (res.status == DecodeStatus::kDone) return o;
            EXPECT_GT(res.consumed, 0u) << "kProgress must consume something";
            ++o.progress_calls;
        }
    }
    return o;
}

inline Outcome feed_whole(RectDecoder& d, const Rect& r, std::span<const uint8_t> body,
                          DecodeTarget& t) {
    return feed(d, r, body, {}, t);
}

// Every position 1..n-1 as a cut: the body arrives one byte at a time.
inline std::vector<size_t> every_byte(size_t n) {
    std::vector<size_t> cuts;
    for (size_t i = 1; i < n; ++i)
        cuts.push_back(i);
    return cuts;
}

inline Framebuffer filled_fb(uint32_t w, uint32_t h, uint32_t pixel) {
    Framebuffer fb(w, h);
    fb.fill(fb.bounds(), pixel);
    return fb;
}

inline std::vector<uint32_t> pixels_of(const Framebuffer& fb) {
    return {fb.pixels().begin(), fb.pixels().end()};
}

// The pixels of `r` in `fb`, row by row.
inline std::vector<uint32_t> rect_pixels(const Framebuffer& fb, const Rect& r) {
    std::vector<uint32_t> out(r.area());
    fb.get(r, out.data());
    return out;
}

// True when every pixel outside `r` still has the value `pixel`.
inline bool outside_untouched(const Framebuffer& fb, const Rect& r, uint32_t pixel) {
    for (uint32_t y = 0; y < fb.height(); ++y)
        for (uint32_t x = 0; x < fb.width(); ++x) {
            const bool inside = x >= r.x && x < r.right() && y >= r.y && y < r.bottom();
            if (!inside && fb.at(x, y) != pixel) return false;
        }
    return true;
}

inline constexpr uint32_t kSentinel = 0x123456;

// One rectangle body and how to get a decoder ready for it (fresh, or after earlier rectangles of
// the same zlib stream).
struct DecodeCase {
    std::function<std::unique_ptr<RectDecoder>()> make;
    PixelFormat pf = PixelFormat::canonical();
    uint32_t fb_w = 0, fb_h = 0;
    Rect r;
    std::vector<uint8_t> body;
    bool streaming = false;  // may write whole rows (and report kProgress) before the body ends
};

// Decodes the case with the given chunking into a framebuffer full of kSentinel. Four junk bytes
// follow the body: a decoder must not consume past its rectangle.
inline Outcome run_case(const DecodeCase& c, std::vector<size_t> cuts, Framebuffer& fb) {
    fb = filled_fb(c.fb_w, c.fb_h, kSentinel);
    PixelReader px(c.pf);
    DecodeTarget t{fb, px};
    auto d = c.make();
    std::vector<uint8_t> data = c.body;
    data.insert(data.end(), {0xde, 0xad, 0xbe, 0xef});
    cuts.push_back(c.body.size());  // the junk arrives separately, after the body
    return feed(*d, c.r, data, cuts, t);
}

// The case decodes to `expected` (the whole framebuffer) whole, one byte at a time, and cut at
// every single position; and nothing outside the rectangle changes.
inline void expect_decodes_to(const DecodeCase& c, const std::vector<uint32_t>& expected) {
    const size_t n = c.body.size();
    Framebuffer fb;
    std::vector<std::vector<size_t>> plans = {{}, every_byte(n)};
    for (size_t k = 1; k < n; ++k)
        plans.push_back({k});
    for (const auto& cuts : plans) {
        SCOPED_TRACE(cuts.size() == 1 ? "cut at " + std::to_string(cuts[0])
                                      : "cuts: " + std::to_string(cuts.size()));
        const Outcome o = run_case(c, cuts, fb);
        ASSERT_EQ(o.status, DecodeStatus::kDone) << o.error;
        ASSERT_EQ(o.consumed, n);
        ASSERT_EQ(pixels_of(fb), expected);
    }
}

// Every strict prefix of the body waits for more. Non-streaming decoders leave the framebuffer
// untouched; streaming ones may only have drawn inside the rectangle.
inline void expect_truncations_wait(const DecodeCase& c) {
    for (size_t k = 0; k < c.body.size(); ++k) {
        SCOPED_TRACE("prefix " + std::to_string(k));
        Framebuffer fb = filled_fb(c.fb_w, c.fb_h, kSentinel);
        PixelReader px(c.pf);
        DecodeTarget t{fb, px};
        auto d = c.make();
        const Outcome o = feed(*d, c.r, std::span(c.body).first(k), {}, t);
        ASSERT_EQ(o.status, DecodeStatus::kNeedMore) << o.error;
        if (c.streaming) {
            ASSERT_TRUE(outside_untouched(fb, c.r, kSentinel));
        } else {
            ASSERT_EQ(o.consumed, 0u);
            ASSERT_EQ(pixels_of(fb), pixels_of(filled_fb(c.fb_w, c.fb_h, kSentinel)));
        }
    }
}

// The body is rejected with an error mentioning `why`, whole and at every cut (a prefix may only
// wait for more), and pixels outside the rectangle never change.
inline void expect_rejected(const DecodeCase& c, const std::string& why) {
    Framebuffer fb;
    const Outcome whole = run_case(c, {}, fb);
    ASSERT_EQ(whole.status, DecodeStatus::kError);
    EXPECT_NE(whole.error.find(why), std::string::npos) << whole.error;
    EXPECT_TRUE(outside_untouched(fb, c.r, kSentinel));
    for (size_t k = 1; k < c.body.size(); ++k) {
        SCOPED_TRACE("cut at " + std::to_string(k));
        const Outcome o = run_case(c, {k}, fb);
        ASSERT_EQ(o.status, DecodeStatus::kError);
        ASSERT_EQ(o.error, whole.error);
        ASSERT_TRUE(outside_untouched(fb, c.r, kSentinel));
    }
}

// The expected framebuffer: kSentinel everywhere except `r`, which holds `inside` row by row.
inline std::vector<uint32_t> expected_fb(uint32_t fb_w, uint32_t fb_h, const Rect& r,
                                         const std::vector<uint32_t>& inside) {
    Framebuffer fb = filled_fb(fb_w, fb_h, kSentinel);
    EXPECT_EQ(inside.size(), r.area());
    if (inside.size() == r.area()) fb.put(r, inside.data(), r.w);
    return pixels_of(fb);
}

}  // namespace rfb::test
