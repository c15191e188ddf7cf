#include "metrics/text_format.h"

#include <prometheus/text_serializer.h>

#include <algorithm>
#include <sstream>

namespace rfbcast::metrics {

std::string render_text(std::vector<prometheus::MetricFamily> families) {
    std::erase_if(families, [](const prometheus::MetricFamily& f) { return f.metric.empty(); });
    for (auto& f : families) {
        std::sort(f.metric.begin(), f.metric.end(),
                  [](const prometheus::ClientMetric& a, const prometheus::ClientMetric& b) {
                      return a.label < b.label;
                  });
    }
    std::sort(families.begin(), families.end(),
              [](const prometheus::MetricFamily& a, const prometheus::MetricFamily& b) {
                  return a.name < b.name;
              });
    std::ostringstream out;
    prometheus::TextSerializer().Serialize(out, families);
    return std::move(out).str();
}

}  // namespace rfbcast::metrics
