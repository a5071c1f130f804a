#pragma once

#include <prometheus/metric_family.h>

#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

namespace braid::ctrl {

// Builds the families a collector returns on each scrape: adding a series is one line,
// `family.add({{"worker", "0"}}, value)`. Scrape (control) thread only.
class FamilyBuilder {
 public:
  using Labels = std::initializer_list<std::pair<const char*, std::string>>;

  FamilyBuilder(std::vector<prometheus::MetricFamily>& out, std::string name, std::string help,
                prometheus::MetricType type)
      : out_(out), index_(out.size()) {
    out_.push_back(prometheus::MetricFamily{std::move(name), std::move(help), type, {}});
  }

  void add(Labels labels, double value) {
    prometheus::ClientMetric metric;
    for (const auto& [name, labelValue] : labels) metric.label.push_back({name, labelValue});
    if (out_[index_].type == prometheus::MetricType::Counter) {
      metric.counter.value = value;
    } else {
      metric.gauge.value = value;
    }
    out_[index_].metric.push_back(std::move(metric));
  }

 private:
  std::vector<prometheus::MetricFamily>& out_;
  size_t index_;
};

inline FamilyBuilder counterFamily(std::vector<prometheus::MetricFamily>& out, std::string name,
                                   std::string help) {
  return FamilyBuilder(out, std::move(name), std::move(help), prometheus::MetricType::Counter);
}

inline FamilyBuilder gaugeFamily(std::vector<prometheus::MetricFamily>& out, std::string name,
                                 std::string help) {
  return FamilyBuilder(out, std::move(name), std::move(help), prometheus::MetricType::Gauge);
}

}  // namespace braid::ctrl
