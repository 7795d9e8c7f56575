// Rewrite progress as metrics (storage/rewrite_progress.hpp): through a real
// Topic with small segments and a rewriting strategy (the test plugin
// `test-drop-odd`, one pass; the built-in `compaction`, two passes), the
// counters move, the gauges end at in_progress 0 and ratio 1, a call with
// nothing to do is no run, and the start and end lines are logged; and the
// progress ratio while a run goes, pass by pass.
#include <gtest/gtest.h>

#include <keel/codec.hpp>
#include <keel/record_batch.hpp>
#include <memory>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "observability/metrics.hpp"
#include "plugins/plugin_registry.hpp"
#include "storage/rewrite_progress.hpp"
#include "support/log_capture.hpp"
#include "support/temp_dir.hpp"
#include "topic.hpp"

namespace {

namespace batch = keel::batch;

std::string topic_labels(const std::string& strategy) {
  return "topic=\"compacted\",strategy=\"" + strategy + "\"";
}
std::string partition_labels(const std::string& strategy) {
  return "topic=\"compacted\",partition=\"0\",strategy=\"" + strategy + "\"";
}

class LogRewriteMetricsTest : public ::testing::Test {
 protected:
  std::unique_ptr<keel::Topic> open_topic(const std::string& retention) {
    keel::TopicConfig cfg;
    cfg.name = "compacted";
    cfg.partitions = 1;
    cfg.segment_bytes = 400;
    cfg.retention = {retention};
    auto topic = std::make_unique<keel::Topic>(cfg, registry_, dir_.path().string(), &clock_);
    topic->open(true, [](int32_t) { return int64_t{0}; });
    return topic;
  }

  // Batches of one record each, keys repeating every `keys`.
  static void fill(keel::PartitionLog& log, int from, int to, int keys) {
    for (int i = from; i < to; ++i) {
      batch::Builder b(0);
      b.add("key" + std::to_string(i % keys), "value-" + std::to_string(i), 1000 + i);
      const std::string bytes = b.build();
      log.append(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
    }
  }

  static int64_t closed_bytes(const keel::PartitionLog& log) {
    int64_t total = 0;
    for (const auto& s : log.closed_segments()) total += s->size();
    return total;
  }

  double value(const std::string& name, const std::string& labels) {
    return metrics_.value(name, labels).value_or(-1);
  }

  keel::test::TempDir dir_{"keel-rewrite-metrics"};
  keel::ManualClock clock_{1'700'000'000'000};
  keel::PluginRegistry registry_{{KEEL_TEST_PLUGIN_DIR, KEEL_TEST_BAD_PLUGIN_DIR}, &clock_};
  keel::Metrics metrics_;
};

TEST_F(LogRewriteMetricsTest, ARunMovesTheCountersAndEndsItsGauges) {
  keel::test::LogCapture log;
  auto topic = open_topic("test-drop-odd");
  auto partition = topic->partition(0);
  fill(*partition, 0, 30, 30);
  const int64_t closed = closed_bytes(*partition);
  ASSERT_GT(closed, 0);

  topic->apply_retention(clock_.now_ms(), nullptr, &metrics_);
  const auto by_topic = topic_labels("test-drop-odd");
  const auto by_partition = partition_labels("test-drop-odd");
  EXPECT_EQ(value("keel_log_rewrite_runs_total", by_topic), 1);
  EXPECT_EQ(value("keel_log_rewrite_failures_total", by_topic), -1);  // none
  // One pass over every closed segment; half the batches written back.
  EXPECT_EQ(value("keel_log_rewrite_bytes_read_total", by_topic), static_cast<double>(closed));
  const double written = value("keel_log_rewrite_bytes_written_total", by_topic);
  EXPECT_GT(written, 0);
  EXPECT_LT(written, static_cast<double>(closed));
  EXPECT_EQ(value("keel_log_rewrite_in_progress", by_partition), 0);
  EXPECT_EQ(value("keel_log_rewrite_progress_ratio", by_partition), 1);
  EXPECT_GT(value("keel_log_rewrite_last_duration_seconds", by_partition), 0);
  EXPECT_GT(value("keel_log_rewrite_last_rate_bytes_per_second", by_partition), 0);
  EXPECT_EQ(log.count("compacted-0: rewrite by retention 'test-drop-odd' started: "), 1);
  EXPECT_EQ(log.count("compacted-0: rewrite by retention 'test-drop-odd' finished in "), 1);
  EXPECT_EQ(log.count("1 commit(s) replacing "), 1);

  // Nothing new past the clean point: the strategy reads nothing, no run.
  topic->apply_retention(clock_.now_ms(), nullptr, &metrics_);
  EXPECT_EQ(value("keel_log_rewrite_runs_total", by_topic), 1);
  EXPECT_EQ(value("keel_log_rewrite_bytes_read_total", by_topic), static_cast<double>(closed));
  EXPECT_EQ(log.count("started: "), 1);

  // New segments: a second run reads only them.
  fill(*partition, 30, 60, 60);
  topic->apply_retention(clock_.now_ms(), nullptr, &metrics_);
  EXPECT_EQ(value("keel_log_rewrite_runs_total", by_topic), 2);
  EXPECT_GT(value("keel_log_rewrite_bytes_read_total", by_topic), static_cast<double>(closed));
  EXPECT_EQ(value("keel_log_rewrite_progress_ratio", by_partition), 1);
  // Rendered for a scrape.
  const std::string text = metrics_.render();
  EXPECT_NE(text.find("keel_log_rewrite_runs_total{" + by_topic + "} 2"), std::string::npos) << text;
}

TEST_F(LogRewriteMetricsTest, CompactionReadsTwicePerRun) {
  auto topic = open_topic("compaction");
  auto partition = topic->partition(0);
  fill(*partition, 0, 60, 5);
  const int64_t closed = closed_bytes(*partition);
  topic->apply_retention(clock_.now_ms(), nullptr, &metrics_);
  const auto by_topic = topic_labels("compaction");
  const auto by_partition = partition_labels("compaction");
  EXPECT_EQ(value("keel_log_rewrite_runs_total", by_topic), 1);
  // Once to map the keys, once to copy them.
  EXPECT_EQ(value("keel_log_rewrite_bytes_read_total", by_topic), 2.0 * static_cast<double>(closed));
  EXPECT_GT(value("keel_log_rewrite_bytes_written_total", by_topic), 0);
  EXPECT_EQ(value("keel_log_rewrite_in_progress", by_partition), 0);
  EXPECT_EQ(value("keel_log_rewrite_progress_ratio", by_partition), 1);
}

TEST(RewriteProgress, RatioGrowsPerSegmentAndCountsPasses) {
  keel::Metrics metrics;
  const std::string by_topic = "topic=\"t\",strategy=\"s\"";
  const std::string by_partition = "topic=\"t\",partition=\"3\",strategy=\"s\"";
  {
    keel::RewriteProgress p(&metrics, "t", 3, "s");
    p.offered({100, 300});
    EXPECT_FALSE(p.started());
    p.segment_started(0);
    EXPECT_EQ(metrics.value("keel_log_rewrite_in_progress", by_partition), 1);
    p.batch_read(60);
    p.batch_read(40);
    p.segment_ended();
    // Counted as the run goes, not only at its end.
    EXPECT_EQ(metrics.value("keel_log_rewrite_bytes_read_total", by_topic), 100);
    EXPECT_DOUBLE_EQ(*metrics.value("keel_log_rewrite_progress_ratio", by_partition), 0.25);
    p.segment_started(1);
    p.batch_read(300);
    p.segment_ended();
    EXPECT_DOUBLE_EQ(*metrics.value("keel_log_rewrite_progress_ratio", by_partition), 1.0);
    // Back to segment 0: a second pass; bytes to read double.
    p.segment_started(0);
    p.batch_read(100);
    p.segment_ended();
    EXPECT_DOUBLE_EQ(*metrics.value("keel_log_rewrite_progress_ratio", by_partition), 500.0 / 800);
    p.rewrite_begun();
    p.batch_written(70);
    p.committed(2, 42);
    EXPECT_EQ(metrics.value("keel_log_rewrite_bytes_written_total", by_topic), 70);
    EXPECT_EQ(p.passes(), 2);
    p.finish(keel::RewriteProgress::Outcome::kDone);
  }
  EXPECT_EQ(metrics.value("keel_log_rewrite_runs_total", by_topic), 1);
  EXPECT_EQ(metrics.value("keel_log_rewrite_in_progress", by_partition), 0);
  EXPECT_EQ(metrics.value("keel_log_rewrite_progress_ratio", by_partition), 1);

  // The next run expects two passes: its first pass goes up to one half.
  keel::RewriteProgress next(&metrics, "t", 3, "s", 2);
  next.offered({100, 300});
  next.segment_started(0);
  next.batch_read(100);
  next.segment_ended();
  EXPECT_DOUBLE_EQ(next.ratio(), 100.0 / 800);
  // A run that fails counts as a failure, not a run; its gauges stay.
  next.finish(keel::RewriteProgress::Outcome::kFailed);
  EXPECT_EQ(metrics.value("keel_log_rewrite_runs_total", by_topic), 1);
  EXPECT_EQ(metrics.value("keel_log_rewrite_failures_total", by_topic), 1);
  EXPECT_EQ(metrics.value("keel_log_rewrite_in_progress", by_partition), 0);
  EXPECT_DOUBLE_EQ(*metrics.value("keel_log_rewrite_progress_ratio", by_partition), 100.0 / 800);
}

TEST(RewriteProgress, NoRunNoSamplesAndAnUnfinishedRunFails) {
  keel::Metrics metrics;
  { keel::RewriteProgress idle(&metrics, "t", 0, "s"); }
  EXPECT_EQ(metrics.render().find("keel_log_rewrite"), std::string::npos);
  {
    keel::RewriteProgress p(&metrics, "t", 0, "s");
    p.offered({10});
    p.rewrite_begun();
  }
  EXPECT_EQ(metrics.value("keel_log_rewrite_failures_total", "topic=\"t\",strategy=\"s\""), 1);
  EXPECT_EQ(metrics.value("keel_log_rewrite_in_progress", "topic=\"t\",partition=\"0\",strategy=\"s\""), 0);
}

}  // namespace
