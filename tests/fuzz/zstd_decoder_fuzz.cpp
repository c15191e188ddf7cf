// libFuzzer target: UltraVNC's Zstd (25) decoder, fed in chunks (layout: decoder_harness.h).
#include <cstddef>
#include <cstdint>

#include "codec/rfb_constants.h"
#include "tests/fuzz/decoder_harness.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    rfb::fuzz::run_decoder(rfb::encoding::kZstd, data, size);
    return 0;
}
