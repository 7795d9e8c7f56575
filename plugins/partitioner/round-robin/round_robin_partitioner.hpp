// Partitioner `round-robin`: spreads every record, keyed or not, evenly over
// the partitions in turn.
//
// Threads: partition() is called from any producing thread at once; the only
// state is an atomic counter.
#pragma once

#include <atomic>
#include <cstdint>
#include <keel/plugin.hpp>
#include <optional>
#include <string_view>

namespace keel::partitioner {

class RoundRobinPartitioner final : public keel::sdk::Partitioner {
 public:
  RoundRobinPartitioner(const keel::sdk::Host&, const keel::sdk::Config&) {}

  // partition_count must be > 0 (the SDK wrapper refuses anything else).
  int32_t partition(std::optional<std::string_view>, int32_t partition_count) override;

 private:
  std::atomic<uint64_t> next_{0};
};

}  // namespace keel::partitioner
