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
// A partition that has no recycled spare (a new topic, or one that
// retention has not deleted from yet) gets a prepared one: a file of the
// segment's size whose blocks are allocated ahead (fallocate) on the spare
// maker's thread (spare_maker.hpp), named with N = 0. Its unwritten blocks
// read as zeros, so any segment may become it. Without it, a roll starts
// the segment as a hole, and each append's delayed allocation in the hole
// waits on the inode's i_data_sem while the same file's writeback
// allocates blocks under it: 5-191 ms at a time on the append path
// (docs/performance.md, "Blocks ahead of the roll").
//
// Threads: the partition's writer (under its append lock) takes, counts
// and trims spares; the last user of a deleted segment makes one
// (Segment's destructor, with RENAME_NOREPLACE); the spare maker prepares
// one (under a temporary name, renamed with RENAME_NOREPLACE).
#pragma once

#include <cstdint>
#include <functional>
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
// pass for new ones if it became a segment again. A prepared spare (N = 0)
// goes whatever it starts with: its first page may be one the page cache
// never wrote back, with batches after it, so an unused one cannot be told
// from one that lost its segment's name. Returns how many; at an unclean
// start, before any spare is taken.
size_t drop_overwritten(const std::string& dir);

// Deletes the oldest spares in `dir` beyond the newest `keep` (their blocks
// through file_releaser); returns how many bytes that frees.
int64_t trim(const std::string& dir, size_t keep);

// Keeping a file of `bytes` leaves the file system at least twice that, and
// a twentieth of its size, free: a spare never takes the last free space.
bool room_for(const std::string& dir, int64_t bytes);

// Where a prepared spare is kept: path(dir, 0), any segment may become it.
std::string prepared_path(const std::string& dir);

// The name a prepared spare has while its blocks are allocated. A crash
// can leave it; the partition's open() deletes it (remove_unfinished).
inline constexpr const char* kPreparingName = "spare-preparing.tmp";

enum class Prepared {
  kMade,          // the spare is in place, its blocks allocated
  kAlreadyThere,  // a spare with N = 0 already exists; nothing made
  kCancelled,     // `cancel` was set between two steps; nothing left behind
  kUnsupported,   // the file system cannot allocate ahead (EOPNOTSUPP)
  kFailed,        // `why` says what failed (ENOSPC, EIO...); nothing left behind
};

// Makes a spare of `bytes` in `dir` whose blocks the file system has
// allocated, unwritten: they read as zeros (a header of zeros ends a
// segment's data, batch_probe.hpp), so the spare is named with N = 0.
// Allocates a chunk at a time (kPrepareChunkBytes), asking `cancelled`
// between chunks, under kPreparingName; renamed into place only when whole.
// Never on the append path: allocating 1 GiB took up to 775 ms here.
inline constexpr int64_t kPrepareChunkBytes = 64 << 20;
Prepared prepare(const std::string& dir, int64_t bytes, const std::function<bool()>& cancelled,
                 std::string* why);

// Deletes a kPreparingName file an interrupted prepare() left in `dir`.
void remove_unfinished(const std::string& dir);

}  // namespace keel::spare_segment
