// Partitioner `round-robin`: spreads every record, keyed or not, evenly over
// the partitions in turn.
#include <atomic>
#include <cstdint>
#include <keel/plugin.hpp>

namespace {

class RoundRobinPartitioner final : public keel::sdk::Partitioner {
 public:
  RoundRobinPartitioner(const keel::sdk::Host&, const keel::sdk::Config&) {}

  int32_t partition(std::optional<std::string_view>, int32_t partition_count) override {
    // 64 bits never wrap in practice, so the cycle stays even; relaxed order
    // suffices because only the counter's own sequence matters.
    return static_cast<int32_t>(next_.fetch_add(1, std::memory_order_relaxed) %
                                static_cast<uint64_t>(partition_count));
  }

 private:
  std::atomic<uint64_t> next_{0};
};

}  // namespace

KEEL_PLUGIN("round-robin", "1.0.0", keel::sdk::partitioner_strategy<RoundRobinPartitioner>("round-robin"))
