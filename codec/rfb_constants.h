#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

// Numbers from the RFB specification (rfbproto.rst). Kept in one place so that parsers,
// encoders and the reflector agree on them.
namespace rfb {

namespace encoding {
inline constexpr int32_t kRaw = 0;
inline constexpr int32_t kCopyRect = 1;
inline constexpr int32_t kRRE = 2;
inline constexpr int32_t kCoRRE = 4;
inline constexpr int32_t kHextile = 5;
inline constexpr int32_t kZlib = 6;
inline constexpr int32_t kTight = 7;
inline constexpr int32_t kZlibHex = 8;
inline constexpr int32_t kTRLE = 15;
inline constexpr int32_t kZRLE = 16;
inline constexpr int32_t kZstd = 25;
inline constexpr int32_t kTightZstd = 26;
inline constexpr int32_t kZSTDRLE = 28;
inline constexpr int32_t kTightPNG = -260;

// Pseudo-encodings.
inline constexpr int32_t kJpegQuality0 = -32;  // -32 .. -23 select quality 0..9
inline constexpr int32_t kJpegQuality9 = -23;
inline constexpr int32_t kDesktopSize = -223;
inline constexpr int32_t kLastRect = -224;
inline constexpr int32_t kPointerPos = -232;
inline constexpr int32_t kCursor = -239;
inline constexpr int32_t kXCursor = -240;
inline constexpr int32_t kCompressLevel0 = -256;  // -256 .. -247 select level 0..9
inline constexpr int32_t kCompressLevel9 = -247;
inline constexpr int32_t kQemuPointerMotionChange = -257;
inline constexpr int32_t kQemuExtendedKeyEvent = -258;
inline constexpr int32_t kQemuAudio = -259;
inline constexpr int32_t kDesktopName = -307;
inline constexpr int32_t kExtendedDesktopSize = -308;
inline constexpr int32_t kXvp = -309;
inline constexpr int32_t kFence = -312;
inline constexpr int32_t kContinuousUpdates = -313;
inline constexpr int32_t kCursorWithAlpha = -314;
inline constexpr int32_t kJpegFineQuality0 = -512;  // -512 .. -412
inline constexpr int32_t kJpegFineQuality100 = -412;
// TurboVNC's chroma subsampling pseudo-encodings (TigerVNC encodings.h): -768 + n selects, in this
// order, no subsampling (1X), 4:2:0 (4X), 4:2:2 (2X), greyscale, 8X and 16X.
inline constexpr int32_t kJpegSubsamp1X = -768;
inline constexpr int32_t kJpegSubsamp4X = -767;
inline constexpr int32_t kJpegSubsamp2X = -766;
inline constexpr int32_t kJpegSubsampGray = -765;
inline constexpr int32_t kJpegSubsamp8X = -764;
inline constexpr int32_t kJpegSubsamp16X = -763;
inline constexpr int32_t kExtendedClipboard = static_cast<int32_t>(0xC0A1E5CE);

// Readable name for logs; "unknown" for anything not listed above.
const char* name(int32_t enc);
// The pixel encoding called `name` (raw, copyrect, rre, corre, hextile, zlib, tight, trle, zrle,
// zstd, tightzstd, zstdrle, tightpng); false when there is none.
bool from_name(std::string_view name, int32_t& out);
// "zrle,hextile,raw" -> their numbers in order. On an unknown or empty name returns false and
// puts that name in `bad`.
bool parse_list(std::string_view list, std::vector<int32_t>& out, std::string& bad);
}  // namespace encoding

namespace security {
inline constexpr uint8_t kInvalid = 0;
inline constexpr uint8_t kNone = 1;
inline constexpr uint8_t kVncAuth = 2;
inline constexpr uint8_t kTight = 16;
inline constexpr uint8_t kVeNCrypt = 19;
inline constexpr uint8_t kAppleRemoteDesktop = 30;
}  // namespace security

// VeNCrypt (security type 19) sub-types, U32 on the wire.
namespace vencrypt {
inline constexpr uint32_t kPlain = 256;  // username + password, no TLS
inline constexpr uint32_t kTLSNone = 257;
inline constexpr uint32_t kTLSVnc = 258;
inline constexpr uint32_t kTLSPlain = 259;
inline constexpr uint32_t kX509None = 260;
inline constexpr uint32_t kX509Vnc = 261;
inline constexpr uint32_t kX509Plain = 262;
}  // namespace vencrypt

// Messages a viewer (client) sends to a server.
namespace client_msg {
inline constexpr uint8_t kSetPixelFormat = 0;
inline constexpr uint8_t kSetEncodings = 2;
inline constexpr uint8_t kFramebufferUpdateRequest = 3;
inline constexpr uint8_t kKeyEvent = 4;
inline constexpr uint8_t kPointerEvent = 5;
inline constexpr uint8_t kClientCutText = 6;
inline constexpr uint8_t kEnableContinuousUpdates = 150;
inline constexpr uint8_t kClientFence = 248;
inline constexpr uint8_t kXvp = 250;
inline constexpr uint8_t kSetDesktopSize = 251;
inline constexpr uint8_t kQemu = 255;
}  // namespace client_msg

// Messages a server sends to a viewer.
namespace server_msg {
inline constexpr uint8_t kFramebufferUpdate = 0;
inline constexpr uint8_t kSetColourMapEntries = 1;
inline constexpr uint8_t kBell = 2;
inline constexpr uint8_t kServerCutText = 3;
inline constexpr uint8_t kEndOfContinuousUpdates = 150;
inline constexpr uint8_t kServerFence = 248;
inline constexpr uint8_t kXvp = 250;
}  // namespace server_msg

// ClientCutText and ServerCutText: the length is an S32 (ExtendedClipboard when negative), and an
// ExtendedClipboard payload starts with a U32 of flags.
namespace cut_text {
inline constexpr size_t kMaxWireLength = 0x7FFFFFFF;
inline constexpr size_t kExtendedFlagsSize = 4;
}  // namespace cut_text

// Fence flags (rfbproto.rst, Fence): an answer echoes the request's known flags, without kRequest.
namespace fence_flags {
inline constexpr uint32_t kBlockBefore = 1;
inline constexpr uint32_t kBlockAfter = 2;
inline constexpr uint32_t kSyncNext = 4;
inline constexpr uint32_t kKnown = kBlockBefore | kBlockAfter | kSyncNext;
inline constexpr uint32_t kRequest = 0x80000000u;
}  // namespace fence_flags

// Limits enforced on untrusted input from either side.
namespace limits {
inline constexpr uint32_t kMaxFramebufferDim = 16384;
inline constexpr uint32_t kMaxCursorDim = 256;
inline constexpr size_t kDefaultMaxCutText = 256 * 1024;
// From accept to the end of authentication (TigerVNC's and KasmVNC's default too).
inline constexpr int kDefaultHandshakeTimeoutSeconds = 10;
inline constexpr size_t kMaxEncodings = 1024;
inline constexpr size_t kMaxFencePayload = 64;
inline constexpr size_t kMaxReasonLength = 4096;
inline constexpr size_t kMaxDesktopNameLength = 4096;
inline constexpr size_t kMaxScreens = 64;
}  // namespace limits

}  // namespace rfb
