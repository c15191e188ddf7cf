#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "codec/client_messages.h"
#include "codec/cursor.h"
#include "codec/decoder.h"
#include "codec/framebuffer.h"
#include "codec/limit_kind.h"
#include "codec/pixel_converter.h"
#include "codec/pixel_format.h"
#include "codec/rect.h"
#include "codec/rfb_constants.h"

// Reads what an upstream RFB server sends after the handshake (rfbcast plays the client):
// framebuffer updates are decoded straight into the session framebuffer, everything else is
// reported to a sink.
namespace rfb {

// An ExtendedDesktopSize rectangle as received (reason/status are its x/y fields).
struct ExtendedDesktopSizeInfo {
    uint16_t reason = 0;  // 0 server-side change, 1 requested by us, 2 by another client
    uint16_t status = 0;  // for reason 1: 0 ok, else the server refused
    uint32_t width = 0, height = 0;
    std::vector<Screen> screens;
};

class ServerMessageSink {
  public:
    virtual ~ServerMessageSink() = default;
    virtual void on_update_begin() {}
    // Pixels in this rect changed (after they were written). Not called for CopyRect.
    virtual void on_damage(const Rect&) {}
    // A pixel rectangle of this encoding was decoded (before on_damage / on_copy).
    virtual void on_rect(const Rect& /*r*/, int32_t /*encoding*/) {}
    // CopyRect: dst now holds what was at (src_x, src_y); called after the copy was applied.
    virtual void on_copy(const Rect& /*dst*/, uint32_t /*src_x*/, uint32_t /*src_y*/) {}
    virtual void on_update_end() {}
    // The framebuffer was resized (and cleared) by DesktopSize or ExtendedDesktopSize. Only
    // called when the size actually changed.
    virtual void on_resize(uint32_t /*w*/, uint32_t /*h*/) {}
    // Every ExtendedDesktopSize rectangle (after on_resize when the size changed), including
    // the answers to our own SetDesktopSize requests.
    virtual void on_extended_desktop_size(const ExtendedDesktopSizeInfo&) {}
    // Cursor (-239), XCursor (-240) and Cursor With Alpha (-314) shapes; a 0x0 image means "no
    // cursor". A -314 shape arrives with its alpha channel and, for viewers without alpha
    // support, the classic pixels and mask derived from it (codec/cursor_conversion.h).
    virtual void on_cursor(const CursorImage&) {}
    virtual void on_desktop_name(const std::string&) {}
    virtual void on_bell() {}
    virtual void on_cut_text(const std::string& /*latin1*/) {}
    // ServerCutText with a negative length: the raw ExtendedClipboard payload (flags + data).
    virtual void on_extended_clipboard(std::span<const uint8_t> /*payload*/) {}
    virtual void on_fence(uint32_t /*flags*/, std::span<const uint8_t> /*payload*/) {}
    virtual void on_end_of_continuous_updates() {}
    // The server announced the QEMU Extended Key Event pseudo-encoding (-258): from now on it
    // accepts QemuKeyEventMsg.
    virtual void on_qemu_extended_key_events() {}
};

struct ServerReadResult {
    enum Status { kOk, kError } status = kOk;
    size_t consumed = 0;
    std::string error;
    LimitKind limit = LimitKind::kNone;  // kError: the cap the stream broke, if that was why
    bool decoder = false;                // kError: a rectangle's decoder refused its body
};

struct ServerReaderLimits {
    // Longer ServerCutText (plain or extended) is read and thrown away, not delivered: a big
    // clipboard on the server must not cost the session its upstream.
    size_t max_cut_text = limits::kDefaultMaxCutText;
    // Lowered only: past the protocol's (or rfbcast's memory) bounds nothing is accepted.
    uint32_t max_framebuffer_dim = limits::kMaxFramebufferDim;  // DesktopSize, per side
    uint32_t max_cursor_dim = limits::kMaxCursorDim;
    size_t max_fence_payload = limits::kMaxFencePayload;
};

class ServerMessageReader {
  public:
    using DecoderFactory = std::function<std::unique_ptr<RectDecoder>(int32_t encoding)>;

    // Decoders come from make_decoder() (codec/decoder.h).
    ServerMessageReader(Framebuffer& fb, const PixelFormat& wire_format);
    // Decoders come from `factory` (tests, or a restricted set of encodings).
    ServerMessageReader(Framebuffer& fb, const PixelFormat& wire_format, DecoderFactory factory);

    // The pixel format rectangles arrive in, after we send SetPixelFormat. Call between
    // updates. Resets the colour map, as the protocol says.
    void set_wire_format(const PixelFormat& pf);
    void set_limits(const ServerReaderLimits& l) { limits_ = l; }

    // Consumes as many complete messages (and streamed parts of rectangles) as `data` holds.
    // kOk with consumed < size means "need more": call again with the unconsumed rest plus new
    // bytes. Outside rectangle bodies the reader buffers partial messages itself, so only
    // bytes a decoder is waiting for are ever left unconsumed. An error is final until
    // reset().
    ServerReadResult feed(std::span<const uint8_t> data, ServerMessageSink& sink);

    // New upstream connection: forgets any partial message and restarts decoders' streams.
    void reset();

    bool in_update() const;

  private:
    enum class State {
        kMessageType,
        kUpdateHeader,
        kRectHeader,
        kRectBody,  // a decoder owns the bytes
        kCopyRect,
        kCursor,
        kXCursor,
        kCursorAlphaEncoding,  // the S32 inner encoding of a Cursor With Alpha rectangle
        kCursorAlpha,
        kDesktopNameLength,
        kDesktopName,
        kExtDesktopSizeHeader,
        kExtDesktopSizeScreens,
        kColourMapHeader,
        kColourMapEntry,
        kCutTextHeader,
        kCutText,
        kCutTextSkip,
        kFenceHeader,
        kFencePayload,
        kError,
    };

    bool take(std::span<const uint8_t> data, size_t& pos, size_t n, std::span<const uint8_t>& out);
    ServerReadResult fail(size_t pos, std::string why, LimitKind limit = LimitKind::kNone);
    bool start_rect(std::span<const uint8_t> hdr, ServerMessageSink& sink, std::string& why);
    void finish_rect(ServerMessageSink& sink);
    bool resize(uint32_t w, uint32_t h, ServerMessageSink& sink, std::string& why);
    RectDecoder* decoder_for(int32_t encoding);

    Framebuffer& fb_;
    PixelFormat format_;
    PixelReader pixels_;
    bool format_ok_;
    DecoderFactory factory_;
    ServerReaderLimits limits_;
    std::map<int32_t, std::unique_ptr<RectDecoder>> decoders_;

    State state_ = State::kMessageType;
    LimitKind limit_ = LimitKind::kNone;  // why the stream failed, when a cap was the reason
    bool decoder_failed_ = false;         // the stream failed inside a rectangle's body
    std::string error_;
    std::vector<uint8_t> stage_, taken_;  // partial message bytes; the last completed piece

    // Current update / rectangle.
    uint32_t rects_left_ = 0;
    Rect rect_;
    int32_t encoding_ = 0;
    RectDecoder* decoder_ = nullptr;
    size_t body_size_ = 0;
    ExtendedDesktopSizeInfo ext_;
    // SetColourMapEntries / ServerCutText / ServerFence in progress.
    uint32_t colour_index_ = 0, colours_left_ = 0;
    bool cut_extended_ = false;
    size_t skip_left_ = 0;
    uint32_t fence_flags_ = 0;
};

}  // namespace rfb
