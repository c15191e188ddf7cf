#pragma once
#include <cstdint>
#include <span>

#include "codec/limit_kind.h"
#include "metrics/metric_names.h"
#include "metrics/metrics_fwd.h"

namespace rfbcast {

// The metrics label for a cap a parser reported (kNone maps to kOther; callers count only real
// caps).
metrics::Limit limit_metric(rfb::LimitKind limit);

// The metrics label for one encoded rectangle: its RFB encoding, with Tight rectangles that went
// out as JPEG told apart by their compression-control byte. False for an encoding the label
// table does not name (then nothing is counted).
// A peer's stream broke off with a parser error: counts rfbcast_protocol_errors_total for `side`
// (kind limit, decoder or message) and, when a cap was the reason, rfbcast_limit_triggered_total.
void count_stream_error(metrics::Metrics& m, metrics::Side side, rfb::LimitKind limit,
                        bool decoder);

bool encoding_metric(int32_t encoding, std::span<const uint8_t> body, metrics::Encoding& out);

}  // namespace rfbcast
