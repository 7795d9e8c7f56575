// Partitioner `test-fixed`: every record goes to the partition named by its
// `partition` setting (default 0). A well-formed plugin for loader tests.
#include <keel/plugin.hpp>

namespace {

class FixedPartitioner final : public keel::sdk::Partitioner {
 public:
  FixedPartitioner(const keel::sdk::Host&, const keel::sdk::Config& config)
      : partition_(static_cast<int32_t>(config.get_int("partition", 0))) {}

  int32_t partition(std::optional<std::string_view>, int32_t partition_count) override {
    return partition_ % partition_count;
  }

 private:
  int32_t partition_;
};

}  // namespace

KEEL_PLUGIN("test-fixed", "1.0.0", keel::sdk::partitioner_strategy<FixedPartitioner>("test-fixed"))
