#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "codec/encoder.h"

struct ZSTD_CCtx_s;

namespace rfb {

// zstd level for the compression level a viewer asked for: 1..9 as they are, 0 (the cheapest
// zlib level) as zstd's fast level -1, and -1 (not asked) or anything else as zstd's default, 3.
int zstd_level(const EncodeTuning& tuning);

// Makes one complete zstd frame per rectangle body, for UltraVNC's Zstd (25) and ZSTDRLE (28).
//
// UltraVNC servers continue one frame per connection (ZSTD_e_flush after each rectangle); their
// viewers feed every rectangle to one ZSTD_DStream per connection (ZstdInStream, UltraVncZ).
// A DStream that reaches the end of a frame starts the next frame with the next input, so a
// sequence of complete frames decodes in any viewer stream, in any order or subset: the body
// depends on nothing sent before and can be shared. Each frame costs a 6..14-byte header and
// starts with an empty history (bench/RESULTS.md, "Zlib-family sharing cost").
class ZstdFrameWriter {
  public:
    static constexpr uint64_t kUnknownSize = ~uint64_t{0};

    ZstdFrameWriter();
    ~ZstdFrameWriter();
    ZstdFrameWriter(const ZstdFrameWriter&) = delete;
    ZstdFrameWriter& operator=(const ZstdFrameWriter&) = delete;

    // Starts a frame. A known `content_size` goes into the frame header and shrinks the window
    // (and so the viewer's buffers) to the content; with kUnknownSize the size is still recorded
    // if everything arrives in finish() alone.
    bool begin(int level, uint64_t content_size);
    // Compresses `data`, appending whatever is ready to `out`.
    bool add(std::span<const uint8_t> data, std::vector<uint8_t>& out);
    // Compresses `last` and ends the frame. After any failure, begin() starts over cleanly.
    bool finish(std::span<const uint8_t> last, std::vector<uint8_t>& out);

  private:
    bool run(std::span<const uint8_t> data, bool end, std::vector<uint8_t>& out);

    ZSTD_CCtx_s* cctx_ = nullptr;
    bool open_ = false;  // between a successful begin() and finish()
    std::array<uint8_t, 32 * 1024> buf_{};
};

}  // namespace rfb
