// libFuzzer target: parse_extended_clipboard, the ExtendedClipboard payload (U32 flags + data) of
// a ClientCutText / ServerCutText with a negative length, and the text conversions for classic
// cut text.
//
// Input: parameter byte, then the payload.
//   0     bits 0-1: max_text: 0 the default 256 KiB, 1 16 bytes, 2 0 bytes, 3 4 KiB
//         bit 2: 0 the rest is the payload as it is; 1 the rest is 4 bytes of flags and then the
//         provide stream's plain contents (U32 size, data, ...), compressed here with zlib, so
//         that mutations reach the size and text checks instead of dying in zlib's header
//   next  the payload (or flags + plain contents), copied to a buffer of its exact size
#include <zlib.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <span>
#include <string>
#include <vector>

#include "codec/extended_clipboard.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

namespace cf = rfb::clipboard_flags;

size_t clipboard_fuzz_max_text(uint8_t mode) {
    switch (mode & 3) {
        case 1:
            return 16;
        case 2:
            return 0;
        case 3:
            return 4096;
        default:
            return rfb::limits::kDefaultMaxCutText;
    }
}

std::vector<uint8_t> clipboard_fuzz_compressed(std::span<const uint8_t> rest) {
    const size_t flags_size = std::min<size_t>(rest.size(), 4);
    std::vector<uint8_t> out(rest.begin(), rest.begin() + flags_size);
    const auto plain = rest.subspan(flags_size);
    uLongf packed = compressBound(static_cast<uLong>(plain.size()));
    out.resize(flags_size + packed);
    FUZZ_CHECK(compress2(out.data() + flags_size, &packed, plain.data(),
                         static_cast<uLong>(plain.size()), 1) == Z_OK);
    out.resize(flags_size + packed);
    return out;
}

void clipboard_fuzz_text_conversions(std::span<const uint8_t> bytes) {
    const std::string_view s(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    const std::string latin1 = rfb::utf8_to_latin1(s);
    FUZZ_CHECK(latin1.size() <= s.size());
    // Latin-1 to UTF-8 and back is lossless for any bytes.
    FUZZ_CHECK(rfb::utf8_to_latin1(rfb::latin1_to_utf8(s)) == s);
    const std::string crlf = rfb::to_crlf(s);
    const std::string lf = rfb::from_crlf(s);
    FUZZ_CHECK(lf.size() <= s.size());
    FUZZ_CHECK(crlf.size() >= s.size());
    FUZZ_CHECK(rfb::from_crlf(crlf) == lf);
    FUZZ_CHECK(rfb::to_crlf(lf) == crlf);
    FUZZ_CHECK(lf.find('\r') == std::string::npos);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    rfb::fuzz::Params p(data, size);
    const uint8_t mode = p.u8();
    const size_t max_text = clipboard_fuzz_max_text(mode);
    const auto rest = p.rest();
    const std::vector<uint8_t> payload = (mode & 4)
                                             ? clipboard_fuzz_compressed(rest)
                                             : std::vector<uint8_t>(rest.begin(), rest.end());

    const rfb::ExtendedClipboardParse r = rfb::parse_extended_clipboard(payload, max_text);
    if (rfb::fuzz::verbose())
        std::fprintf(stderr, "ok %d action %d formats %x text %zu bytes: %s\n", r.ok,
                     static_cast<int>(r.message.action), r.message.formats, r.message.text.size(),
                     r.error.c_str());

    // The same bytes give the same answer.
    const rfb::ExtendedClipboardParse again = rfb::parse_extended_clipboard(payload, max_text);
    FUZZ_CHECK(again.ok == r.ok && again.error == r.error && again.limit == r.limit);
    clipboard_fuzz_text_conversions(rest);

    if (!r.ok) {
        FUZZ_CHECK(!r.error.empty());
        FUZZ_CHECK(r.limit == rfb::LimitKind::kNone || r.limit == rfb::LimitKind::kCutText);
        return 0;
    }
    FUZZ_CHECK(again.message == r.message);
    FUZZ_CHECK(r.error.empty() && r.limit == rfb::LimitKind::kNone);
    FUZZ_CHECK(payload.size() >= 4);
    const uint32_t flags = (uint32_t{payload[0]} << 24) | (uint32_t{payload[1]} << 16) |
                           (uint32_t{payload[2]} << 8) | payload[3];
    const auto& m = r.message;
    FUZZ_CHECK(m.formats == (flags & cf::kFormatMask));
    const bool reserved_clear = (flags & 0x00FF0000u) == 0;

    if (m.action == rfb::ClipboardAction::kCaps) {
        FUZZ_CHECK((m.actions & cf::kCaps) != 0 && m.actions == (flags & cf::kActionMask));
        FUZZ_CHECK(m.max_sizes.size() == rfb::clipboard_format_count(flags));
        FUZZ_CHECK(payload.size() == 4 + 4 * m.max_sizes.size());
        FUZZ_CHECK(m.text.empty());
        if (reserved_clear)
            FUZZ_CHECK(rfb::make_clipboard_caps(m.formats | m.actions, m.max_sizes) == payload);
        return 0;
    }
    FUZZ_CHECK(m.max_sizes.empty());
    FUZZ_CHECK(m.actions == (flags & cf::kActionMask));
    switch (m.action) {
        case rfb::ClipboardAction::kRequest:
            FUZZ_CHECK(m.actions == cf::kRequest && payload.size() == 4 && m.text.empty());
            if (reserved_clear) FUZZ_CHECK(rfb::make_clipboard_request(m.formats) == payload);
            break;
        case rfb::ClipboardAction::kPeek:
            FUZZ_CHECK(m.actions == cf::kPeek && payload.size() == 4 && m.text.empty());
            if (reserved_clear && m.formats == 0) FUZZ_CHECK(rfb::make_clipboard_peek() == payload);
            break;
        case rfb::ClipboardAction::kNotify:
            FUZZ_CHECK(m.actions == cf::kNotify && payload.size() == 4 && m.text.empty());
            if (reserved_clear) FUZZ_CHECK(rfb::make_clipboard_notify(m.formats) == payload);
            break;
        case rfb::ClipboardAction::kProvide: {
            FUZZ_CHECK(m.actions == cf::kProvide);
            FUZZ_CHECK(m.text.size() <= max_text);
            FUZZ_CHECK(m.text.find('\0') == std::string::npos);
            if ((m.formats & cf::kText) == 0) FUZZ_CHECK(m.text.empty());
            // What was read is what rfbcast would send on: it must read back the same.
            const rfb::ExtendedClipboardParse round =
                rfb::parse_extended_clipboard(rfb::make_clipboard_provide_text(m.text), max_text);
            FUZZ_CHECK(round.ok);
            FUZZ_CHECK(round.message.text == m.text);
            break;
        }
        case rfb::ClipboardAction::kCaps:
            FUZZ_CHECK(false);
    }
    return 0;
}
