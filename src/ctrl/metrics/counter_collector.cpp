#include "ctrl/metrics/counter_collector.h"

#include <map>

namespace braid::ctrl {

void CounterCollector::counter(std::string name, std::string help, const dp::OwnedCounter* source,
                               Labels labels, double scale) {
  std::lock_guard lock(mutex_);
  series_.push_back({std::move(name), std::move(help), prometheus::MetricType::Counter,
                     std::move(labels),
                     [source, scale] { return static_cast<double>(source->read()) * scale; }});
}

void CounterCollector::gauge(std::string name, std::string help, const dp::OwnedCounter* source,
                             Labels labels, double scale) {
  std::lock_guard lock(mutex_);
  series_.push_back({std::move(name), std::move(help), prometheus::MetricType::Gauge,
                     std::move(labels),
                     [source, scale] { return static_cast<double>(source->read()) * scale; }});
}

void CounterCollector::gaugeFn(std::string name, std::string help, std::function<double()> read,
                               Labels labels) {
  std::lock_guard lock(mutex_);
  series_.push_back({std::move(name), std::move(help), prometheus::MetricType::Gauge,
                     std::move(labels), std::move(read)});
}

size_t CounterCollector::removeLabeled(const Labels& labels) {
  std::lock_guard lock(mutex_);
  return std::erase_if(series_, [&labels](const Series& s) { return s.labels == labels; });
}

std::vector<prometheus::MetricFamily> CounterCollector::Collect() const {
  std::lock_guard lock(mutex_);
  std::vector<prometheus::MetricFamily> families;
  std::map<std::string, size_t> index;  // one family per name, in registration order
  for (const Series& series : series_) {
    auto [it, inserted] = index.emplace(series.name, families.size());
    if (inserted) families.push_back({series.name, series.help, series.type, {}});
    prometheus::ClientMetric metric;
    for (const auto& [key, value] : series.labels) metric.label.push_back({key, value});
    double value = series.read();
    if (series.type == prometheus::MetricType::Counter) {
      metric.counter.value = value;
    } else {
      metric.gauge.value = value;
    }
    families[it->second].metric.push_back(std::move(metric));
  }
  return families;
}

}  // namespace braid::ctrl
