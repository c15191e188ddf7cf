// libFuzzer target: the copyrect decoder, fed in chunks (see decoder_harness.h for the input
// layout).
#include <cstddef>
#include <cstdint>

#include "codec/rfb_constants.h"
#include "tests/fuzz/decoder_harness.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    rfb::fuzz::run_decoder(rfb::encoding::kCopyRect, data, size);
    return 0;
}
