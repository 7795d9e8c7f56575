// Spare segment files: a log file that retention deleted, kept (one per
// partition, when the topic sets recycle_segments) to become the partition's
// next segment. Appends then overwrite blocks the file system already holds
// and never grow the file, which takes a block allocation and a size change
// off every append and every fdatasync of the active segment (RocksDB's
// recycle_log_file_num, for a log of segments; docs/performance.md, "What
// the file's shape costs").
//
// A spare is named "spare-<N>.segment", N (20 digits) being one past the
// last offset it holds: it may only become a segment whose base is at or
// above N, so that every stale batch left in it lies below the segment's
// base and recovery can tell where the new data ends (Segment::unused_from).
//
// Threads: the partition's writer (under its append lock) takes spares; the
// last user of a deleted segment makes one (Segment's destructor, with
// RENAME_NOREPLACE).
#pragma once

#include <cstdint>
#include <string>

namespace keel::spare_segment {

// Where a segment whose offsets end before `next_offset` is kept as a spare.
std::string path(const std::string& dir, int64_t next_offset);

// The spare in `dir` that may become the segment at `base`, or "" if there
// is none. Every other spare in `dir` (one that does not fit, or a second
// one) is deleted.
std::string take(const std::string& dir, int64_t base);

// Whether `dir` holds a spare.
bool exists(const std::string& dir);

// Keeping a file of `bytes` leaves the file system at least twice that, and
// a twentieth of its size, free: a spare never takes the last free space.
bool room_for(const std::string& dir, int64_t bytes);

}  // namespace keel::spare_segment
