// A quarantined stretch of a segment file: bytes that hold no readable batch
// between two that are readable (or the file's end). The broker never
// deletes them (keel-tool salvage can work on them); reads of the offsets
// they held fail with KEEL_ERR_CORRUPT naming the range, and everything
// before and after stays readable.
#pragma once

#include <cstdint>
#include <string>

namespace keel {

struct DamagedRange {
  std::string file;
  int64_t position = 0;      // first damaged byte
  int64_t end_position = 0;  // first byte after the damage
  // Offsets the damage hides: from the end of the batch before it to the
  // base of the batch after it. Empty (last < first) when the damage is at a
  // file's end and nothing tells how many offsets were there.
  int64_t first_offset = 0;
  int64_t last_offset = -1;
  std::string reason;

  bool holds(int64_t offset) const { return offset >= first_offset && offset <= last_offset; }
  std::string describe() const {
    return "offsets " + std::to_string(first_offset) + ".." + std::to_string(last_offset) + " in '" + file +
           "' at bytes " + std::to_string(position) + ".." + std::to_string(end_position) + " (" + reason +
           ")";
  }
};

}  // namespace keel
