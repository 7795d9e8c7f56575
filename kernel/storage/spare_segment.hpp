// Spare segment files: log files that retention deleted, kept (when the
// topic sets recycle_segments) to become the partition's next segments.
// Appends then overwrite blocks the file system already holds and never
// grow the file, which takes a block allocation and a size change off
// every append and every fdatasync of the active segment (RocksDB's
// recycle_log_file_num, for a log of segments; docs/performance.md, "What
// the file's shape costs").
//
// A spare is named "spare-<N>.segment", N (20 digits) being one past the
// last offset it holds: it may only become a segment whose base is at or
// above N, so that every stale batch left in it lies below the segment's
// base and recovery can tell where the new data ends (Segment::unused_from).
//
// How many a partition keeps: as many as it rolled since the previous
// retention pass (at least one), so that each roll until the next pass
// finds one; the rest expire at the pass (PartitionLog::end_retention_pass).
// The files in the directory are the record: a spare whose segment a
// reader still holds appears when that reader lets go.
//
// Threads: the partition's writer (under its append lock) takes, counts
// and trims spares; the last user of a deleted segment makes one
// (Segment's destructor, with RENAME_NOREPLACE).
#pragma once

#include <cstdint>
#include <string>

namespace keel::spare_segment {

// Where a segment whose offsets end before `next_offset` is kept as a spare.
std::string path(const std::string& dir, int64_t next_offset);

// A spare in `dir` that may become the segment at `base` (the newest: its
// pages are the likeliest to be cached), or "" if there is none. Spares
// that cannot (holding offsets at or above `base`) are deleted.
std::string take(const std::string& dir, int64_t base);

// How many spares `dir` holds.
size_t count(const std::string& dir);

// Deletes every spare in `dir` whose first batch is at or above its name's
// N: the file became a segment (a roll renames it) and then data went in,
// but the rename was never synced before an unclean stop (a roll leaves
// the directory fsync to the new segment's first sync). Its batches would
// pass for new ones if it became a segment again. Returns how many; at an
// unclean start, before any spare is taken.
size_t drop_overwritten(const std::string& dir);

// Deletes the oldest spares in `dir` beyond the newest `keep` (their blocks
// through file_releaser); returns how many bytes that frees.
int64_t trim(const std::string& dir, size_t keep);

// Keeping a file of `bytes` leaves the file system at least twice that, and
// a twentieth of its size, free: a spare never takes the last free space.
bool room_for(const std::string& dir, int64_t bytes);

}  // namespace keel::spare_segment
