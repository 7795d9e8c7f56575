// Partitioner `key-hash`: Kafka's default placement for keyed records, so a
// key lands on the same partition whichever Kafka client produced it.
#include <atomic>
#include <cstdint>
#include <keel/plugin.hpp>

#include "murmur2.hpp"

namespace {

class KeyHashPartitioner final : public keel::sdk::Partitioner {
 public:
  KeyHashPartitioner(const keel::sdk::Host&, const keel::sdk::Config&) {}

  int32_t partition(std::optional<std::string_view> key, int32_t partition_count) override {
    if (key) return keel::keyhash::to_positive(keel::keyhash::murmur2(*key)) % partition_count;
    // A null key has nothing to hash; spread such records evenly. An empty
    // key is a real key and was hashed above.
    return static_cast<int32_t>(null_key_next_.fetch_add(1, std::memory_order_relaxed) %
                                static_cast<uint64_t>(partition_count));
  }

 private:
  std::atomic<uint64_t> null_key_next_{0};
};

}  // namespace

KEEL_PLUGIN("key-hash", "1.0.0", keel::sdk::partitioner_strategy<KeyHashPartitioner>("key-hash"))
