#include "storage/rewrite_progress.hpp"

#include <keel/plugin.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "common/clock.hpp"
#include "common/human_units.hpp"
#include "observability/label_text.hpp"
#include "observability/metrics.hpp"

namespace keel {
namespace {

std::string size(int64_t bytes) { return human_bytes(static_cast<double>(bytes)); }

}  // namespace

RewriteProgress::RewriteProgress(Metrics* metrics, std::string topic, int32_t partition, std::string strategy,
                                 int expected_passes)
    : metrics_(metrics),
      name_(topic + "-" + std::to_string(partition)),
      strategy_(std::move(strategy)),
      expected_passes_(expected_passes) {
  const std::string p = std::to_string(partition);
  const keel_label by_topic[] = {{"topic", topic.c_str()}, {"strategy", strategy_.c_str()}};
  const keel_label by_partition[] = {
      {"topic", topic.c_str()}, {"partition", p.c_str()}, {"strategy", strategy_.c_str()}};
  topic_labels_ = label_text(by_topic, 2);
  partition_labels_ = label_text(by_partition, 3);
}

void RewriteProgress::describe(Metrics& m) {
  m.describe("keel_log_rewrite_runs_total", "Runs of a rewriting retention strategy finished without error");
  m.describe("keel_log_rewrite_failures_total", "Runs of a rewriting retention strategy that failed");
  m.describe("keel_log_rewrite_bytes_read_total", "Bytes of closed segments read by segment rewrites");
  m.describe("keel_log_rewrite_bytes_written_total",
             "Bytes of replacement segments written by segment rewrites");
  m.describe("keel_log_rewrite_in_progress", "1 while a segment rewrite runs on the partition");
  m.describe(
      "keel_log_rewrite_progress_ratio",
      "Bytes of closed segments read so far / bytes to read in the partition's current or last rewrite");
  m.describe("keel_log_rewrite_last_duration_seconds",
             "Duration of the partition's last rewrite without error");
  m.describe("keel_log_rewrite_last_rate_bytes_per_second",
             "Bytes read per second by the partition's last rewrite without error");
}

RewriteProgress::~RewriteProgress() {
  if (started_ && !finished_) finish(Outcome::kFailed, "it ended without a result");
}

void RewriteProgress::offered(std::vector<int64_t> segment_bytes) {
  segment_bytes_ = std::move(segment_bytes);
  offered_bytes_ = 0;
  for (int64_t b : segment_bytes_) offered_bytes_ += b;
  read_in_pass_.assign(segment_bytes_.size(), false);
}

void RewriteProgress::start() {
  if (started_) return;
  started_ = true;
  start_ns_ = monotonic_ns();
  spdlog::info("{}: rewrite by retention '{}' started: {} closed segment(s), {}", name_, strategy_,
               segment_bytes_.size(), size(offered_bytes_));
  if (metrics_ == nullptr) return;
  metrics_->gauge_set("keel_log_rewrite_in_progress", partition_labels_, 1);
  metrics_->gauge_set("keel_log_rewrite_progress_ratio", partition_labels_, 0);
}

void RewriteProgress::segment_started(size_t index) {
  start();
  if (index < read_in_pass_.size()) {
    if (read_in_pass_[index]) {  // back to a segment already read: a new pass
      ++passes_done_;
      pass_bytes_ = 0;
      read_in_pass_.assign(read_in_pass_.size(), false);
    }
    read_in_pass_[index] = true;
  }
  ++segments_read_;
}

void RewriteProgress::batch_read(int64_t bytes) {
  bytes_read_ += bytes;
  pass_bytes_ += bytes;
  unflushed_read_ += bytes;
  if (unflushed_read_ >= kFlushBytes) flush();
}

void RewriteProgress::segment_ended() { flush(); }

void RewriteProgress::rewrite_begun() { start(); }

void RewriteProgress::batch_written(int64_t bytes) {
  bytes_written_ += bytes;
  unflushed_written_ += bytes;
  if (unflushed_written_ >= kFlushBytes) flush();
}

void RewriteProgress::committed(size_t segments, int64_t clean_offset) {
  segments_replaced_ += segments;
  ++segments_committed_;
  clean_offset_ = clean_offset;
  flush();
}

double RewriteProgress::ratio() const {
  if (offered_bytes_ <= 0) return started_ ? 1.0 : 0.0;
  const int passes = std::max(expected_passes_, passes_done_ + 1);
  const double done = static_cast<double>(passes_done_) * static_cast<double>(offered_bytes_) +
                      static_cast<double>(std::min(pass_bytes_, offered_bytes_));
  return std::min(1.0, done / (static_cast<double>(passes) * static_cast<double>(offered_bytes_)));
}

void RewriteProgress::flush() {
  if (metrics_ != nullptr) {
    metrics_->counter_add("keel_log_rewrite_bytes_read_total", topic_labels_,
                          static_cast<double>(unflushed_read_));
    metrics_->counter_add("keel_log_rewrite_bytes_written_total", topic_labels_,
                          static_cast<double>(unflushed_written_));
    metrics_->gauge_set("keel_log_rewrite_progress_ratio", partition_labels_, ratio());
  }
  unflushed_read_ = 0;
  unflushed_written_ = 0;
}

void RewriteProgress::finish(Outcome outcome, const std::string& why) {
  if (!started_ || finished_) {
    // A failure before anything was read still counts (the error is logged
    // by the caller).
    if (!started_ && !finished_ && outcome == Outcome::kFailed && metrics_ != nullptr)
      metrics_->counter_add("keel_log_rewrite_failures_total", topic_labels_, 1);
    finished_ = true;
    return;
  }
  finished_ = true;
  flush();
  const double seconds = static_cast<double>(monotonic_ns() - start_ns_) / 1e9;
  const double rate = seconds > 0 ? static_cast<double>(bytes_read_) / seconds : 0.0;
  if (metrics_ != nullptr) {
    metrics_->gauge_set("keel_log_rewrite_in_progress", partition_labels_, 0);
    if (outcome == Outcome::kDone) {
      metrics_->counter_add("keel_log_rewrite_runs_total", topic_labels_, 1);
      metrics_->gauge_set("keel_log_rewrite_progress_ratio", partition_labels_, 1);
      metrics_->gauge_set("keel_log_rewrite_last_duration_seconds", partition_labels_, seconds);
      metrics_->gauge_set("keel_log_rewrite_last_rate_bytes_per_second", partition_labels_, rate);
    } else if (outcome == Outcome::kFailed) {
      metrics_->counter_add("keel_log_rewrite_failures_total", topic_labels_, 1);
    }
  }
  const char* how = outcome == Outcome::kDone     ? "finished"
                    : outcome == Outcome::kFailed ? "failed"
                                                  : "stopped";
  const std::string clean = clean_offset_ >= 0 ? "; clean point " + std::to_string(clean_offset_) : "";
  const std::string reason = why.empty() ? "" : " (" + why + ")";
  // A failure's error was logged by whoever saw it; this line adds the counts.
  spdlog::info(
      "{}: rewrite by retention '{}' {}{} in {:.3f} s: read {} segment(s), {} ({}/s, {} pass(es)); wrote {}, "
      "{} commit(s) replacing {} segment(s){}",
      name_, strategy_, how, reason, seconds, segments_read_, size(bytes_read_),
      size(static_cast<int64_t>(rate)), passes(), size(bytes_written_), segments_committed_,
      segments_replaced_, clean);
}

}  // namespace keel
