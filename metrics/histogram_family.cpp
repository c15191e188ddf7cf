#include "metrics/histogram_family.h"

#include <limits>
#include <utility>

namespace rfbcast::metrics {

HistogramFamily::HistogramFamily(std::string name, std::string help, std::vector<double> bounds)
    : name_(std::move(name)), help_(std::move(help)), bounds_(std::move(bounds)) {}

Histogram& HistogramFamily::add(const prometheus::Labels& labels) {
    std::lock_guard lock(mutex_);
    auto& cell = cells_[labels];
    if (!cell) cell = std::make_unique<Histogram>(bounds_);
    return *cell;
}

void HistogramFamily::remove(const Histogram* cell) {
    std::lock_guard lock(mutex_);
    std::erase_if(cells_, [cell](const auto& entry) { return entry.second.get() == cell; });
}

size_t HistogramFamily::size() const {
    std::lock_guard lock(mutex_);
    return cells_.size();
}

std::vector<prometheus::MetricFamily> HistogramFamily::Collect() const {
    prometheus::MetricFamily family;
    family.name = name_;
    family.help = help_;
    family.type = prometheus::MetricType::Histogram;
    std::lock_guard lock(mutex_);
    family.metric.reserve(cells_.size());
    for (const auto& [labels, cell] : cells_) {
        prometheus::ClientMetric metric;
        for (const auto& [name, value] : labels)
            metric.label.push_back({name, value});
        const auto snap = cell->snapshot();
        const auto& bounds = cell->bounds();
        // The serializer writes the +Inf bucket itself when the last bound is finite, using
        // sample_count, so only the finite bounds go in the list.
        for (size_t i = 0; i < bounds.size(); ++i) {
            metric.histogram.bucket.push_back({snap.cumulative[i], bounds[i]});
        }
        metric.histogram.sample_count = snap.count;
        metric.histogram.sample_sum = snap.sum;
        family.metric.push_back(std::move(metric));
    }
    return {std::move(family)};
}

}  // namespace rfbcast::metrics
