#include "bench/fanout/jpeg_quality.h"

#include <algorithm>
#include <cstddef>

namespace fanout {
namespace {

// JPEG Annex K, table K.1: luminance quantisation, in natural (row-major) order.
constexpr std::array<uint16_t, 64> kAnnexKLuma = {
    16, 11, 10, 16, 24,  40,  51,  61,  12, 12, 14, 19, 26,  58,  60,  55,
    14, 13, 16, 24, 40,  57,  69,  56,  14, 17, 22, 29, 51,  87,  80,  62,
    18, 22, 37, 56, 68,  109, 103, 77,  24, 35, 55, 64, 81,  104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99};

// The natural-order index of the k-th entry a DQT segment stores (zig-zag order).
constexpr std::array<uint8_t, 64> kZigzagToNatural = {
    0,  1,  8,  16, 9,  2,  3,  10, 17, 24, 32, 25, 18, 11, 4,  5,  12, 19, 26, 33, 40, 48,
    41, 34, 27, 20, 13, 6,  7,  14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23,
    30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63};

// libjpeg's jpeg_quality_scaling (integer division included: 5000/3 is 1666).
long scale_for(int quality) {
    return quality < 50 ? 5000L / quality : 200L - 2L * quality;
}

// Marker bytes (after 0xFF) that stand alone, with no length field.
bool standalone(uint8_t m) {
    return m == 0x01 || m == 0xD8 || (m >= 0xD0 && m <= 0xD7);
}

// Start-of-frame markers: C0..CF except DHT (C4), JPG (C8) and DAC (CC).
bool start_of_frame(uint8_t m) {
    return m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC;
}

struct Tables {
    std::array<std::array<uint16_t, 64>, 4> values{};
    std::array<bool, 4> present{};
    std::array<bool, 4> wide{};  // 16-bit precision
};

// One DQT segment body (after its length field): one or more tables.
bool read_dqt(std::span<const uint8_t> seg, Tables& t) {
    size_t pos = 0;
    while (pos < seg.size()) {
        const uint8_t pq = seg[pos] >> 4, tq = seg[pos] & 0x0F;
        ++pos;
        if (pq > 1 || tq > 3) return false;
        const size_t bytes = pq ? 128 : 64;
        if (seg.size() - pos < bytes) return false;
        for (size_t k = 0; k < 64; ++k)
            t.values[tq][k] =
                pq ? static_cast<uint16_t>(seg[pos + 2 * k] << 8 | seg[pos + 2 * k + 1])
                   : seg[pos + k];
        t.present[tq] = true;
        t.wide[tq] = pq == 1;
        pos += bytes;
    }
    return true;
}

}  // namespace

JpegQuality quality_for_luma_table(const std::array<uint16_t, 64>& zigzag, uint16_t max_value) {
    JpegQuality best;
    uint64_t best_error = UINT64_MAX;
    for (int q = 1; q <= 100; ++q) {
        const long scale = scale_for(q);
        uint64_t error = 0;
        for (size_t k = 0; k < 64; ++k) {
            const long want =
                std::clamp<long>((kAnnexKLuma[kZigzagToNatural[k]] * scale + 50) / 100, 1,
                                 static_cast<long>(max_value));
            const long got = zigzag[k];
            error += static_cast<uint64_t>(want > got ? want - got : got - want);
        }
        if (error < best_error) {
            best_error = error;
            best = JpegQuality{q, error == 0};
        }
    }
    return best;
}

std::optional<JpegQuality> estimate_jpeg_quality(std::span<const uint8_t> jpeg) {
    if (jpeg.size() < 2 || jpeg[0] != 0xFF || jpeg[1] != 0xD8) return std::nullopt;
    Tables tables;
    std::optional<uint8_t> luma;  // the table id of the frame's first component
    bool scan = false;
    size_t pos = 2;
    // Each pass consumes at least one byte, so the loop ends within jpeg.size() passes.
    while (pos < jpeg.size()) {
        if (jpeg[pos] != 0xFF) return std::nullopt;  // garbage between segments
        while (pos < jpeg.size() && jpeg[pos] == 0xFF)
            ++pos;  // fill bytes
        if (pos >= jpeg.size()) break;
        const uint8_t marker = jpeg[pos++];
        if (marker == 0x00) return std::nullopt;
        if (standalone(marker)) continue;
        if (marker == 0xD9) break;  // EOI
        if (jpeg.size() - pos < 2) break;
        const size_t length = static_cast<size_t>(jpeg[pos] << 8 | jpeg[pos + 1]);
        if (length < 2) return std::nullopt;
        if (jpeg.size() - pos < length) break;  // truncated segment
        const std::span<const uint8_t> seg = jpeg.subspan(pos + 2, length - 2);
        pos += length;
        if (marker == 0xDB) {
            if (!read_dqt(seg, tables)) return std::nullopt;
        } else if (start_of_frame(marker)) {
            // P, Y, X, Nf, then Nf x (C, H/V, Tq).
            if (seg.size() < 6 || seg[5] == 0 || seg.size() < 6 + 3 * size_t{seg[5]})
                return std::nullopt;
            if (seg[8] > 3) return std::nullopt;
            luma = seg[8];
        } else if (marker == 0xDA) {
            scan = true;
            break;
        }
    }
    if (!luma) {
        if (!scan) return std::nullopt;
        luma = 0;
    }
    if (!tables.present[*luma]) return std::nullopt;
    return quality_for_luma_table(tables.values[*luma], tables.wide[*luma] ? 32767 : 255);
}

}  // namespace fanout
