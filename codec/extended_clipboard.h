#pragma once
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "codec/limit_kind.h"
#include "codec/rfb_constants.h"

// The ExtendedClipboard pseudo-encoding (rfbproto.rst, "Extended Clipboard Pseudo-Encoding"):
// a ClientCutText / ServerCutText with a negative length carries a payload of U32 flags and, for
// some actions, data. This file is the payload's wire format only: parse one whole payload (as
// ClientCutTextMsg::extended_payload and ServerMessageSink::on_extended_clipboard deliver it),
// build payloads for write_server_cut_text_extended / write_client_cut_text_extended, and convert
// text between the extension (UTF-8, CRLF) and classic cut text (Latin-1, LF).
namespace rfb {

namespace clipboard_flags {
// Formats, bits 0..15 (5..15 reserved for future formats).
inline constexpr uint32_t kText = 1u << 0;  // UTF-8, CRLF line ends, NUL-terminated on the wire
inline constexpr uint32_t kRtf = 1u << 1;
inline constexpr uint32_t kHtml = 1u << 2;
inline constexpr uint32_t kDib = 1u << 3;
inline constexpr uint32_t kFiles = 1u << 4;
inline constexpr uint32_t kFormatMask = 0x0000FFFFu;
// Actions, bits 24..31 (29..31 reserved for future actions).
inline constexpr uint32_t kCaps = 1u << 24;
inline constexpr uint32_t kRequest = 1u << 25;
inline constexpr uint32_t kPeek = 1u << 26;
inline constexpr uint32_t kNotify = 1u << 27;
inline constexpr uint32_t kProvide = 1u << 28;
inline constexpr uint32_t kActionMask = 0xFF000000u;
}  // namespace clipboard_flags

// How many formats `flags` names (bits 0..15): the number of sizes a caps message carries.
size_t clipboard_format_count(uint32_t flags);

enum class ClipboardAction : uint8_t { kCaps, kRequest, kPeek, kNotify, kProvide };

struct ExtendedClipboardMsg {
    ClipboardAction action = ClipboardAction::kCaps;
    uint32_t formats = 0;  // flags bits 0..15
    // kCaps: every action bit the sender accepts (kCaps included, unknown ones kept).
    // Otherwise: the single action bit of `action`.
    uint32_t actions = 0;
    // kCaps: the largest unsolicited size per format, one per bit of `formats`, lowest bit first.
    std::vector<uint32_t> max_sizes;
    // kProvide with kText in `formats`: the text as sent (UTF-8 not validated, CRLF line ends),
    // without its terminating NUL and anything after the first NUL.
    std::string text;
    bool operator==(const ExtendedClipboardMsg&) const = default;
};

struct ExtendedClipboardParse {
    bool ok = false;
    ExtendedClipboardMsg message;        // ok only
    std::string error;                   // !ok: why; safe to log, never contains clipboard bytes
    LimitKind limit = LimitKind::kNone;  // !ok: kCutText when the text was over max_text
};

// Parses one whole payload (flags + data). Rules, and why:
//   - kCaps set: a caps message; the other action bits are the actions the sender accepts (that
//     is how TigerVNC and noVNC advertise them). It must carry exactly one U32 size per format bit.
//   - Otherwise exactly one of request, peek, notify, provide; anything else is an error.
//   - request, peek and notify carry no data: bytes after the flags are an error.
//   - provide: a zlib stream of (U32 size, data) per format bit in bit order, inflated here with
//     a fresh stream (TigerVNC and noVNC start one per message, and end it or only flush it: both
//     are accepted). Only the text (bit 0, so always first) is read. A declared text size over
//     max_text + 1 (the NUL) is refused before anything is inflated; text is inflated in pieces
//     as it arrives, so memory stays within the declared size and a zlib bomb costs no more than
//     max_text. When text is the only format, the rest of the stream must inflate to nothing;
//     when other formats follow, inflating stops after the text and their bytes are not checked.
//   - Hostile input is an error result, never a crash; errors never quote the payload.
ExtendedClipboardParse parse_extended_clipboard(std::span<const uint8_t> payload,
                                                size_t max_text = limits::kDefaultMaxCutText);

// ---- Writers: each returns a payload (flags + data) ----------------------------------------

// Caps: `flags` names the formats and actions accepted (kCaps is added); `max_sizes` gives one
// size per format bit, lowest first. Missing sizes are written as 0, extra ones are dropped.
std::vector<uint8_t> make_clipboard_caps(uint32_t flags, std::span<const uint32_t> max_sizes);
// Request the data of `formats` (bits 0..15; other bits are dropped).
std::vector<uint8_t> make_clipboard_request(uint32_t formats);
// Ask the peer to notify which formats it has.
std::vector<uint8_t> make_clipboard_peek();
// Announce that `formats` (bits 0..15) are available.
std::vector<uint8_t> make_clipboard_notify(uint32_t formats);

// The longest text make_clipboard_provide_text sends, so that the payload always fits the S32
// length of a cut-text message.
inline constexpr size_t kMaxClipboardProvideText = 64 * 1024 * 1024;
// Provide text: flags kProvide | kText, then one complete zlib stream of U32 (size + 1), the text,
// NUL. `utf8` should already have CRLF line ends (to_crlf). It is cut at its first NUL (the peer
// would stop there anyway), and text over kMaxClipboardProvideText is cut back to a UTF-8
// character boundary. Empty only if zlib cannot allocate its state.
std::vector<uint8_t> make_clipboard_provide_text(std::string_view utf8);

// ---- Text conversions for classic (Latin-1, LF) peers --------------------------------------

// Every byte as the code point of the same value.
std::string latin1_to_utf8(std::string_view latin1);
// Code points up to U+00FF become one byte; higher code points and invalid UTF-8 (overlong
// forms, surrogates, values over U+10FFFF, stray or missing continuation bytes) become '?',
// one '?' per maximal invalid subsequence as Unicode recommends.
std::string utf8_to_latin1(std::string_view utf8);
// Line ends: classic cut text uses LF alone, the extension's text format CRLF. to_crlf turns LF,
// CR and CRLF into CRLF; from_crlf turns CRLF, CR and LF into LF (what TigerVNC does both ways).
std::string to_crlf(std::string_view text);
std::string from_crlf(std::string_view text);

}  // namespace rfb
