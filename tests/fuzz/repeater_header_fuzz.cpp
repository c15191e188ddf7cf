// libFuzzer target: parse_repeater_header, the 250-byte field UltraVNC repeater viewers and
// servers send (ID:nnnn, ID:nnnn:secret, or a Mode I host[:display | ::port]).
//
// Input: parameter byte, then the field.
//   0     bit 0: 0 pads (with NULs) or cuts the rest to exactly 250 bytes; 1 passes the rest as it
//         is, so wrong sizes are driven too
//   next  the field, copied into a buffer of its exact size so that any read past it is caught
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "codec/repeater_header.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

bool id_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-';
}

bool same(const rfb::RepeaterTarget& a, const rfb::RepeaterTarget& b) {
    return a.kind == b.kind && a.id == b.id && a.secret == b.secret && a.host == b.host &&
           a.port == b.port;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    rfb::fuzz::Params p(data, size);
    const uint8_t mode = p.u8();
    const auto rest = p.rest();
    std::vector<uint8_t> field(rest.begin(), rest.end());
    if ((mode & 1) == 0) field.resize(rfb::kRepeaterHeaderSize, 0);

    rfb::RepeaterTarget target;
    std::string error;
    const bool ok = rfb::parse_repeater_header(field, target, error);
    if (rfb::fuzz::verbose())
        std::fprintf(stderr, "ok %d kind %d id '%s' host '%s' port %u: %s\n", ok,
                     static_cast<int>(target.kind), target.id.c_str(), target.host.c_str(),
                     target.port, error.c_str());

    // The same bytes give the same answer.
    rfb::RepeaterTarget again;
    std::string error_again;
    FUZZ_CHECK(rfb::parse_repeater_header(field, again, error_again) == ok);
    FUZZ_CHECK(error_again == error);

    if (!ok) {
        FUZZ_CHECK(!error.empty());
        return 0;
    }
    FUZZ_CHECK(error.empty());
    FUZZ_CHECK(field.size() == rfb::kRepeaterHeaderSize);
    FUZZ_CHECK(same(target, again));
    if (target.kind == rfb::RepeaterTarget::kId) {
        FUZZ_CHECK(!target.id.empty() && target.id.size() <= rfb::kRepeaterMaxIdLength);
        for (char c : target.id)
            FUZZ_CHECK(id_char(c));
        FUZZ_CHECK(target.secret.size() <= rfb::kRepeaterMaxSecretLength);
        for (char c : target.secret)
            FUZZ_CHECK(c >= '!' && c <= '~' && c != ':');
        FUZZ_CHECK(target.host.empty() && target.port == 0);
    } else {
        FUZZ_CHECK(target.kind == rfb::RepeaterTarget::kHostPort);
        FUZZ_CHECK(!target.host.empty() && target.host.size() <= rfb::kRepeaterMaxHostLength);
        for (char c : target.host)
            FUZZ_CHECK(c > ' ' && c < 0x7f);
        FUZZ_CHECK(target.port != 0);
        FUZZ_CHECK(target.id.empty() && target.secret.empty());
    }
    // The canonical text is no longer than what came in and reads back the same.
    const std::string text = rfb::repeater_text(target);
    FUZZ_CHECK(text.size() <= rfb::kRepeaterHeaderSize);
    rfb::RepeaterTarget round;
    FUZZ_CHECK(rfb::parse_repeater_header(rfb::make_repeater_header(text), round, error));
    FUZZ_CHECK(same(target, round));
    return 0;
}
