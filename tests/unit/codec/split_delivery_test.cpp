// One split-delivery test over every incremental parser in codec/ (issue 7): each seed of the
// fuzz corpus (tests/fuzz/corpus/<target>/, generated and recorded from real sessions) is fed
// whole, then in pieces, and every observable result must be the same: messages, pixels,
// replies, errors. A parser that mishandles a message split across reads shows up here as a
// transcript that depends on where the reads fell.
//
// The seeds start with the parameter bytes of their fuzz target (layouts at the top of each
// target in tests/fuzz/); each adapter below reads them the same way to set its parser up.
// Pieces: every single cut point within the first 4 KiB (against that prefix delivered whole),
// one byte at a time, and seeded random chunkings of the whole stream (empty reads included).
#include <gtest/gtest.h>
#include <xxhash.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "codec/byte_reader.h"
#include "codec/byte_writer.h"
#include "codec/client_handshake.h"
#include "codec/client_message_parser.h"
#include "codec/client_messages.h"
#include "codec/decoder.h"
#include "codec/framebuffer.h"
#include "codec/http_request.h"
#include "codec/pixel_converter.h"
#include "codec/proxy_protocol.h"
#include "codec/repeater_header.h"
#include "codec/rfb_constants.h"
#include "codec/server_handshake.h"
#include "codec/server_message_reader.h"
#include "codec/websocket_frame_reader.h"
#include "tests/fuzz/fuzz_support.h"
#include "tests/fuzz/handshake_params.h"

namespace {

namespace fs = std::filesystem;
using Bytes = std::vector<uint8_t>;
using Transcript = std::vector<std::string>;
using Chunks = std::vector<std::span<const uint8_t>>;
// Cuts the stream (the seed after its parameters) into the reads a parser gets.
using Split = std::function<Chunks(std::span<const uint8_t> stream)>;
// Sets a fresh parser up from the seed's parameters and feeds it the stream as `split` cuts it.
using Adapter = Transcript (*)(std::span<const uint8_t> seed, const Split& split);

std::string hash_of(std::span<const uint8_t> bytes) {
    return std::to_string(bytes.size()) + "#" +
           std::to_string(XXH3_64bits(bytes.data(), bytes.size()));
}
std::string hash_of(std::span<const uint32_t> px) {
    return hash_of(
        std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(px.data()), px.size_bytes()));
}
std::string hash_of(std::string_view s) {
    return hash_of(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.data()), s.size()));
}
std::string rect_text(const rfb::Rect& r) {
    return std::to_string(r.x) + "," + std::to_string(r.y) + " " + std::to_string(r.w) + "x" +
           std::to_string(r.h);
}
std::string pixels_of(const rfb::Framebuffer& fb, const rfb::Rect& r) {
    std::vector<uint32_t> px(r.area());
    if (!fb.get(r, px.data())) return "outside";
    return hash_of(px);
}

// ---- ServerMessageReader with every real decoder ---------------------------------------------

class TranscriptSink final : public rfb::ServerMessageSink {
  public:
    TranscriptSink(const rfb::Framebuffer& fb, Transcript& t) : fb_(fb), t_(t) {}

    void on_update_begin() override { t_.push_back("update begin"); }
    void on_update_end() override { t_.push_back("update end"); }
    void on_rect(const rfb::Rect& r, int32_t enc) override {
        t_.push_back("rect " + rect_text(r) + " enc " + std::to_string(enc) + " pixels " +
                     pixels_of(fb_, r));
    }
    void on_damage(const rfb::Rect& r) override { t_.push_back("damage " + rect_text(r)); }
    void on_copy(const rfb::Rect& dst, uint32_t sx, uint32_t sy) override {
        t_.push_back("copy " + rect_text(dst) + " from " + std::to_string(sx) + "," +
                     std::to_string(sy));
    }
    void on_resize(uint32_t w, uint32_t h) override {
        t_.push_back("resize " + std::to_string(w) + "x" + std::to_string(h));
    }
    void on_extended_desktop_size(const rfb::ExtendedDesktopSizeInfo& e) override {
        std::string s = "extended desktop size " + std::to_string(e.reason) + "/" +
                        std::to_string(e.status) + " " + std::to_string(e.width) + "x" +
                        std::to_string(e.height);
        for (const rfb::Screen& sc : e.screens)
            s += " [" + std::to_string(sc.id) + " " + std::to_string(sc.x) + "," +
                 std::to_string(sc.y) + " " + std::to_string(sc.w) + "x" + std::to_string(sc.h) +
                 " " + std::to_string(sc.flags) + "]";
        t_.push_back(s);
    }
    void on_cursor(const rfb::CursorImage& c) override {
        t_.push_back("cursor " + std::to_string(c.width) + "x" + std::to_string(c.height) +
                     " hot " + std::to_string(c.hot_x) + "," + std::to_string(c.hot_y) +
                     " pixels " + hash_of(c.pixels) + " mask " + hash_of(c.mask) + " alpha " +
                     hash_of(c.alpha));
    }
    void on_desktop_name(const std::string& name) override {
        t_.push_back("desktop name " + hash_of(name));
    }
    void on_bell() override { t_.push_back("bell"); }
    void on_cut_text(const std::string& text) override {
        t_.push_back("cut text " + hash_of(text));
    }
    void on_extended_clipboard(std::span<const uint8_t> payload) override {
        t_.push_back("extended clipboard " + hash_of(payload));
    }
    void on_fence(uint32_t flags, std::span<const uint8_t> payload) override {
        t_.push_back("fence " + std::to_string(flags) + " " + hash_of(payload));
    }
    void on_end_of_continuous_updates() override { t_.push_back("end of continuous updates"); }
    void on_qemu_extended_key_events() override { t_.push_back("qemu extended key events"); }

  private:
    const rfb::Framebuffer& fb_;
    Transcript& t_;
};

// server_message_reader_fuzz.cpp's parameters.
Transcript run_server_messages(std::span<const uint8_t> seed, const Split& split) {
    rfb::fuzz::Params p(seed.data(), seed.size());
    const uint8_t selector = p.u8();
    const uint32_t w = 1 + p.u16() % 256, h = 1 + p.u16() % 256;
    const uint8_t flags = p.u8();
    p.u16();  // the target's chunking
    rfb::PixelFormat pf = rfb::fuzz::wire_format(selector);
    if (selector >= 240) {
        rfb::ByteReader br(p.bytes(16));
        if (!rfb::PixelFormat::read(br, pf)) return {"short format"};
    }
    rfb::Framebuffer fb(w, h);
    rfb::ServerMessageReader reader(fb, pf);
    rfb::ServerReaderLimits limits;
    if (flags & 8) limits.max_cut_text = 64;
    reader.set_limits(limits);

    Transcript t;
    TranscriptSink sink(fb, t);
    Bytes pending;
    for (std::span<const uint8_t> chunk : split(p.rest())) {
        pending.insert(pending.end(), chunk.begin(), chunk.end());
        const rfb::ServerReadResult r = reader.feed(pending, sink);
        if (r.status == rfb::ServerReadResult::kError) {
            t.push_back("error " + r.error);
            return t;
        }
        pending.erase(pending.begin(), pending.begin() + static_cast<ptrdiff_t>(r.consumed));
    }
    // Within an update a rectangle may be part-way decoded, its pixels depending on how much
    // arrived; between updates the whole picture is settled.
    t.push_back("end, in update " + std::to_string(reader.in_update()) + ", " +
                std::to_string(pending.size()) + " byte(s) unconsumed");
    if (!reader.in_update()) t.push_back("framebuffer " + hash_of(fb.pixels()));
    return t;
}

// ---- the decoders, one rectangle after another (decoder_harness.h) ---------------------------

uint32_t pattern_pixel(size_t i) {
    return static_cast<uint32_t>(i * 2654435761u) & 0xffffffu;
}

template <int32_t Encoding>
Transcript run_decoder(std::span<const uint8_t> seed, const Split& split) {
    if (seed.size() < 10) return {"no parameters"};
    rfb::fuzz::Params p(seed.data(), seed.size());
    // The framebuffer and rectangle exactly as decoder_harness.h derives them.
    const rfb::PixelFormat pf = rfb::fuzz::reader_safe(rfb::fuzz::wire_format(p.u8()));
    const uint8_t bw = p.u8(), bh = p.u8(), bx = p.u8(), brw = p.u8(), by = p.u8(), brh = p.u8();
    const uint8_t flags = p.u8();
    p.u16();  // the harness's chunking
    const bool wide = flags & 8;
    const uint32_t fw = wide ? 1 + (uint32_t{bw} * 9 + bh) % 2200 : 1 + bw % 96;
    const uint32_t fh = wide ? 1 + bh % 4 : 1 + bh % 96;
    rfb::Rect r;
    r.x = wide ? (uint32_t{bx} * 9) % fw : bx % fw;
    r.w = wide ? (uint32_t{brw} * 9) % (fw - r.x + 1) : brw % (fw - r.x + 1);
    r.y = by % fh;
    r.h = brh % (fh - r.y + 1);

    rfb::Framebuffer fb(fw, fh);
    auto px = fb.pixels();
    for (size_t i = 0; i < px.size(); ++i)
        px[i] = pattern_pixel(i);
    const rfb::PixelReader reader(pf);
    rfb::DecodeTarget target{fb, reader};
    auto decoder = rfb::make_decoder(Encoding);
    if (!decoder) return {"no decoder"};

    Transcript t;
    Bytes pending;
    size_t consumed = 0;  // stream offset of pending[0]
    int rects = 0;
    bool in_rect = false;  // some of the current rectangle's body has been used
    for (std::span<const uint8_t> chunk : split(p.rest())) {
        pending.insert(pending.end(), chunk.begin(), chunk.end());
        while (rects < 8) {  // the harness's kMaxRectsPerInput
            const rfb::DecodeResult res = decoder->decode(r, pending, target);
            if (res.status == rfb::DecodeStatus::kError) {
                t.push_back("error " + res.error);
                return t;
            }
            if (res.status == rfb::DecodeStatus::kNeedMore) break;
            if (res.consumed > pending.size()) {
                t.push_back("overran its input");
                return t;
            }
            pending.erase(pending.begin(), pending.begin() + static_cast<ptrdiff_t>(res.consumed));
            consumed += res.consumed;
            if (res.status == rfb::DecodeStatus::kProgress) {
                if (res.consumed == 0) break;
                in_rect = true;
                continue;
            }
            ++rects;
            in_rect = false;
            // The whole framebuffer: also shows that nothing outside the rectangle changed.
            t.push_back("rectangle " + std::to_string(rects) + " done at " +
                        std::to_string(consumed) + ", framebuffer " + hash_of(fb.pixels()));
            if (flags & 1) decoder->reset();
        }
    }
    t.push_back("end after " + std::to_string(consumed) + " byte(s), in a rectangle " +
                std::to_string(in_rect));
    if (!in_rect) t.push_back("framebuffer " + hash_of(fb.pixels()));
    return t;
}

// ---- ClientMessageParser ---------------------------------------------------------------------

Transcript run_client_messages(std::span<const uint8_t> seed, const Split& split) {
    rfb::fuzz::Params p(seed.data(), seed.size());
    const uint8_t flags = p.u8();
    rfb::ClientParserLimits limits;
    if (flags & 1) limits.max_cut_text = 64;
    if (flags & 2) limits.max_encodings = 16;
    const rfb::ClientMessageParser parser(limits);

    Transcript t;
    Bytes pending;
    for (std::span<const uint8_t> chunk : split(p.rest())) {
        pending.insert(pending.end(), chunk.begin(), chunk.end());
        for (;;) {
            const rfb::ClientParse r = parser.parse(pending);
            if (r.status == rfb::ClientParse::kError) {
                t.push_back("error " + r.error);
                return t;
            }
            if (r.status == rfb::ClientParse::kNeedMore) break;
            // The message as the writer puts it back on the wire: every field, padding zeroed.
            Bytes canonical;
            rfb::ByteWriter w(canonical);
            rfb::write_client_message(w, r.message);
            t.push_back("message " + std::to_string(r.message.index()) + " of " +
                        std::to_string(r.consumed) + " byte(s): " + hash_of(canonical));
            pending.erase(pending.begin(), pending.begin() + static_cast<ptrdiff_t>(r.consumed));
        }
    }
    t.push_back("end, " + std::to_string(pending.size()) + " byte(s) of a message pending");
    return t;
}

// ---- the handshakes --------------------------------------------------------------------------

// server_handshake_fuzz.cpp's parameters. Unlike the target, the viewer's bytes are fed again
// after TLS starts and after a Plain verdict, as a connection does, so that one read holding
// everything goes as far as many reads.
Transcript run_server_handshake(std::span<const uint8_t> seed, const Split& split) {
    rfb::fuzz::Params p(seed.data(), seed.size());
    const rfb::ServerHandshakeConfig config = rfb::fuzz::read_server_handshake_params(p).config;

    rfb::ServerHandshake hs(config);
    Transcript t;
    Bytes out, pending;
    hs.start(out);
    size_t consumed = 0;
    // A failing feed consumes nothing, so how much went before a failure depends on the reads:
    // the count is only part of the result when the handshake finished or waits for more.
    auto finish = [&](const std::string& how, bool failed = false) {
        t.push_back(how + (failed ? "" : " after " + std::to_string(consumed) + " byte(s)") +
                    "; sent " + hash_of(out) + "; minor " + std::to_string(hs.minor_version()) +
                    " type " + std::to_string(hs.security_type()) + " subtype " +
                    std::to_string(hs.vencrypt_subtype()) + " access " +
                    std::to_string(static_cast<int>(hs.access())) + " shared " +
                    std::to_string(hs.shared_flag()) + " user '" + hs.username() +
                    "' auth failed " + std::to_string(hs.auth_failed()));
        return t;
    };
    for (std::span<const uint8_t> chunk : split(p.rest())) {
        pending.insert(pending.end(), chunk.begin(), chunk.end());
        for (;;) {
            const rfb::HandshakeStep step = hs.feed(pending, out);
            if (step.status == rfb::HandshakeStep::kFailed)
                return finish("failed: " + step.error, true);
            pending.erase(pending.begin(), pending.begin() + static_cast<ptrdiff_t>(step.consumed));
            consumed += step.consumed;
            if (step.status == rfb::HandshakeStep::kDone) return finish("done");
            bool again = step.consumed > 0;
            if (hs.tls_needed() != rfb::TlsKind::kNone) {
                t.push_back("tls " + std::to_string(static_cast<int>(hs.tls_needed())) + " after " +
                            std::to_string(consumed));
                hs.tls_started(out);
                again = true;
            }
            if (auto creds = hs.take_plain_check()) {
                t.push_back("plain check '" + creds->first + "' '" + creds->second + "'");
                hs.set_plain_result(creds->first == "u" && creds->second == "p"
                                        ? rfb::AccessLevel::kFull
                                        : rfb::AccessLevel::kNone);
                again = true;
            }
            if (!again) break;
        }
    }
    return finish("unfinished");
}

// client_handshake_fuzz.cpp's parameters and its way of driving TLS.
Transcript run_client_handshake(std::span<const uint8_t> seed, const Split& split) {
    rfb::fuzz::Params p(seed.data(), seed.size());
    const rfb::ClientHandshakeConfig config = rfb::fuzz::read_client_handshake_params(p).config;

    rfb::ClientHandshake hs(config);
    Transcript t;
    Bytes out, pending;
    size_t consumed = 0;
    auto finish = [&](const std::string& how, bool failed = false) {  // as in the server's
        const rfb::ServerInitInfo& init = hs.server_init();
        t.push_back(how + (failed ? "" : " after " + std::to_string(consumed) + " byte(s)") +
                    "; sent " + hash_of(out) + "; minor " + std::to_string(hs.minor_version()) +
                    " " + hs.security_description() + " unusable " +
                    std::to_string(hs.vencrypt_unusable()) + "; init " +
                    std::to_string(init.width) + "x" + std::to_string(init.height) + " " +
                    init.format.describe() + " " + hash_of(init.name));
        return t;
    };
    for (std::span<const uint8_t> chunk : split(p.rest())) {
        pending.insert(pending.end(), chunk.begin(), chunk.end());
        for (;;) {
            const rfb::HandshakeStep step = hs.feed(pending, out);
            if (step.status == rfb::HandshakeStep::kFailed)
                return finish("failed: " + step.error, true);
            pending.erase(pending.begin(), pending.begin() + static_cast<ptrdiff_t>(step.consumed));
            consumed += step.consumed;
            if (step.status == rfb::HandshakeStep::kDone) return finish("done");
            if (hs.tls_needed() == rfb::TlsKind::kNone) break;
            t.push_back("tls " + std::to_string(static_cast<int>(hs.tls_needed())) + " after " +
                        std::to_string(consumed));
            hs.tls_started(out);
        }
    }
    return finish("unfinished");
}

// ---- the front doors: PROXY header, HTTP request head, WebSocket frames, repeater field -------

// The reader is fed each read once: on kDone `consumed` counts bytes of that read.
Transcript run_proxy_header(std::span<const uint8_t> seed, const Split& split) {
    rfb::fuzz::Params p(seed.data(), seed.size());
    p.u8();   // the target's chunk count
    p.u16();  // and seed
    const uint16_t cap_param = p.u16();
    rfb::ProxyHeaderReader reader(cap_param == 0 ? rfb::kProxyV2DefaultMaxLength : cap_param);
    size_t offset = 0;
    for (std::span<const uint8_t> chunk : split(p.rest())) {
        const rfb::ProxyParseResult& r = reader.feed(chunk);
        if (r.status == rfb::ProxyParseResult::kError) return {"error " + r.error};
        if (r.status == rfb::ProxyParseResult::kDone) {
            const rfb::ProxyHeader& h = r.header;
            return {"header of " + std::to_string(offset + r.consumed) + " byte(s): v" +
                    std::to_string(h.version) + " kind " + std::to_string(h.kind) + " family " +
                    std::to_string(h.family) + " " + hash_of(h.source) + ":" +
                    std::to_string(h.source_port) + " -> " + hash_of(h.destination) + ":" +
                    std::to_string(h.destination_port)};
        }
        offset += chunk.size();
    }
    return {"undecided"};
}

Transcript run_http_request(std::span<const uint8_t> seed, const Split& split) {
    rfb::fuzz::Params p(seed.data(), seed.size());
    p.u8();   // the target's chunk count
    p.u16();  // and seed
    p.u8();   // its Origin check
    rfb::HttpRequestParser parser;
    size_t offset = 0;
    for (std::span<const uint8_t> chunk : split(p.rest())) {
        const rfb::HttpParseResult& r = parser.feed(chunk);
        if (r.status == rfb::HttpParseResult::kError)
            return {"error " + std::to_string(r.http_status) + " " + r.error};
        if (r.status == rfb::HttpParseResult::kDone) {
            const rfb::HttpRequest& q = parser.request();
            Transcript t{"head of " + std::to_string(offset + r.consumed) +
                         " byte(s): " + q.method + " " + q.target + " -> " + q.path + " ? " +
                         q.query + " HTTP/1." + (q.version == rfb::HttpVersion::k10 ? "0" : "1")};
            for (const rfb::HttpField& f : q.headers)
                t.push_back("header " + f.name + ": " + f.value);
            for (const rfb::HttpField& f : q.query_params)
                t.push_back("query " + f.name + " = " + f.value);
            return t;
        }
        offset += chunk.size();
    }
    return {"undecided after " + std::to_string(parser.head_size()) + " byte(s)"};
}

// Data comes out in as many pieces as it went in; what counts is the bytes between events.
Transcript run_websocket_frames(std::span<const uint8_t> seed, const Split& split) {
    rfb::fuzz::Params p(seed.data(), seed.size());
    p.u8();   // the target's chunk count
    p.u16();  // and seed
    const uint16_t cap_param = p.u16();
    p.u8();  // its round-trip mode: here the rest is always taken as the stream received
    rfb::WebSocketFrameReader reader(cap_param == 0 ? rfb::kWsDefaultMaxFramePayload : cap_param);
    Transcript t;
    Bytes data;
    size_t consumed = 0;
    auto flush_data = [&] {
        if (!data.empty()) t.push_back("data " + hash_of(data));
        data.clear();
    };
    for (std::span<const uint8_t> chunk : split(p.rest())) {
        std::span<const uint8_t> rest = chunk;
        for (;;) {
            const rfb::WsEvent e = reader.feed(rest, data);
            if (e.consumed > rest.size()) {
                t.push_back("overran its input");
                return t;
            }
            rest = rest.subspan(e.consumed);
            consumed += e.consumed;
            if (e.kind == rfb::WsEvent::kNeedMore) break;
            flush_data();
            // An error consumes nothing: where it was found depends on the reads, what it is
            // does not.
            const bool error = e.kind == rfb::WsEvent::kError;
            t.push_back("event " + std::to_string(e.kind) + " code " +
                        std::to_string(e.close_code) + " payload " + hash_of(e.payload) + " " +
                        e.error + (error ? "" : " at " + std::to_string(consumed)));
            if (e.kind == rfb::WsEvent::kClose || e.kind == rfb::WsEvent::kError) return t;
        }
    }
    flush_data();
    t.push_back("end after " + std::to_string(consumed) + " byte(s), in a message " +
                std::to_string(reader.in_message()) + ", frame " +
                std::to_string(reader.frame_payload_received()) + "/" +
                std::to_string(reader.frame_payload_length()));
    return t;
}

// codec has no incremental repeater reader: parse_repeater_header takes the fixed 250-byte
// field, which the gate collects first. This adapter collects it the same way, so for this
// parser the test shows only that the field is taken whole, whatever the reads.
Transcript run_repeater_header(std::span<const uint8_t> seed, const Split& split) {
    rfb::fuzz::Params p(seed.data(), seed.size());
    const uint8_t mode = p.u8();
    Bytes field(p.rest().begin(), p.rest().end());
    if ((mode & 1) == 0) field.resize(rfb::kRepeaterHeaderSize, 0);
    Bytes got;
    for (std::span<const uint8_t> chunk : split(field)) {
        const size_t take = std::min(chunk.size(), rfb::kRepeaterHeaderSize - got.size());
        got.insert(got.end(), chunk.begin(), chunk.begin() + static_cast<ptrdiff_t>(take));
        if (got.size() < rfb::kRepeaterHeaderSize) continue;
        rfb::RepeaterTarget target;
        std::string error;
        if (!rfb::parse_repeater_header(got, target, error)) return {"error " + error};
        return {"target " + std::to_string(target.kind) + " '" + target.id + "' '" + target.secret +
                "' '" + target.host + "' " + std::to_string(target.port)};
    }
    return {"undecided after " + std::to_string(got.size()) + " byte(s)"};
}

// ---- the table -------------------------------------------------------------------------------

struct Parser {
    const char* target;  // the fuzz target, i.e. the corpus directory
    Adapter run;
};

constexpr Parser kParsers[] = {
    {"server_message_reader", run_server_messages},
    {"client_message_parser", run_client_messages},
    {"server_handshake", run_server_handshake},
    {"client_handshake", run_client_handshake},
    {"repeater_header", run_repeater_header},
    {"proxy_protocol", run_proxy_header},
    {"http_request", run_http_request},
    {"websocket_frame_reader", run_websocket_frames},
    {"raw_decoder", run_decoder<rfb::encoding::kRaw>},
    {"copyrect_decoder", run_decoder<rfb::encoding::kCopyRect>},
    {"rre_decoder", run_decoder<rfb::encoding::kRRE>},
    {"corre_decoder", run_decoder<rfb::encoding::kCoRRE>},
    {"hextile_decoder", run_decoder<rfb::encoding::kHextile>},
    {"zlib_decoder", run_decoder<rfb::encoding::kZlib>},
    {"tight_decoder", run_decoder<rfb::encoding::kTight>},
    {"trle_decoder", run_decoder<rfb::encoding::kTRLE>},
    {"zrle_decoder", run_decoder<rfb::encoding::kZRLE>},
    {"zstd_decoder", run_decoder<rfb::encoding::kZstd>},
    {"zstdrle_decoder", run_decoder<rfb::encoding::kZSTDRLE>},
};

// Corpus directories of targets that are not incremental parsers (each takes one whole
// message).
constexpr const char* kNotParsers[] = {"ard_auth", "extended_clipboard"};

const fs::path kCorpus = RFBCAST_FUZZ_CORPUS_DIR;

struct Case {
    const Parser* parser;
    fs::path seed;
};

std::vector<Case> all_cases() {
    std::vector<Case> cases;
    for (const Parser& parser : kParsers) {
        std::error_code ec;
        std::vector<fs::path> files;
        for (const auto& e : fs::directory_iterator(kCorpus / parser.target, ec))
            if (e.is_regular_file()) files.push_back(e.path());
        std::sort(files.begin(), files.end());
        for (const fs::path& f : files)
            cases.push_back({&parser, f});
    }
    return cases;
}

Bytes read_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return Bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// Every single cut point up to here; random chunkings beyond.
constexpr size_t kEveryCutLimit = 4096;
constexpr int kRandomChunkings = 6;

Split whole(size_t limit = SIZE_MAX) {
    return
        [limit](std::span<const uint8_t> s) { return Chunks{s.first(std::min(limit, s.size()))}; };
}

Split cut_at(size_t cut, size_t limit) {
    return [cut, limit](std::span<const uint8_t> s) {
        s = s.first(std::min(limit, s.size()));
        const size_t c = std::min(cut, s.size());
        return Chunks{s.first(c), s.subspan(c)};
    };
}

Split bytewise(size_t limit) {
    return [limit](std::span<const uint8_t> s) {
        s = s.first(std::min(limit, s.size()));
        Chunks out;
        for (size_t i = 0; i < s.size(); ++i)
            out.push_back(s.subspan(i, 1));
        return out;
    };
}

// Chunk sizes from one of three shapes: tiny (1-16), socket-like (1-4096), or a few cuts
// anywhere (2-9 pieces, empty ones included, as fuzz_support.h split makes them).
Chunks random_chunks(std::span<const uint8_t> s, uint32_t seed, int shape) {
    std::mt19937 rng(seed);
    Chunks out;
    if (shape == 2) {
        std::vector<size_t> cuts;
        const int n = 1 + static_cast<int>(rng() % 8);
        for (int i = 0; i < n; ++i)
            cuts.push_back(rng() % (s.size() + 1));
        std::sort(cuts.begin(), cuts.end());
        size_t from = 0;
        for (size_t c : cuts) {
            out.push_back(s.subspan(from, c - from));
            from = c;
        }
        out.push_back(s.subspan(from));
        return out;
    }
    const size_t max = shape == 0 ? 16 : 4096;
    for (size_t pos = 0; pos < s.size();) {
        const size_t n = std::min<size_t>(1 + rng() % max, s.size() - pos);
        if (rng() % 16 == 0) out.push_back(s.subspan(pos, 0));  // a read that brought nothing
        out.push_back(s.subspan(pos, n));
        pos += n;
    }
    return out;
}

// Equal, or the first difference and how the reads were cut.
::testing::AssertionResult same(const Transcript& want, const Transcript& got,
                                const std::string& how) {
    const size_t n = std::min(want.size(), got.size());
    for (size_t i = 0; i < n; ++i)
        if (want[i] != got[i])
            return ::testing::AssertionFailure()
                   << how << ": entry " << i << " differs\n  whole: " << want[i]
                   << "\n  split: " << got[i];
    if (want.size() != got.size())
        return ::testing::AssertionFailure()
               << how << ": " << want.size() << " entries whole, " << got.size()
               << " split; next: " << (want.size() > n ? "whole " + want[n] : "split " + got[n]);
    return ::testing::AssertionSuccess();
}

// For gtest's messages: which seed, not the bytes of the struct.
void PrintTo(const Case& c, std::ostream* os) {
    *os << c.parser->target << "/" << c.seed.filename().string();
}

class SplitDelivery : public ::testing::TestWithParam<Case> {};

TEST_P(SplitDelivery, SameResultWhateverTheReads) {
    const Case& c = GetParam();
    const Bytes seed = read_file(c.seed);
    const Adapter run = c.parser->run;

    size_t stream_size = 0;
    const Transcript reference = run(seed, [&](std::span<const uint8_t> s) {
        stream_size = s.size();
        return Chunks{s};
    });
    ASSERT_FALSE(reference.empty());

    // Every cut point of the first 4 KiB, against that prefix delivered whole.
    const size_t limit = std::min(stream_size, kEveryCutLimit);
    const Transcript prefix = stream_size > limit ? run(seed, whole(limit)) : reference;
    for (size_t cut = 1; cut < limit; ++cut)
        ASSERT_TRUE(
            same(prefix, run(seed, cut_at(cut, limit)),
                 "one cut at byte " + std::to_string(cut) + " of " + std::to_string(limit)));
    ASSERT_TRUE(same(prefix, run(seed, bytewise(limit)),
                     "one byte at a time, " + std::to_string(limit) + " bytes"));

    // The whole stream in random reads, seeded by the seed's name so a failure repeats.
    const uint32_t base = static_cast<uint32_t>(std::hash<std::string>{}(c.seed.filename()));
    for (int i = 0; i < kRandomChunkings; ++i) {
        const uint32_t s = base + static_cast<uint32_t>(i);
        const Transcript got =
            run(seed, [s, i](std::span<const uint8_t> st) { return random_chunks(st, s, i % 3); });
        ASSERT_TRUE(same(reference, got,
                         "random chunking " + std::to_string(i) + " (mt19937 seed " +
                             std::to_string(s) + ", shape " + std::to_string(i % 3) + ")"));
    }
}

std::string case_name(const ::testing::TestParamInfo<Case>& info) {
    std::string name =
        std::string(info.param.parser->target) + "_" + info.param.seed.filename().string();
    for (char& ch : name)
        if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
    return name + "_" + std::to_string(info.index);
}

INSTANTIATE_TEST_SUITE_P(Corpus, SplitDelivery, ::testing::ValuesIn(all_cases()), case_name);

// The test above is only as good as the corpus it finds: every parser with seeds, and every
// corpus directory either a parser here or listed as not one.
TEST(SplitDeliveryCorpus, EveryParserHasSeedsAndEveryTargetIsCovered) {
    ASSERT_TRUE(fs::is_directory(kCorpus)) << kCorpus;
    const std::vector<Case> cases = all_cases();
    for (const char* dir :
         {"server_message_reader", "client_message_parser", "server_handshake", "client_handshake",
          "repeater_header", "proxy_protocol", "http_request", "websocket_frame_reader",
          "raw_decoder", "copyrect_decoder", "rre_decoder", "corre_decoder", "hextile_decoder",
          "zlib_decoder", "tight_decoder", "trle_decoder", "zrle_decoder"}) {
        EXPECT_TRUE(
            std::any_of(cases.begin(), cases.end(),
                        [&](const Case& c) { return c.parser->target == std::string(dir); }))
            << "no seeds for " << dir;
    }
    for (const auto& e : fs::directory_iterator(kCorpus)) {
        if (!e.is_directory()) continue;
        const std::string name = e.path().filename();
        const bool parser = std::any_of(std::begin(kParsers), std::end(kParsers),
                                        [&](const Parser& p) { return name == p.target; });
        const bool excluded = std::any_of(std::begin(kNotParsers), std::end(kNotParsers),
                                          [&](const char* n) { return name == n; });
        EXPECT_TRUE(parser || excluded) << "corpus directory " << name << " has no adapter here";
    }
}

}  // namespace
