// libFuzzer target: ClientMessageParser over a viewer's byte stream.
//
// Input: 1 parameter byte (bit 0: cut-text limit 64; bit 1: at most 16 encodings), then the
// stream. Every message parsed must survive a write/parse round trip, and every proper prefix
// of it must be "need more" with a sensible `needed`.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "codec/byte_writer.h"
#include "codec/client_message_parser.h"
#include "codec/client_messages.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

void check_prefix(const rfb::ClientMessageParser& parser, std::span<const uint8_t> msg,
                  size_t len) {
    const rfb::ClientParse part = parser.parse(msg.first(len));
    FUZZ_CHECK(part.status == rfb::ClientParse::kNeedMore);
    FUZZ_CHECK(part.consumed == 0);
    FUZZ_CHECK(part.needed > len);
    FUZZ_CHECK(part.needed <= msg.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    rfb::fuzz::Params p(data, size);
    const uint8_t flags = p.u8();
    rfb::ClientParserLimits limits;
    if (flags & 1) limits.max_cut_text = 64;
    if (flags & 2) limits.max_encodings = 16;
    const rfb::ClientMessageParser parser(limits);
    const size_t max_size = parser.max_message_size();

    std::span<const uint8_t> rest = p.rest();
    for (int messages = 0; messages < 64; ++messages) {
        const rfb::ClientParse res = parser.parse(rest);
        if (rfb::fuzz::verbose())
            std::fprintf(stderr, "status %d consumed %zu needed %zu %s\n",
                         static_cast<int>(res.status), res.consumed, res.needed, res.error.c_str());
        if (res.status == rfb::ClientParse::kError) {
            FUZZ_CHECK(!res.error.empty());
            FUZZ_CHECK(res.consumed == 0);
            break;
        }
        if (res.status == rfb::ClientParse::kNeedMore) {
            FUZZ_CHECK(res.consumed == 0);
            FUZZ_CHECK(res.needed > rest.size());
            FUZZ_CHECK(res.needed <= max_size);
            break;
        }
        FUZZ_CHECK(res.consumed > 0 && res.consumed <= rest.size());
        FUZZ_CHECK(res.consumed <= max_size);
        const auto msg = rest.first(res.consumed);

        // Split at every byte boundary for short messages, at a few for long ones.
        if (msg.size() <= 64) {
            for (size_t len = 0; len < msg.size(); ++len)
                check_prefix(parser, msg, len);
        } else {
            for (size_t len : {size_t{0}, size_t{1}, msg.size() / 2, msg.size() - 1})
                check_prefix(parser, msg, len);
        }

        // The writer produces the canonical bytes of what was parsed (padding zeroed), which
        // must parse back to the same message.
        std::vector<uint8_t> written;
        rfb::ByteWriter w(written);
        rfb::write_client_message(w, res.message);
        FUZZ_CHECK(written.size() == res.consumed);
        const rfb::ClientParse again = parser.parse(written);
        FUZZ_CHECK(again.status == rfb::ClientParse::kMessage);
        FUZZ_CHECK(again.consumed == written.size());
        FUZZ_CHECK(again.message == res.message);

        rest = rest.subspan(res.consumed);
    }
    return 0;
}
