// Writes the seed corpora of the fuzz targets: valid messages built with codec's writers and
// encoders (and, where codec has no encoder, bodies built by hand from rfbproto.rst), prefixed
// with the parameter bytes each target reads first, so fuzzing starts from real structure.
//
//   fuzz_make_seeds <dir>     writes <dir>/<target>/<seed name> for every target
#include <turbojpeg.h>
#include <zlib.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <span>
#include <string>
#include <vector>

#include "codec/ard_auth.h"
#include "codec/byte_writer.h"
#include "codec/client_messages.h"
#include "codec/encoder.h"
#include "codec/framebuffer.h"
#include "codec/pixel_converter.h"
#include "codec/proxy_protocol.h"
#include "codec/rect_framing.h"
#include "codec/repeater_header.h"
#include "codec/rfb_constants.h"
#include "codec/server_messages.h"
#include "codec/vnc_auth.h"
#include "codec/websocket_frame_writer.h"
#include "codec/zrle_encoder.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

using Bytes = std::vector<uint8_t>;
namespace fs = std::filesystem;

fs::path g_root;
bool g_ok = true;

void save(const std::string& target, const std::string& name, const Bytes& data) {
    const fs::path dir = g_root / target;
    fs::create_directories(dir);
    std::ofstream out(dir / name, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data.data()),
              static_cast<std::streamsize>(data.size()));
    if (!out) {
        std::fprintf(stderr, "cannot write %s/%s\n", target.c_str(), name.c_str());
        g_ok = false;
    }
}

void append(Bytes& to, const Bytes& from) {
    to.insert(to.end(), from.begin(), from.end());
}

// Picture content with flat areas, edges, a gradient and noise, so every encoder picks
// several of its tile forms.
rfb::Framebuffer picture(uint32_t w, uint32_t h) {
    rfb::Framebuffer fb(w, h);
    uint32_t noise = 12345;
    for (uint32_t y = 0; y < h; ++y) {
        uint32_t* row = fb.row(y);
        for (uint32_t x = 0; x < w; ++x) {
            uint32_t v = 0;
            if (y < h / 3) {
                v = x < w / 2 ? 0x2060a0u : 0xf0f0f0u;
                if (x % 7 == 3 && y % 5 == 1) v = 0x000000;
            } else if (y + 2 < h) {
                v = ((x * 255 / w) << 16) | ((y * 255 / h) << 8) | 0x40;
            } else {  // noise only in the last rows: seeds stay small
                noise = noise * 1103515245u + 12345u;
                v = (noise >> 8) & 0xffffffu;
            }
            row[x] = v;
        }
    }
    return fb;
}

// ---- decoders (decoder_harness.h layout) ----------------------------------------------------

Bytes decoder_params(uint8_t format, uint32_t fw, uint32_t fh, const rfb::Rect& r,
                     uint8_t chunks = 1) {
    const uint8_t flags = static_cast<uint8_t>(((chunks - 1) & 3) << 1);
    return Bytes{format,
                 static_cast<uint8_t>(fw - 1),
                 static_cast<uint8_t>(fh - 1),
                 static_cast<uint8_t>(r.x),
                 static_cast<uint8_t>(r.w),
                 static_cast<uint8_t>(r.y),
                 static_cast<uint8_t>(r.h),
                 flags,
                 0x5a,
                 0xc3};
}

void pixel(Bytes& out, const rfb::PixelWriter& px, uint32_t rgb) {
    uint8_t b[4];
    px.store(px.pack(rgb), b);
    out.insert(out.end(), b, b + px.bytes_per_pixel());
}

void encoder_seeds(const std::string& target, int32_t encoding) {
    const rfb::Framebuffer fb = picture(24, 20);
    const rfb::Rect r{3, 2, 18, 14};
    for (uint8_t fmt : {0, 3, 5, 8}) {
        rfb::PixelWriter px(rfb::fuzz::wire_format(fmt));
        auto enc = rfb::make_encoder(encoding);
        Bytes body;
        if (!enc->encode(fb, r, px, {}, body)) {
            std::fprintf(stderr, "%s: encode failed for format %d\n", target.c_str(), fmt);
            g_ok = false;
            continue;
        }
        Bytes seed = decoder_params(fmt, 24, 20, r, fmt % 3 + 1);
        append(seed, body);
        save(target, "fmt" + std::to_string(fmt), seed);
    }
}

void zrle_seeds() {
    const rfb::Framebuffer fb = picture(80, 24);
    for (uint8_t fmt : {0, 3, 8}) {
        rfb::PixelWriter px(rfb::fuzz::wire_format(fmt));
        rfb::ZrleEncoder enc;
        // Two rectangles on one stream: the first carries the zlib header, the second does not.
        const rfb::Rect r{1, 1, 70, 20};  // two tiles across, the second partial
        Bytes seed = decoder_params(fmt, 80, 24, r, fmt % 4 + 1);
        rfb::ViewerStreamState state;
        for (int i = 0; i < 2; ++i) {
            Bytes body, framed;
            enc.encode(fb, r, px, {}, body);
            rfb::ByteWriter w(framed);
            rfb::write_rect_prefix(w, r, rfb::encoding::kZRLE, body.size(), state);
            framed.erase(framed.begin(), framed.begin() + rfb::kRectHeaderSize);
            append(seed, framed);
            append(seed, body);
        }
        save("zrle_decoder", "fmt" + std::to_string(fmt), seed);
    }
}

void copyrect_seeds() {
    save("copyrect_decoder", "overlap", [] {
        Bytes s = decoder_params(0, 32, 32, rfb::Rect{4, 4, 20, 20});
        append(s, {0, 8, 0, 2});
        return s;
    }());
    save("copyrect_decoder", "chunked", [] {
        Bytes s = decoder_params(3, 64, 20, rfb::Rect{0, 0, 30, 10}, 3);
        append(s, {0, 33, 0, 9, 0, 30, 0, 10});  // two rectangles
        return s;
    }());
}

// RRE (2) and CoRRE (4): subrectangle count, background, then (pixel, x, y, w, h).
void rre_seeds(const std::string& target, bool compact) {
    for (uint8_t fmt : {0, 3, 5, 6}) {
        rfb::PixelWriter px(rfb::fuzz::wire_format(fmt == 6 ? 5 : fmt));
        const rfb::Rect r{2, 3, 30, 20};
        Bytes s = decoder_params(fmt, 40, 30, r, fmt % 3 + 1);
        const uint32_t sub[][5] = {
            {0xff0000, 0, 0, 5, 5}, {0x00ff00, 10, 2, 20, 3}, {0x0000ff, 29, 19, 1, 1}};
        rfb::ByteWriter w(s);
        w.u32(3);
        pixel(s, px, 0x808080);
        for (const auto& sr : sub) {
            pixel(s, px, sr[0]);
            for (int i = 1; i < 5; ++i)
                compact ? w.u8(static_cast<uint8_t>(sr[i])) : w.u16(static_cast<uint16_t>(sr[i]));
        }
        save(target, "fmt" + std::to_string(fmt), s);
    }
}

Bytes zlib_compress(z_stream& z, const Bytes& in) {
    Bytes out(deflateBound(&z, in.size()) + 64);
    z.next_in = const_cast<Bytef*>(in.data());
    z.avail_in = static_cast<uInt>(in.size());
    z.next_out = out.data();
    z.avail_out = static_cast<uInt>(out.size());
    deflate(&z, Z_SYNC_FLUSH);
    out.resize(out.size() - z.avail_out);
    return out;
}

void zlib_seeds() {
    const rfb::Framebuffer fb = picture(40, 30);
    for (uint8_t fmt : {0, 3, 5}) {
        rfb::PixelWriter px(rfb::fuzz::wire_format(fmt));
        z_stream z{};
        deflateInit(&z, 6);
        const rfb::Rect r{0, 5, 40, 20};
        Bytes s = decoder_params(fmt, 40, 30, r, fmt % 3 + 2);
        for (int i = 0; i < 2; ++i) {  // two rectangles on one zlib stream
            Bytes raw;
            auto enc = rfb::make_encoder(rfb::encoding::kRaw);
            enc->encode(fb, r, px, {}, raw);
            const Bytes z_data = zlib_compress(z, raw);
            rfb::ByteWriter w(s);
            w.u32(static_cast<uint32_t>(z_data.size()));
            append(s, z_data);
        }
        deflateEnd(&z);
        save("zlib_decoder", "fmt" + std::to_string(fmt), s);
    }
}

// TRLE (15): 16x16 tiles of uncompressed ZRLE-style tile data, one of each subencoding.
void trle_seeds() {
    for (uint8_t fmt : {0, 3, 8}) {
        const rfb::PixelFormat pf = rfb::fuzz::wire_format(fmt);
        rfb::PixelWriter px(pf);
        const rfb::ZrleCPixel cp = rfb::zrle_cpixel(pf);
        auto cpixel = [&](Bytes& out, uint32_t rgb) {
            uint8_t b[4];
            px.store(px.pack(rgb), b);
            out.insert(out.end(), b + cp.offset, b + cp.offset + cp.size);
        };
        const rfb::Rect r{0, 0, 40, 20};  // tiles: 16x16 16x16 8x16 / 16x4 16x4 8x4
        Bytes s = decoder_params(fmt, 40, 20, r, fmt % 3 + 1);
        // 1: solid
        s.push_back(1);
        cpixel(s, 0x336699);
        // 2: two-colour packed palette, 1 bit per pixel, rows padded to bytes
        s.push_back(2);
        cpixel(s, 0x000000);
        cpixel(s, 0xffffff);
        for (int y = 0; y < 16; ++y) {
            s.push_back(0xa5);
            s.push_back(0x0f);
        }
        // 0: raw CPIXELs (8x16)
        s.push_back(0);
        for (int i = 0; i < 8 * 16; ++i)
            cpixel(s, static_cast<uint32_t>(i * 0x010203));
        // 128: plain RLE, two runs covering 16x4 = 64 pixels (run length - 1, 255s first)
        s.push_back(128);
        cpixel(s, 0xff0000);
        s.push_back(39);
        cpixel(s, 0x00ff00);
        s.push_back(23);
        // 130: palette RLE with two colours: index with bit 7 set is a run
        s.push_back(130);
        cpixel(s, 0x101010);
        cpixel(s, 0xe0e0e0);
        s.push_back(0x80);
        s.push_back(30);  // 31 of colour 0
        s.push_back(1);   // one of colour 1
        s.push_back(0x81);
        s.push_back(31);  // 32 of colour 1
        // 127: reuse the last palette, packed (8x4, 1 bit per pixel)
        s.push_back(127);
        for (int y = 0; y < 4; ++y)
            s.push_back(0x3c);
        save("trle_decoder", "fmt" + std::to_string(fmt), s);
    }
}

// Tight (7).
void compact_length(Bytes& out, size_t n) {
    out.push_back(static_cast<uint8_t>((n & 0x7f) | (n > 0x7f ? 0x80 : 0)));
    if (n > 0x7f) {
        out.push_back(static_cast<uint8_t>(((n >> 7) & 0x7f) | (n > 0x3fff ? 0x80 : 0)));
        if (n > 0x3fff) out.push_back(static_cast<uint8_t>(n >> 14));
    }
}

Bytes make_jpeg(uint32_t w, uint32_t h) {
    Bytes rgb(size_t{w} * h * 3);
    for (size_t i = 0; i < rgb.size(); ++i)
        rgb[i] = static_cast<uint8_t>(i * 7);
    tjhandle tj = tjInitCompress();
    unsigned char* jpeg = nullptr;
    unsigned long size = 0;
    Bytes out;
    if (tj && tjCompress2(tj, rgb.data(), static_cast<int>(w), 0, static_cast<int>(h), TJPF_RGB,
                          &jpeg, &size, TJSAMP_420, 50, 0) == 0)
        out.assign(jpeg, jpeg + size);
    else
        g_ok = false;
    tjFree(jpeg);
    if (tj) tjDestroy(tj);
    return out;
}

void tight_seeds() {
    const rfb::Rect r{2, 2, 16, 8};
    // TPIXELs are R, G, B for format 0; a PIXEL for format 3 (RGB565).
    for (uint8_t fmt : {0, 3}) {
        rfb::PixelWriter px(rfb::fuzz::wire_format(fmt));
        auto tpixel = [&](Bytes& out, uint32_t rgb) {
            if (fmt == 0) {
                out.push_back(static_cast<uint8_t>(rgb >> 16));
                out.push_back(static_cast<uint8_t>(rgb >> 8));
                out.push_back(static_cast<uint8_t>(rgb));
            } else {
                pixel(out, px, rgb);
            }
        };
        const std::string suffix = "_fmt" + std::to_string(fmt);
        z_stream z[4]{};
        for (auto& s : z)
            deflateInit(&s, 6);

        Bytes fill = decoder_params(fmt, 24, 12, r);
        fill.push_back(0x80);
        tpixel(fill, 0x4080c0);
        save("tight_decoder", "fill" + suffix, fill);

        // Basic, copy filter, below 12 bytes: sent uncompressed (2x1 rectangle).
        Bytes small = decoder_params(fmt, 24, 12, rfb::Rect{0, 0, 2, 1});
        small.push_back(0x00);
        tpixel(small, 0x102030);
        tpixel(small, 0x405060);
        save("tight_decoder", "basic_small" + suffix, small);

        // Basic copy on stream 1 (resetting it), then palette on stream 2, then gradient on
        // stream 3 (explicit filters), all on one decoder.
        Bytes seq = decoder_params(fmt, 24, 12, r, fmt == 0 ? 2 : 4);
        {
            Bytes rows;
            for (uint32_t i = 0; i < r.w * r.h; ++i)
                tpixel(rows, i * 0x030507);
            const Bytes zd = zlib_compress(z[1], rows);
            seq.push_back(0x12);
            compact_length(seq, zd.size());
            append(seq, zd);
        }
        {
            seq.push_back(0x60);  // explicit filter, stream 2
            seq.push_back(1);     // palette
            seq.push_back(1);     // two colours
            tpixel(seq, 0x000000);
            tpixel(seq, 0xffffff);
            Bytes idx;
            for (uint32_t y = 0; y < r.h; ++y) {
                idx.push_back(static_cast<uint8_t>(0xf0 >> (y % 4)));
                idx.push_back(0x5a);
            }
            const Bytes zd = zlib_compress(z[2], idx);
            compact_length(seq, zd.size());
            append(seq, zd);
        }
        if (fmt == 0) {           // the gradient filter needs 16 or 32 bpp true colour
            seq.push_back(0x70);  // explicit filter, stream 3
            seq.push_back(2);     // gradient
            Bytes rows;
            for (uint32_t i = 0; i < r.w * r.h; ++i)
                tpixel(rows, 0x010101);
            const Bytes zd = zlib_compress(z[3], rows);
            compact_length(seq, zd.size());
            append(seq, zd);
        }
        save("tight_decoder", "basic_filters" + suffix, seq);

        Bytes pal = decoder_params(fmt, 24, 12, r);
        {
            pal.push_back(0x40);  // explicit filter, stream 0
            pal.push_back(1);
            pal.push_back(4);  // five colours: one byte per pixel
            for (uint32_t c : {0x000000u, 0xff0000u, 0x00ff00u, 0x0000ffu, 0xffffffu})
                tpixel(pal, c);
            Bytes idx;
            for (uint32_t i = 0; i < r.w * r.h; ++i)
                idx.push_back(static_cast<uint8_t>(i % 5));
            const Bytes zd = zlib_compress(z[0], idx);
            compact_length(pal, zd.size());
            append(pal, zd);
        }
        save("tight_decoder", "palette5" + suffix, pal);
        for (auto& s : z)
            deflateEnd(&s);
    }

    Bytes jpeg = decoder_params(0, 24, 12, r, 2);
    const Bytes j = make_jpeg(r.w, r.h);
    jpeg.push_back(0x90);
    compact_length(jpeg, j.size());
    append(jpeg, j);
    save("tight_decoder", "jpeg", jpeg);
}

// ---- server_message_reader ------------------------------------------------------------------

Bytes reader_params(uint8_t format, uint16_t w, uint16_t h, uint8_t chunks) {
    const uint16_t bw = static_cast<uint16_t>(w - 1), bh = static_cast<uint16_t>(h - 1);
    return Bytes{format,
                 static_cast<uint8_t>(bw >> 8),
                 static_cast<uint8_t>(bw),
                 static_cast<uint8_t>(bh >> 8),
                 static_cast<uint8_t>(bh),
                 static_cast<uint8_t>(chunks - 1),
                 0x31,
                 0x7e};
}

void reader_seeds() {
    const rfb::Framebuffer fb = picture(64, 48);
    for (uint8_t fmt : {0, 3, 5}) {
        const rfb::PixelFormat pf = rfb::fuzz::wire_format(fmt);
        rfb::PixelWriter px(pf);
        Bytes s = reader_params(fmt, 64, 48, 3);
        rfb::ByteWriter w(s);
        rfb::ViewerStreamState state;
        rfb::write_update_header(w, 0xffff);
        for (int32_t enc : {rfb::encoding::kRaw, rfb::encoding::kHextile, rfb::encoding::kZRLE}) {
            const rfb::Rect r{static_cast<uint32_t>(enc % 7) * 4, 30, 16, 12};
            Bytes body;
            rfb::make_encoder(enc)->encode(fb, r, px, {}, body);
            rfb::write_rect_prefix(w, r, enc, body.size(), state);
            w.bytes(body);
        }
        rfb::write_copyrect(w, rfb::Rect{30, 30, 10, 10}, 0, 0);
        rfb::CursorImage cursor{4, 2, 1, 1, std::vector<uint32_t>(8, 0xff00ff), {0xf0, 0x60}, {}};
        rfb::write_cursor_rect(w, cursor, px);
        rfb::write_desktop_name_rect(w, "fuzz desktop");
        rfb::write_last_rect(w);
        save("server_message_reader", "update_fmt" + std::to_string(fmt), s);
    }

    Bytes misc = reader_params(0, 32, 32, 4);
    {
        rfb::ByteWriter w(misc);
        const rfb::ColourMapEntry colours[] = {{0, 0, 0}, {65535, 0, 0}, {0, 65535, 0}};
        rfb::write_set_colour_map(w, 10, colours);
        rfb::write_bell(w);
        rfb::write_server_cut_text(w, "clipboard text");
        const uint8_t ext[] = {0x10, 0x00, 0x00, 0x01, 0, 0, 0, 5};
        rfb::write_server_cut_text_extended(w, ext);
        const uint8_t fence[] = {1, 2, 3, 4};
        rfb::write_server_fence(w, 0x80000003u, fence);
        rfb::write_end_of_continuous_updates(w);
    }
    save("server_message_reader", "misc", misc);

    Bytes resize = reader_params(0, 32, 32, 2);
    {
        rfb::ByteWriter w(resize);
        rfb::write_update_header(w, 2);
        rfb::write_desktop_size_rect(w, 40, 30);
        const rfb::Screen screens[] = {{1, 0, 0, 20, 30, 0}, {2, 20, 0, 20, 30, 0}};
        rfb::write_extended_desktop_size_rect(w, 1, 0, 40, 30, screens);
    }
    save("server_message_reader", "resize", resize);

    // A colour-map format with its map set, then a raw rectangle of indices.
    Bytes cmap = reader_params(6, 16, 16, 2);
    {
        rfb::ByteWriter w(cmap);
        const rfb::ColourMapEntry colours[] = {{65535, 0, 0}, {0, 0, 65535}};
        rfb::write_set_colour_map(w, 0, colours);
        rfb::write_update_header(w, 1);
        rfb::write_rect_header(w, rfb::Rect{0, 0, 4, 2}, rfb::encoding::kRaw);
        append(cmap, {0, 1, 0, 1, 1, 0, 1, 0});
    }
    save("server_message_reader", "colour_map", cmap);

    // Cursor With Alpha (-314): partly transparent pixels, then an empty cursor, as Xvnc sends.
    Bytes alpha = reader_params(0, 16, 16, 2);
    {
        rfb::ByteWriter w(alpha);
        rfb::CursorImage c;
        c.width = 3;
        c.height = 2;
        c.hot_x = c.hot_y = 1;
        c.pixels = {0xff0000, 0x00ff00, 0x0000ff, 0xffffff, 0x808080, 0};
        c.mask = {0xe0, 0x80};
        c.alpha = {0xff, 0x80, 0x40, 0xff, 0x10, 0x00};
        rfb::write_update_header(w, 2);
        rfb::write_cursor_with_alpha_rect(w, c);
        rfb::write_cursor_with_alpha_rect(w, rfb::CursorImage{});
    }
    save("server_message_reader", "cursor_with_alpha", alpha);
}

// ---- client_message_parser ------------------------------------------------------------------

void parser_seeds() {
    using namespace rfb;
    std::vector<std::pair<std::string, ClientMessage>> msgs = {
        {"set_pixel_format", SetPixelFormatMsg{PixelFormat::rgb565()}},
        {"set_encodings", SetEncodingsMsg{{encoding::kTight, encoding::kZRLE, encoding::kRaw,
                                           encoding::kDesktopSize, encoding::kExtendedClipboard}}},
        {"update_request", UpdateRequestMsg{true, Rect{0, 0, 1024, 768}}},
        {"key", KeyEventMsg{true, 0xff0d}},
        {"pointer", PointerEventMsg{1, 100, 200}},
        {"cut_text", ClientCutTextMsg{"hello", false, {}}},
        {"cut_text_extended", ClientCutTextMsg{"", true, {0x10, 0, 0, 1, 0, 0, 0, 3}}},
        {"continuous_updates", EnableContinuousUpdatesMsg{true, Rect{0, 0, 640, 480}}},
        {"fence", ClientFenceMsg{0x80000001u, {9, 8, 7}}},
        {"qemu_key", QemuKeyEventMsg{true, 0x61, 0x1e}},
        {"set_desktop_size", SetDesktopSizeMsg{800, 600, {Screen{1, 0, 0, 800, 600, 0}}}},
    };
    Bytes all{0};
    for (const auto& [name, msg] : msgs) {
        Bytes s{0};
        ByteWriter w(s);
        write_client_message(w, msg);
        save("client_message_parser", name, s);
        ByteWriter wa(all);
        write_client_message(wa, msg);
    }
    save("client_message_parser", "all", all);
}

// ---- handshakes -----------------------------------------------------------------------------

const uint8_t kChallenge[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

void text(Bytes& out, const std::string& s) {
    out.insert(out.end(), s.begin(), s.end());
}

void server_handshake_seeds() {
    // mode, full length, view-only length, passwords, challenge, cut seed
    auto params = [](uint8_t mode, const std::string& full, const std::string& view) {
        Bytes s{mode, static_cast<uint8_t>(full.size()), static_cast<uint8_t>(view.size())};
        text(s, full);
        text(s, view);
        s.insert(s.end(), kChallenge, kChallenge + 16);
        s.push_back(0x42);
        s.push_back(0x17);
        return s;
    };
    for (const char* v : {"RFB 003.003\n", "RFB 003.007\n", "RFB 003.008\n", "RFB 003.889\n"}) {
        Bytes s = params(0 | (2 << 2), "", "");
        text(s, v);
        if (std::string(v) != "RFB 003.003\n") s.push_back(rfb::security::kNone);
        s.push_back(1);  // ClientInit: shared
        save("server_handshake", std::string("none_") + v[6] + v[9] + v[10], s);
    }
    const auto full = rfb::vnc_auth_response(std::span<const uint8_t, 16>(kChallenge), "secret");
    const auto view = rfb::vnc_auth_response(std::span<const uint8_t, 16>(kChallenge), "look");
    for (uint8_t mode : {1, 3}) {
        Bytes s = params(static_cast<uint8_t>(mode | (1 << 2)), "secret", "look");
        text(s, "RFB 003.008\n");
        s.push_back(rfb::security::kVncAuth);
        s.insert(s.end(), full.begin(), full.end());
        s.push_back(0);
        save("server_handshake", "full_mode" + std::to_string(mode), s);
    }
    Bytes v = params(2 | (3 << 2), "", "look");
    text(v, "RFB 003.007\n");
    v.push_back(rfb::security::kVncAuth);
    v.insert(v.end(), view.begin(), view.end());
    v.push_back(1);
    save("server_handshake", "viewonly", v);
    Bytes wrong = params(3, "secret", "look");
    text(wrong, "RFB 003.008\n");
    wrong.push_back(rfb::security::kVncAuth);
    wrong.insert(wrong.end(), 16, 0xaa);
    save("server_handshake", "wrong_password", wrong);
}

void client_handshake_seeds() {
    auto params = [](uint8_t flags, const std::string& pw) {
        Bytes s{flags, static_cast<uint8_t>(pw.size())};
        text(s, pw);
        s.push_back(0x24);
        s.push_back(0x99);
        return s;
    };
    auto server_init = [](Bytes& s, uint8_t fmt) {
        rfb::ByteWriter w(s);
        rfb::write_server_init(w, 1024, 768, rfb::fuzz::wire_format(fmt), "upstream desktop");
    };
    auto u32 = [](Bytes& s, uint32_t v) {
        rfb::ByteWriter w(s);
        w.u32(v);
    };
    {
        Bytes s = params(2 | (1 << 2), "");
        text(s, "RFB 003.008\n");
        append(s, {1, rfb::security::kNone});
        u32(s, 0);
        server_init(s, 0);
        save("client_handshake", "none_38", s);
    }
    {
        Bytes s = params(2, "");
        text(s, "RFB 003.007\n");
        append(s, {2, rfb::security::kVncAuth, rfb::security::kNone});
        server_init(s, 3);
        save("client_handshake", "none_37", s);
    }
    {
        Bytes s = params(0 | (2 << 2), "");
        text(s, "RFB 003.003\n");
        u32(s, rfb::security::kNone);
        server_init(s, 6);
        save("client_handshake", "none_33", s);
    }
    {
        Bytes s = params(3 | (3 << 2), "secret");
        text(s, "RFB 003.008\n");
        append(s, {1, rfb::security::kVncAuth});
        s.insert(s.end(), kChallenge, kChallenge + 16);
        u32(s, 0);
        server_init(s, 1);
        save("client_handshake", "vncauth_38", s);
    }
    {
        Bytes s = params(1, "secret");
        text(s, "RFB 003.008\n");
        append(s, {1, rfb::security::kVncAuth});
        s.insert(s.end(), kChallenge, kChallenge + 16);
        u32(s, 1);
        const std::string why = "Authentication failed";
        u32(s, static_cast<uint32_t>(why.size()));
        text(s, why);
        save("client_handshake", "auth_failed", s);
    }
    {
        Bytes s = params(0, "");
        text(s, "RFB 003.008\n");
        s.push_back(0);
        const std::string why = "Too many security failures";
        u32(s, static_cast<uint32_t>(why.size()));
        text(s, why);
        save("client_handshake", "refused", s);
    }
}

// ard_auth_fuzz.cpp layout: mode, username, password, 32 seed bytes, body.
void ard_auth_seeds() {
    auto params = [](uint8_t mode, const std::string& user, const std::string& pw) {
        Bytes s{mode, static_cast<uint8_t>(user.size())};
        text(s, user);
        s.push_back(static_cast<uint8_t>(pw.size()));
        text(s, pw);
        for (uint8_t i = 0; i < 32; ++i)
            s.push_back(static_cast<uint8_t>(i * 37 + 11));
        return s;
    };
    const rfb::ArdServerHello hello = rfb::ard_server_hello(
        rfb::kArdGenerator, rfb::ard_rfc2409_group2_prime(), Bytes(128, 0x33));
    if (!hello.ok) {
        std::fprintf(stderr, "ard_server_hello: %s\n", hello.error.c_str());
        g_ok = false;
        return;
    }
    Bytes s = params(0, "alice", "secret");
    append(s, hello.message);
    save("ard_auth", "server_message_1024", s);
    Bytes hostile = params(0, "alice", "secret");
    append(hostile, hello.message);
    std::fill(hostile.end() - 128, hostile.end(), 0);
    hostile.back() = 1;
    save("ard_auth", "server_pubkey_1", hostile);

    Bytes round = params(1, "admin", "p\xc3\xa4ssw\xc3\xb6rd");
    append(round, {0, 2});
    const auto prime = rfb::ard_rfc2409_group2_prime();
    append(round, Bytes(prime.begin(), prime.end()));
    save("ard_auth", "round_trip_1024", round);

    // Mode 2 answers the target's fixed hello (random bytes all 0x77).
    const rfb::ArdServerHello fixed = rfb::ard_server_hello(
        rfb::kArdGenerator, rfb::ard_rfc2409_group2_prime(), Bytes(128, 0x77));
    const rfb::ArdReply reply =
        rfb::ard_client_reply(fixed.message, "alice", "secret", Bytes(128, 0x42));
    if (!reply.ok) {
        std::fprintf(stderr, "ard_client_reply: %s\n", reply.error.c_str());
        g_ok = false;
        return;
    }
    Bytes client = params(2, "", "");
    append(client, reply.bytes);
    save("ard_auth", "client_reply_1024", client);
}

// repeater_header_fuzz.cpp layout: mode (bit 0: 0 pads the rest with NULs to 250 bytes), field.
void repeater_header_seeds() {
    auto padded = [](const std::string& field_text) {
        Bytes s{0};
        text(s, field_text);
        return s;
    };
    save("repeater_header", "libvncclient_id", padded("ID:1234"));
    save("repeater_header", "x11vnc_id_secret", padded("ID:1234:s3cret"));
    save("repeater_header", "mode1_port", padded("10.0.0.5:5901"));
    save("repeater_header", "mode1_display", padded("pi.local:1"));
    save("repeater_header", "mode1_v6_literal_port", padded("[::1]::5901"));
    // libvncserver's old examples/repeater.c left stack garbage after the NUL.
    Bytes garbage{0};
    append(garbage, rfb::make_repeater_header("ID:42"));
    for (size_t i = 7; i < garbage.size(); ++i)
        garbage[i] = static_cast<uint8_t>(i * 73 + 5);
    save("repeater_header", "garbage_after_nul", garbage);
    Bytes short_field{1};
    text(short_field, "ID:12");
    save("repeater_header", "short_field", short_field);
}

// proxy_protocol_fuzz.cpp layout: chunk count, split seed (2), v2 cap (2; 0 = default), stream.
// Each header is followed by a viewer's ProtocolVersion, as a proxy relays it.
void proxy_protocol_seeds() {
    auto with_params = [](const Bytes& header) {
        Bytes s{2, 0x12, 0x34, 0, 0};
        append(s, header);
        text(s, "RFB 003.008\n");
        return s;
    };
    auto v1 = [&](const std::string& line) { return with_params(Bytes(line.begin(), line.end())); };
    save("proxy_protocol", "v1_tcp4", v1("PROXY TCP4 192.0.2.1 198.51.100.7 56324 5900\r\n"));
    save("proxy_protocol", "v1_tcp6", v1("PROXY TCP6 2001:db8::1 2001:db8::2 56324 5900\r\n"));
    save("proxy_protocol", "v1_tcp6_mapped", v1("PROXY TCP6 ::ffff:192.0.2.1 ::1 1 5900\r\n"));
    save("proxy_protocol", "v1_unknown", v1("PROXY UNKNOWN\r\n"));
    save("proxy_protocol", "v1_unknown_long",
         v1("PROXY UNKNOWN ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
            "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n"));

    rfb::ProxyHeader h;
    h.kind = rfb::ProxyHeader::kProxied;
    h.family = rfb::ProxyHeader::kIPv4;
    h.source = {192, 0, 2, 1};
    h.destination = {198, 51, 100, 7};
    h.source_port = 56324;
    h.destination_port = 5900;
    save("proxy_protocol", "v2_tcp4", with_params(rfb::make_proxy_v2(h)));
    // ALPN, AUTHORITY, a NOOP and an SSL TLV with a version sub-TLV, as HAProxy sends them.
    const Bytes tlvs = {0x01, 0x00, 0x03, 'v',  'n',  'c',  0x02, 0x00, 0x07, 'd',  'e',
                        's',  'k',  't',  'o',  'p',  0x04, 0x00, 0x00, 0x20, 0x00, 0x0b,
                        0x01, 0x00, 0x00, 0x00, 0x00, 0x21, 0x00, 0x03, '1',  '.',  '3'};
    save("proxy_protocol", "v2_tcp4_tlvs", with_params(rfb::make_proxy_v2(h, tlvs)));
    h.family = rfb::ProxyHeader::kIPv6;
    h.source = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    h.destination = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
    save("proxy_protocol", "v2_tcp6", with_params(rfb::make_proxy_v2(h)));
    // A tight cap (the parameter) just above a TCP6 header.
    Bytes capped = with_params(rfb::make_proxy_v2(h));
    capped[3] = 0;
    capped[4] = 56;
    save("proxy_protocol", "v2_tcp6_cap_56", capped);
    h.kind = rfb::ProxyHeader::kLocal;
    save("proxy_protocol", "v2_local", with_params(rfb::make_proxy_v2(h)));
    // PROXY over UDP/IPv4: valid, reported as UNKNOWN.
    Bytes udp = rfb::make_proxy_v2(h);
    udp[12] = 0x21;
    udp[13] = 0x12;
    udp[15] = 12;
    udp.insert(udp.end(), 12, 0x7f);
    save("proxy_protocol", "v2_udp4", with_params(udp));
}

// http_request_fuzz.cpp layout: chunk count, split seed (2), flags (bit 0: Origin list), stream.
void http_request_seeds() {
    auto with_params = [](uint8_t flags, const std::string& head) {
        Bytes s{3, 0x51, 0x7a, flags};
        text(s, head);
        return s;
    };
    const std::string chromium =
        "GET /websockify?token=abc HTTP/1.1\r\n"
        "Host: 127.0.0.1:6080\r\n"
        "Connection: Upgrade\r\n"
        "Pragma: no-cache\r\n"
        "Cache-Control: no-cache\r\n"
        "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/120.0.0.0 Safari/537.36\r\n"
        "Upgrade: websocket\r\n"
        "Origin: http://127.0.0.1:6080\r\n"
        "Sec-WebSocket-Version: 13\r\n"
        "Accept-Encoding: gzip, deflate, br\r\n"
        "Accept-Language: en-US,en;q=0.9\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
        "\r\n";
    Bytes chromium_seed = with_params(1, chromium);
    append(chromium_seed, {0x82, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58});
    save("http_request", "chromium_upgrade", chromium_seed);
    save("http_request", "firefox_upgrade",
         with_params(0,
                     "GET /websockify HTTP/1.1\r\nHost: localhost:6080\r\n"
                     "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 "
                     "Firefox/121.0\r\n"
                     "Accept: */*\r\nAccept-Language: en-US,en;q=0.5\r\n"
                     "Accept-Encoding: gzip, deflate, br\r\nSec-WebSocket-Version: 13\r\n"
                     "Origin: http://localhost:6080\r\n"
                     "Sec-WebSocket-Extensions: permessage-deflate\r\n"
                     "Sec-WebSocket-Key: x3JJHMbDL1EzLkh9GBhXDw==\r\n"
                     "Connection: keep-alive, Upgrade\r\nSec-Fetch-Dest: empty\r\n"
                     "Sec-Fetch-Mode: websocket\r\nSec-Fetch-Site: same-origin\r\n"
                     "Pragma: no-cache\r\nCache-Control: no-cache\r\nUpgrade: websocket\r\n\r\n"));
    save(
        "http_request", "old_novnc_protocols",
        with_params(0,
                    "GET /websockify HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n"
                    "Connection: Upgrade\r\nSec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA==\r\n"
                    "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: binary, base64\r\n\r\n"));
    save("http_request", "page_with_query",
         with_params(0,
                     "GET /vnc.html?host=127.0.0.1&port=6080&path=websockify%3Ftoken%3Da+b"
                     "&autoconnect=1 HTTP/1.1\r\nHost: 127.0.0.1:6080\r\n"
                     "Accept: text/html\r\nConnection: keep-alive\r\n\r\n"));
    save("http_request", "head_http10", with_params(0, "\r\nHEAD /app/ui.js HTTP/1.0\r\n\r\n"));
    save("http_request", "get_with_body",
         with_params(0, "GET /x HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc"));
    save("http_request", "dot_dot", with_params(0, "GET /a/%2e%2e/b HTTP/1.1\r\nHost: h\r\n\r\n"));
}

// websocket_frame_reader_fuzz.cpp layout: chunk count, split seed (2), cap (2; 0 = 16 MiB),
// mode (bit 0: the rest describes frames for the writer), then the stream or the descriptions.
void websocket_frame_reader_seeds() {
    auto params = [](uint8_t chunks, uint16_t cap, uint8_t mode) {
        return Bytes{chunks, 0x3c, 0x91, static_cast<uint8_t>(cap >> 8), static_cast<uint8_t>(cap),
                     mode};
    };
    auto bytes_of = [](const std::string& t) { return Bytes(t.begin(), t.end()); };
    const std::array<uint8_t, 4> key = {0x37, 0xfa, 0x21, 0x3d};

    Bytes hello = params(2, 0, 0);
    rfb::append_ws_masked_frame(hello, rfb::WsOpcode::kBinary, bytes_of("Hello"), key);
    save("websocket_frame_reader", "binary_hello", hello);

    // A fragmented message with a ping and a pong between its pieces, then a close with reason.
    Bytes frag = params(4, 0, 0);
    rfb::append_ws_masked_frame(frag, rfb::WsOpcode::kBinary, bytes_of("RFB 003.008\n"), key,
                                false);
    rfb::append_ws_masked_frame(frag, rfb::WsOpcode::kPing, bytes_of("p"), key);
    rfb::append_ws_masked_frame(frag, rfb::WsOpcode::kContinuation, Bytes{1, 2, 3}, key, false);
    rfb::append_ws_masked_frame(frag, rfb::WsOpcode::kPong, {}, key);
    rfb::append_ws_masked_frame(frag, rfb::WsOpcode::kContinuation, Bytes{4}, key);
    Bytes close_payload{0x03, 0xe8};
    append(close_payload, bytes_of("caf\xc3\xa9"));
    rfb::append_ws_masked_frame(frag, rfb::WsOpcode::kClose, close_payload, key);
    save("websocket_frame_reader", "fragmented_close", frag);

    // The 16-bit length form, and a 64-bit length just over a small cap.
    Bytes len16 = params(3, 0, 0);
    rfb::append_ws_masked_frame(len16, rfb::WsOpcode::kBinary, Bytes(300, 0x5a), key);
    save("websocket_frame_reader", "len16", len16);
    Bytes len64 = params(1, 1000, 0);
    append(len64, {0x82, 0xFF, 0, 0, 0, 0, 0, 1, 0, 0, 1, 2, 3, 4});
    save("websocket_frame_reader", "len64_over_cap", len64);
    // RFC 6455's masked text "Hello" (refused: text), and an unmasked binary frame.
    Bytes text_frame = params(1, 0, 0);
    append(text_frame, {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58});
    save("websocket_frame_reader", "rfc_text_hello", text_frame);
    Bytes unmasked = params(1, 0, 0);
    append(unmasked, {0x82, 0x05, 'H', 'e', 'l', 'l', 'o'});
    save("websocket_frame_reader", "unmasked", unmasked);

    // Round trip: kind (0 data, 1 data not final, 2 ping, 3 pong, 4 close, 5 empty data), length
    // byte (data: >= 128 counts 600-byte steps), mask key, payload (data: at most 16 bytes).
    Bytes trip = params(5, 0, 1);
    append(trip, {1, 10, 1, 2, 3, 4});
    append(trip, Bytes(10, 0x41));
    append(trip, {2, 3, 9, 9, 9, 9, 'p', 'i', 'n'});
    append(trip, {0, 130, 0xaa, 0xbb, 0xcc, 0xdd});  // 3 * 600 bytes: the 16-bit form
    append(trip, Bytes(16, 0x42));
    append(trip, {5, 0, 0, 0, 0, 0});
    append(trip, {4, 5, 1, 1, 1, 1, 'b', 'y', 'e', '!', '!'});
    save("websocket_frame_reader", "round_trip", trip);
    // With a 200-byte cap: a 40-byte frame, a pong, then a 64-bit-length frame over the cap.
    Bytes trip_cap = params(2, 200, 1);
    append(trip_cap, {0, 40, 1, 2, 3, 4});
    append(trip_cap, Bytes(16, 0x43));
    append(trip_cap, {3, 0, 5, 6, 7, 8, 0, 255, 1, 1, 1, 1});
    append(trip_cap, Bytes(16, 0x44));
    save("websocket_frame_reader", "round_trip_cap", trip_cap);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s <corpus dir>\n", argv[0]);
        return 2;
    }
    g_root = argv[1];
    for (uint8_t i = 0; i < 9; ++i) {
        if (!rfb::fuzz::wire_format(i).valid(nullptr, /*allow_colour_map=*/true)) {
            std::fprintf(stderr, "wire_format(%d) is not valid\n", i);
            g_ok = false;
        }
    }
    encoder_seeds("raw_decoder", rfb::encoding::kRaw);
    encoder_seeds("hextile_decoder", rfb::encoding::kHextile);
    zrle_seeds();
    copyrect_seeds();
    rre_seeds("rre_decoder", false);
    rre_seeds("corre_decoder", true);
    zlib_seeds();
    trle_seeds();
    tight_seeds();
    reader_seeds();
    parser_seeds();
    server_handshake_seeds();
    client_handshake_seeds();
    ard_auth_seeds();
    repeater_header_seeds();
    proxy_protocol_seeds();
    http_request_seeds();
    websocket_frame_reader_seeds();
    return g_ok ? 0 : 1;
}
