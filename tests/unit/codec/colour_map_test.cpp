#include "codec/colour_map.h"

#include <gtest/gtest.h>

#include <vector>

#include "codec/pixel_converter.h"
#include "codec/pixel_format.h"
#include "codec/rect_framing.h"
#include "codec/server_message_reader.h"

namespace rfb {
namespace {

using Bytes = std::vector<uint8_t>;

PixelFormat colour_map8() {
    PixelFormat pf = PixelFormat::bgr233();
    pf.true_colour = false;
    pf.red_max = pf.green_max = pf.blue_max = 0;  // what viewers usually send
    pf.red_shift = pf.green_shift = pf.blue_shift = 0;
    return pf;
}

TEST(ColourMap, MessageLayout) {
    const Bytes m = bgr233_colour_map_message();
    ASSERT_EQ(m.size(), 6u + 256u * 6u);
    // Type 1, padding, first colour 0, 256 colours.
    EXPECT_EQ((Bytes{m.begin(), m.begin() + 6}), (Bytes{1, 0, 0, 0, 1, 0}));
    auto entry = [&](size_t i) { return Bytes{m.begin() + 6 + 6 * i, m.begin() + 12 + 6 * i}; };
    EXPECT_EQ(entry(0), (Bytes{0, 0, 0, 0, 0, 0}));
    EXPECT_EQ(entry(255), (Bytes{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}));
    EXPECT_EQ(entry(0x07), (Bytes{0xff, 0xff, 0, 0, 0, 0}));  // bbgggrrr: red 7
    EXPECT_EQ(entry(0x38), (Bytes{0, 0, 0xff, 0xff, 0, 0}));  // green 7
    EXPECT_EQ(entry(0xc0), (Bytes{0, 0, 0, 0, 0xff, 0xff}));  // blue 3
    // Red 5 = 101 repeated: 1011011011011011; green 1 = 001...: 0010010010010010; blue 2 = 1010...
    EXPECT_EQ(entry(0x05), (Bytes{0xb6, 0xdb, 0, 0, 0, 0}));
    EXPECT_EQ(entry(0x08), (Bytes{0, 0, 0x24, 0x92, 0, 0}));
    EXPECT_EQ(entry(0x80), (Bytes{0, 0, 0, 0, 0xaa, 0xaa}));
}

// A viewer in the colour-map format and one in the BGR233 true-colour format must see the same
// colours: the index rfbcast writes, looked up in the map it sends, is what the true-colour
// pixel widens to.
TEST(ColourMap, SameColoursAsTrueColourBgr233) {
    const auto map = bgr233_colour_map();
    const PixelWriter cmap(colour_map8());
    const PixelWriter tc(PixelFormat::bgr233());
    const PixelReader tc_reader(PixelFormat::bgr233());
    for (uint32_t c = 0; c < (1u << 24); c += 7) {
        const uint32_t index = cmap.pack(c);
        ASSERT_LT(index, 256u);
        const uint32_t via_map = static_cast<uint32_t>(map[index].r >> 8) << 16 |
                                 static_cast<uint32_t>(map[index].g >> 8) << 8 |
                                 static_cast<uint32_t>(map[index].b >> 8);
        ASSERT_EQ(via_map, tc_reader.unpack(tc.pack(c))) << std::hex << c;
    }
}

// End to end as a viewer would do it: the message sets the map, pixels written for the
// colour-map format then decode to the true-colour BGR233 colours.
TEST(ColourMap, ThroughAServerMessageReader) {
    const PixelFormat pf = colour_map8();
    std::vector<uint32_t> image;
    for (uint32_t i = 0; i < 64; ++i)
        image.push_back((i * 0x0b1d2f) & 0xffffff);

    Bytes stream = bgr233_colour_map_message();
    ByteWriter w(stream);
    w.u8(0);  // FramebufferUpdate
    w.u8(0);
    w.u16(1);
    write_rect_header(w, Rect{0, 0, 8, 8}, encoding::kRaw);
    Bytes pixels(64);
    PixelWriter(pf).write_row(image.data(), image.size(), pixels.data());
    w.bytes(pixels);

    Framebuffer fb(8, 8);
    ServerMessageReader reader(fb, pf);
    ServerMessageSink sink;
    const ServerReadResult res = reader.feed(stream, sink);
    ASSERT_EQ(res.status, ServerReadResult::kOk) << res.error;
    ASSERT_EQ(res.consumed, stream.size());

    Bytes tc_wire(64);
    std::vector<uint32_t> want(64);
    PixelWriter(PixelFormat::bgr233()).write_row(image.data(), image.size(), tc_wire.data());
    PixelReader(PixelFormat::bgr233()).read_row(tc_wire.data(), 64, want.data());
    EXPECT_EQ(std::vector<uint32_t>(fb.pixels().begin(), fb.pixels().end()), want);
}

}  // namespace
}  // namespace rfb
