// A real UpstreamClient against a fake RFB server that lies: for every crafted stream the client
// must drop the connection with a logged reason, stay within its memory caps, keep the session's
// viewers connected, and after reconnecting to a well-behaved server show its pixels exactly.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "codec/byte_writer.h"
#include "codec/client_handshake.h"
#include "codec/client_messages.h"
#include "codec/encode_cache.h"
#include "codec/rfb_constants.h"
#include "codec/server_message_reader.h"
#include "reflector/connection.h"
#include "reflector/encode_pool.h"
#include "reflector/event_loop.h"
#include "reflector/session.h"
#include "reflector/tile_encode_service.h"
#include "reflector/upstream_client.h"
#include "reflector/viewer_connection.h"
#include "tests/unit/reflector/byte_chain.h"
#include "tests/unit/reflector/fake_rfb_server.h"

namespace rfbcast {
namespace {

using fake::Bytes;
using fake::FakePeer;
using fake::Handshake;
using namespace std::chrono_literals;

#if defined(__SANITIZE_ADDRESS__)
// ASan's quarantine keeps freed memory resident, so the RSS checks would measure it, not us.
constexpr bool kRssMeaningful = false;
#else
constexpr bool kRssMeaningful = true;
#endif

constexpr uint16_t kWidth = 128, kHeight = 96;
constexpr uint32_t kSeedBefore = 11, kSeedAfter = 22, kSeedResync = 33;
const char* const kPassword = "s3cret";
const char* const kPeerClosed = "peer closed the connection";

// ---------------------------------------------------------------------------------------------
// Building crafted server bytes.

class Wire : public test::ByteChain<Wire> {
  public:
    Wire& update(uint16_t nrects) {
        return u8(rfb::server_msg::kFramebufferUpdate).u8(0).u16(nrects);
    }
    Wire& rect(uint16_t x, uint16_t y, uint16_t w, uint16_t h, int32_t enc) {
        return u16(x).u16(y).u16(w).u16(h).s32(enc);
    }
    // A PIXEL in the canonical format the client asks for: 32 bpp little-endian 0x00RRGGBB.
    Wire& pixel(uint32_t p) { return u8(p & 0xff).u8((p >> 8) & 0xff).u8((p >> 16) & 0xff).u8(0); }
    // ZRLE/TRLE CPIXEL of that format: its three low bytes.
    Wire& cpixel(uint32_t p) { return u8(p & 0xff).u8((p >> 8) & 0xff).u8((p >> 16) & 0xff); }
    // Tight TPIXEL: R, G, B.
    Wire& tpixel(uint32_t p) { return u8((p >> 16) & 0xff).u8((p >> 8) & 0xff).u8(p & 0xff); }
    Wire& pixel_format(const rfb::PixelFormat& pf) {
        pf.write(writer());
        return *this;
    }
    // ServerInit with the given format and a name length that need not match the name.
    Wire& server_init(uint16_t w, uint16_t h, const rfb::PixelFormat& pf, uint32_t name_len,
                      std::string_view name) {
        return u16(w).u16(h).pixel_format(pf).u32(name_len).text(name);
    }
    // The server side of a 3.8 handshake with security None, up to ServerInit.
    Wire& v38_none() { return text("RFB 003.008\n").u8(1).u8(rfb::security::kNone).u32(0); }
    Wire& v33_none() { return text("RFB 003.003\n").u32(rfb::security::kNone); }
};

// A zlib stream (header included) of `data` followed by `zeros` zero bytes, sync-flushed as RFB
// servers do at the end of a rectangle.
Bytes deflate_bytes(std::span<const uint8_t> data, size_t zeros = 0) {
    z_stream z{};
    deflateInit(&z, 9);
    Bytes out;
    std::vector<uint8_t> chunk(1 << 16);
    const std::vector<uint8_t> zero_block(1 << 20, 0);
    auto pump = [&](const uint8_t* in, size_t n, int flush) {
        z.next_in = const_cast<uint8_t*>(in);
        z.avail_in = static_cast<uInt>(n);
        do {
            z.next_out = chunk.data();
            z.avail_out = static_cast<uInt>(chunk.size());
            deflate(&z, flush);
            out.insert(out.end(), chunk.data(), chunk.data() + (chunk.size() - z.avail_out));
        } while (z.avail_out == 0 || z.avail_in > 0);
    };
    pump(data.data(), data.size(), Z_NO_FLUSH);
    while (zeros > 0) {
        const size_t n = std::min(zeros, zero_block.size());
        pump(zero_block.data(), n, Z_NO_FLUSH);
        zeros -= n;
    }
    pump(nullptr, 0, Z_SYNC_FLUSH);
    deflateEnd(&z);
    return out;
}

rfb::PixelFormat pf_with(std::function<void(rfb::PixelFormat&)> f) {
    rfb::PixelFormat pf = rfb::PixelFormat::canonical();
    f(pf);
    return pf;
}

// ---------------------------------------------------------------------------------------------
// The table.

enum class Phase {
    kHandshake,  // the crafted bytes are a whole new connection, from its first byte
    kAfterInit,  // the crafted bytes follow a valid session that has drawn the first picture
};

struct HostileCase {
    std::string name;
    Phase phase;
    std::function<void(FakePeer&)> attack;
    std::string expect;  // must appear in UpstreamClient::last_error()
    size_t rx_bound = size_t{1} << 20;
    Clock::duration handshake_timeout = 10s;
    bool client_password = true;
    bool check_rss = false;
    // The crafted bytes are legal (or skipped by policy): a valid update must follow them and be
    // drawn, proving the reader is still in step, before the server closes.
    bool then_valid_frame = false;
    size_t index = 0;  // position in the table: picks the valid handshakes around the attack
};

std::function<void(FakePeer&)> blob(Bytes b) {
    return [b = std::move(b)](FakePeer& p) { p.send(b); };
}

HostileCase handshake_case(std::string name, Bytes bytes, std::string expect) {
    return HostileCase{std::move(name), Phase::kHandshake, blob(std::move(bytes)),
                       std::move(expect)};
}

HostileCase after_init_case(std::string name, Bytes bytes, std::string expect) {
    return HostileCase{std::move(name), Phase::kAfterInit, blob(std::move(bytes)),
                       std::move(expect)};
}

std::vector<HostileCase> handshake_cases() {
    std::vector<HostileCase> v;
    const rfb::PixelFormat good = rfb::PixelFormat::canonical();

    v.push_back(handshake_case("HandshakeGarbage",
                               Wire().text("GET / HTTP/1.1\r\nHost: x\r\n\r\n").take(),
                               "no valid RFB ProtocolVersion"));
    v.push_back(handshake_case("VersionNotDigits", Wire().text("RFB 003.0x8\n").take(),
                               "no valid RFB ProtocolVersion"));
    v.push_back(handshake_case("Version3_2", Wire().text("RFB 003.002\n").take(), "too old"));
    v.push_back(handshake_case("VersionTruncated", Wire().text("RFB 00").take(), kPeerClosed));
    {
        Wire w;
        w.text("RFB 003.008\n").u8(255);
        // 255 types rfbcast cannot use: never None (1), VncAuth (2), VeNCrypt (19) or ARD (30).
        for (int i = 0, t = 3; i < 255; ++i, t = t == 252 ? 3 : t + 1) {
            if (t == 19 || t == 30) ++t;
            w.u8(static_cast<uint8_t>(t));
        }
        v.push_back(handshake_case("HugeSecurityTypeCount", w.take(),
                                   "server offers no supported security type"));
    }
    v.push_back(handshake_case("SecurityTypeListTruncated",
                               Wire().text("RFB 003.008\n").u8(255).fill(10, 5).take(),
                               kPeerClosed));
    v.push_back(handshake_case("NoSecurityTypesReasonLength2Pow32Minus1",
                               Wire().text("RFB 003.008\n").u8(0).u32(0xffffffffu).take(),
                               "server refused the connection (over-long reason)"));
    v.push_back(handshake_case(
        "RefusalReasonWithTerminalEscapes",
        Wire().text("RFB 003.008\n").u8(0).u32(10).text("\x1b[2Jbusy\r\n").take(), "?[2Jbusy??"));
    v.push_back(handshake_case("V33InvalidTypeReasonLength2Pow32Minus1",
                               Wire().text("RFB 003.003\n").u32(0).u32(0xffffffffu).take(),
                               "server refused the connection (over-long reason)"));
    v.push_back(handshake_case("V33UnknownSecurityType",
                               Wire().text("RFB 003.003\n").u32(0xffffffffu).take(),
                               "unsupported security type 4294967295"));
    v.push_back(handshake_case("VncAuthFailedReasonLength2Pow32Minus1",
                               Wire()
                                   .text("RFB 003.008\n")
                                   .u8(1)
                                   .u8(rfb::security::kVncAuth)
                                   .fill(16, 0x42)
                                   .u32(1)
                                   .u32(0xffffffffu)
                                   .take(),
                               "authentication failed (over-long reason)"));
    v.push_back(handshake_case(
        "V33VncAuthFailed",
        Wire().text("RFB 003.003\n").u32(rfb::security::kVncAuth).fill(16, 0x42).u32(1).take(),
        "authentication failed (wrong password?)"));
    {
        HostileCase c =
            handshake_case("VncAuthRequiredButNoPassword",
                           Wire().text("RFB 003.008\n").u8(1).u8(rfb::security::kVncAuth).take(),
                           "no password is set");
        c.client_password = false;
        v.push_back(std::move(c));
    }
    v.push_back(handshake_case("ServerInitWidth0",
                               Wire().v38_none().server_init(0, 96, good, 1, "x").take(),
                               "server framebuffer size 0x96 is out of range"));
    v.push_back(handshake_case("ServerInitHeight0",
                               Wire().v33_none().server_init(128, 0, good, 1, "x").take(),
                               "server framebuffer size 128x0 is out of range"));
    v.push_back(handshake_case("ServerInit65535x65535",
                               Wire().v38_none().server_init(65535, 65535, good, 1, "x").take(),
                               "server framebuffer size 65535x65535 is out of range"));
    v.push_back(handshake_case("ServerInitJustOverMaxWidth",
                               Wire().v38_none().server_init(16385, 2, good, 1, "x").take(),
                               "is out of range"));
    v.push_back(handshake_case("NameLength2Pow32Minus1",
                               Wire().v38_none().server_init(128, 96, good, 0xffffffffu, "").take(),
                               "desktop name of 4294967295 bytes is too long"));
    v.push_back(handshake_case("NameTruncated",
                               Wire().v38_none().server_init(128, 96, good, 100, "short").take(),
                               kPeerClosed));
    struct BadFormat {
        const char* name;
        rfb::PixelFormat pf;
        const char* why;
    };
    const BadFormat bad_formats[] = {
        {"PixelFormat24bpp", pf_with([](auto& p) { p.bits_per_pixel = 24; }), "bits-per-pixel"},
        {"PixelFormat0bpp", pf_with([](auto& p) { p.bits_per_pixel = 0; }), "bits-per-pixel"},
        {"PixelFormatDepth0", pf_with([](auto& p) { p.depth = 0; }), "depth"},
        {"PixelFormatDepthOverBpp", pf_with([](auto& p) {
             p.bits_per_pixel = 16;
             p.depth = 24;
         }),
         "depth"},
        {"PixelFormatMaxNot2PowNMinus1", pf_with([](auto& p) { p.red_max = 200; }), "colour max"},
        {"PixelFormatShiftPastPixel", pf_with([](auto& p) { p.blue_shift = 30; }), "colour max"},
        {"PixelFormatOverlappingChannels", pf_with([](auto& p) { p.green_shift = 12; }),
         "colour channels overlap"},
        {"PixelFormatColourMap16bpp", pf_with([](auto& p) {
             p.bits_per_pixel = 16;
             p.depth = 16;
             p.true_colour = false;
         }),
         "colour-map formats must be 8"},
    };
    for (const BadFormat& b : bad_formats)
        v.push_back(handshake_case(b.name,
                                   Wire().v38_none().server_init(128, 96, b.pf, 1, "x").take(),
                                   std::string("server pixel format is invalid: ") + b.why));

    // Servers that never finish: the handshake timeout must end them.
    {
        HostileCase c{"NeverSendsAnything", Phase::kHandshake, [](FakePeer& p) { p.drain(); },
                      "no complete handshake within the timeout"};
        c.handshake_timeout = 300ms;
        v.push_back(std::move(c));
    }
    {
        HostileCase c{"StopsAfterSecurityTypes", Phase::kHandshake,
                      [](FakePeer& p) {
                          p.send(Wire().text("RFB 003.008\n").u8(1).u8(1).take());
                          p.drain();
                      },
                      "no complete handshake within the timeout"};
        c.handshake_timeout = 300ms;
        v.push_back(std::move(c));
    }
    return v;
}

std::vector<HostileCase> after_init_cases() {
    using namespace rfb::encoding;
    std::vector<HostileCase> v;
    const uint32_t red = 0xff0000, green = 0x00ff00;

    v.push_back(after_init_case("UnknownMessageType", Wire().u8(77).take(),
                                "unknown server message type 77"));
    v.push_back(after_init_case("RectXPlusWOverflows16Bits",
                                Wire().update(1).rect(65535, 0, 2, 1, kRaw).take(),
                                "rect outside framebuffer: 65535,0 2x1"));
    v.push_back(after_init_case("RectYPlusHOverflows16Bits",
                                Wire().update(1).rect(0, 65535, 1, 65535, kRaw).take(),
                                "rect outside framebuffer: 0,65535 1x65535"));
    v.push_back(after_init_case("RectOnePixelTooWide",
                                Wire().update(1).rect(0, 0, kWidth + 1, 1, kRaw).take(),
                                "rect outside framebuffer"));
    v.push_back(after_init_case("UnknownEncoding",
                                Wire().update(1).rect(0, 0, 8, 8, 0x12345).take(),
                                "unsupported encoding 74565"));
    v.push_back(after_init_case("EncodingWeDidNotAskFor",
                                Wire().update(1).rect(0, 0, 8, 8, kZlibHex).take(),
                                "unsupported encoding 8"));
    v.push_back(after_init_case(
        "RawTruncatedThenFin",
        Wire().update(1).rect(0, 0, kWidth, kHeight, kRaw).fill(1000, 7).take(), kPeerClosed));

    // Hextile.
    v.push_back(after_init_case("HextileSubrectOutsideTile",
                                Wire()
                                    .update(1)
                                    .rect(0, 0, 8, 8, kHextile)
                                    .u8(2 | 4 | 8)  // background, foreground, subrects
                                    .pixel(red)
                                    .pixel(green)
                                    .u8(1)
                                    .u8(0x70)  // x 7, y 0
                                    .u8(0x10)  // w 2, h 1: past the 8-pixel tile
                                    .take(),
                                "hextile: subrect outside tile"));
    v.push_back(after_init_case(
        "HextileRawTileShortData",
        Wire().update(1).rect(0, 0, 16, 16, kHextile).u8(1).fill(100, 9).take(), kPeerClosed));
    v.push_back(after_init_case("HextileUnknownSubencodingBits",
                                Wire().update(1).rect(0, 0, 16, 16, kHextile).u8(0x20).take(),
                                "hextile: unknown subencoding bits"));

    // RRE and CoRRE.
    v.push_back(after_init_case(
        "RreSubrectCount2Pow32Minus1",
        Wire().update(1).rect(0, 0, 16, 16, kRRE).u32(0xffffffffu).pixel(red).take(),
        "rre: more subrects than pixels"));
    v.push_back(after_init_case("RreSubrectOutside",
                                Wire()
                                    .update(1)
                                    .rect(0, 0, 16, 16, kRRE)
                                    .u32(1)
                                    .pixel(red)
                                    .pixel(green)
                                    .u16(10)
                                    .u16(0)
                                    .u16(7)
                                    .u16(1)
                                    .take(),
                                "rre: subrect outside rectangle"));
    v.push_back(after_init_case(
        "CorreSubrectCount2Pow32Minus1",
        Wire().update(1).rect(0, 0, 16, 16, kCoRRE).u32(0xffffffffu).pixel(red).take(),
        "corre: more subrects than pixels"));
    v.push_back(after_init_case("CorreSubrectOutside",
                                Wire()
                                    .update(1)
                                    .rect(0, 0, 16, 16, kCoRRE)
                                    .u32(1)
                                    .pixel(red)
                                    .pixel(green)
                                    .u8(0)
                                    .u8(15)
                                    .u8(1)
                                    .u8(2)
                                    .take(),
                                "corre: subrect outside rectangle"));

    // ZRLE and TRLE.
    v.push_back(after_init_case("ZrleLength2Pow32Minus1",
                                Wire().update(1).rect(0, 0, 64, 64, kZRLE).u32(0xffffffffu).take(),
                                "zrle: compressed length too large"));
    v.push_back(after_init_case(
        "ZrleZlibGarbage", Wire().update(1).rect(0, 0, 64, 64, kZRLE).u32(16).fill(16, 0xde).take(),
        "zrle: zlib data is corrupt"));
    {
        // One solid 64x64 tile needs 4 bytes; this inflates to 64 MB more. Built on the server
        // thread when the case runs, not at start-up.
        HostileCase c{"ZrleZlibBomb", Phase::kAfterInit,
                      [](FakePeer& p) {
                          Wire tile;
                          tile.u8(1).cpixel(0xff0000);
                          const Bytes z = deflate_bytes(tile.take(), size_t{64} << 20);
                          p.send(Wire()
                                     .update(1)
                                     .rect(0, 0, 64, 64, kZRLE)
                                     .u32(static_cast<uint32_t>(z.size()))
                                     .bytes(z)
                                     .take());
                      },
                      "zrle: zlib data"};
        c.check_rss = true;
        v.push_back(std::move(c));
    }
    {
        Wire tile;
        tile.u8(130).cpixel(red).cpixel(green).u8(5);  // palette RLE, 2 colours, index 5
        const Bytes z = deflate_bytes(tile.take());
        v.push_back(after_init_case("ZrlePaletteIndexOutOfRange",
                                    Wire()
                                        .update(1)
                                        .rect(0, 0, 64, 64, kZRLE)
                                        .u32(static_cast<uint32_t>(z.size()))
                                        .bytes(z)
                                        .take(),
                                    "zrle: palette index out of range"));
    }
    {
        Wire tile;
        tile.u8(3).cpixel(red).cpixel(green).cpixel(0x0000ff).u8(0xff).fill(16 * 64 - 1, 0);
        const Bytes z = deflate_bytes(tile.take());
        v.push_back(after_init_case("ZrlePackedPaletteIndexOutOfRange",
                                    Wire()
                                        .update(1)
                                        .rect(0, 0, 64, 64, kZRLE)
                                        .u32(static_cast<uint32_t>(z.size()))
                                        .bytes(z)
                                        .take(),
                                    "zrle: palette index out of range"));
    }
    {
        Wire tile;
        tile.u8(128).cpixel(red).fill(17, 255).u8(0);  // a run of 4336 in a 4096-pixel tile
        const Bytes z = deflate_bytes(tile.take());
        v.push_back(after_init_case("ZrleRunPastTile",
                                    Wire()
                                        .update(1)
                                        .rect(0, 0, 64, 64, kZRLE)
                                        .u32(static_cast<uint32_t>(z.size()))
                                        .bytes(z)
                                        .take(),
                                    "zrle: run past the end of the tile"));
    }
    v.push_back(after_init_case("TrlePaletteReusedBeforeAnySent",
                                Wire().update(1).rect(0, 0, 16, 16, kTRLE).u8(127).take(),
                                "trle: palette reused before any was sent"));
    v.push_back(after_init_case("TrlePaletteRleReusedBeforeAnySent",
                                Wire().update(1).rect(0, 0, 16, 16, kTRLE).u8(129).take(),
                                "trle: palette reused before any was sent"));
    v.push_back(after_init_case(
        "TrleReusedPaletteTooLargeToPack",
        // Tile 1: palette RLE with 20 colours; tile 2 reuses it packed, which cannot index 20.
        [&] {
            Wire w;
            w.update(1).rect(0, 0, 32, 16, kTRLE).u8(128 + 20);
            for (uint32_t i = 0; i < 20; ++i)
                w.cpixel(i * 0x010101);
            w.u8(0x80).fill(1, 255).u8(0);  // index 0, run 256: the whole 16x16 tile
            w.u8(127);
            return w.take();
        }(),
        "trle: reused palette too large to pack"));
    v.push_back(after_init_case("TrleUnusedSubencoding",
                                Wire().update(1).rect(0, 0, 16, 16, kTRLE).u8(17).take(),
                                "trle: unused subencoding"));
    v.push_back(after_init_case(
        "TrleRunPastTile",
        Wire().update(1).rect(0, 0, 16, 16, kTRLE).u8(128).cpixel(red).u8(255).u8(1).take(),
        "trle: run past the end of the tile"));

    // Zlib.
    {
        const Bytes z = deflate_bytes(Bytes(100, 0x55));  // a 16x16 rectangle needs 1024
        v.push_back(after_init_case("ZlibStreamTooShortForRect",
                                    Wire()
                                        .update(1)
                                        .rect(0, 0, 16, 16, kZlib)
                                        .u32(static_cast<uint32_t>(z.size()))
                                        .bytes(z)
                                        .take(),
                                    "zlib: "));
        v.push_back(after_init_case("ZlibTruncatedThenFin",
                                    Wire()
                                        .update(1)
                                        .rect(0, 0, 16, 16, kZlib)
                                        .u32(static_cast<uint32_t>(z.size()))
                                        .bytes(std::span(z).first(z.size() / 2))
                                        .take(),
                                    kPeerClosed));
    }
    v.push_back(after_init_case("ZlibLength2Pow32Minus1",
                                Wire().update(1).rect(0, 0, 16, 16, kZlib).u32(0xffffffffu).take(),
                                "zlib: compressed length too large"));

    // Tight.
    v.push_back(after_init_case("TightBadFilterId",
                                Wire().update(1).rect(0, 0, 16, 16, kTight).u8(0x40).u8(3).take(),
                                "tight: unknown filter"));
    v.push_back(after_init_case("TightBadCompressionType",
                                Wire().update(1).rect(0, 0, 16, 16, kTight).u8(0xa0).take(),
                                "tight: bad compression type"));
    // The palette size is sent minus one in a byte, so 0 and 257 cannot be expressed; their
    // neighbours can: a 1-colour palette indexed with 1, and a 256-colour palette cut short.
    v.push_back(after_init_case("TightPaletteSize1IndexedWith1",
                                Wire()
                                    .update(1)
                                    .rect(0, 0, 8, 1, kTight)
                                    .u8(0x40)
                                    .u8(1)  // palette filter
                                    .u8(0)  // 1 colour
                                    .tpixel(red)
                                    .u8(0xff)  // 8 one-bit indexes of 1, uncompressed (< 12 bytes)
                                    .take(),
                                "tight: palette index out of range"));
    v.push_back(after_init_case(
        "TightPaletteSize256Truncated",
        Wire().update(1).rect(0, 0, 16, 16, kTight).u8(0x40).u8(1).u8(255).fill(100, 3).take(),
        kPeerClosed));
    v.push_back(after_init_case("TightBogusJpeg",
                                Wire()
                                    .update(1)
                                    .rect(0, 0, 16, 16, kTight)
                                    .u8(0x90)
                                    .u8(20)
                                    .text("this is no JFIF data")
                                    .take(),
                                "tight: bad JPEG header"));
    v.push_back(
        after_init_case("TightJpegSoiThenGarbage",
                        Wire()
                            .update(1)
                            .rect(0, 0, 16, 16, kTight)
                            .u8(0x90)
                            .u8(8)
                            .u8(0xff)
                            .u8(0xd8)
                            .fill(6, 0x11)
                            .take(),
                        // libjpeg may find a header in the garbage; the size check then refuses it.
                        "JPEG"));
    {
        // The largest compact length (3 bytes: 4194303) for data that needs 768 bytes.
        HostileCase c{"TightCompactLengthMax", Phase::kAfterInit,
                      [](FakePeer& p) {
                          const Bytes head = Wire()
                                                 .update(1)
                                                 .rect(0, 0, 16, 16, kTight)
                                                 .u8(0x00)
                                                 .u8(0xff)
                                                 .u8(0xff)
                                                 .u8(0xff)
                                                 .take();
                          if (p.send(head)) p.send_repeated(Bytes(65536, 0xaa), 4194303);
                      },
                      "tight: zlib data is corrupt"};
        c.rx_bound = size_t{9} << 20;  // Tight buffers a whole body: 4 MB, doubling growth
        v.push_back(std::move(c));
    }

    // CopyRect.
    v.push_back(after_init_case(
        "CopyRectSourceOutside",
        Wire().update(1).rect(0, 0, 16, 16, kCopyRect).u16(kWidth - 8).u16(0).take(),
        "CopyRect source 120,0 outside framebuffer"));
    v.push_back(
        after_init_case("CopyRectSourceAt65535",
                        Wire().update(1).rect(0, 0, 16, 16, kCopyRect).u16(65535).u16(65535).take(),
                        "CopyRect source 65535,65535 outside framebuffer"));

    // Cursors.
    v.push_back(after_init_case("Cursor257x257",
                                Wire().update(1).rect(0, 0, 257, 257, kCursor).take(),
                                "cursor 257x257 too large"));
    v.push_back(after_init_case("Cursor65535x65535",
                                Wire().update(1).rect(0, 0, 65535, 65535, kCursor).take(),
                                "cursor 65535x65535 too large"));
    v.push_back(after_init_case("XCursor300x2",
                                Wire().update(1).rect(0, 0, 300, 2, kXCursor).take(),
                                "cursor 300x2 too large"));
    v.push_back(after_init_case(
        "CursorMaskTruncated",
        Wire().update(1).rect(1, 1, 16, 16, kCursor).fill(16 * 16 * 4, 0x80).fill(10, 0xff).take(),
        kPeerClosed));

    // Size changes.
    v.push_back(after_init_case("DesktopSize0x0",
                                Wire().update(1).rect(0, 0, 0, 0, kDesktopSize).take(),
                                "desktop size 0x0 out of range"));
    v.push_back(after_init_case("DesktopSize20000x20000",
                                Wire().update(1).rect(0, 0, 20000, 20000, kDesktopSize).take(),
                                "desktop size 20000x20000 out of range"));
    v.push_back(after_init_case("ExtendedDesktopSize0x0",
                                Wire()
                                    .update(1)
                                    .rect(0, 0, 0, 0, kExtendedDesktopSize)
                                    .u8(1)
                                    .fill(3, 0)
                                    .u32(1)
                                    .u16(0)
                                    .u16(0)
                                    .u16(0)
                                    .u16(0)
                                    .u32(0)
                                    .take(),
                                "ExtendedDesktopSize: desktop size 0x0 out of range"));
    {
        // 255 screens fit the wire format (4 KB); they are parsed and the stream goes on.
        Wire w;
        w.update(1).rect(0, 0, kWidth, kHeight, kExtendedDesktopSize).u8(255).fill(3, 0);
        for (uint32_t i = 0; i < 255; ++i)
            w.u32(i).u16(0).u16(0).u16(kWidth).u16(kHeight).u32(0);
        HostileCase c = after_init_case("ExtendedDesktopSize255Screens", w.take(), kPeerClosed);
        c.then_valid_frame = true;
        v.push_back(std::move(c));
    }
    v.push_back(after_init_case(
        "ResizeMidUpdateThenRectInOldSize",
        Wire().update(2).rect(0, 0, 64, 48, kDesktopSize).rect(0, 0, kWidth, kHeight, kRaw).take(),
        "rect outside framebuffer: 0,0 128x96 in 64x48"));

    // Other messages.
    {
        Wire w;
        w.u8(rfb::server_msg::kSetColourMapEntries).u8(0).u16(200).u16(100);
        for (int i = 0; i < 100; ++i)
            w.u16(0xffff).u16(0).u16(0x8000);
        HostileCase c = after_init_case("ColourMapFirstPlusCountOver256", w.take(), kPeerClosed);
        c.then_valid_frame = true;
        v.push_back(std::move(c));
    }
    {
        Wire w;
        w.u8(rfb::server_msg::kSetColourMapEntries).u8(0).u16(65535).u16(65535);
        w.fill(size_t{65535} * 6, 0x7f);
        HostileCase c = after_init_case("ColourMapFirst65535Count65535", w.take(), kPeerClosed);
        c.then_valid_frame = true;
        v.push_back(std::move(c));
    }
    // 2^32-1 has the sign bit set: it is an ExtendedClipboard payload of -(-1) = 1 byte, too
    // short to hold the flags.
    v.push_back(after_init_case(
        "ServerCutTextLength2Pow32Minus1",
        Wire().u8(rfb::server_msg::kServerCutText).fill(3, 0).u32(0xffffffffu).take(),
        "extended clipboard payload of 1 bytes has no flags"));
    {
        // The largest plain length: must be skipped as it streams, never buffered.
        HostileCase c{"ServerCutText2Pow31Minus1Streams16MB", Phase::kAfterInit,
                      [](FakePeer& p) {
                          if (p.send(Wire()
                                         .u8(rfb::server_msg::kServerCutText)
                                         .fill(3, 0)
                                         .u32(0x7fffffffu)
                                         .take()))
                              p.send_repeated(Bytes(65536, 'A'), size_t{16} << 20);
                      },
                      kPeerClosed};
        c.check_rss = true;
        v.push_back(std::move(c));
    }
    {
        HostileCase c{"ExtendedClipboard2Pow31Streams16MB", Phase::kAfterInit,
                      [](FakePeer& p) {
                          if (p.send(Wire()
                                         .u8(rfb::server_msg::kServerCutText)
                                         .fill(3, 0)
                                         .u32(0x80000000u)
                                         .take()))
                              p.send_repeated(Bytes(65536, 'B'), size_t{16} << 20);
                      },
                      kPeerClosed};
        c.check_rss = true;
        v.push_back(std::move(c));
    }
    // Exactly announced lengths over the cap: skipped as they stream, and the next message is
    // read in step.
    for (const bool extended : {false, true}) {
        constexpr uint32_t kLen = uint32_t{16} << 20;
        HostileCase c{
            extended ? "ExtendedClipboard16MBSkippedInStep" : "ServerCutText16MBSkippedInStep",
            Phase::kAfterInit,
            [extended](FakePeer& p) {
                if (p.send(Wire()
                               .u8(rfb::server_msg::kServerCutText)
                               .fill(3, 0)
                               .u32(extended ? 0u - kLen : kLen)
                               .take()))
                    p.send_repeated(Bytes(65536, 'C'), kLen);
            },
            kPeerClosed};
        c.check_rss = true;
        c.then_valid_frame = true;
        v.push_back(std::move(c));
    }
    v.push_back(after_init_case(
        "FencePayload65Bytes",
        Wire().u8(rfb::server_msg::kServerFence).fill(3, 0).u32(0).u8(65).fill(65, 1).take(),
        "ServerFence payload of 65 bytes exceeds 64"));
    v.push_back(
        after_init_case("DesktopNameLength2Pow32Minus1",
                        Wire().update(1).rect(0, 0, 0, 0, kDesktopName).u32(0xffffffffu).take(),
                        "desktop name of 4294967295 bytes too long"));
    {
        // 50 MB of valid full-frame Raw updates, written without waiting for requests.
        HostileCase c{"Flood50MBOfValidRaw", Phase::kAfterInit,
                      [](FakePeer& p) {
                          const Bytes a = p.raw_frame_bytes(kWidth, kHeight,
                                                            fake::test_picture(kWidth, kHeight, 3));
                          const Bytes b = p.raw_frame_bytes(kWidth, kHeight,
                                                            fake::test_picture(kWidth, kHeight, 4));
                          const uint64_t start = p.bytes_sent();
                          for (int i = 0; p.bytes_sent() - start < (uint64_t{50} << 20); ++i)
                              if (!p.send(i % 2 ? b : a)) return;
                      },
                      kPeerClosed};
        c.then_valid_frame = true;
        c.check_rss = true;
        v.push_back(std::move(c));
    }
    return v;
}

const std::vector<HostileCase>& all_cases() {
    static const std::vector<HostileCase> cases = [] {
        std::vector<HostileCase> v = handshake_cases();
        for (HostileCase& c : after_init_cases())
            v.push_back(std::move(c));
        for (size_t i = 0; i < v.size(); ++i)
            v[i].index = i;
        return v;
    }();
    return cases;
}

void PrintTo(const HostileCase& c, std::ostream* os) {
    *os << c.name;
}

// ---------------------------------------------------------------------------------------------
// A viewer of the session, built from the codec's client side and pumped from the loop. It keeps
// one update request outstanding, as real viewers do.

class Bystander : public rfb::ServerMessageSink {
  public:
    Bystander(EventLoop& loop, int fd) : loop_(loop), fd_(fd) {
        handshake_ = std::make_unique<rfb::ClientHandshake>(rfb::ClientHandshakeConfig{});
        pump();
    }
    ~Bystander() override {
        if (timer_) loop_.cancel_timer(timer_);
        ::close(fd_);
    }

    void setup() {
        send(rfb::SetPixelFormatMsg{rfb::PixelFormat::canonical()});
        reader_->set_wire_format(rfb::PixelFormat::canonical());
        send(rfb::SetEncodingsMsg{
            {rfb::encoding::kZRLE, rfb::encoding::kDesktopSize, rfb::encoding::kLastRect}});
        request(false);
    }

    bool ready() const { return ready_; }
    bool failed() const { return failed_; }
    bool closed() const { return closed_; }
    const std::string& error() const { return error_; }
    rfb::Framebuffer fb;
    int updates = 0;
    std::vector<std::string> cut_texts;

    void on_update_end() override {
        ++updates;
        request(true);
    }
    void on_cut_text(const std::string& t) override { cut_texts.push_back(t); }

  private:
    void request(bool incremental) {
        send(rfb::UpdateRequestMsg{incremental, rfb::Rect{0, 0, fb.width(), fb.height()}});
    }
    void send(const rfb::ClientMessage& m) {
        std::vector<uint8_t> out;
        rfb::ByteWriter w(out);
        rfb::write_client_message(w, m);
        write_all(out);
    }
    void write_all(const std::vector<uint8_t>& b) {
        size_t off = 0;
        while (off < b.size()) {
            const ssize_t n = ::send(fd_, b.data() + off, b.size() - off, MSG_NOSIGNAL);
            if (n <= 0) return;
            off += static_cast<size_t>(n);
        }
    }
    void pump() {
        timer_ = loop_.add_timer(1ms, [this] {
            timer_ = 0;
            read_some();
            if (!closed_) pump();
        });
    }
    void read_some() {
        uint8_t buf[65536];
        for (;;) {
            const ssize_t n = ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
            if (n == 0) {
                closed_ = true;
                break;
            }
            if (n < 0) break;
            rx_.insert(rx_.end(), buf, buf + n);
        }
        if (failed_) return;
        if (!ready_) {
            std::vector<uint8_t> out;
            const auto step = handshake_->feed(rx_, out);
            rx_.erase(rx_.begin(), rx_.begin() + static_cast<ptrdiff_t>(step.consumed));
            write_all(out);
            if (step.status == rfb::HandshakeStep::kFailed) {
                failed_ = true;
                error_ = step.error;
                return;
            }
            if (step.status != rfb::HandshakeStep::kDone) return;
            const auto& init = handshake_->server_init();
            fb.resize(init.width, init.height);
            reader_ = std::make_unique<rfb::ServerMessageReader>(fb, init.format);
            ready_ = true;
        }
        if (!rx_.empty()) {
            const auto r = reader_->feed(rx_, *this);
            if (r.status == rfb::ServerReadResult::kError) {
                failed_ = true;
                error_ = r.error;
            }
            rx_.erase(rx_.begin(), rx_.begin() + static_cast<ptrdiff_t>(r.consumed));
        }
    }

    EventLoop& loop_;
    int fd_;
    EventLoop::TimerId timer_ = 0;
    std::unique_ptr<rfb::ClientHandshake> handshake_;
    std::unique_ptr<rfb::ServerMessageReader> reader_;
    std::vector<uint8_t> rx_;
    bool ready_ = false, failed_ = false, closed_ = false;
    std::string error_;
};

// ---------------------------------------------------------------------------------------------

bool shows(const rfb::Framebuffer& fb, const std::vector<uint32_t>& picture) {
    if (fb.width() != kWidth || fb.height() != kHeight) return false;
    return std::equal(picture.begin(), picture.end(), fb.pixels().begin());
}

// Value of a "Key:   123 kB" line of /proc/self/status, in bytes; 0 when absent.
size_t proc_status_bytes(const std::string& key) {
    std::ifstream f("/proc/self/status");
    std::string line;
    while (std::getline(f, line))
        if (line.compare(0, key.size() + 1, key + ":") == 0)
            return std::stoull(line.substr(key.size() + 1)) * 1024;
    return 0;
}

// Resets the peak RSS (VmHWM) to the current RSS; false where the kernel does not allow it.
bool reset_peak_rss() {
    std::ofstream f("/proc/self/clear_refs");
    f << "5";
    f.flush();
    return f.good();
}

class HostileUpstream : public ::testing::TestWithParam<HostileCase> {
  protected:
    void SetUp() override {
        std::string err;
        loop_ = EventLoop::create(256, &err);
        ASSERT_TRUE(loop_) << err;
        cache_ = std::make_unique<rfb::EncodeCache>(16 << 20);
        pool_ = std::make_unique<EncodePool>(*loop_, 0);
        encoder_ = std::make_unique<TileEncodeService>(*cache_, *pool_);
        base_handlers_ = loop_->handler_count();
        SessionOptions so;
        so.name = "hostile";
        so.first_frame_wait = 20s;
        session_ = std::make_unique<Session>(*loop_, so, *encoder_);
    }

    void TearDown() override {
        if (sampler_) loop_->cancel_timer(sampler_);
        sampler_ = 0;
        client_.reset();
        if (session_) session_->close_all_viewers("test over");
        bystander_.reset();
        loop_->run_until([&] { return loop_->handler_count() == base_handlers_; }, 2s);
        server_.reset();
        session_.reset();
    }

    // The well-behaved part of a connection: handshake, then the picture for the first request.
    static bool serve_picture(FakePeer& p, Handshake h, const rfb::PixelFormat& announced,
                              uint32_t seed) {
        return p.handshake(h, kWidth, kHeight, announced, kPassword) && p.wait_update_request() &&
               p.send_raw_frame(kWidth, kHeight, fake::test_picture(kWidth, kHeight, seed));
    }

    void start(const HostileCase& c) {
        const size_t index = c.index;
        // Every case runs with other valid handshakes and announced formats around the attack.
        std::vector<Handshake> variants = {Handshake::k38None, Handshake::k33VncAuth,
                                           Handshake::k37None, Handshake::k38VncAuth,
                                           Handshake::k33None};
        if (!c.client_password)
            variants = {Handshake::k38None, Handshake::k37None, Handshake::k33None};
        rfb::PixelFormat be = rfb::PixelFormat::canonical();
        be.big_endian = true;
        const rfb::PixelFormat formats[] = {rfb::PixelFormat::canonical(),
                                            rfb::PixelFormat::rgb565(), be};
        const Handshake before = variants[index % variants.size()];
        const Handshake after = variants[(index + 1) % variants.size()];
        const rfb::PixelFormat pf_before = formats[index % 3], pf_after = formats[(index + 1) % 3];
        variants_ = std::string("valid handshakes ") + fake::handshake_name(before) + " then " +
                    fake::handshake_name(after) + ", announced formats " + pf_before.describe() +
                    " then " + pf_after.describe();

        std::vector<fake::FakeRfbServer::Script> scripts;
        std::atomic<bool>* go = &go_;
        auto attack = c.attack;
        if (c.then_valid_frame)
            attack = [attack](FakePeer& p) {
                attack(p);
                p.send_raw_frame(kWidth, kHeight, fake::test_picture(kWidth, kHeight, kSeedResync));
            };
        if (c.phase == Phase::kAfterInit) {
            scripts.push_back([=](FakePeer& p) {
                if (serve_picture(p, before, pf_before, kSeedBefore) && p.wait_for(*go)) attack(p);
            });
            expected_accepts_ = 2;
        } else {
            scripts.push_back([=](FakePeer& p) {
                if (serve_picture(p, before, pf_before, kSeedBefore)) p.wait_for(*go);
            });
            scripts.push_back(attack);
            expected_accepts_ = 3;
        }
        scripts.push_back([=](FakePeer& p) {
            if (serve_picture(p, after, pf_after, kSeedAfter)) p.drain();
        });
        server_ = std::make_unique<fake::FakeRfbServer>(std::move(scripts));

        UpstreamOptions o;
        o.host = "127.0.0.1";
        o.port = server_->port();
        if (c.client_password) o.password = kPassword;
        o.handshake_timeout = c.handshake_timeout;
        o.backoff_min = 5ms;
        o.backoff_max = 20ms;
        client_ = std::make_unique<UpstreamClient>(*session_, o);
        session_->set_upstream(client_.get());
        client_->start();
        arm_sampler();

        int sv[2];
        ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
        auto* conn = new Connection(*loop_, sv[0], nullptr, Connection::Limits{}, "bystander");
        std::array<uint8_t, 16> challenge{};
        auto viewer = std::make_unique<ViewerConnection>(*session_, conn, 1, challenge);
        ViewerConnection* v = viewer.get();
        session_->add_viewer(std::move(viewer));
        v->start();
        bystander_ = std::make_unique<Bystander>(*loop_, sv[1]);
    }

    // rx_ of a Connection never shrinks, so sampling it often catches its peak.
    void arm_sampler() {
        sampler_ = loop_->add_timer(1ms, [this] {
            sampler_ = 0;
            if (const Connection* c = client_ ? client_->connection() : nullptr) {
                max_rx_ = std::max(max_rx_, c->rx_buffer_size());
                rx_cap_ = c->limits().rx_cap;
            }
            arm_sampler();
        });
    }

    bool run_until(const std::function<bool()>& cond, Clock::duration max) {
        loop_->run_until(cond, max);
        return cond();
    }

    std::unique_ptr<EventLoop> loop_;
    std::unique_ptr<rfb::EncodeCache> cache_;
    std::unique_ptr<EncodePool> pool_;
    std::unique_ptr<TileEncodeService> encoder_;
    size_t base_handlers_ = 0;
    std::unique_ptr<Session> session_;
    std::unique_ptr<fake::FakeRfbServer> server_;
    std::unique_ptr<UpstreamClient> client_;
    std::unique_ptr<Bystander> bystander_;
    std::atomic<bool> go_{false};
    int expected_accepts_ = 0;
    std::string variants_;
    EventLoop::TimerId sampler_ = 0;
    size_t max_rx_ = 0, rx_cap_ = 0;
};

TEST_P(HostileUpstream, DropsWithReasonAndViewersRecover) {
    const HostileCase& c = GetParam();
    ASSERT_NO_FATAL_FAILURE(start(c));
    SCOPED_TRACE(variants_);
    const std::vector<uint32_t> before = fake::test_picture(kWidth, kHeight, kSeedBefore);
    const std::vector<uint32_t> after = fake::test_picture(kWidth, kHeight, kSeedAfter);
    ASSERT_NE(before, after);

    // The bystander is watching the first server's picture before the attack starts.
    ASSERT_TRUE(run_until([&] { return bystander_->ready() || bystander_->failed(); }, 10s))
        << "the first, valid upstream never produced a frame; last error: "
        << client_->last_error();
    ASSERT_FALSE(bystander_->failed()) << bystander_->error();
    bystander_->setup();
    ASSERT_TRUE(
        run_until([&] { return shows(bystander_->fb, before) || bystander_->failed(); }, 10s));
    ASSERT_TRUE(client_->connected());
    ASSERT_TRUE(client_->last_error().empty()) << client_->last_error();

    const bool rss_ok = c.check_rss && kRssMeaningful && reset_peak_rss();
    const size_t rss_before = rss_ok ? proc_status_bytes("VmRSS") : 0;
    go_ = true;

    const std::vector<uint32_t> resync = fake::test_picture(kWidth, kHeight, kSeedResync);
    bool resynced = false;
    const bool recovered = run_until(
        [&] {
            // The resync picture stays up from its update until the reconnect (backoff plus a
            // handshake), and the loop turns at least every millisecond (the sampler's timer).
            if (c.then_valid_frame && !resynced) resynced = shows(session_->framebuffer(), resync);
            return (resynced || !c.then_valid_frame) && server_->accepted() >= expected_accepts_ &&
                   client_->connected() && shows(session_->framebuffer(), after) &&
                   shows(bystander_->fb, after);
        },
        30s);
    const std::string error = client_->last_error();
    EXPECT_TRUE(recovered) << "no recovery; accepted " << server_->accepted() << " of "
                           << expected_accepts_ << ", connected " << client_->connected()
                           << ", last error \"" << error << "\"";

    // The attack, and nothing else, ended a connection, for the reason the table names.
    EXPECT_NE(error.find(c.expect), std::string::npos)
        << "last error \"" << error << "\", expected it to contain \"" << c.expect << "\"";
    EXPECT_EQ(server_->accepted(), expected_accepts_) << "unexpected extra reconnects";
    EXPECT_TRUE(std::none_of(error.begin(), error.end(), [](char ch) {
        return static_cast<unsigned char>(ch) < 0x20;
    })) << "server text reached the log unfiltered";

    if (c.then_valid_frame) {
        EXPECT_TRUE(resynced) << "the valid update after the crafted bytes was never drawn";
    }

    // The bystander never noticed, apart from the pixels.
    EXPECT_FALSE(bystander_->closed());
    EXPECT_FALSE(bystander_->failed()) << bystander_->error();
    EXPECT_TRUE(shows(bystander_->fb, after));
    EXPECT_TRUE(bystander_->cut_texts.empty());
    EXPECT_EQ(session_->viewer_count(), 1u);

    // Memory stayed bounded.
    EXPECT_GT(rx_cap_, 0u);
    EXPECT_LE(max_rx_, rx_cap_);
    EXPECT_LE(max_rx_, c.rx_bound) << "the upstream connection buffered more input than needed";
    if (rss_ok) {
        const size_t peak = proc_status_bytes("VmHWM");
        EXPECT_LT(peak, rss_before + (size_t{32} << 20))
            << "peak RSS grew by " << ((peak - rss_before) >> 20) << " MB during the attack";
    }
}

INSTANTIATE_TEST_SUITE_P(Cases, HostileUpstream, ::testing::ValuesIn(all_cases()),
                         [](const ::testing::TestParamInfo<HostileCase>& i) {
                             return i.param.name;
                         });

}  // namespace
}  // namespace rfbcast
