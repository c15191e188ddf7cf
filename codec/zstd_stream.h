#pragma once
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

struct ZSTD_DCtx_s;

namespace rfb {

// One zstd decompression stream of an upstream connection, for UltraVNC's Zstd (25) and
// ZSTDRLE (28). It behaves like the UltraVNC viewer's (one ZSTD_DStream per connection, fed every
// rectangle's bytes in turn): a frame may span rectangles, as UltraVNC servers send it (one
// frame per connection, flushed after each rectangle), or end inside one, as rfbcast sends it
// (one frame per rectangle), and the next frame simply follows. Mirrors InflateStream: each
// rectangle lends its compressed bytes (begin .. finish), output is pulled in caller-sized
// pieces, and finish() insists that the rest of the input decompresses to nothing, so a
// decompression bomb never costs more than the rectangle itself.
//
// Memory: frames needing a window above 2^kMaxWindowLog bytes are refused (zstd's own default
// limit is 2^27). UltraVNC's levels (-7..2) use windows of at most 2^21.
class ZstdStream {
  public:
    static constexpr int kMaxWindowLog = 23;

    ZstdStream();
    ~ZstdStream();
    ZstdStream(const ZstdStream&) = delete;
    ZstdStream& operator=(const ZstdStream&) = delete;

    // Forgets all history: a new connection.
    void reset();

    // Lends this rectangle's compressed bytes; they must stay valid until finish().
    bool begin(std::span<const uint8_t> input, std::string& error);
    // Fills `out` completely; false (with a reason) when the data is corrupt or runs out first.
    bool read_exact(std::span<uint8_t> out, std::string& error);
    // Like read_exact, but running out of input is not an error: `produced` says how much came.
    bool read_some(std::span<uint8_t> out, size_t& produced, std::string& error);
    // Consumes the rest of the lent input, which must produce no further output.
    bool finish(std::string& error);
    // The rectangle failed part-way: the stream is out of step with the server until reset().
    void abandon();

  private:
    bool ensure_ready(std::string& error);
    bool fail(std::string& error, std::string why);
    // One decompression call into out[0, cap); false on a zstd error.
    bool step(uint8_t* out, size_t cap, size_t& produced, bool& progressed, std::string& error);

    ZSTD_DCtx_s* dctx_ = nullptr;
    bool ready_ = false;   // created and configured
    bool broken_ = false;  // an earlier rectangle failed; only reset() recovers
    const uint8_t* in_ = nullptr;
    size_t in_size_ = 0, in_pos_ = 0;
    bool out_full_ = false;  // the last call filled its output buffer
};

}  // namespace rfb
