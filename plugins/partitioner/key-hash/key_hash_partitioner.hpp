// Partitioner `key-hash`: Kafka's default placement for keyed records, so a
// key lands on the same partition whichever Kafka client produced it.
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

class KeyHashPartitioner final : public keel::sdk::Partitioner {
 public:
  KeyHashPartitioner(const keel::sdk::Host&, const keel::sdk::Config&) {}

  // toPositive(murmur2(key)) % partition_count for a key, as Kafka's Java
  // client; null keys go round-robin. partition_count must be > 0 (the
  // SDK wrapper refuses anything else before calling).
  int32_t partition(std::optional<std::string_view> key, int32_t partition_count) override;

 private:
  std::atomic<uint64_t> null_key_next_{0};
};

}  // namespace keel::partitioner
