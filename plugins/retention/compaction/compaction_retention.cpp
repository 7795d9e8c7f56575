#include "compaction_retention.hpp"

#include <cstdio>
#include <string>

#include "cleaner.hpp"

namespace keel::compaction {
namespace {

std::string mib(int64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(bytes) / (1 << 20));
  return buf;
}

}  // namespace

void CompactionRetention::rewrite(const keel_log_rewriter& log, int64_t now_ms) {
  const std::string where = std::string(log.topic) + "-" + std::to_string(log.partition);
  const int64_t t0 = host_.monotonic_ns();
  State& state = state_[log.partition];
  const bool tombstones_due = state.tombstones_expire_at >= 0 && now_ms >= state.tombstones_expire_at;
  const PassResult r = clean_partition(settings_, log, now_ms, state.unfinished, tombstones_due);
  if (!r.ran) return;
  state.unfinished = !r.finished;
  if (!r.stopped) state.tombstones_expire_at = r.tombstones_expire_at;
  const double seconds = static_cast<double>(host_.monotonic_ns() - t0) / 1e9;
  if (r.stopped) {
    host_.info("compaction of " + where + " stopped for shutdown; it resumes after the restart");
    return;
  }
  char rate[32];
  std::snprintf(rate, sizeof rate, "%.1f",
                seconds > 0 ? static_cast<double>(r.bytes_read) / (1 << 20) / seconds : 0.0);
  host_.info("compacted " + where + " up to offset " + std::to_string(r.map_end) + ": " +
             std::to_string(r.segments_in) + " segment(s) -> " + std::to_string(r.segments_out) + " (" +
             std::to_string(r.segments_unchanged) + " left as they were), " + mib(r.bytes_in) + " -> " +
             mib(r.bytes_out) + ", " + std::to_string(r.records_removed) + " record(s) removed (" +
             std::to_string(r.tombstones_removed) + " tombstone(s)), " + std::to_string(r.keys) +
             " key(s) mapped in " + mib(r.map_bytes) + ", read " + rate + " MiB/s" +
             (r.finished ? "" : "; the key map was full, the next pass continues from there"));
}

}  // namespace keel::compaction
