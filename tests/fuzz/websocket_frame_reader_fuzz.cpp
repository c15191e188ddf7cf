// libFuzzer target: WebSocketFrameReader, the server's RFC 6455 frame parser, and the frame
// writers that feed it in a round trip.
//
// Input: parameter bytes, then the rest.
//   0     chunk count for the split reader (1 + value % 8)
//   1-2   split seed
//   3-4   data frame cap; 0 is the default (kWsDefaultMaxFramePayload)
//   5     bit 0 clear: the rest is the stream as received.
//         bit 0 set: the rest describes frames that the masking writer builds into a stream
//         (each: kind byte, length byte, 4 mask key bytes, payload; see round_trip), and the
//         reader must give back exactly what was written.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <iterator>
#include <string>
#include <vector>

#include "codec/websocket_frame_reader.h"
#include "codec/websocket_frame_writer.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

using Bytes = std::vector<uint8_t>;

struct Entry {
    int kind = 0;  // WsEvent::Kind, or -1 for a run of data
    Bytes bytes;
    uint16_t code = 0;
    bool operator==(const Entry&) const = default;
};

struct Transcript {
    std::vector<Entry> entries;
    size_t consumed = 0;  // up to the end of the last frame read; not counted after an error
};

void add_data(Transcript& t, const uint8_t* p, size_t n) {
    if (n == 0) return;
    if (t.entries.empty() || t.entries.back().kind != -1) t.entries.push_back({-1, {}, 0});
    t.entries.back().bytes.insert(t.entries.back().bytes.end(), p, p + n);
}

// Feeds the chunks, checking every promise of feed() on the way.
Transcript run(const std::vector<std::span<const uint8_t>>& chunks, size_t cap) {
    rfb::WebSocketFrameReader reader(cap);
    Transcript t;
    Bytes data;
    for (std::span<const uint8_t> chunk : chunks) {
        std::span<const uint8_t> rest = chunk;
        while (true) {
            const size_t before = data.size();
            const rfb::WsEvent e = reader.feed(rest, data);
            const size_t delivered = data.size() - before;
            FUZZ_CHECK(e.consumed <= rest.size());
            // Every delivered byte is a payload byte of this input, never more than a frame
            // declared.
            FUZZ_CHECK(delivered <= e.consumed || e.kind == rfb::WsEvent::kError);
            FUZZ_CHECK(delivered <= rest.size());
            FUZZ_CHECK(reader.frame_payload_received() <= reader.frame_payload_length());
            FUZZ_CHECK(reader.frame_payload_length() <= std::max<uint64_t>(cap, 125));
            add_data(t, data.data() + before, delivered);
            rest = rest.subspan(e.consumed);
            switch (e.kind) {
                case rfb::WsEvent::kNeedMore:
                    FUZZ_CHECK(rest.empty());
                    FUZZ_CHECK(!reader.finished());
                    t.consumed += e.consumed;
                    break;
                case rfb::WsEvent::kPing:
                case rfb::WsEvent::kPong:
                    FUZZ_CHECK(e.payload.size() <= rfb::kWsMaxControlPayload);
                    FUZZ_CHECK(!reader.finished());
                    t.consumed += e.consumed;
                    break;
                case rfb::WsEvent::kClose:
                    FUZZ_CHECK(reader.finished());
                    FUZZ_CHECK(e.payload.size() <= rfb::kWsMaxCloseReason);
                    FUZZ_CHECK(rfb::ws_utf8_valid(e.payload));
                    FUZZ_CHECK(rfb::ws_close_code_valid(e.close_code) ||
                               (e.close_code == rfb::kWsCloseNoStatus && e.payload.empty()));
                    t.consumed += e.consumed;
                    break;
                case rfb::WsEvent::kError:
                    FUZZ_CHECK(reader.finished());
                    FUZZ_CHECK(e.consumed == 0 && e.payload.empty());
                    FUZZ_CHECK(e.error != nullptr && e.error[0] != '\0');
                    FUZZ_CHECK(e.close_code == rfb::kWsCloseProtocolError ||
                               e.close_code == rfb::kWsCloseUnsupportedData ||
                               e.close_code == rfb::kWsCloseInvalidPayload ||
                               e.close_code == rfb::kWsCloseMessageTooBig);
                    break;
            }
            if (e.kind == rfb::WsEvent::kNeedMore) break;
            t.entries.push_back({e.kind, Bytes(e.payload.begin(), e.payload.end()), e.close_code});
            if (reader.finished()) {
                // Final: the same event again, nothing taken, nothing delivered.
                const size_t had = data.size();
                const rfb::WsEvent again = reader.feed(chunk, data);
                FUZZ_CHECK(again.kind == e.kind && again.close_code == e.close_code);
                FUZZ_CHECK(again.consumed == 0 && data.size() == had);
                return t;
            }
        }
    }
    return t;
}

bool same(const Transcript& a, const Transcript& b, bool compare_consumed) {
    return a.entries == b.entries && (!compare_consumed || a.consumed == b.consumed);
}

// Builds a valid client stream from the description and the transcript it must read back as.
void round_trip(rfb::fuzz::Params& p, size_t chunks, uint16_t seed, size_t cap) {
    Bytes stream;
    Transcript want;
    bool in_message = false;
    bool stopped = false;  // the cap was exceeded: nothing after that frame is read
    static constexpr uint16_t kCodes[] = {1000, 1001, 1002, 1003, 1007, 1008, 1009,
                                          1010, 1011, 1012, 1013, 1014, 3000, 4999};
    while (p.rest().size() >= 6 && stream.size() < 200000) {
        const uint8_t kind = p.u8() % 6;
        const uint8_t len_byte = p.u8();
        std::array<uint8_t, 4> key;
        for (uint8_t& k : key)
            k = p.u8();
        if (kind == 2 || kind == 3) {  // ping, pong
            const auto payload = p.bytes(len_byte % 126);
            const auto op = kind == 2 ? rfb::WsOpcode::kPing : rfb::WsOpcode::kPong;
            FUZZ_CHECK(rfb::append_ws_masked_frame(stream, op, payload, key));
            if (!stopped)
                want.entries.push_back({kind == 2 ? rfb::WsEvent::kPing : rfb::WsEvent::kPong,
                                        Bytes(payload.begin(), payload.end()), 0});
            continue;
        }
        if (kind == 4) {  // close, then nothing more is read
            Bytes payload;
            uint16_t code = rfb::kWsCloseNoStatus;
            if (len_byte != 0) {
                code = kCodes[len_byte % std::size(kCodes)];
                payload = {static_cast<uint8_t>(code >> 8), static_cast<uint8_t>(code)};
                for (uint8_t c : p.bytes(len_byte % 124))
                    payload.push_back(static_cast<uint8_t>(0x20 + c % 0x5f));  // printable ASCII
            }
            FUZZ_CHECK(rfb::append_ws_masked_frame(stream, rfb::WsOpcode::kClose, payload, key));
            if (!stopped) {
                want.entries.push_back(
                    {rfb::WsEvent::kClose,
                     payload.size() > 2 ? Bytes(payload.begin() + 2, payload.end()) : Bytes{},
                     code});
            }
            stopped = true;
            break;
        }
        // Data: 0 final, 1 not final, 5 empty final. A length byte below 128 is the length,
        // above it counts 600-byte steps, so that all three length forms appear; the first 16
        // payload bytes come from the input, the rest is a pattern.
        const size_t len = kind == 5        ? 0
                           : len_byte < 128 ? len_byte
                                            : (len_byte - 127) * size_t{600};
        const bool fin = kind != 1;
        const auto op = in_message ? rfb::WsOpcode::kContinuation : rfb::WsOpcode::kBinary;
        Bytes payload(len);
        const auto src = p.bytes(std::min<size_t>(len, 16));
        std::copy(src.begin(), src.end(), payload.begin());
        for (size_t i = src.size(); i < len; ++i)
            payload[i] = static_cast<uint8_t>(i * 31 + len_byte);
        FUZZ_CHECK(rfb::append_ws_masked_frame(stream, op, payload, key, fin));
        in_message = !fin;
        if (stopped) continue;
        if (len > cap) {
            want.entries.push_back({rfb::WsEvent::kError, {}, rfb::kWsCloseMessageTooBig});
            stopped = true;
            continue;
        }
        add_data(want, payload.data(), payload.size());
    }

    const Transcript one = run({std::span<const uint8_t>(stream)}, cap);
    const Transcript parts = run(rfb::fuzz::split(stream, chunks, seed), cap);
    if (rfb::fuzz::verbose())
        std::fprintf(stderr, "round trip: %zu bytes, %zu entries expected, %zu read\n",
                     stream.size(), want.entries.size(), one.entries.size());
    FUZZ_CHECK(one.entries == want.entries);
    FUZZ_CHECK(parts.entries == want.entries);
    if (want.entries.empty() || want.entries.back().kind != rfb::WsEvent::kError)
        FUZZ_CHECK(one.consumed == stream.size() && parts.consumed == stream.size());

    // The same first frame unmasked (as a server writes it) is refused: clients must mask.
    if (!stream.empty() && (stream[0] & 0x0F) != 0) {
        Bytes unmasked;
        const size_t header = (stream[1] & 0x7F) == 126 ? 4 : (stream[1] & 0x7F) == 127 ? 10 : 2;
        unmasked.assign(stream.begin(), stream.begin() + static_cast<std::ptrdiff_t>(header));
        unmasked[1] &= 0x7F;
        rfb::WebSocketFrameReader reader(cap);
        Bytes data;
        const rfb::WsEvent e = reader.feed(unmasked, data);
        FUZZ_CHECK(e.kind == rfb::WsEvent::kError && e.close_code == rfb::kWsCloseProtocolError &&
                   data.empty());
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    rfb::fuzz::Params p(data, size);
    const size_t chunks = 1 + p.u8() % 8;
    const uint16_t seed = p.u16();
    const uint16_t cap_param = p.u16();
    const size_t cap = cap_param == 0 ? rfb::kWsDefaultMaxFramePayload : cap_param;
    const uint8_t mode = p.u8();

    if (mode & 1) {
        round_trip(p, chunks, seed, cap);
        return 0;
    }

    const auto rest = p.rest();
    const Bytes stream(rest.begin(), rest.end());
    const Transcript one = run({std::span<const uint8_t>(stream)}, cap);
    const Transcript parts = run(rfb::fuzz::split(stream, chunks, seed), cap);
    const bool error = !one.entries.empty() && one.entries.back().kind == rfb::WsEvent::kError;
    if (rfb::fuzz::verbose())
        std::fprintf(stderr, "%zu entries, consumed %zu of %zu%s\n", one.entries.size(),
                     one.consumed, stream.size(), error ? ", error" : "");
    FUZZ_CHECK(same(one, parts, !error));
    FUZZ_CHECK(one.consumed <= stream.size());
    const bool closed = !one.entries.empty() && one.entries.back().kind == rfb::WsEvent::kClose;
    if (!error && !closed) FUZZ_CHECK(one.consumed == stream.size());
    return 0;
}
