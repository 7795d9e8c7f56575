// Kafka's murmur2 (org.apache.kafka.common.utils.Utils.murmur2): the hash the
// Java client and librdkafka's murmur2 partitioner use to place keyed records.
// It must stay bit-for-bit identical, or keys land on other partitions than
// Kafka clients expect.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace keel::keyhash {

inline uint32_t murmur2(std::string_view key) {
  constexpr uint32_t seed = 0x9747b28c;
  constexpr uint32_t m = 0x5bd1e995;
  constexpr int r = 24;
  const auto* data = reinterpret_cast<const unsigned char*>(key.data());
  const size_t length = key.size();

  // Java hashes an int-sized length; keys past 2 GiB cannot occur in Kafka.
  uint32_t h = seed ^ static_cast<uint32_t>(length);
  const size_t words = length / 4;
  for (size_t i = 0; i < words; ++i) {
    const unsigned char* p = data + i * 4;
    // Little-endian regardless of the host, as Java assembles it.
    uint32_t k = uint32_t{p[0]} | (uint32_t{p[1]} << 8) | (uint32_t{p[2]} << 16) | (uint32_t{p[3]} << 24);
    k *= m;
    k ^= k >> r;
    k *= m;
    h *= m;
    h ^= k;
  }

  const unsigned char* tail = data + words * 4;
  switch (length % 4) {
    case 3:
      h ^= uint32_t{tail[2]} << 16;
      [[fallthrough]];
    case 2:
      h ^= uint32_t{tail[1]} << 8;
      [[fallthrough]];
    case 1:
      h ^= uint32_t{tail[0]};
      h *= m;
  }

  h ^= h >> 13;
  h *= m;
  h ^= h >> 15;
  return h;
}

// Kafka's Utils.toPositive: clears the sign bit (not abs(), which would map
// INT_MIN to itself).
inline int32_t to_positive(uint32_t h) { return static_cast<int32_t>(h & 0x7fffffffu); }

}  // namespace keel::keyhash
