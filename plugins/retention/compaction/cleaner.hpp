// One cleaning pass of one partition, with Kafka's log-compaction semantics:
//
//  1. Decide: the closed segments old enough for min_compaction_lag_ms are
//     cleanable; those past the clean point are dirty. Clean when dirty bytes
//     reach min_cleanable_dirty_ratio of the cleanable bytes (or when the
//     last pass stopped early because its key map was full).
//  2. Map: read the dirty records in offset order into key -> newest offset,
//     until the map's memory budget is spent; the pass covers offsets below
//     `map_end`, and records at or after it are left for the next pass.
//  3. Rewrite every segment from the log start to map_end, in groups that
//     fit in one segment: a keyed record goes if a newer record of its key
//     is in the map; a tombstone also goes once its segment is older than
//     delete_retention_ms. Batches are rebuilt in their own codec with their
//     offsets and producer fields (filter_batch); an emptied batch stays as
//     a bare header only when it is its producer's last, so the producer's
//     sequence survives. Each group is swapped in by the broker's crash-safe
//     commit; the last one records map_end as the new clean point. A group
//     that comes out identical is dropped instead of swapped in.
//  4. Tombstones kept because they were too young make the partition due
//     again when the oldest of them expires, even if nothing new is dirty
//     (in memory: after a restart, the next dirty pass removes them).
//
// Older values always go in the same or an earlier group than the record
// that supersedes them, so a crash between groups never brings back a value
// whose newer record is gone.
#pragma once

#include <keel/plugin.h>

#include <cstdint>
#include <keel/log_rewriter.hpp>
#include <keel/plugin.hpp>
#include <string>

#include "compaction_settings.hpp"

namespace keel::compaction {

struct PassResult {
  bool ran = false;        // false: nothing was due
  bool finished = true;    // false: the map filled up, or the broker is stopping
  bool stopped = false;    // the broker is shutting down
  int64_t map_end = 0;     // new clean point
  int64_t keys = 0;        // distinct keys mapped
  int64_t map_bytes = 0;   // estimated memory of the map
  int64_t bytes_in = 0;    // bytes of the segments rewritten
  int64_t bytes_out = 0;   // bytes written in their place
  int64_t bytes_read = 0;  // all bytes read, map pass included
  int64_t records_removed = 0;
  int64_t tombstones_removed = 0;
  // When the oldest tombstone this pass kept may go (ms), -1 if none.
  int64_t tombstones_expire_at = -1;
  size_t segments_unchanged = 0;  // read but not swapped: nothing to remove
  size_t segments_in = 0;
  size_t segments_out = 0;
};

// `force`: clean even below the dirty ratio (to finish a multi-pass clean).
// `tombstones_due`: a kept tombstone has expired since the last pass
// (PassResult::tombstones_expire_at): clean even with nothing dirty.
PassResult clean_partition(const Settings& settings, const keel_log_rewriter& table, int64_t now_ms,
                           bool force, bool tombstones_due = false);

}  // namespace keel::compaction
