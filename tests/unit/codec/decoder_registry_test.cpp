#include <gtest/gtest.h>

#include <cstdlib>
#include <random>

#include "codec/decoder.h"
#include "codec/rfb_constants.h"
#include "decoder_test_support.h"

namespace rfb {
namespace {

constexpr int32_t kDecodable[] = {encoding::kRaw,   encoding::kCopyRect, encoding::kRRE,
                                  encoding::kCoRRE, encoding::kHextile,  encoding::kZlib,
                                  encoding::kTight, encoding::kTRLE,     encoding::kZRLE,
                                  encoding::kZstd,  encoding::kZSTDRLE};

TEST(DecoderRegistry, MakesADecoderForEveryUpstreamEncoding) {
    for (int32_t enc : kDecodable) {
        auto d = make_decoder(enc);
        ASSERT_NE(d, nullptr) << enc;
        EXPECT_EQ(d->encoding(), enc);
    }
}

TEST(DecoderRegistry, NothingForWhatWeCannotDecode) {
    for (int32_t enc : {3, 9, encoding::kZlibHex, encoding::kTightPNG, encoding::kDesktopSize,
                        encoding::kLastRect, encoding::kCursor, 12345})
        EXPECT_EQ(make_decoder(enc), nullptr) << enc;
}

// Random bodies and randomly damaged valid ones, in every format and chunking: whatever the
// bytes, a decoder answers (never crashes, never over-consumes) and leaves pixels outside the
// rectangle alone. Most useful under -DRFBCAST_SANITIZE=ON.
TEST(DecoderRegistry, GarbageNeverEscapesTheRectangle) {
    // RFBCAST_FUZZ_ROUNDS / RFBCAST_FUZZ_SEED run it longer or differently (e.g. under ASan).
    const char* rounds_env = std::getenv("RFBCAST_FUZZ_ROUNDS");
    const char* seed_env = std::getenv("RFBCAST_FUZZ_SEED");
    const int rounds = rounds_env ? std::atoi(rounds_env) : 3000;
    std::mt19937 rng(seed_env ? static_cast<uint32_t>(std::atoi(seed_env)) : 1234u);
    const PixelFormat formats[] = {PixelFormat::canonical(), PixelFormat::rgb565(),
                                   PixelFormat::bgr233()};
    auto pick = [&](uint32_t n) { return static_cast<uint32_t>(rng() % n); };
    auto z = std::make_unique<test::Deflater>();
    for (int round = 0; round < rounds; ++round) {
        const int32_t enc = kDecodable[pick(std::size(kDecodable))];
        const PixelFormat pf = formats[pick(std::size(formats))];
        const Rect r{pick(8), pick(8), 1 + pick(40), 1 + pick(40)};
        std::vector<uint8_t> body(pick(300));
        for (auto& b : body)
            b = static_cast<uint8_t>(pick(4) == 0 ? 0xff : pick(256));
        // Zlib-based bodies get a real (compressed garbage) stream behind a plausible header
        // so the tile and filter parsers are reached, not only the inflater.
        if ((enc == encoding::kZRLE || enc == encoding::kZlib) && pick(2)) {
            const auto zdata = z->compress(body);
            body = test::length_prefixed(zdata);
        }
        if (enc == encoding::kTight && pick(2) && body.size() > 2) {
            body[0] &= 0x7f;  // basic compression: filters and palettes
        }
        std::vector<size_t> cuts;
        if (body.size() > 1 && pick(2))
            cuts.push_back(1 + pick(static_cast<uint32_t>(body.size() - 1)));

        Framebuffer fb = test::filled_fb(48, 48, test::kSentinel);
        PixelReader px(pf);
        DecodeTarget t{fb, px};
        auto d = make_decoder(enc);
        const test::Outcome o = test::feed(*d, r, body, cuts, t);
        ASSERT_LE(o.consumed, body.size());
        ASSERT_TRUE(test::outside_untouched(fb, r, test::kSentinel))
            << "encoding " << enc << " round " << round;
        if (o.status == DecodeStatus::kError) {
            // The stream (if any) is now out of step: a new deflater for the next zlib body.
            z = std::make_unique<test::Deflater>();
        }
    }
}

}  // namespace
}  // namespace rfb
