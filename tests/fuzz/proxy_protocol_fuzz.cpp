// libFuzzer target: parse_proxy_header and ProxyHeaderReader, the HAProxy PROXY protocol v1/v2
// header a trusted proxy puts before a relayed connection.
//
// Input: parameter bytes, then the stream.
//   0     chunk count for the split reader (1 + value % 8)
//   1-2   split seed
//   3-4   v2 length cap; 0 is the default (kProxyV2DefaultMaxLength)
//   next  the bytes as received, copied into a buffer of their exact size so that any read past
//         them is caught
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <vector>

#include "codec/proxy_protocol.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

bool same(const rfb::ProxyHeader& a, const rfb::ProxyHeader& b) {
    return a.kind == b.kind && a.version == b.version && a.family == b.family &&
           a.source == b.source && a.destination == b.destination &&
           a.source_port == b.source_port && a.destination_port == b.destination_port;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    rfb::fuzz::Params p(data, size);
    const size_t chunks = 1 + p.u8() % 8;
    const uint16_t seed = p.u16();
    const uint16_t cap_param = p.u16();
    const size_t cap = cap_param == 0 ? rfb::kProxyV2DefaultMaxLength : cap_param;
    const auto rest = p.rest();
    const std::vector<uint8_t> stream(rest.begin(), rest.end());

    const rfb::ProxyParseResult r = rfb::parse_proxy_header(stream, cap);
    if (rfb::fuzz::verbose())
        std::fprintf(stderr, "status %d consumed %zu kind %d v%d: %s\n", static_cast<int>(r.status),
                     r.consumed, static_cast<int>(r.header.kind), r.header.version,
                     r.error.c_str());

    // Split delivery gives the same answer, and on kDone leaves exactly the bytes after the header.
    rfb::ProxyHeaderReader reader(cap);
    size_t offset = 0;
    bool finished = false;
    for (std::span<const uint8_t> chunk : rfb::fuzz::split(stream, chunks, seed)) {
        if (!finished) {
            const rfb::ProxyParseResult& s = reader.feed(chunk);
            if (s.status != rfb::ProxyParseResult::kNeedMore) {
                finished = true;
                FUZZ_CHECK(s.status == r.status);
                if (s.status == rfb::ProxyParseResult::kDone) {
                    FUZZ_CHECK(s.consumed <= chunk.size());
                    FUZZ_CHECK(offset + s.consumed == r.consumed);
                    FUZZ_CHECK(same(s.header, r.header));
                } else {
                    FUZZ_CHECK(s.error == r.error);
                }
            }
        }
        offset += chunk.size();
    }
    FUZZ_CHECK(finished == (r.status != rfb::ProxyParseResult::kNeedMore));

    switch (r.status) {
        case rfb::ProxyParseResult::kNeedMore:
            // Undecided only while shorter than the longest header allowed.
            if (!stream.empty() && stream[0] == 'P')
                FUZZ_CHECK(stream.size() < rfb::kProxyV1MaxLength);
            else
                FUZZ_CHECK(stream.size() < std::clamp<size_t>(cap, 52, rfb::kProxyV2MaxLength));
            FUZZ_CHECK(r.error.empty());
            return 0;
        case rfb::ProxyParseResult::kError:
            FUZZ_CHECK(!r.error.empty());
            return 0;
        case rfb::ProxyParseResult::kDone:
            break;
    }
    FUZZ_CHECK(r.error.empty());
    FUZZ_CHECK(r.consumed > 0 && r.consumed <= stream.size());
    FUZZ_CHECK(r.header.version == 1 || r.header.version == 2);
    if (r.header.version == 1) FUZZ_CHECK(r.consumed <= rfb::kProxyV1MaxLength);
    if (r.header.version == 2) FUZZ_CHECK(r.consumed <= rfb::kProxyV2MaxLength);
    FUZZ_CHECK((r.header.kind == rfb::ProxyHeader::kProxied) ==
               (r.header.family != rfb::ProxyHeader::kNone));

    // The header alone parses the same; one byte less needs more.
    const std::span<const uint8_t> header(stream.data(), r.consumed);
    const rfb::ProxyParseResult alone = rfb::parse_proxy_header(header, cap);
    FUZZ_CHECK(alone.status == rfb::ProxyParseResult::kDone && alone.consumed == r.consumed);
    FUZZ_CHECK(same(alone.header, r.header));
    FUZZ_CHECK(rfb::parse_proxy_header(header.first(r.consumed - 1), cap).status ==
               rfb::ProxyParseResult::kNeedMore);

    // What the builders make of the header reads back as the same header.
    if (r.header.version == 1) {
        const std::string line = rfb::make_proxy_v1(r.header);
        const std::vector<uint8_t> bytes(line.begin(), line.end());
        const rfb::ProxyParseResult back = rfb::parse_proxy_header(bytes);
        FUZZ_CHECK(back.status == rfb::ProxyParseResult::kDone && back.consumed == bytes.size());
        FUZZ_CHECK(same(back.header, r.header));
    } else {
        const std::vector<uint8_t> bytes = rfb::make_proxy_v2(r.header);
        const rfb::ProxyParseResult back = rfb::parse_proxy_header(bytes);
        FUZZ_CHECK(back.status == rfb::ProxyParseResult::kDone && back.consumed == bytes.size());
        FUZZ_CHECK(same(back.header, r.header));
    }

    sockaddr_storage ss;
    socklen_t len = 0;
    FUZZ_CHECK(rfb::proxy_source_sockaddr(r.header, ss, len) ==
               (r.header.kind == rfb::ProxyHeader::kProxied));
    return 0;
}
