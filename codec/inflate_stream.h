#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

struct z_stream_s;

namespace rfb {

// One zlib inflate stream of an upstream connection. RFB's Zlib, ZRLE and Tight encodings keep
// their streams across rectangles, so the stream lives in the decoder and each rectangle lends it
// that rectangle's compressed bytes (begin .. finish). Errors are short phrases ("zlib data is
// corrupt (...)") for the decoder to prefix with its own name.
//
// Output is pulled in caller-sized pieces: a decoder asks for exactly what the rectangle still
// needs, and finish() insists that the rest of the input inflates to nothing. A zlib bomb can
// therefore never cost more memory or time than the rectangle itself.
class InflateStream {
  public:
    InflateStream();
    ~InflateStream();
    InflateStream(const InflateStream&) = delete;
    InflateStream& operator=(const InflateStream&) = delete;

    // Forgets all history: a new connection, or Tight's reset bits.
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

    std::unique_ptr<z_stream_s> z_;
    bool ready_ = false;   // inflateInit succeeded
    bool ended_ = false;   // the deflate stream signalled its end
    bool broken_ = false;  // an earlier rectangle failed; only reset() recovers
};

}  // namespace rfb
