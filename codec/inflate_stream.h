#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

struct z_stream_s;
struct inflate_state;

namespace rfb {

// One zlib inflate stream of an upstream connection. RFB's Zlib, ZRLE and Tight encodings keep
// their streams across rectangles, so the stream lives in the decoder and each rectangle lends it
// that rectangle's compressed bytes (begin .. finish). Errors are short phrases ("zlib data is
// corrupt (...)") for the decoder to prefix with its own name.
//
// Output is pulled in caller-sized pieces: a decoder asks for exactly what the rectangle still
// needs, and finish() insists that the rest of the input inflates to nothing. A zlib bomb can
// therefore never cost more memory or time than the rectangle itself.
//
// Two implementations keep this contract. InflateStream runs zlib; BulkInflateStream runs Intel's
// ISA-L (igzip), which inflates screen content about twice as fast per byte but costs about a
// microsecond more per call that produces output (it moves its 32 KiB history each time).
// Decoders that inflate whole rectangles of pixels (Zlib, Tight) use the bulk one; ZRLE stays on
// zlib: its RLE tiles inflate to little per call, and igzip made it 20 % slower on 64x64
// rectangles (bench/RESULTS.md).
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

// The same contract on ISA-L (see above). igzip inflates raw deflate here: the two-byte zlib
// header is checked by this class, and the Adler-32 trailer of a stream that ends is skipped
// unchecked (igzip's zlib mode would checksum every byte, a tenth of its time, for a trailer RFB
// streams never send).
class BulkInflateStream {
  public:
    BulkInflateStream();
    ~BulkInflateStream();
    BulkInflateStream(const BulkInflateStream&) = delete;
    BulkInflateStream& operator=(const BulkInflateStream&) = delete;

    void reset();
    bool begin(std::span<const uint8_t> input, std::string& error);
    bool read_exact(std::span<uint8_t> out, std::string& error);
    bool read_some(std::span<uint8_t> out, size_t& produced, std::string& error);
    bool finish(std::string& error);
    void abandon();

  private:
    struct StateDeleter {
        void operator()(inflate_state* s) const;
    };

    bool ensure_ready(std::string& error);
    bool fail(std::string& error, std::string why);
    bool read_header(std::string& error);
    void stream_ended();
    void skip_trailer();

    // About 85 KiB (history and tables), allocated by the first begin(): of Tight's four streams
    // a server often uses only one or two.
    std::unique_ptr<inflate_state, StateDeleter> s_;
    uint8_t header_[2] = {0, 0};
    uint8_t header_have_ = 0;   // zlib header bytes seen; 3 once checked
    uint8_t trailer_left_ = 0;  // Adler-32 bytes still to skip after the last deflate block
    uint8_t buffered_ = 0;      // whole input bytes igzip had read past the last block
    bool ended_ = false;        // the deflate stream signalled its end
    bool broken_ = false;       // an earlier rectangle failed; only reset() recovers
};

}  // namespace rfb
