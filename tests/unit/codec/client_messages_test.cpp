#include "codec/client_messages.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

namespace rfb {
namespace {

std::vector<uint8_t> wire(const ClientMessage& m) {
    std::vector<uint8_t> out;
    ByteWriter w(out);
    write_client_message(w, m);
    return out;
}

using Bytes = std::vector<uint8_t>;

TEST(ClientMessages, SetPixelFormat) {
    EXPECT_EQ(wire(SetPixelFormatMsg{PixelFormat::rgb565()}),
              (Bytes{0, 0, 0, 0, 16, 16, 0, 1, 0, 31, 0, 63, 0, 31, 11, 5, 0, 0, 0, 0}));
}

TEST(ClientMessages, SetEncodings) {
    EXPECT_EQ(wire(SetEncodingsMsg{{16, 0, -239, static_cast<int32_t>(0xC0A1E5CE)}}),
              (Bytes{2, 0, 0,    4,    0,    0,    0,    16,   0,    0,
                     0, 0, 0xff, 0xff, 0xff, 0x11, 0xc0, 0xa1, 0xe5, 0xce}));
    EXPECT_EQ(wire(SetEncodingsMsg{}), (Bytes{2, 0, 0, 0}));
}

TEST(ClientMessages, UpdateRequestClampsToSixteenBits) {
    EXPECT_EQ(wire(UpdateRequestMsg{true, Rect{1, 2, 0x300, 0x400}}),
              (Bytes{3, 1, 0, 1, 0, 2, 3, 0, 4, 0}));
    EXPECT_EQ(wire(UpdateRequestMsg{false, Rect{0, 0, 70000, 5}}),
              (Bytes{3, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 5}));
}

TEST(ClientMessages, KeyAndPointer) {
    EXPECT_EQ(wire(KeyEventMsg{true, 0xff0d}), (Bytes{4, 1, 0, 0, 0, 0, 0xff, 0x0d}));
    EXPECT_EQ(wire(KeyEventMsg{false, 0x41}), (Bytes{4, 0, 0, 0, 0, 0, 0, 0x41}));
    EXPECT_EQ(wire(PointerEventMsg{0x05, 0x0102, 0x0304}), (Bytes{5, 5, 1, 2, 3, 4}));
}

TEST(ClientMessages, CutTextPlainAndExtended) {
    ClientCutTextMsg plain;
    plain.latin1 = "hi\xe9";
    EXPECT_EQ(wire(plain), (Bytes{6, 0, 0, 0, 0, 0, 0, 3, 'h', 'i', 0xe9}));
    ClientCutTextMsg ext;
    ext.extended = true;
    ext.extended_payload = {0x10, 0, 0, 1, 0xaa};
    EXPECT_EQ(wire(ext), (Bytes{6, 0, 0, 0, 0xff, 0xff, 0xff, 0xfb, 0x10, 0, 0, 1, 0xaa}));
}

TEST(ClientMessages, ContinuousUpdatesFenceQemu) {
    EXPECT_EQ(wire(EnableContinuousUpdatesMsg{true, Rect{0, 0, 1024, 768}}),
              (Bytes{150, 1, 0, 0, 0, 0, 4, 0, 3, 0}));
    EXPECT_EQ(wire(ClientFenceMsg{0x80000003u, {9, 8}}),
              (Bytes{248, 0, 0, 0, 0x80, 0, 0, 3, 2, 9, 8}));
    ClientFenceMsg big{1, std::vector<uint8_t>(100, 7)};
    const Bytes b = wire(big);
    ASSERT_EQ(b.size(), 9u + 64u);
    EXPECT_EQ(b[8], 64);
    EXPECT_EQ(wire(QemuKeyEventMsg{true, 0x41, 0x1e}),
              (Bytes{255, 0, 0, 1, 0, 0, 0, 0x41, 0, 0, 0, 0x1e}));
}

TEST(ClientMessages, SetDesktopSize) {
    SetDesktopSizeMsg m{1920, 1080, {Screen{0x01020304, 1, 2, 1918, 1078, 0x80}}};
    EXPECT_EQ(wire(m), (Bytes{251, 0, 0x07, 0x80, 0x04, 0x38, 1,    0,    1, 2, 3, 4,
                              0,   1, 0,    2,    0x07, 0x7e, 0x04, 0x36, 0, 0, 0, 0x80}));
}

}  // namespace
}  // namespace rfb
