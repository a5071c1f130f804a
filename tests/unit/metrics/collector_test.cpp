#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "ctrl/metrics/counter_collector.h"
#include "ctrl/metrics/gateway_collector.h"

namespace braid::ctrl {
namespace {

double valueOf(const std::vector<prometheus::MetricFamily>& families, const std::string& name,
               const std::string& worker) {
  for (const auto& family : families) {
    if (family.name != name) continue;
    for (const auto& metric : family.metric) {
      for (const auto& label : metric.label) {
        if (label.name == "worker" && label.value == worker) {
          return family.type == prometheus::MetricType::Counter ? metric.counter.value
                                                                : metric.gauge.value;
        }
      }
    }
  }
  return -1;
}

// Worker threads bump their own counters (single writer each) while a scraper collects
// without pause: under TSan this proves the counters race-free; the totals prove no update
// is lost and scrapes never go backwards.
TEST(GatewayCollector, ScrapesWhileWorkersCount) {
  constexpr int kWorkers = 3;
  constexpr uint64_t kIncrements = 200'000;
  std::vector<std::unique_ptr<dp::WorkerCounters>> counters;
  std::vector<const dp::WorkerCounters*> views;
  for (int i = 0; i < kWorkers; ++i) {
    counters.push_back(std::make_unique<dp::WorkerCounters>());
    views.push_back(counters.back().get());
  }
  GatewayCollector collector(views);
  std::atomic<int> running{kWorkers};
  // Workers count until they have done kIncrements *and* the collector has scraped a few
  // times: in an optimized build 200k increments take well under a millisecond, so a fixed
  // count alone could finish before the first scrape and the test would race nothing.
  constexpr int kMinScrapes = 20;
  std::atomic<int> scrapes{0};
  std::vector<uint64_t> done(kWorkers, 0);
  std::vector<std::thread> workers;
  for (int w = 0; w < kWorkers; ++w) {
    workers.emplace_back([&, w] {
      uint64_t i = 0;
      for (; i < kIncrements || scrapes.load(std::memory_order_relaxed) < kMinScrapes; ++i) {
        counters[w]->rxPackets.add();
        counters[w]->rxBytes.add(1200);
        counters[w]->drop(proto::DropReason::kReplay);
        counters[w]->sessionsActive.set(i % 7);
      }
      done[w] = i;
      running.fetch_sub(1);
    });
  }
  double last = 0;
  while (running.load() > 0) {
    auto families = collector.Collect();
    double seen = valueOf(families, "braid_gateway_received_packets_total", "1");
    EXPECT_GE(seen, last);
    last = seen;
    scrapes.fetch_add(1, std::memory_order_relaxed);
  }
  for (auto& t : workers) t.join();
  auto families = collector.Collect();
  for (int w = 0; w < kWorkers; ++w) {
    EXPECT_EQ(valueOf(families, "braid_gateway_received_packets_total", std::to_string(w)),
              static_cast<double>(done[w]));
    EXPECT_EQ(valueOf(families, "braid_gateway_received_bytes_total", std::to_string(w)),
              1200.0 * static_cast<double>(done[w]));
    EXPECT_GE(done[w], kIncrements);
  }
  EXPECT_GE(scrapes.load(), kMinScrapes);
}

TEST(GatewayCollector, EveryFamilyHasHelpAndBraidPrefix) {
  dp::WorkerCounters counters;
  GatewayCollector collector({&counters});
  for (const auto& family : collector.Collect()) {
    EXPECT_EQ(family.name.rfind("braid_", 0), 0u) << family.name;
    EXPECT_FALSE(family.help.empty()) << family.name;
    if (family.type == prometheus::MetricType::Counter) {
      EXPECT_TRUE(family.name.size() > 6 &&
                  family.name.compare(family.name.size() - 6, 6, "_total") == 0)
          << family.name;
    }
  }
}

// The edge registers a link's series when the link is added and removes them when a reload
// removes it; the other links' series and the family stay.
TEST(CounterCollector, RemovesTheSeriesOfOneLabelSet) {
  dp::OwnedCounter a, b;
  a.add(3);
  b.add(5);
  CounterCollector collector;
  CounterCollector::Labels linkA = {{"link", "0"}, {"name", "a"}};
  CounterCollector::Labels linkB = {{"link", "1"}, {"name", "b"}};
  collector.counter("braid_edge_link_sent_bytes_total", "bytes", &a, linkA);
  collector.gauge("braid_edge_link_state", "phase", &a, linkA);
  collector.counter("braid_edge_link_sent_bytes_total", "bytes", &b, linkB);
  EXPECT_EQ(collector.removeLabeled(linkA), 2u);
  EXPECT_EQ(collector.removeLabeled(linkA), 0u);
  auto families = collector.Collect();
  ASSERT_EQ(families.size(), 1u);
  ASSERT_EQ(families[0].metric.size(), 1u);
  EXPECT_EQ(families[0].metric[0].label[1].value, "b");
  EXPECT_EQ(families[0].metric[0].counter.value, 5.0);
}

}  // namespace
}  // namespace braid::ctrl
