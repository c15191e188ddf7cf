#pragma once
#include <cstdint>
#include <span>

#include "codec/limit_kind.h"
#include "metrics/metric_names.h"

namespace rfbcast {

// The metrics label for a cap a parser reported (kNone maps to kOther; callers count only real
// caps).
metrics::Limit limit_metric(rfb::LimitKind limit);

// The metrics label for one encoded rectangle: its RFB encoding, with Tight rectangles that went
// out as JPEG told apart by their compression-control byte. False for an encoding the label
// table does not name (then nothing is counted).
bool encoding_metric(int32_t encoding, std::span<const uint8_t> body, metrics::Encoding& out);

}  // namespace rfbcast
