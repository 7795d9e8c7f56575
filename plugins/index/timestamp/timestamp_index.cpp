#include "timestamp_index.hpp"

#include <algorithm>
#include <mutex>
#include <string>

namespace keel::index {

TimestampIndex::TimestampIndex(const sdk::Host& host, const keel_index_open_args& args)
    : TypedEntryIndex(host, args, "timestamp", ".timeindex") {
  restart_from_last_entry();
}

void TimestampIndex::restart_from_last_entry() {
  // Every batch before the last entry's position is below its timestamp, so
  // replaying from that position rebuilds the running maximum exactly.
  max_ = last_entry();
  raised_since_entry_.clear();
  next_position_ = max_.position;
  gap_seen_ = false;
}

void TimestampIndex::on_append(const keel_batch_info& batch) {
  if (batch.position < 0 || batch.size < 0 || batch.base_offset < base_offset_) {
    throw sdk::Error(KEEL_ERR_INVALID_ARGUMENT,
                     "timestamp index '" + file_.path() + "': batch at position " +
                         std::to_string(batch.position) + " (size " + std::to_string(batch.size) +
                         ", base offset " + std::to_string(batch.base_offset) +
                         ") lies outside the segment (base offset " + std::to_string(base_offset_) + ")");
  }
  std::unique_lock lock(mu_);
  if (batch.position < next_position_) return;  // already counted in max_
  if (batch.position > next_position_ && !gap_seen_) {
    gap_seen_ = true;
    host_.warn("timestamp index '" + file_.path() + "': expected the batch at position " +
               std::to_string(next_position_) + " but got one at " + std::to_string(batch.position) +
               "; adding no more entries until the segment is reopened (lookups stay correct, only slower)");
  }
  next_position_ = batch.position + batch.size;
  if (gap_seen_) return;

  if (batch.max_timestamp >= 0 && batch.max_timestamp > max_.timestamp) {
    max_ = {batch.max_timestamp, batch.base_offset - base_offset_, batch.position};
    raised_since_entry_.push_back(max_);
  }
  const TimeEntry last = last_entry();
  if (batch.position - last.position < settings_.interval_bytes) return;
  if (max_.timestamp <= last.timestamp) return;
  // Unrepresentable entries are skipped: lookups then start earlier, which
  // is still correct.
  if (max_.relative_offset > kMaxField32 || max_.position > kMaxField32) return;
  if (max_.timestamp == 0 && max_.relative_offset == 0 && max_.position == 0) return;  // see header
  push_back(max_);
  raised_since_entry_.clear();
}

keel_index_entry TimestampIndex::lookup_time(int64_t timestamp) {
  std::shared_lock lock(mu_);
  // First entry at or after `timestamp`; the one before it is the answer.
  const size_t lo = partition_point([&](size_t i) { return read(i).timestamp < timestamp; });
  if (lo == 0)
    return {.struct_size = sizeof(keel_index_entry),
            .reserved = 0,
            .offset = base_offset_,
            .position = 0,
            .timestamp = -1};
  const TimeEntry e = read(lo - 1);
  return {.struct_size = sizeof(keel_index_entry),
          .reserved = 0,
          .offset = base_offset_ + e.relative_offset,
          .position = e.position,
          .timestamp = e.timestamp};
}

void TimestampIndex::truncated(int64_t log_size, bool dropped) {
  if (dropped) {
    // The batches that raised the maximum between the surviving entry and
    // the dropped ones are unknown: start over from the surviving entry.
    restart_from_last_entry();
    return;
  }
  if (gap_seen_) {
    restart_from_last_entry();
    return;
  }
  while (!raised_since_entry_.empty() && raised_since_entry_.back().position >= log_size) {
    raised_since_entry_.pop_back();
  }
  max_ = raised_since_entry_.empty() ? last_entry() : raised_since_entry_.back();
  next_position_ = std::min(next_position_, log_size);
}

}  // namespace keel::index
