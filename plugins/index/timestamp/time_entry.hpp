// One entry of a `.timeindex` file: timestamp (int64), relative offset and
// position (uint32s), all big-endian, as Kafka's time index.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "common/big_endian.hpp"

namespace keel::index {

struct TimeEntry {
  int64_t timestamp;
  int64_t relative_offset;
  int64_t position;

  static constexpr size_t kSize = 16;

  static TimeEntry decode(const uint8_t* p) {
    return {static_cast<int64_t>(load_be64(p)), load_be32(p + 8), load_be32(p + 12)};
  }
  void encode(uint8_t* p) const {
    store_be64(p, static_cast<uint64_t>(timestamp));
    store_be32(p + 8, static_cast<uint32_t>(relative_offset));
    store_be32(p + 12, static_cast<uint32_t>(position));
  }

  static constexpr TimeEntry before_first() { return {-1, -1, -1}; }
  bool follows(const TimeEntry& prev) const {
    return timestamp > prev.timestamp && relative_offset > prev.relative_offset && position > prev.position;
  }
  std::string describe() const {
    return "(timestamp " + std::to_string(timestamp) + ", relative offset " +
           std::to_string(relative_offset) + ", position " + std::to_string(position) + ")";
  }
};

}  // namespace keel::index
