// One entry of a `.index` file: relative offset and position, big-endian
// uint32s, as Kafka's offset index.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "common/big_endian.hpp"

namespace keel::index {

struct OffsetEntry {
  int64_t relative_offset;
  int64_t position;

  static constexpr size_t kSize = 8;

  static OffsetEntry decode(const uint8_t* p) { return {load_be32(p), load_be32(p + 4)}; }
  void encode(uint8_t* p) const {
    store_be32(p, static_cast<uint32_t>(relative_offset));
    store_be32(p + 4, static_cast<uint32_t>(position));
  }

  // The batch at position 0 is never indexed, so even the first entry must
  // lie beyond it.
  static constexpr OffsetEntry before_first() { return {-1, 0}; }
  bool follows(const OffsetEntry& prev) const {
    return relative_offset > prev.relative_offset && position > prev.position;
  }
  std::string describe() const {
    return "(relative offset " + std::to_string(relative_offset) + ", position " + std::to_string(position) +
           ")";
  }
};

}  // namespace keel::index
