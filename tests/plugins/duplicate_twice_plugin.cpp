// One library that declares the same strategy name twice.
#include <keel/plugin.hpp>

namespace {

class First final : public keel::sdk::Partitioner {
 public:
  First(const keel::sdk::Host&, const keel::sdk::Config&) {}
  int32_t partition(std::optional<std::string_view>, int32_t) override { return 0; }
};

class Second final : public keel::sdk::Partitioner {
 public:
  Second(const keel::sdk::Host&, const keel::sdk::Config&) {}
  int32_t partition(std::optional<std::string_view>, int32_t) override { return 1; }
};

}  // namespace

KEEL_PLUGIN("test-dup-twice", "1.0.0", keel::sdk::partitioner_strategy<First>("test-dup-twice"),
            keel::sdk::partitioner_strategy<Second>("test-dup-twice"))
