#include "codec/extended_clipboard.h"

#include <zlib.h>

#include <algorithm>
#include <bit>

#include "codec/byte_reader.h"
#include "codec/byte_writer.h"
#include "codec/inflate_stream.h"

namespace rfb {

namespace {

namespace clip_bits = clipboard_flags;

// Text is inflated in pieces of this size, so a payload that promises more than it holds costs
// no more memory than it delivered.
constexpr size_t kClipboardInflatePiece = 64 * 1024;

ExtendedClipboardParse clipboard_fail(std::string why, LimitKind limit = LimitKind::kNone) {
    ExtendedClipboardParse r;
    r.error = "extended clipboard: " + std::move(why);
    r.limit = limit;
    return r;
}

ExtendedClipboardParse clipboard_ok(ExtendedClipboardMsg msg) {
    ExtendedClipboardParse r;
    r.ok = true;
    r.message = std::move(msg);
    return r;
}

ExtendedClipboardParse clipboard_parse_caps(ByteReader& r, ExtendedClipboardMsg msg) {
    const size_t count = clipboard_format_count(msg.formats);
    const size_t need = count * 4;
    if (r.remaining() != need)
        return clipboard_fail("caps for " + std::to_string(count) + " formats needs " +
                              std::to_string(need) + " bytes of sizes, got " +
                              std::to_string(r.remaining()));
    msg.max_sizes.resize(count);
    for (uint32_t& size : msg.max_sizes)
        r.u32(size);
    return clipboard_ok(std::move(msg));
}

ExtendedClipboardParse clipboard_parse_provide(std::span<const uint8_t> stream, size_t max_text,
                                               ExtendedClipboardMsg msg) {
    if ((msg.formats & clip_bits::kText) == 0) return clipboard_ok(std::move(msg));

    InflateStream z;
    std::string err;
    if (!z.begin(stream, err)) return clipboard_fail("provide: " + err);

    uint8_t size_bytes[4];
    size_t got = 0;
    if (!z.read_some(size_bytes, got, err)) return clipboard_fail("provide: " + err);
    if (got < sizeof size_bytes)
        return clipboard_fail("provide: zlib data ends before the text size");
    uint32_t declared = 0;
    ByteReader(size_bytes).u32(declared);
    // The declared size includes the terminating NUL.
    if (declared > 0 && declared - 1 > max_text)
        return clipboard_fail("provide: text of " + std::to_string(declared - 1) +
                                  " bytes is over the limit of " + std::to_string(max_text),
                              LimitKind::kCutText);

    std::string& text = msg.text;
    size_t left = declared;
    while (left > 0) {
        const size_t want = std::min(left, kClipboardInflatePiece);
        const size_t old = text.size();
        text.resize(old + want);
        if (!z.read_some(std::span<uint8_t>(reinterpret_cast<uint8_t*>(text.data()) + old, want),
                         got, err))
            return clipboard_fail("provide: " + err);
        if (got < want) return clipboard_fail("provide: zlib data ends before the text does");
        left -= want;
    }
    const size_t nul = text.find('\0');
    if (nul != std::string::npos) text.resize(nul);
    // Without a NUL, the size that passed the check above may still be one byte over.
    if (text.size() > max_text)
        return clipboard_fail("provide: text of " + std::to_string(text.size()) +
                                  " bytes is over the limit of " + std::to_string(max_text),
                              LimitKind::kCutText);

    // With text the only format, the stream must hold nothing more. Other formats would follow;
    // they are not inflated at all (the text is all rfbcast relays), so neither are they checked.
    if ((msg.formats & clip_bits::kFormatMask) == clip_bits::kText) {
        uint8_t probe = 0;
        if (!z.read_some(std::span<uint8_t>(&probe, 1), got, err))
            return clipboard_fail("provide: " + err);
        if (got != 0) return clipboard_fail("provide: more data than its formats declare");
        if (!z.finish(err)) return clipboard_fail("provide: " + err);
    }
    return clipboard_ok(std::move(msg));
}

std::vector<uint8_t> clipboard_flags_only(uint32_t flags) {
    std::vector<uint8_t> out;
    ByteWriter(out).u32(flags);
    return out;
}

}  // namespace

size_t clipboard_format_count(uint32_t flags) {
    return static_cast<size_t>(std::popcount(flags & clip_bits::kFormatMask));
}

ExtendedClipboardParse parse_extended_clipboard(std::span<const uint8_t> payload, size_t max_text) {
    ByteReader r(payload);
    uint32_t flags = 0;
    if (!r.u32(flags))
        return clipboard_fail("payload of " + std::to_string(payload.size()) +
                              " bytes has no flags");

    ExtendedClipboardMsg msg;
    msg.formats = flags & clip_bits::kFormatMask;
    const uint32_t actions = flags & clip_bits::kActionMask;
    if (actions & clip_bits::kCaps) {
        msg.action = ClipboardAction::kCaps;
        msg.actions = actions;
        return clipboard_parse_caps(r, std::move(msg));
    }
    msg.actions = actions;
    switch (actions) {
        case clip_bits::kRequest:
            msg.action = ClipboardAction::kRequest;
            break;
        case clip_bits::kPeek:
            msg.action = ClipboardAction::kPeek;
            break;
        case clip_bits::kNotify:
            msg.action = ClipboardAction::kNotify;
            break;
        case clip_bits::kProvide:
            msg.action = ClipboardAction::kProvide;
            return clipboard_parse_provide(r.rest(), max_text, std::move(msg));
        default:
            return clipboard_fail(actions == 0 ? std::string("no action in the flags")
                                               : "action bits " + std::to_string(actions >> 24) +
                                                     " are not exactly one known action");
    }
    if (r.remaining() != 0)
        return clipboard_fail(std::to_string(r.remaining()) +
                              " bytes after the flags of a message that carries none");
    return clipboard_ok(std::move(msg));
}

std::vector<uint8_t> make_clipboard_caps(uint32_t flags, std::span<const uint32_t> max_sizes) {
    flags |= clip_bits::kCaps;
    std::vector<uint8_t> out;
    ByteWriter w(out);
    w.u32(flags);
    const size_t count = clipboard_format_count(flags);
    for (size_t i = 0; i < count; ++i)
        w.u32(i < max_sizes.size() ? max_sizes[i] : 0);
    return out;
}

std::vector<uint8_t> make_clipboard_request(uint32_t formats) {
    return clipboard_flags_only(clip_bits::kRequest | (formats & clip_bits::kFormatMask));
}

std::vector<uint8_t> make_clipboard_peek() {
    return clipboard_flags_only(clip_bits::kPeek);
}

std::vector<uint8_t> make_clipboard_notify(uint32_t formats) {
    return clipboard_flags_only(clip_bits::kNotify | (formats & clip_bits::kFormatMask));
}

std::vector<uint8_t> make_clipboard_provide_text(std::string_view utf8) {
    utf8 = utf8.substr(0, utf8.find('\0'));
    if (utf8.size() > kMaxClipboardProvideText) {
        // Back up over continuation bytes so that no character is cut in half.
        size_t end = kMaxClipboardProvideText;
        while (end > 0 && (static_cast<uint8_t>(utf8[end]) & 0xC0) == 0x80)
            --end;
        utf8 = utf8.substr(0, end);
    }

    std::vector<uint8_t> plain;
    plain.reserve(4 + utf8.size() + 1);
    ByteWriter pw(plain);
    pw.u32(static_cast<uint32_t>(utf8.size() + 1));
    pw.text(utf8);
    pw.u8(0);

    // A complete stream (Z_FINISH): TigerVNC and noVNC also read flushed-only streams, but QEMU
    // inflates until the stream ends.
    uLongf packed_size = compressBound(static_cast<uLong>(plain.size()));
    std::vector<uint8_t> out;
    out.reserve(4 + packed_size);
    ByteWriter(out).u32(clip_bits::kProvide | clip_bits::kText);
    out.resize(4 + packed_size);
    if (compress2(out.data() + 4, &packed_size, plain.data(), static_cast<uLong>(plain.size()),
                  Z_DEFAULT_COMPRESSION) != Z_OK)
        return {};
    out.resize(4 + packed_size);
    return out;
}

std::string latin1_to_utf8(std::string_view latin1) {
    std::string out;
    out.reserve(latin1.size());
    for (const char ch : latin1) {
        const auto c = static_cast<uint8_t>(ch);
        if (c < 0x80) {
            out.push_back(ch);
        } else {
            out.push_back(static_cast<char>(0xC0 | (c >> 6)));
            out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
        }
    }
    return out;
}

std::string utf8_to_latin1(std::string_view utf8) {
    std::string out;
    out.reserve(utf8.size());
    const size_t n = utf8.size();
    size_t i = 0;
    while (i < n) {
        const auto lead = static_cast<uint8_t>(utf8[i]);
        if (lead < 0x80) {
            out.push_back(static_cast<char>(lead));
            ++i;
            continue;
        }
        // Continuation bytes needed, and the range the first one must lie in (Unicode table 3-7:
        // this is what excludes overlong forms, surrogates and code points over U+10FFFF).
        size_t need = 0;
        uint8_t first_lo = 0x80, first_hi = 0xBF;
        uint32_t cp = 0;
        if (lead >= 0xC2 && lead <= 0xDF) {
            need = 1;
            cp = lead & 0x1F;
        } else if (lead >= 0xE0 && lead <= 0xEF) {
            need = 2;
            cp = lead & 0x0F;
            if (lead == 0xE0) first_lo = 0xA0;
            if (lead == 0xED) first_hi = 0x9F;
        } else if (lead >= 0xF0 && lead <= 0xF4) {
            need = 3;
            cp = lead & 0x07;
            if (lead == 0xF0) first_lo = 0x90;
            if (lead == 0xF4) first_hi = 0x8F;
        } else {
            out.push_back('?');
            ++i;
            continue;
        }
        size_t j = i + 1;
        size_t have = 0;
        while (have < need && j < n) {
            const auto c = static_cast<uint8_t>(utf8[j]);
            const uint8_t lo = have == 0 ? first_lo : 0x80;
            const uint8_t hi = have == 0 ? first_hi : 0xBF;
            if (c < lo || c > hi) break;
            cp = (cp << 6) | (c & 0x3F);
            ++have;
            ++j;
        }
        out.push_back(have == need && cp <= 0xFF ? static_cast<char>(cp) : '?');
        i = j;
    }
    return out;
}

std::string to_crlf(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (c == '\r' || c == '\n') {
            out += "\r\n";
            if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
        } else {
            out.push_back(c);
        }
    }
    return out;
}

std::string from_crlf(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (c == '\r') {
            out.push_back('\n');
            if (i + 1 < text.size() && text[i + 1] == '\n') ++i;
        } else {
            out.push_back(c);
        }
    }
    return out;
}

}  // namespace rfb
