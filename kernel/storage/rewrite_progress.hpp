// Progress and rate of one run of a rewriting retention strategy (e.g.
// compaction) on one partition, as metrics and two log lines (start, end).
// The kernel knows no strategy by name: the strategy is a label.
//
// A run is one call of the strategy's `rewrite` on a partition that read a
// closed segment or began a rewrite; a call that only looked at the segment
// list (nothing dirty enough) is no run: it counts nothing and logs nothing.
//
// Metrics (labels: topic, strategy; the gauges also partition):
//   keel_log_rewrite_runs_total              runs finished without error
//   keel_log_rewrite_failures_total          runs the strategy or a commit failed
//   keel_log_rewrite_bytes_read_total        closed-segment bytes read (as the run goes)
//   keel_log_rewrite_bytes_written_total     replacement bytes written (as the run goes)
//   keel_log_rewrite_in_progress             1 during a run, 0 after
//   keel_log_rewrite_progress_ratio          0..1, see below
//   keel_log_rewrite_last_duration_seconds   of the last run finished without error
//   keel_log_rewrite_last_rate_bytes_per_second  its bytes read per second
// The counters move at least every kFlushBytes and at the end of every
// segment read, so that rate() over them is the rewrite rate while a long
// run goes.
//
// Progress ratio: bytes of closed segments read so far / bytes to read in
// this run. A strategy may read the closed segments more than once
// (compaction reads them to map keys, then again to copy them); reading a
// segment already read in this run starts a new pass. Bytes to read are the
// closed segments' bytes times the passes expected: those of the last run on
// this partition (the caller remembers them, see passes()), at least those
// seen so far. A pass that ends early counts whole. So the first run of a
// two-pass strategy goes up to about 1, back to 0.5 when its second pass
// starts, then up to 1; later runs go up steadily. 1 at the end of a run
// finished without error.
//
// Threads: runs on the broker's maintenance thread (Topic::apply_retention,
// through LogRewriter), one run at a time per object; it is the only writer
// of these samples. The registry is thread-safe (shared lock and atomic
// cells), so scrapes on transport threads read them while it writes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace keel {

class Metrics;

class RewriteProgress {
 public:
  enum class Outcome { kDone, kFailed, kStopped };
  static constexpr int64_t kFlushBytes = 1 << 20;

  // `metrics` may be null: only the log lines. `expected_passes`: passes()
  // of the last run on this partition, or 0 when unknown.
  RewriteProgress(Metrics* metrics, std::string topic, int32_t partition, std::string strategy,
                  int expected_passes = 0);
  // A run not finished by then counts as failed.
  ~RewriteProgress();
  RewriteProgress(const RewriteProgress&) = delete;
  // The HELP text of the keel_log_rewrite_* families.
  static void describe(Metrics& metrics);
  RewriteProgress& operator=(const RewriteProgress&) = delete;

  // The sizes of the closed segments the strategy is offered (by index).
  void offered(std::vector<int64_t> segment_bytes);
  // The strategy reads closed segment #index, one batch of `bytes` at a
  // time, then the read ends (the strategy may stop it early).
  void segment_started(size_t index);
  void batch_read(int64_t bytes);
  void segment_ended();
  // A rewrite began; a batch of its replacement was written; it committed,
  // replacing `segments` segments.
  void rewrite_begun();
  void batch_written(int64_t bytes);
  void committed(size_t segments, int64_t clean_offset);
  // The strategy returned (or threw). Logs the end line (`why` in it); only
  // counts a failure if no run started.
  void finish(Outcome outcome, const std::string& why = "");

  bool started() const { return started_; }
  // Passes over the closed segments this run made (0 if none).
  int passes() const { return started_ ? passes_done_ + 1 : 0; }
  double ratio() const;

 private:
  void start();
  void flush();

  Metrics* metrics_;
  std::string name_;  // "<topic>-<partition>", as the logs name a partition
  std::string topic_labels_;
  std::string partition_labels_;
  std::string strategy_;
  int expected_passes_;
  std::vector<int64_t> segment_bytes_;
  int64_t offered_bytes_ = 0;
  std::vector<bool> read_in_pass_;
  int passes_done_ = 0;
  int64_t pass_bytes_ = 0;

  bool started_ = false;
  bool finished_ = false;
  int64_t start_ns_ = 0;
  int64_t segments_read_ = 0;
  int64_t bytes_read_ = 0;
  int64_t bytes_written_ = 0;
  int64_t unflushed_read_ = 0;
  int64_t unflushed_written_ = 0;
  size_t segments_replaced_ = 0;
  size_t segments_committed_ = 0;
  int64_t clean_offset_ = -1;
};

}  // namespace keel
