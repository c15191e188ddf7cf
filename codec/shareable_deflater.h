#pragma once
#include <zlib.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace rfb {

// A raw deflate stream that makes one shareable rectangle body at a time (DESIGN.md, "Encode
// once, send to many"). begin() forgets everything compressed before, so a body never refers to
// another body's bytes; finish() ends it with Z_FULL_FLUSH, so it stops on a byte boundary with
// all its output delivered. Such bodies are valid at any point of any viewer's inflate stream
// after that stream's 2-byte zlib header (rect_framing.h writes it), in any order or subset.
// The body is bare deflate blocks: no zlib header, no Adler-32.
class ShareableDeflater {
  public:
    ShareableDeflater() = default;
    ~ShareableDeflater();
    ShareableDeflater(const ShareableDeflater&) = delete;
    ShareableDeflater& operator=(const ShareableDeflater&) = delete;

    // Starts a body at zlib `level` (0..9).
    bool begin(int level);
    // Compresses `data`, appending whatever deflate releases to `out`.
    bool add(std::span<const uint8_t> data, std::vector<uint8_t>& out);
    // Ends the body. After any failure the stream is rebuilt by the next begin().
    bool finish(std::vector<uint8_t>& out);

  private:
    bool run(std::span<const uint8_t> data, int flush, std::vector<uint8_t>& out);
    void drop();

    z_stream zs_{};
    bool ready_ = false;
    int level_ = -1;
    std::array<uint8_t, 16384> buf_{};  // deflate output before it is appended
};

}  // namespace rfb
