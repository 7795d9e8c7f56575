#include "round_robin_partitioner.hpp"

namespace keel::partitioner {

int32_t RoundRobinPartitioner::partition(std::optional<std::string_view>, int32_t partition_count) {
  // 64 bits never wrap in practice, so the cycle stays even; relaxed order
  // suffices because only the counter's own sequence matters.
  return static_cast<int32_t>(next_.fetch_add(1, std::memory_order_relaxed) %
                              static_cast<uint64_t>(partition_count));
}

}  // namespace keel::partitioner
