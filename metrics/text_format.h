#pragma once
#include <prometheus/metric_family.h>

#include <string>
#include <vector>

namespace rfbcast::metrics {

// Prometheus text format 0.0.4 (prometheus-cpp's TextSerializer), made deterministic: families
// sorted by name, each family's series by labels, families without series left out. Help texts
// must not hold '\\' or newlines (1.0.1's serializer does not escape them); label values may
// hold anything and are escaped.
std::string render_text(std::vector<prometheus::MetricFamily> families);

// The Content-Type to serve render_text()'s output with.
inline constexpr const char* kTextContentType = "text/plain; version=0.0.4; charset=utf-8";

}  // namespace rfbcast::metrics
