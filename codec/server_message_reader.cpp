#include "codec/server_message_reader.h"

#include <algorithm>
#include <utility>

#include "codec/byte_reader.h"
#include "codec/cursor_conversion.h"

namespace rfb {

namespace {

// Sizes of the fixed parts that follow the message-type byte.
constexpr size_t kUpdateHeader = 3;         // padding, number of rectangles
constexpr size_t kRectHeader = 12;          // x, y, w, h, encoding
constexpr size_t kColourMapHeader = 5;      // padding, first colour, number of colours
constexpr size_t kColourMapEntry = 6;       // r, g, b
constexpr size_t kServerCutTextHeader = 7;  // padding, length
constexpr size_t kServerFenceHeader = 8;    // padding, flags, length
constexpr size_t kCopyRectBody = 4;         // source x, y
constexpr size_t kExtDesktopHeader = 4;     // number of screens, padding
constexpr size_t kXCursorColours = 6;       // primary and secondary RGB
constexpr size_t kCursorAlphaInner = 4;     // S32 encoding of the pixels

// The format handed to PixelReader. Colour-map formats leave the channel maxes meaningless
// (servers often send 0) while PixelReader still builds widening tables from them, and a 0 max
// would never finish; it only uses the colour map for such formats, so give it harmless maxes.
// Invalid formats are refused in feed(); the reader just needs something safe to hold.
PixelFormat reader_format(const PixelFormat& pf) {
    if (!pf.valid(nullptr, /*allow_colour_map=*/true)) return PixelFormat{};
    if (pf.true_colour) return pf;
    PixelFormat safe = pf;
    safe.red_max = safe.green_max = safe.blue_max = 255;
    return safe;
}

std::string enc_label(int32_t enc) {
    return std::to_string(enc) + " (" + encoding::name(enc) + ")";
}

}  // namespace

ServerMessageReader::ServerMessageReader(Framebuffer& fb, const PixelFormat& wire_format)
    : ServerMessageReader(fb, wire_format, [](int32_t enc) { return make_decoder(enc); }) {}

ServerMessageReader::ServerMessageReader(Framebuffer& fb, const PixelFormat& wire_format,
                                         DecoderFactory factory)
    : fb_(fb),
      format_(wire_format),
      pixels_(reader_format(wire_format)),
      format_ok_(wire_format.valid(nullptr, /*allow_colour_map=*/true)),
      factory_(std::move(factory)) {}

void ServerMessageReader::set_wire_format(const PixelFormat& pf) {
    format_ = pf;
    pixels_ = PixelReader(reader_format(pf));
    format_ok_ = pf.valid(nullptr, /*allow_colour_map=*/true);
}

void ServerMessageReader::reset() {
    for (auto& [enc, d] : decoders_)
        d->reset();
    state_ = State::kMessageType;
    error_.clear();
    limit_ = LimitKind::kNone;
    decoder_failed_ = false;
    stage_.clear();
    taken_.clear();
    rects_left_ = 0;
    decoder_ = nullptr;
    skip_left_ = 0;
}

bool ServerMessageReader::in_update() const {
    switch (state_) {
        case State::kRectHeader:
        case State::kRectBody:
        case State::kCopyRect:
        case State::kCursor:
        case State::kXCursor:
        case State::kCursorAlphaEncoding:
        case State::kCursorAlpha:
        case State::kDesktopNameLength:
        case State::kDesktopName:
        case State::kExtDesktopSizeHeader:
        case State::kExtDesktopSizeScreens:
            return true;
        default:
            return false;
    }
}

// Hands out the next `n` bytes as one span. When they are all in `data` (and nothing is staged)
// they are used in place; otherwise they are gathered across calls in stage_. Input is consumed
// either way, so callers never have to keep partial messages. `n` must be the same on every
// call until it succeeds, which holds because it depends only on the state.
bool ServerMessageReader::take(std::span<const uint8_t> data, size_t& pos, size_t n,
                               std::span<const uint8_t>& out) {
    const size_t avail = data.size() - pos;
    if (stage_.empty() && avail >= n) {
        out = data.subspan(pos, n);
        pos += n;
        return true;
    }
    const size_t k = std::min(n - stage_.size(), avail);
    stage_.insert(stage_.end(), data.begin() + static_cast<ptrdiff_t>(pos),
                  data.begin() + static_cast<ptrdiff_t>(pos + k));
    pos += k;
    if (stage_.size() < n) return false;
    taken_.swap(stage_);
    stage_.clear();
    out = taken_;
    return true;
}

ServerReadResult ServerMessageReader::fail(size_t pos, std::string why, LimitKind limit) {
    state_ = State::kError;
    error_ = why;
    limit_ = limit;
    stage_.clear();
    return ServerReadResult{ServerReadResult::kError, pos, std::move(why), limit, decoder_failed_};
}

RectDecoder* ServerMessageReader::decoder_for(int32_t enc) {
    auto it = decoders_.find(enc);
    if (it != decoders_.end()) return it->second.get();
    std::unique_ptr<RectDecoder> d = factory_ ? factory_(enc) : nullptr;
    if (!d) return nullptr;
    RectDecoder* raw = d.get();
    decoders_.emplace(enc, std::move(d));
    return raw;
}

bool ServerMessageReader::resize(uint32_t w, uint32_t h, ServerMessageSink& sink,
                                 std::string& why) {
    if (w == fb_.width() && h == fb_.height()) return true;
    if (w > limits_.max_framebuffer_dim || h > limits_.max_framebuffer_dim || !fb_.resize(w, h)) {
        why = "desktop size " + std::to_string(w) + "x" + std::to_string(h) + " out of range";
        limit_ = LimitKind::kFramebufferSize;
        return false;
    }
    sink.on_resize(w, h);
    return true;
}

void ServerMessageReader::finish_rect(ServerMessageSink& sink) {
    decoder_ = nullptr;
    if (--rects_left_ == 0) {
        state_ = State::kMessageType;
        sink.on_update_end();
    } else {
        state_ = State::kRectHeader;
    }
}

// Reads a rectangle header and picks the state for its body. Returns false with `why` set
// when the rectangle is not acceptable.
bool ServerMessageReader::start_rect(std::span<const uint8_t> hdr, ServerMessageSink& sink,
                                     std::string& why) {
    ByteReader r(hdr);
    uint16_t x = 0, y = 0, w = 0, h = 0;
    r.u16(x);
    r.u16(y);
    r.u16(w);
    r.u16(h);
    r.s32(encoding_);
    rect_ = Rect{x, y, w, h};

    switch (encoding_) {
        case encoding::kLastRect:
            rects_left_ = 1;  // finish_rect() ends the update
            finish_rect(sink);
            return true;
        case encoding::kDesktopSize:
            if (!resize(w, h, sink, why)) return false;
            finish_rect(sink);
            return true;
        case encoding::kExtendedDesktopSize:
            ext_ = ExtendedDesktopSizeInfo{x, y, w, h, {}};
            state_ = State::kExtDesktopSizeHeader;
            return true;
        case encoding::kQemuExtendedKeyEvent:
            sink.on_qemu_extended_key_events();
            finish_rect(sink);
            return true;
        case encoding::kDesktopName:
            state_ = State::kDesktopNameLength;
            return true;
        case encoding::kCursor:
        case encoding::kXCursor:
        case encoding::kCursorWithAlpha: {
            if (w > limits_.max_cursor_dim || h > limits_.max_cursor_dim) {
                why = "cursor " + std::to_string(w) + "x" + std::to_string(h) + " too large";
                limit_ = LimitKind::kCursorSize;
                return false;
            }
            const size_t mask = (size_t{w} + 7) / 8 * h;
            if (encoding_ == encoding::kCursor) {
                body_size_ = size_t{w} * h * pixels_.bytes_per_pixel() + mask;
                state_ = State::kCursor;
            } else if (encoding_ == encoding::kCursorWithAlpha) {
                // Even an empty cursor carries its inner encoding (Xvnc sends 0x0 Raw).
                state_ = State::kCursorAlphaEncoding;
            } else {
                // XCursor carries no colours at all for an empty cursor.
                body_size_ = (w == 0 || h == 0) ? 0 : kXCursorColours + 2 * mask;
                state_ = State::kXCursor;
            }
            return true;
        }
        default:
            break;
    }

    if (!fb_.contains(rect_)) {
        why = "rect outside framebuffer: " + std::to_string(x) + "," + std::to_string(y) + " " +
              std::to_string(w) + "x" + std::to_string(h) + " in " + std::to_string(fb_.width()) +
              "x" + std::to_string(fb_.height()) + ", encoding " + enc_label(encoding_);
        return false;
    }
    if (encoding_ == encoding::kCopyRect) {
        state_ = State::kCopyRect;
        return true;
    }
    decoder_ = decoder_for(encoding_);
    if (!decoder_) {
        why = "unsupported encoding " + enc_label(encoding_);
        return false;
    }
    state_ = State::kRectBody;
    return true;
}

ServerReadResult ServerMessageReader::feed(std::span<const uint8_t> data, ServerMessageSink& sink) {
    if (state_ == State::kError)
        return ServerReadResult{ServerReadResult::kError, 0, error_, limit_, decoder_failed_};
    if (!format_ok_) return fail(0, "wire pixel format is invalid: " + format_.describe());

    size_t pos = 0;
    std::span<const uint8_t> m;
    auto more = [&] { return ServerReadResult{ServerReadResult::kOk, pos, {}}; };

    for (;;) {
        switch (state_) {
            case State::kError:
                return ServerReadResult{ServerReadResult::kError, pos, error_, limit_,
                                        decoder_failed_};

            case State::kMessageType: {
                if (pos == data.size()) return more();
                const uint8_t type = data[pos++];
                switch (type) {
                    case server_msg::kFramebufferUpdate:
                        state_ = State::kUpdateHeader;
                        break;
                    case server_msg::kSetColourMapEntries:
                        state_ = State::kColourMapHeader;
                        break;
                    case server_msg::kBell:
                        sink.on_bell();
                        break;
                    case server_msg::kServerCutText:
                        state_ = State::kCutTextHeader;
                        break;
                    case server_msg::kEndOfContinuousUpdates:
                        sink.on_end_of_continuous_updates();
                        break;
                    case server_msg::kServerFence:
                        state_ = State::kFenceHeader;
                        break;
                    default:
                        return fail(pos - 1, "unknown server message type " + std::to_string(type));
                }
                break;
            }

            case State::kUpdateHeader: {
                if (!take(data, pos, kUpdateHeader, m)) return more();
                rects_left_ = (uint32_t{m[1]} << 8) | m[2];
                sink.on_update_begin();
                if (rects_left_ == 0) {
                    state_ = State::kMessageType;
                    sink.on_update_end();
                } else {
                    state_ = State::kRectHeader;
                }
                break;
            }

            case State::kRectHeader: {
                if (!take(data, pos, kRectHeader, m)) return more();
                std::string why;
                limit_ = LimitKind::kNone;
                if (!start_rect(m, sink, why)) return fail(pos, std::move(why), limit_);
                break;
            }

            case State::kRectBody: {
                const std::span<const uint8_t> rest = data.subspan(pos);
                DecodeTarget target{fb_, pixels_};
                DecodeResult r = decoder_->decode(rect_, rest, target);
                switch (r.status) {
                    case DecodeStatus::kNeedMore:
                        return more();
                    case DecodeStatus::kProgress:
                        if (r.consumed > rest.size())
                            return fail(pos, enc_label(encoding_) + ": decoder overran its input");
                        if (r.consumed == 0) return more();
                        pos += r.consumed;
                        break;
                    case DecodeStatus::kDone:
                        if (r.consumed > rest.size())
                            return fail(pos, enc_label(encoding_) + ": decoder overran its input");
                        pos += r.consumed;
                        sink.on_rect(rect_, encoding_);
                        if (!rect_.empty()) sink.on_damage(rect_);
                        finish_rect(sink);
                        break;
                    case DecodeStatus::kError:
                        decoder_failed_ = true;
                        return fail(pos, r.error);  // decoders name their encoding
                }
                break;
            }

            case State::kCopyRect: {
                if (!take(data, pos, kCopyRectBody, m)) return more();
                const uint32_t sx = (uint32_t{m[0]} << 8) | m[1];
                const uint32_t sy = (uint32_t{m[2]} << 8) | m[3];
                if (!fb_.copy_within(sx, sy, rect_))
                    return fail(pos, "CopyRect source " + std::to_string(sx) + "," +
                                         std::to_string(sy) + " outside framebuffer");
                sink.on_rect(rect_, encoding::kCopyRect);
                if (!rect_.empty()) sink.on_copy(rect_, sx, sy);
                finish_rect(sink);
                break;
            }

            case State::kCursor: {
                if (!take(data, pos, body_size_, m)) return more();
                CursorImage c;
                c.width = static_cast<uint16_t>(rect_.w);
                c.height = static_cast<uint16_t>(rect_.h);
                const size_t npx = size_t{c.width} * c.height;
                const size_t px_bytes = npx * pixels_.bytes_per_pixel();
                c.pixels.resize(npx);
                if (npx) pixels_.read_row(m.data(), npx, c.pixels.data());
                c.mask.assign(m.begin() + static_cast<ptrdiff_t>(px_bytes), m.end());
                // A hotspot outside the image means nothing; keep viewers from seeing one.
                c.hot_x = npx ? static_cast<uint16_t>(std::min(rect_.x, rect_.w - 1)) : 0;
                c.hot_y = npx ? static_cast<uint16_t>(std::min(rect_.y, rect_.h - 1)) : 0;
                sink.on_cursor(c);
                finish_rect(sink);
                break;
            }

            case State::kXCursor: {
                if (!take(data, pos, body_size_, m)) return more();
                CursorImage c;
                c.width = static_cast<uint16_t>(rect_.w);
                c.height = static_cast<uint16_t>(rect_.h);
                const size_t npx = size_t{c.width} * c.height;
                if (npx) {
                    const uint32_t fg = (uint32_t{m[0]} << 16) | (uint32_t{m[1]} << 8) | m[2];
                    const uint32_t bg = (uint32_t{m[3]} << 16) | (uint32_t{m[4]} << 8) | m[5];
                    const size_t stride = c.mask_stride();
                    const uint8_t* bitmap = m.data() + kXCursorColours;
                    const uint8_t* mask = bitmap + stride * c.height;
                    c.pixels.resize(npx);
                    for (size_t yy = 0; yy < c.height; ++yy)
                        for (size_t xx = 0; xx < c.width; ++xx) {
                            const bool set = (bitmap[yy * stride + xx / 8] >> (7 - xx % 8)) & 1;
                            c.pixels[yy * c.width + xx] = set ? fg : bg;
                        }
                    c.mask.assign(mask, mask + stride * c.height);
                    c.hot_x = static_cast<uint16_t>(std::min(rect_.x, rect_.w - 1));
                    c.hot_y = static_cast<uint16_t>(std::min(rect_.y, rect_.h - 1));
                }
                sink.on_cursor(c);
                finish_rect(sink);
                break;
            }

            case State::kCursorAlphaEncoding: {
                if (!take(data, pos, kCursorAlphaInner, m)) return more();
                const int32_t inner = static_cast<int32_t>(
                    (uint32_t{m[0]} << 24) | (uint32_t{m[1]} << 16) | (uint32_t{m[2]} << 8) | m[3]);
                // Raw is what TigerVNC and QEMU send; anything else would need a decoder that
                // keeps alpha, and no server is known to need one.
                if (inner != encoding::kRaw)
                    return fail(pos, "cursor with alpha in encoding " + enc_label(inner) +
                                         " is not supported (only raw)");
                body_size_ = size_t{rect_.w} * rect_.h * kCursorAlphaBytesPerPixel;
                state_ = State::kCursorAlpha;
                break;
            }
            case State::kCursorAlpha: {
                if (!take(data, pos, body_size_, m)) return more();
                CursorImage c;
                const auto w = static_cast<uint16_t>(rect_.w), h = static_cast<uint16_t>(rect_.h);
                const bool any = w != 0 && h != 0;
                // A hotspot outside the image means nothing; keep viewers from seeing one.
                const auto hx = static_cast<uint16_t>(any ? std::min(rect_.x, rect_.w - 1) : 0);
                const auto hy = static_cast<uint16_t>(any ? std::min(rect_.y, rect_.h - 1) : 0);
                if (!cursor_from_premultiplied_rgba(w, h, hx, hy, m, c))
                    return fail(pos, "cursor with alpha: body of the wrong size");
                sink.on_cursor(c);
                finish_rect(sink);
                break;
            }

            case State::kDesktopNameLength: {
                if (!take(data, pos, 4, m)) return more();
                const uint32_t len =
                    (uint32_t{m[0]} << 24) | (uint32_t{m[1]} << 16) | (uint32_t{m[2]} << 8) | m[3];
                if (len > limits::kMaxDesktopNameLength)
                    return fail(pos, "desktop name of " + std::to_string(len) + " bytes too long",
                                LimitKind::kDesktopName);
                body_size_ = len;
                state_ = State::kDesktopName;
                break;
            }
            case State::kDesktopName: {
                if (!take(data, pos, body_size_, m)) return more();
                sink.on_desktop_name(std::string(m.begin(), m.end()));
                finish_rect(sink);
                break;
            }

            case State::kExtDesktopSizeHeader: {
                if (!take(data, pos, kExtDesktopHeader, m)) return more();
                body_size_ = size_t{m[0]} * kScreenWireSize;
                state_ = State::kExtDesktopSizeScreens;
                break;
            }
            case State::kExtDesktopSizeScreens: {
                if (!take(data, pos, body_size_, m)) return more();
                ByteReader r(m);
                ext_.screens.resize(body_size_ / kScreenWireSize);
                for (auto& s : ext_.screens)
                    read_screen(r, s);
                // A refused request of ours carries undefined sizes: do not act on them.
                const bool refused = ext_.reason == 1 && ext_.status != 0;
                std::string why;
                if (!refused && !resize(ext_.width, ext_.height, sink, why))
                    return fail(pos, "ExtendedDesktopSize: " + why, LimitKind::kFramebufferSize);
                sink.on_extended_desktop_size(ext_);
                finish_rect(sink);
                break;
            }

            case State::kColourMapHeader: {
                if (!take(data, pos, kColourMapHeader, m)) return more();
                colour_index_ = (uint32_t{m[1]} << 8) | m[2];
                colours_left_ = (uint32_t{m[3]} << 8) | m[4];
                state_ = colours_left_ ? State::kColourMapEntry : State::kMessageType;
                break;
            }
            case State::kColourMapEntry: {
                if (!take(data, pos, kColourMapEntry, m)) return more();
                // Entries past 255 cannot be used by an 8-bit colour-map format: ignored.
                pixels_.set_colour(colour_index_++, static_cast<uint16_t>((m[0] << 8) | m[1]),
                                   static_cast<uint16_t>((m[2] << 8) | m[3]),
                                   static_cast<uint16_t>((m[4] << 8) | m[5]));
                if (--colours_left_ == 0) state_ = State::kMessageType;
                break;
            }

            case State::kCutTextHeader: {
                if (!take(data, pos, kServerCutTextHeader, m)) return more();
                const uint32_t raw =
                    (uint32_t{m[3]} << 24) | (uint32_t{m[4]} << 16) | (uint32_t{m[5]} << 8) | m[6];
                cut_extended_ = (raw & 0x80000000u) != 0;
                const size_t len = cut_extended_ ? size_t{0u - raw} : size_t{raw};
                if (cut_extended_ && len < cut_text::kExtendedFlagsSize)
                    return fail(pos, "extended clipboard payload of " + std::to_string(len) +
                                         " bytes has no flags");
                if (len > limits_.max_cut_text) {
                    skip_left_ = len;
                    state_ = State::kCutTextSkip;
                } else {
                    body_size_ = len;
                    state_ = State::kCutText;
                }
                break;
            }
            case State::kCutText: {
                if (!take(data, pos, body_size_, m)) return more();
                if (cut_extended_)
                    sink.on_extended_clipboard(m);
                else
                    sink.on_cut_text(std::string(m.begin(), m.end()));
                state_ = State::kMessageType;
                break;
            }
            case State::kCutTextSkip: {
                const size_t k = std::min(skip_left_, data.size() - pos);
                pos += k;
                skip_left_ -= k;
                if (skip_left_ != 0) return more();
                state_ = State::kMessageType;
                break;
            }

            case State::kFenceHeader: {
                if (!take(data, pos, kServerFenceHeader, m)) return more();
                fence_flags_ =
                    (uint32_t{m[3]} << 24) | (uint32_t{m[4]} << 16) | (uint32_t{m[5]} << 8) | m[6];
                body_size_ = m[7];
                if (body_size_ > limits_.max_fence_payload)
                    return fail(pos,
                                "ServerFence payload of " + std::to_string(body_size_) +
                                    " bytes exceeds " + std::to_string(limits_.max_fence_payload),
                                LimitKind::kFence);
                state_ = State::kFencePayload;
                break;
            }
            case State::kFencePayload: {
                if (!take(data, pos, body_size_, m)) return more();
                sink.on_fence(fence_flags_, m);
                state_ = State::kMessageType;
                break;
            }
        }
    }
}

}  // namespace rfb
