#include "codec/pixel_converter.h"

#include <bit>
#include <cstring>

#if defined(__x86_64__) || defined(__i386__)
#include <tmmintrin.h>
#endif
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace rfb {

namespace {

constexpr bool kHostBig = std::endian::native == std::endian::big;

int channel_bits(uint16_t max) {
    return std::popcount(max);
}

// 8-bit channel value -> value with `bits` bits, rounded to nearest. This is Xvnc's own
// conversion (checked against Xvnc 1.12 grabs pixel for pixel), so a 16 bpp viewer sees the same
// values through rfbcast as it would connected directly.
uint32_t narrow(uint32_t v8, int bits) {
    const uint32_t max = (1u << bits) - 1;
    return (v8 * max + 128) / 255;
}

// `bits`-bit channel value -> 8 bits by bit replication (0 -> 0, max -> 255).
uint8_t widen_small(uint32_t v, int bits) {
    if (bits == 0) return 0;  // colour-map formats often carry zero maxes: nothing to widen
    if (bits >= 8) return static_cast<uint8_t>(v >> (bits - 8));
    uint32_t out = 0;
    int filled = 0;
    while (filled < 8) {
        out = (out << bits) | v;
        filled += bits;
    }
    return static_cast<uint8_t>(out >> (filled - 8));
}

uint32_t host32(const uint8_t* p) {
    uint32_t v;
    std::memcpy(&v, p, 4);
    return v;
}

bool channels_are_bytes(const PixelFormat& pf) {
    return pf.red_max == 255 && pf.green_max == 255 && pf.blue_max == 255;
}

// For 32 bpp formats with 8-bit channels. When the byte order is not the host's but every
// channel sits on a byte boundary, the swap is folded into the shifts (byte k of the swapped
// value is byte 3 - k of the loaded one), so only odd layouts pay for a swap.
template <typename PathT>
void choose_shift32(const PixelFormat& pf, PathT& path, uint8_t& rs, uint8_t& gs, uint8_t& bs) {
    rs = pf.red_shift;
    gs = pf.green_shift;
    bs = pf.blue_shift;
    if (pf.big_endian == kHostBig) {
        path = PathT::kShift32;
    } else if (rs % 8 == 0 && gs % 8 == 0 && bs % 8 == 0) {
        path = PathT::kShift32;
        rs = static_cast<uint8_t>(24 - rs);
        gs = static_cast<uint8_t>(24 - gs);
        bs = static_cast<uint8_t>(24 - bs);
    } else {
        path = PathT::kShift32Swapped;
    }
}

// The loops below run without per-pixel branches or calls. At -O2 (the build's level) GCC 12
// vectorises only loops it can prove need no remainder or alias checks, which rows are not, so
// the 32 bpp shift paths spell out four pixels at a time with vector extensions (SSE2 on x86-64,
// NEON on arm64); the table paths are scalar gathers either way.
using U32x4 = uint32_t __attribute__((vector_size(16)));

U32x4 load4(const uint8_t* p) {
    U32x4 v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

void store4(uint8_t* p, U32x4 v) {
    std::memcpy(p, &v, sizeof v);
}

template <typename V>
V bswap32(V v) {
    return (v >> 24) | ((v >> 8) & 0xff00u) | ((v << 8) & 0xff0000u) | (v << 24);
}

// 32 bpp wire pixels with 8-bit channels -> canonical.
template <bool kSwap, typename V>
V unpack_shift(V v, uint32_t rs, uint32_t gs, uint32_t bs) {
    if constexpr (kSwap) v = bswap32(v);
    return ((v >> rs) & 0xffu) << 16 | ((v >> gs) & 0xffu) << 8 | ((v >> bs) & 0xffu);
}

// Canonical -> 32 bpp wire pixels with 8-bit channels.
template <bool kSwap, typename V>
V pack_shift(V c, uint32_t rs, uint32_t gs, uint32_t bs) {
    V v = ((c >> 16) & 0xffu) << rs | ((c >> 8) & 0xffu) << gs | (c & 0xffu) << bs;
    if constexpr (kSwap) v = bswap32(v);
    return v;
}

void read_identity(const uint8_t* src, size_t n, uint32_t* dst) {
    size_t i = 0;
    for (; i + 4 <= n; i += 4)
        store4(reinterpret_cast<uint8_t*>(dst + i), load4(src + i * 4) & 0x00ffffffu);
    for (; i < n; ++i)
        dst[i] = host32(src + i * 4) & 0x00ffffffu;
}

template <bool kSwap>
void read_shift32(const uint8_t* src, size_t n, uint32_t* dst, uint32_t rs, uint32_t gs,
                  uint32_t bs) {
    size_t i = 0;
    for (; i + 4 <= n; i += 4)
        store4(reinterpret_cast<uint8_t*>(dst + i),
               unpack_shift<kSwap>(load4(src + i * 4), rs, gs, bs));
    for (; i < n; ++i)
        dst[i] = unpack_shift<kSwap>(host32(src + i * 4), rs, gs, bs);
}

#if defined(__SSE2__)
// 16 bpp true colour with channels of 1 to 8 bits -> canonical, eight pixels at a time in 16-bit
// lanes. Each channel is shifted up to the top of its lane and masked; one high-half multiply
// then both moves it down and widens it by bit replication (see set_widen16).
struct Widen16 {
    __m128i shift[3], mask[3], mul[3];  // red, green, blue
};

template <bool kSwap>
void read_shift16_block(const uint8_t* src, uint32_t* dst, const Widen16& w) {
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src));
    if constexpr (kSwap) v = _mm_or_si128(_mm_slli_epi16(v, 8), _mm_srli_epi16(v, 8));
    const auto widen = [&](int c) {
        return _mm_mulhi_epu16(_mm_and_si128(_mm_sll_epi16(v, w.shift[c]), w.mask[c]), w.mul[c]);
    };
    const __m128i gb = _mm_or_si128(_mm_slli_epi16(widen(1), 8), widen(2));
    const __m128i r = widen(0);
    // Little-endian lanes: each pixel's green-blue half, then its red half, make 0x00RRGGBB.
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst), _mm_unpacklo_epi16(gb, r));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + 4), _mm_unpackhi_epi16(gb, r));
}

// Rows of eight pixels or more end with one block overlapping the previous one (the same values
// written twice) rather than a scalar tail; shorter rows go through the byte tables.
template <bool kSwap>
void read_shift16(const uint8_t* src, size_t n, uint32_t* dst, const Widen16& w) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        read_shift16_block<kSwap>(src + 2 * i, dst + i, w);
    if (i < n) read_shift16_block<kSwap>(src + 2 * (n - 8), dst + n - 8, w);
}
#endif

template <bool kSwap>
void write_shift32(const uint32_t* src, size_t n, uint8_t* dst, uint32_t rs, uint32_t gs,
                   uint32_t bs) {
    size_t i = 0;
    for (; i + 4 <= n; i += 4)
        store4(dst + i * 4,
               pack_shift<kSwap>(load4(reinterpret_cast<const uint8_t*>(src + i)), rs, gs, bs));
    for (; i < n; ++i) {
        const uint32_t v = pack_shift<kSwap>(src[i], rs, gs, bs);
        std::memcpy(dst + i * 4, &v, 4);
    }
}

}  // namespace

// ---- PixelWriter ---------------------------------------------------------------------------

PixelWriter::PixelWriter(const PixelFormat& pf) : pf_(pf), bpp_(pf.bytes_per_pixel()) {
    // A colour-map format has no channels of its own: its indices use the BGR233 layout.
    const bool colour_map = !pf.true_colour && pf.bits_per_pixel == 8;
    const PixelFormat layout = colour_map ? PixelFormat::bgr233() : pf;
    const int rb = channel_bits(layout.red_max), gb = channel_bits(layout.green_max),
              bb = channel_bits(layout.blue_max);
    // Shifts of 32 or more are undefined; only a format outside the spec has them.
    const auto place = [](uint32_t v, uint8_t shift) { return shift < 32 ? v << shift : 0u; };
    for (uint32_t v = 0; v < 256; ++v) {
        r_[v] = place(narrow(v, rb), layout.red_shift);
        g_[v] = place(narrow(v, gb), layout.green_shift);
        b_[v] = place(narrow(v, bb), layout.blue_shift);
    }

    if (pf.is_canonical()) {
        path_ = Path::kIdentity;
    } else if (!pf.valid(nullptr, /*allow_colour_map=*/true)) {
        path_ = Path::kGeneric;
    } else if (bpp_ == 4 && pf.true_colour && channels_are_bytes(pf)) {
        choose_shift32(pf, path_, rs_, gs_, bs_);
    } else if (bpp_ == 2) {
        path_ = Path::kTable16;
    } else if (bpp_ == 1) {
        path_ = Path::kTable8;
    } else {
        path_ = Path::kGeneric;
    }
}

void PixelWriter::store(uint32_t p, uint8_t* dst) const {
    switch (bpp_) {
        case 1:
            dst[0] = static_cast<uint8_t>(p);
            break;
        case 2:
            if (pf_.big_endian) {
                dst[0] = static_cast<uint8_t>(p >> 8);
                dst[1] = static_cast<uint8_t>(p);
            } else {
                dst[0] = static_cast<uint8_t>(p);
                dst[1] = static_cast<uint8_t>(p >> 8);
            }
            break;
        case 4:
            if (pf_.big_endian) {
                dst[0] = static_cast<uint8_t>(p >> 24);
                dst[1] = static_cast<uint8_t>(p >> 16);
                dst[2] = static_cast<uint8_t>(p >> 8);
                dst[3] = static_cast<uint8_t>(p);
            } else {
                dst[0] = static_cast<uint8_t>(p);
                dst[1] = static_cast<uint8_t>(p >> 8);
                dst[2] = static_cast<uint8_t>(p >> 16);
                dst[3] = static_cast<uint8_t>(p >> 24);
            }
            break;
        default:
            // Not a format the spec allows: write exactly the promised size, never more.
            std::memset(dst, 0, bpp_);
    }
}

void PixelWriter::write_row_reference(const uint32_t* src, size_t n, uint8_t* dst) const {
    for (size_t i = 0; i < n; ++i)
        store(pack(src[i]), dst + i * bpp_);
}

void PixelWriter::write_row(const uint32_t* src, size_t n, uint8_t* dst) const {
    switch (path_) {
        case Path::kIdentity:
            if (n != 0) std::memcpy(dst, src, n * 4);  // an empty row may come with null pointers
            return;
        case Path::kShift32:
            write_shift32<false>(src, n, dst, rs_, gs_, bs_);
            return;
        case Path::kShift32Swapped:
            write_shift32<true>(src, n, dst, rs_, gs_, bs_);
            return;
        case Path::kTable16:
            if (pf_.big_endian) {
                for (size_t i = 0; i < n; ++i) {
                    const uint32_t p = pack(src[i]);
                    dst[2 * i] = static_cast<uint8_t>(p >> 8);
                    dst[2 * i + 1] = static_cast<uint8_t>(p);
                }
            } else {
                for (size_t i = 0; i < n; ++i) {
                    const uint32_t p = pack(src[i]);
                    dst[2 * i] = static_cast<uint8_t>(p);
                    dst[2 * i + 1] = static_cast<uint8_t>(p >> 8);
                }
            }
            return;
        case Path::kTable8:
            for (size_t i = 0; i < n; ++i)
                dst[i] = static_cast<uint8_t>(pack(src[i]));
            return;
        case Path::kGeneric:
            write_row_reference(src, n, dst);
            return;
    }
}

// ---- PixelReader ---------------------------------------------------------------------------

PixelReader::PixelReader(const PixelFormat& pf)
    : pf_(pf), bpp_(pf.bytes_per_pixel()), valid_(pf.valid(nullptr, /*allow_colour_map=*/true)) {
    const int rb = channel_bits(pf.red_max), gb = channel_bits(pf.green_max),
              bb = channel_bits(pf.blue_max);
    for (uint32_t v = 0; v < 256; ++v) {
        r_[v] = widen_small(v & pf.red_max, rb);
        g_[v] = widen_small(v & pf.green_max, gb);
        b_[v] = widen_small(v & pf.blue_max, bb);
    }
    // Until the server sends a colour map, index i shows as grey level i.
    for (uint32_t i = 0; i < 256; ++i)
        map_[i] = (i << 16) | (i << 8) | i;

    const bool narrow_channels = pf.red_max <= 255 && pf.green_max <= 255 && pf.blue_max <= 255;
    if (pf.is_canonical()) {
        path_ = Path::kIdentity;
    } else if (!valid_) {
        path_ = Path::kGeneric;
    } else if (bpp_ == 1) {
        path_ = Path::kTable8;  // true colour, or the colour map (the only 8-bit choice)
    } else if (!narrow_channels) {
        path_ = Path::kGeneric;  // widening by division does not split by byte
    } else if (bpp_ == 2) {
        path_ = Path::kShift16;
        set_widen16();
    } else if (channels_are_bytes(pf)) {
        choose_shift32(pf, path_, rs_, gs_, bs_);
    } else {
        path_ = Path::kTable32;
    }
    build_byte_tables();
}

void PixelReader::set_widen16() {
    const uint16_t maxes[3] = {pf_.red_max, pf_.green_max, pf_.blue_max};
    const uint8_t shifts[3] = {pf_.red_shift, pf_.green_shift, pf_.blue_shift};
    for (int c = 0; c < 3; ++c) {
        // Valid formats only: max is 2^bits - 1 with 1 <= bits <= 8, shift + bits <= 16.
        // Bit replication of a bits-wide value v to 8 bits is (v * rep) >> (copies * bits - 8),
        // rep holding `copies` ones spaced `bits` apart. With v at the top of a 16-bit lane
        // (v << (16 - bits)), the high half of the product with rep << (8 - (copies - 1) * bits)
        // is exactly that; the multiplier stays below 2^10.
        const int bits = channel_bits(maxes[c]);
        const int copies = (8 + bits - 1) / bits;
        uint32_t rep = 0;
        for (int k = 0; k < copies; ++k)
            rep |= 1u << (k * bits);
        up16_[c] = static_cast<uint8_t>(16 - shifts[c] - bits);
        mask16_[c] = static_cast<uint16_t>(maxes[c] << (16 - bits));
        mul16_[c] = static_cast<uint16_t>(rep << (8 - (copies - 1) * bits));
    }
}

void PixelReader::build_byte_tables() {
    if (path_ != Path::kTable8 && path_ != Path::kShift16 && path_ != Path::kTable32) return;
    for (size_t pos = 0; pos < bpp_; ++pos)
        for (uint32_t v = 0; v < 256; ++v) {
            uint8_t bytes[4] = {0, 0, 0, 0};
            bytes[pos] = static_cast<uint8_t>(v);
            byte_lut_[pos][v] = unpack(load_raw(bytes));
        }
}

uint32_t PixelReader::load_raw(const uint8_t* s) const {
    switch (bpp_) {
        case 1:
            return s[0];
        case 2:
            return pf_.big_endian ? (uint32_t{s[0]} << 8) | s[1] : (uint32_t{s[1]} << 8) | s[0];
        case 4:
            return pf_.big_endian ? (uint32_t{s[0]} << 24) | (uint32_t{s[1]} << 16) |
                                        (uint32_t{s[2]} << 8) | s[3]
                                  : (uint32_t{s[3]} << 24) | (uint32_t{s[2]} << 16) |
                                        (uint32_t{s[1]} << 8) | s[0];
        default:
            return 0;  // not a format the spec allows: read nothing
    }
}

uint32_t PixelReader::widen(uint32_t v, uint16_t max, const std::array<uint8_t, 256>& lut) const {
    if (max <= 255) return lut[v];
    return (v * 255u + max / 2u) / max;
}

uint32_t PixelReader::unpack(uint32_t p) const {
    if (!pf_.true_colour) return map_[p & 0xff];
    // Shifts of 32 or more are undefined; only a format outside the spec has them.
    const auto field = [p](uint8_t shift, uint16_t max) {
        return shift < 32 ? (p >> shift) & max : 0u;
    };
    const uint32_t r = field(pf_.red_shift, pf_.red_max);
    const uint32_t g = field(pf_.green_shift, pf_.green_max);
    const uint32_t b = field(pf_.blue_shift, pf_.blue_max);
    return (widen(r, pf_.red_max, r_) << 16) | (widen(g, pf_.green_max, g_) << 8) |
           widen(b, pf_.blue_max, b_);
}

uint32_t PixelReader::load(const uint8_t* src) const {
    switch (path_) {
        case Path::kIdentity:
            return host32(src) & 0x00ffffffu;
        case Path::kTable8:
            return byte_lut_[0][src[0]];
        case Path::kShift16:
            return byte_lut_[0][src[0]] | byte_lut_[1][src[1]];
        case Path::kTable32:
            return byte_lut_[0][src[0]] | byte_lut_[1][src[1]] | byte_lut_[2][src[2]] |
                   byte_lut_[3][src[3]];
        default:
            return unpack(load_raw(src));
    }
}

void PixelReader::read_row_reference(const uint8_t* src, size_t n, uint32_t* dst) const {
    for (size_t i = 0; i < n; ++i)
        dst[i] = unpack(load_raw(src + i * bpp_));
}

void PixelReader::read_row(const uint8_t* src, size_t n, uint32_t* dst) const {
    read_rows(src, 0, n, 1, dst, 0);
}

void PixelReader::read_rows(const uint8_t* src, size_t src_stride, size_t n, size_t rows,
                            uint32_t* dst, size_t dst_stride) const {
    // One switch per call, each path's constants set up once for all its rows: decoders hand
    // over whole chunks of short rows.
    const auto each_row = [&](auto&& convert) {
        for (size_t y = 0; y < rows; ++y)
            convert(src + y * src_stride, dst + y * dst_stride);
    };
    switch (path_) {
        case Path::kIdentity:
            // The padding byte of a canonical pixel is not part of the colour: keep hashes
            // stable.
            each_row([n](const uint8_t* s, uint32_t* d) { read_identity(s, n, d); });
            return;
        case Path::kShift32:
            each_row([&](const uint8_t* s, uint32_t* d) {
                read_shift32<false>(s, n, d, rs_, gs_, bs_);
            });
            return;
        case Path::kShift32Swapped:
            each_row(
                [&](const uint8_t* s, uint32_t* d) { read_shift32<true>(s, n, d, rs_, gs_, bs_); });
            return;
        case Path::kTable8: {
            const auto& t0 = byte_lut_[0];
            each_row([&](const uint8_t* s, uint32_t* d) {
                for (size_t i = 0; i < n; ++i)
                    d[i] = t0[s[i]];
            });
            return;
        }
        case Path::kShift16: {
#if defined(__SSE2__)
            if (n >= 8) {
                Widen16 w;
                for (int c = 0; c < 3; ++c) {
                    w.shift[c] = _mm_cvtsi32_si128(up16_[c]);
                    w.mask[c] = _mm_set1_epi16(static_cast<short>(mask16_[c]));
                    w.mul[c] = _mm_set1_epi16(static_cast<short>(mul16_[c]));
                }
                if (pf_.big_endian == kHostBig)
                    each_row(
                        [&](const uint8_t* s, uint32_t* d) { read_shift16<false>(s, n, d, w); });
                else
                    each_row(
                        [&](const uint8_t* s, uint32_t* d) { read_shift16<true>(s, n, d, w); });
                return;
            }
#endif
            const auto &t0 = byte_lut_[0], &t1 = byte_lut_[1];
            each_row([&](const uint8_t* s, uint32_t* d) {
                for (size_t i = 0; i < n; ++i)
                    d[i] = t0[s[2 * i]] | t1[s[2 * i + 1]];
            });
            return;
        }
        case Path::kTable32: {
            const auto &t0 = byte_lut_[0], &t1 = byte_lut_[1], &t2 = byte_lut_[2],
                       &t3 = byte_lut_[3];
            each_row([&](const uint8_t* s, uint32_t* d) {
                for (size_t i = 0; i < n; ++i) {
                    const uint8_t* p = s + 4 * i;
                    d[i] = t0[p[0]] | t1[p[1]] | t2[p[2]] | t3[p[3]];
                }
            });
            return;
        }
        case Path::kGeneric:
            each_row([&](const uint8_t* s, uint32_t* d) { read_row_reference(s, n, d); });
            return;
    }
}

void PixelReader::set_colour(uint32_t index, uint16_t r, uint16_t g, uint16_t b) {
    if (index >= map_.size()) return;
    map_[index] = (uint32_t(r >> 8) << 16) | (uint32_t(g >> 8) << 8) | uint32_t(b >> 8);
    if (path_ == Path::kTable8 && !pf_.true_colour) byte_lut_[0][index] = map_[index];
}

// ---- Row helpers ---------------------------------------------------------------------------

namespace {

// A TPIXEL row of n >= 1 pixels, one at a time: load 4 bytes (R G B and the next pixel's R) and
// keep the top three in big-endian order; the last pixel has no fourth byte to borrow and is
// read byte by byte.
void rgb24_scalar(const uint8_t* src, size_t n, uint32_t* dst) {
    for (size_t i = 0; i + 1 < n; ++i) {
        uint32_t v = host32(src + i * 3);
        if constexpr (!kHostBig) v = __builtin_bswap32(v);
        dst[i] = v >> 8;
    }
    const uint8_t* last = src + (n - 1) * 3;
    dst[n - 1] = uint32_t{last[0]} << 16 | uint32_t{last[1]} << 8 | last[2];
}

#if defined(__x86_64__) || defined(__i386__)
// SSSE3 (every x86-64 CPU since 2006, but not the x86-64 baseline the build targets) moves the
// bytes of four TPIXELs into place with one shuffle; chosen at run time. Rows of at least six
// pixels (16 bytes), so that every load stays inside the row.
__attribute__((target("ssse3"))) void rgb24_rows_ssse3(const uint8_t* src, size_t src_stride,
                                                       size_t n, size_t rows, uint32_t* dst,
                                                       size_t dst_stride) {
    // Lane k takes bytes B, G, R of pixel k; index -1 zeroes the padding byte.
    const __m128i order = _mm_setr_epi8(2, 1, 0, -1, 5, 4, 3, -1, 8, 7, 6, -1, 11, 10, 9, -1);
    // The same for the last four pixels of a row, loaded as its last 16 bytes (4 spare in front).
    const __m128i last = _mm_setr_epi8(6, 5, 4, -1, 9, 8, 7, -1, 12, 11, 10, -1, 15, 14, 13, -1);
    for (size_t y = 0; y < rows; ++y, src += src_stride, dst += dst_stride) {
        size_t i = 0;
        // 16 bytes are loaded for 12 used: stop while 4 spare bytes still follow.
        for (; i + 6 <= n; i += 4) {
            const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i * 3));
            _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + i), _mm_shuffle_epi8(v, order));
        }
        if (n - i == 5) {  // the last block covers four of the five left
            const uint8_t* p = src + i * 3;
            dst[i] = uint32_t{p[0]} << 16 | uint32_t{p[1]} << 8 | p[2];
        }
        // Overlaps pixels already written, with the same values.
        const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + n * 3 - 16));
        _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + n - 4), _mm_shuffle_epi8(v, last));
    }
}

bool have_ssse3() {
    static const bool yes = __builtin_cpu_supports("ssse3");
    return yes;
}
#endif

}  // namespace

void rgb24_to_canonical(const uint8_t* src, size_t n, uint32_t* dst) {
    rgb24_rows_to_canonical(src, 0, n, 1, dst, 0);
}

void rgb24_rows_to_canonical(const uint8_t* src, size_t src_stride, size_t n, size_t rows,
                             uint32_t* dst, size_t dst_stride) {
    if (n == 0) return;
#if defined(__x86_64__) || defined(__i386__)
    if (n >= 6 && have_ssse3()) {
        rgb24_rows_ssse3(src, src_stride, n, rows, dst, dst_stride);
        return;
    }
#endif
    for (size_t y = 0; y < rows; ++y)
        rgb24_scalar(src + y * src_stride, n, dst + y * dst_stride);
}

void clear_padding(uint32_t* px, size_t n) {
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        auto* p = reinterpret_cast<uint8_t*>(px + i);
        store4(p, load4(p) & 0x00ffffffu);
    }
    for (; i < n; ++i)
        px[i] &= 0x00ffffffu;
}

}  // namespace rfb
