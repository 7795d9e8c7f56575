// A second "round-robin" partitioner: clashes with the built-in one.
#include <keel/plugin.hpp>

namespace {

class OtherRoundRobin final : public keel::sdk::Partitioner {
 public:
  OtherRoundRobin(const keel::sdk::Host&, const keel::sdk::Config&) {}
  int32_t partition(std::optional<std::string_view>, int32_t) override { return 0; }
};

}  // namespace

KEEL_PLUGIN("test-dup-builtin", "1.0.0", keel::sdk::partitioner_strategy<OtherRoundRobin>("round-robin"))
