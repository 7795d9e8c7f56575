// Time index: TimeEntry entries in an mmap'ed `<segment>.timeindex` file.
//
// An entry (T, offset, position) says: T is the largest timestamp of every
// batch up to and including the one at `position`, and that batch is the
// first to reach T. So every batch before `position` has a timestamp < T,
// which is what lookup_time relies on. An entry is added once interval_bytes
// of log passed since the last entry's position and the running maximum grew
// beyond the last entry's timestamp; batches without a timestamp (negative
// max_timestamp) only move positions.
//
// End of entries: the first all-zero slot. The only entry that could be all
// zeros (timestamp 0 reached by the batch at position 0, relative offset 0)
// is never written: it would answer every lookup exactly as "no entry" does
// ({base_offset, 0}), so nothing is lost.
//
// The running maximum is exact only while the index has seen every batch in
// order. It is restored from the last entry on open, and from the last
// surviving entry when a truncate cuts off the batch that set it; if batches
// then arrive with a gap (the kernel did not replay from recovery_position()),
// the index stops adding entries until reopened rather than write a wrong one.
//
// Threads: as EntryIndex.
#pragma once

#include <cstdint>
#include <keel/plugin.hpp>
#include <vector>

#include "common/typed_entry_index.hpp"
#include "time_entry.hpp"

namespace keel::index {

class TimestampIndex final : public TypedEntryIndex<TimeEntry> {
 public:
  TimestampIndex(const sdk::Host& host, const keel_index_open_args& args);

  void on_append(const keel_batch_info& batch) override;
  keel_index_entry lookup_time(int64_t timestamp) override;

 private:
  static constexpr TimeEntry kNone{-1, 0, 0};

  void truncated(int64_t log_size, bool dropped) override;
  TimeEntry last_entry() const { return count_ == 0 ? kNone : read(count_ - 1); }
  // Running maximum and where to expect the next batch, as of the last entry.
  void restart_from_last_entry();

  // The batch that first reached the largest timestamp seen so far, and the
  // batches that raised the maximum since the last entry (oldest first), so
  // that a truncate can step the maximum back without re-reading the log.
  TimeEntry max_ = kNone;
  std::vector<TimeEntry> raised_since_entry_;
  int64_t next_position_ = 0;
  bool gap_seen_ = false;
};

}  // namespace keel::index
