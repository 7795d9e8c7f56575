// Offline checks of a partition's files, for keel-tool verify and salvage:
// read-only walks of a segment file that find damage the way the broker does
// (CRC of every batch, offsets in order, resynchronising after damaged
// bytes), a check of a segment's index files through their plugins, and a
// copy of the readable batches of a damaged segment into a new file.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "storage/damaged_range.hpp"
#include "storage/segment.hpp"

namespace keel {

struct BatchLocation {
  int64_t position = 0;
  int64_t base_offset = 0;
  int64_t last_offset = 0;
  int64_t max_timestamp = -1;
};

struct SegmentCheck {
  std::string path;
  int64_t base_offset = 0;
  int64_t next_offset = 0;  // one past the last offset readable or hidden by damage
  int64_t bytes = 0;
  int64_t records = 0;
  std::vector<BatchLocation> batches;  // the readable ones, in file order
  std::vector<DamagedRange> damage;
  // Bytes after the data that the segment never wrote: the rest of a reused
  // file (zeros, or an older segment's batches), which the broker cuts off
  // when it opens the segment. Not damage.
  int64_t unused_bytes = 0;
};

// Told the byte position reached in the segment file as a walk goes (after
// each batch or damaged range), for keel-tool's progress line.
using WalkProgress = std::function<void(int64_t position)>;

// Reads every batch of the segment file (opened read-only). `end_offset` is
// the next segment's base (INT64_MAX for the last one). Throws on I/O errors.
SegmentCheck check_segment(const std::string& path, int64_t base_offset, int64_t end_offset,
                           const WalkProgress& progress = {});

// Problems of the segment's index files (`prefix` is the segment's path
// without ".log"), as seen through each index plugin of `specs`: opened on
// copies, so the files are not changed; every readable batch must be found
// through each index. Empty when all is well.
std::vector<std::string> check_indexes(const std::string& prefix, const SegmentCheck& segment,
                                       const std::vector<IndexSpec>& specs);

// Writes the CRC-valid batches of the segment at `path` into `out` (which
// must not exist), byte for byte, and syncs it. Returns the check of the
// source; its `damage` lists what was left out.
SegmentCheck salvage_segment(const std::string& path, int64_t base_offset, const std::string& out,
                             const WalkProgress& progress = {});

}  // namespace keel
