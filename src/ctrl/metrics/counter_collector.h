#pragma once

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <atomic>
#include <functional>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "dataplane/counter.h"

namespace braid::ctrl {

// Exposes single-writer counters owned elsewhere (OwnedCounter fields of the packet path's
// structs) by pointer; registering one is a single line. Registration: control thread;
// Collect: the exposer's thread.
class CounterCollector : public prometheus::Collectable {
 public:
  using Labels = std::vector<std::pair<std::string, std::string>>;

  // A monotonically increasing count; `scale` converts to base units (e.g. 1e-6 for µs).
  void counter(std::string name, std::string help, const dp::OwnedCounter* source,
               Labels labels = {}, double scale = 1.0);
  // A value that goes up and down.
  void gauge(std::string name, std::string help, const dp::OwnedCounter* source, Labels labels = {},
             double scale = 1.0);
  // A gauge computed at scrape time (must be cheap and thread-safe).
  void gaugeFn(std::string name, std::string help, std::function<double()> read,
               Labels labels = {});

  // Removes every series whose labels are exactly `labels` (a link that went away); returns
  // how many. Control thread.
  size_t removeLabeled(const Labels& labels);

  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  struct Series {
    std::string name;
    std::string help;
    prometheus::MetricType type;
    Labels labels;
    std::function<double()> read;
  };
  mutable std::mutex mutex_;  // registration vs scrape; never on the packet path
  std::vector<Series> series_;
};

}  // namespace braid::ctrl
