#pragma once
#include <prometheus/collectable.h>
#include <prometheus/labels.h>
#include <prometheus/metric_family.h>

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "metrics/cells.h"

namespace rfbcast::metrics {

// One histogram metric family (name, help, bounds) with a lock-free Histogram per label set,
// exposed to the text serializer as a prometheus::Collectable. add()/remove()/Collect() lock;
// observe() on a returned cell does not.
class HistogramFamily : public prometheus::Collectable {
  public:
    HistogramFamily(std::string name, std::string help, std::vector<double> bounds);

    // The cell for `labels`, created on first use; the same cell for the same labels. The
    // reference stays valid until remove() of that cell or the family's destruction.
    Histogram& add(const prometheus::Labels& labels);
    // Drops the cell and its series (no-op for a cell this family does not hold).
    void remove(const Histogram* cell);
    size_t size() const;

    // One MetricFamily, its series ordered by labels.
    std::vector<prometheus::MetricFamily> Collect() const override;

  private:
    const std::string name_;
    const std::string help_;
    const std::vector<double> bounds_;
    mutable std::mutex mutex_;
    std::map<prometheus::Labels, std::unique_ptr<Histogram>> cells_;
};

}  // namespace rfbcast::metrics
