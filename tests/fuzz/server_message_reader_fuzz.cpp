// libFuzzer target: ServerMessageReader with every real decoder, fed in chunks as from a socket.
//
// Input: 8 parameter bytes, then the server's byte stream.
//   0     wire format: below 240 an index (fuzz_support.h wire_format); else the format is read
//         from the 16 bytes that follow the parameters, valid or not
//   1-2   framebuffer width, 3-4 height (each 1..256)
//   5     bits 0-2: chunks - 1; bit 3: small cut-text limit; bit 4: after the stream, reset()
//         and feed it again in one piece
//   6-7   where the chunks are cut
#include <cstddef>
#include <cstdint>
#include <vector>

#include "codec/byte_reader.h"
#include "codec/cursor_conversion.h"
#include "codec/framebuffer.h"
#include "codec/rfb_constants.h"
#include "codec/server_message_reader.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

using rfb::Rect;

// Checks what the reader reports against the framebuffer it writes, as the session would
// rely on it.
class CheckingSink final : public rfb::ServerMessageSink {
  public:
    CheckingSink(const rfb::Framebuffer& fb, size_t max_cut_text)
        : fb_(fb), max_cut_text_(max_cut_text) {}

    void on_update_begin() override {
        FUZZ_CHECK(!in_update_);
        in_update_ = true;
    }
    void on_update_end() override {
        FUZZ_CHECK(in_update_);
        in_update_ = false;
    }
    void on_rect(const Rect& r, int32_t) override {
        FUZZ_CHECK(in_update_);
        FUZZ_CHECK(fb_.contains(r));
    }
    void on_damage(const Rect& r) override {
        FUZZ_CHECK(in_update_);
        FUZZ_CHECK(!r.empty());
        FUZZ_CHECK(fb_.contains(r));
    }
    void on_copy(const Rect& dst, uint32_t sx, uint32_t sy) override {
        FUZZ_CHECK(in_update_);
        FUZZ_CHECK(fb_.contains(dst));
        FUZZ_CHECK(fb_.contains(Rect{sx, sy, dst.w, dst.h}));
    }
    void on_resize(uint32_t w, uint32_t h) override {
        FUZZ_CHECK(w == fb_.width() && h == fb_.height());
        FUZZ_CHECK(w >= 1 && w <= rfb::limits::kMaxFramebufferDim);
        FUZZ_CHECK(h >= 1 && h <= rfb::limits::kMaxFramebufferDim);
    }
    void on_extended_desktop_size(const rfb::ExtendedDesktopSizeInfo& info) override {
        FUZZ_CHECK(info.screens.size() <= 255);
    }
    void on_cursor(const rfb::CursorImage& c) override {
        FUZZ_CHECK(c.consistent());
        FUZZ_CHECK(c.width <= rfb::limits::kMaxCursorDim && c.height <= rfb::limits::kMaxCursorDim);
        if (c.has_alpha()) {
            // A Cursor With Alpha shape: its classic mask is the one derived from its alpha, and
            // it can be written back for viewers that take -314.
            FUZZ_CHECK(c.mask == rfb::mask_from_alpha(c.width, c.height, c.alpha));
            FUZZ_CHECK(rfb::premultiplied_rgba(c).size() ==
                       c.pixels.size() * rfb::kCursorAlphaBytesPerPixel);
        }
    }
    void on_desktop_name(const std::string& name) override {
        FUZZ_CHECK(name.size() <= rfb::limits::kMaxDesktopNameLength);
    }
    void on_cut_text(const std::string& text) override { FUZZ_CHECK(text.size() <= max_cut_text_); }
    void on_extended_clipboard(std::span<const uint8_t> payload) override {
        FUZZ_CHECK(payload.size() <= max_cut_text_);
    }
    void on_fence(uint32_t, std::span<const uint8_t> payload) override {
        FUZZ_CHECK(payload.size() <= rfb::limits::kMaxFencePayload);
    }

    void restart() { in_update_ = false; }

  private:
    const rfb::Framebuffer& fb_;
    size_t max_cut_text_;
    bool in_update_ = false;
};

// Feeds `chunks` as a connection would, keeping what the reader leaves unconsumed. Returns
// false once the reader reported an error.
bool feed_all(rfb::ServerMessageReader& reader, CheckingSink& sink,
              const std::vector<std::span<const uint8_t>>& chunks) {
    std::vector<uint8_t> pending;
    for (auto chunk : chunks) {
        pending.insert(pending.end(), chunk.begin(), chunk.end());
        const rfb::ServerReadResult res = reader.feed(pending, sink);
        FUZZ_CHECK(res.consumed <= pending.size());
        if (res.status == rfb::ServerReadResult::kError) {
            if (rfb::fuzz::verbose()) std::fprintf(stderr, "reader error: %s\n", res.error.c_str());
            FUZZ_CHECK(!res.error.empty());
            // An error is final until reset().
            const auto again = reader.feed(pending, sink);
            FUZZ_CHECK(again.status == rfb::ServerReadResult::kError);
            return false;
        }
        FUZZ_CHECK(res.error.empty());
        pending.erase(pending.begin(), pending.begin() + static_cast<ptrdiff_t>(res.consumed));
        // Outside rectangle bodies the reader buffers partial messages itself.
        if (!pending.empty()) FUZZ_CHECK(reader.in_update());
    }
    if (rfb::fuzz::verbose())
        std::fprintf(stderr, "stream read, %zu byte(s) left, in update: %d\n", pending.size(),
                     reader.in_update());
    return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    rfb::fuzz::Params p(data, size);
    const uint8_t selector = p.u8();
    const uint32_t w = 1 + p.u16() % 256, h = 1 + p.u16() % 256;
    const uint8_t flags = p.u8();
    const uint16_t seed = p.u16();
    rfb::PixelFormat pf = rfb::fuzz::wire_format(selector);
    if (selector >= 240) {
        const auto raw = p.bytes(16);
        rfb::ByteReader br(raw);
        if (!rfb::PixelFormat::read(br, pf)) return 0;
    }

    rfb::Framebuffer fb(w, h);
    rfb::ServerMessageReader reader(fb, pf);
    rfb::ServerReaderLimits limits;
    if (flags & 8) limits.max_cut_text = 64;
    reader.set_limits(limits);
    CheckingSink sink(fb, limits.max_cut_text);

    const auto stream = p.rest();
    const bool ok = feed_all(reader, sink, rfb::fuzz::split(stream, 1 + (flags & 7), seed));
    if (!pf.valid(nullptr, /*allow_colour_map=*/true)) FUZZ_CHECK(!ok);

    if (flags & 16) {
        reader.reset();
        FUZZ_CHECK(!reader.in_update());
        sink.restart();
        feed_all(reader, sink, {stream});
    }
    return 0;
}
