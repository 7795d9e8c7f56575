#include "key_hash_partitioner.hpp"

#include "murmur2.hpp"

namespace keel::partitioner {

int32_t KeyHashPartitioner::partition(std::optional<std::string_view> key, int32_t partition_count) {
  if (key) return keel::keyhash::to_positive(keel::keyhash::murmur2(*key)) % partition_count;
  // A null key has nothing to hash; spread such records evenly. An empty
  // key is a real key and was hashed above.
  return static_cast<int32_t>(null_key_next_.fetch_add(1, std::memory_order_relaxed) %
                              static_cast<uint64_t>(partition_count));
}

}  // namespace keel::partitioner
