// Partitioner `fixed`: sends every record, keyed or not, to one partition,
// chosen by the topic's setting `partition` (default 0). Useful to pin a
// topic's traffic while the other partitions are drained or inspected.
//
//   [topics.audit]
//   partitions = 4
//   partitioner = "fixed"
//   [topics.audit.plugins.fixed]
//   partition = 2
#include <cstdint>
#include <keel/plugin.hpp>
#include <string>

namespace {

class FixedPartitioner final : public keel::sdk::Partitioner {
 public:
  // Every supported key is read here, at creation: the broker reports keys
  // that were never read (a typo such as `partiton`) as unknown.
  FixedPartitioner(const keel::sdk::Host& host, const keel::sdk::Config& config)
      : partition_(config.get_int("partition", 0)) {
    if (partition_ < 0) {
      throw keel::sdk::Error(KEEL_ERR_INVALID_ARGUMENT,
                             "setting 'partition' is " + std::to_string(partition_) + "; use 0 or more");
    }
    host.debug("every record goes to partition " + std::to_string(partition_));
  }

  int32_t partition(std::optional<std::string_view>, int32_t partition_count) override {
    // The partition count can grow after the setting was written; wrapping
    // keeps the answer valid instead of failing every produce.
    return static_cast<int32_t>(partition_ % partition_count);
  }

 private:
  int64_t partition_;
};

}  // namespace

KEEL_PLUGIN("fixed-partitioner", "1.0.0", keel::sdk::partitioner_strategy<FixedPartitioner>("fixed"))
