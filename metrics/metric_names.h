#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace rfbcast::metrics {

// Label values come only from these enums, never from peers, so every label set is known at
// startup, its cell exists before the first update, and the number of series stays bounded.
// To extend one: add the enumerator before the table's end and its name to the table (the
// static_asserts below catch a missing name). Names are Prometheus label values: snake_case.

enum class Side : uint8_t { kUpstream, kViewer };
inline constexpr std::array<std::string_view, 2> kSideNames = {"upstream", "viewer"};

enum class Listener : uint8_t { kViewer, kHttp, kRepeater, kReverse, kMetrics };
inline constexpr std::array<std::string_view, 5> kListenerNames = {"viewer", "http", "repeater",
                                                                   "reverse", "metrics"};

// Why a connection was turned away. kOther is the catch-all and stays last.
enum class RefuseReason : uint8_t {
    kAllowList,
    kLockout,
    kPreauthLimit,
    kPreauthPerAddress,
    kMaxViewers,
    kMaxTotalViewers,
    kUnknownSession,
    kAuthFailed,
    kHandshakeTimeout,
    kTlsRequired,
    kBadRequest,
    kDraining,
    kOther,
};
inline constexpr std::array<std::string_view, 13> kRefuseReasonNames = {
    "allow_list",        "lockout",         "preauth_limit", "preauth_per_address", "max_viewers",
    "max_total_viewers", "unknown_session", "auth_failed",   "handshake_timeout",   "tls_required",
    "bad_request",       "draining",        "other",
};

// What kind of protocol error closed a connection. kOther stays last.
enum class ErrorKind : uint8_t {
    kHandshake,
    kMessage,
    kDecoder,
    kTls,
    kWebsocket,
    kLimit,
    kTimeout,
    kOther,
};
inline constexpr std::array<std::string_view, 8> kErrorKindNames = {
    "handshake", "message", "decoder", "tls", "websocket", "limit", "timeout", "other",
};

// The encodings rfbcast sends; tight_jpeg is Tight whose rectangle went out as JPEG.
enum class Encoding : uint8_t {
    kRaw,
    kCopyRect,
    kRre,
    kHextile,
    kZlib,
    kTight,
    kTightJpeg,
    kZrle,
    kZstd,
    kTightZstd,
    kZstdRle,
};
inline constexpr std::array<std::string_view, 11> kEncodingNames = {
    "raw",        "copyrect", "rre",  "hextile",   "zlib",    "tight",
    "tight_jpeg", "zrle",     "zstd", "tightzstd", "zstdrle",
};

// Which cap or deadline fired (the input was refused or cut, the connection usually closed).
// kOther stays last.
enum class Limit : uint8_t {
    kCutText,
    kFramebufferSize,
    kCursorSize,
    kFence,
    kEncodings,
    kDesktopName,
    kScreens,
    kCompressedLength,
    kOutputCap,
    kSendQueue,
    kPreauthDeadline,
    kHandshakeDeadline,
    kOther,
};
inline constexpr std::array<std::string_view, 13> kLimitNames = {
    "cut_text",   "framebuffer_size", "cursor_size",      "fence",
    "encodings",  "desktop_name",     "screens",          "compressed_length",
    "output_cap", "send_queue",       "preauth_deadline", "handshake_deadline",
    "other",
};

static_assert(static_cast<size_t>(Side::kViewer) + 1 == kSideNames.size());
static_assert(static_cast<size_t>(Listener::kMetrics) + 1 == kListenerNames.size());
static_assert(static_cast<size_t>(RefuseReason::kOther) + 1 == kRefuseReasonNames.size());
static_assert(static_cast<size_t>(ErrorKind::kOther) + 1 == kErrorKindNames.size());
static_assert(static_cast<size_t>(Encoding::kZstdRle) + 1 == kEncodingNames.size());
static_assert(static_cast<size_t>(Limit::kOther) + 1 == kLimitNames.size());

// An enum's index into its table; a value cast from an out-of-range integer maps to the last
// entry ("other" where the enum has one) instead of indexing past the end.
template <size_t N, typename E>
constexpr size_t index_of(E e) {
    const auto i = static_cast<size_t>(e);
    return i < N ? i : N - 1;
}

constexpr std::string_view name_of(Side e) {
    return kSideNames[index_of<kSideNames.size()>(e)];
}
constexpr std::string_view name_of(Listener e) {
    return kListenerNames[index_of<kListenerNames.size()>(e)];
}
constexpr std::string_view name_of(RefuseReason e) {
    return kRefuseReasonNames[index_of<kRefuseReasonNames.size()>(e)];
}
constexpr std::string_view name_of(ErrorKind e) {
    return kErrorKindNames[index_of<kErrorKindNames.size()>(e)];
}
constexpr std::string_view name_of(Encoding e) {
    return kEncodingNames[index_of<kEncodingNames.size()>(e)];
}
constexpr std::string_view name_of(Limit e) {
    return kLimitNames[index_of<kLimitNames.size()>(e)];
}

}  // namespace rfbcast::metrics
