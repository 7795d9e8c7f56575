// The broker's metrics registry. The broker owns every metric; transports add
// to them and render them through keel_broker_api (counter_add, gauge_set,
// histogram_observe, render_metrics), and the kernel uses it directly.
//
// A transport must not be able to break the exposition: names and label text
// that would produce an unparsable line are ignored (and logged once), and a
// name keeps the type it was first used with.
//
// Hot path: the sample for (name, labels) is found under a shared lock and
// updated with an atomic, so concurrent counter_add calls on existing samples
// never serialize on one mutex. Only the first use of a sample takes the
// exclusive lock.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

namespace keel {

class Metrics {
 public:
  // Upper bounds of the histogram buckets, suited to latencies in seconds;
  // an implicit +Inf bucket follows.
  static constexpr std::array<double, 16> kHistogramBuckets = {
      0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

  // Fills a scratch registry at render time with samples that are cheaper
  // to compute on demand than to keep current (e.g. log sizes). It may call
  // gauge_set, counter_add, histogram_observe and describe on `sink`, and
  // may also call back into the registry that renders.
  using Collector = std::function<void(Metrics& sink)>;

  Metrics();
  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // `labels` is Prometheus label text without braces, e.g.
  // `topic="orders",partition="0"`; it may be empty. A negative or NaN
  // delta is ignored: counters only go up.
  void counter_add(std::string_view name, std::string_view labels, double delta);
  void gauge_set(std::string_view name, std::string_view labels, double value);
  // Histogram labels must not use `le`, which the buckets take.
  void histogram_observe(std::string_view name, std::string_view labels, double value);
  // HELP text of a family, rendered as `# HELP`; may come before or after
  // the family's first sample.
  void describe(std::string_view name, std::string_view help);
  void add_collector(Collector c);

  // Prometheus text exposition format 0.0.4. Families are sorted by name and
  // samples by label text, so the output is deterministic. Collectors run
  // here, without any registry lock held; a sample they produce replaces a
  // stored one with the same name and labels.
  std::string render() const;

  // Current value of a stored counter or gauge sample (not collector
  // samples); nullopt if absent or if the name is a histogram.
  std::optional<double> value(std::string_view name, std::string_view labels) const;

 private:
  enum class Type { kCounter, kGauge, kHistogram };
  struct HistogramCell {
    std::mutex mu;  // keeps buckets, sum and count consistent with each other
    std::array<uint64_t, kHistogramBuckets.size() + 1> counts{};  // per bucket, not cumulative
    double sum = 0;
    uint64_t count = 0;
  };
  // Stable address (held by unique_ptr) so it can be updated under the
  // shared lock while other threads insert new cells.
  struct Cell {
    std::atomic<double> value{0};
    std::unique_ptr<HistogramCell> histogram;
  };
  struct Family {
    Type type;
    std::map<std::string, std::unique_ptr<Cell>, std::less<>> cells;  // by label text
  };
  struct Snapshot;
  // "Log once" memory, shared with the scratch registries that collectors
  // fill so that a broken collector does not log at every scrape.
  struct Warnings;

  explicit Metrics(std::shared_ptr<Warnings> warnings);

  // The cell of (name, labels) if the family has `type`; nullptr (after
  // logging once) when the name, the labels or the type are unusable.
  Cell* cell(std::string_view name, std::string_view labels, Type type);
  Cell* find_cell(std::string_view name, std::string_view labels, Type type, bool& type_clash) const;
  void warn_once(const std::string& key, const std::string& message) const;
  Snapshot snapshot() const;

  mutable std::shared_mutex mu_;
  std::map<std::string, Family, std::less<>> families_;
  std::map<std::string, std::string, std::less<>> help_;

  mutable std::mutex collectors_mu_;
  std::vector<std::shared_ptr<const Collector>> collectors_;

  std::shared_ptr<Warnings> warnings_;
};

}  // namespace keel
