// A partitioner that always fails with its own message, for the test that
// the broker logs a plugin's error text (rate-limited) instead of losing it.
#include <keel/plugin.hpp>

namespace {

class Failing final : public keel::sdk::Partitioner {
 public:
  Failing(const keel::sdk::Host&, const keel::sdk::Config&) {}
  int32_t partition(std::optional<std::string_view>, int32_t) override {
    throw keel::sdk::Error(KEEL_ERR_UNAVAILABLE, "test-failing: the partition map is not loaded yet");
  }
};

}  // namespace

KEEL_PLUGIN("test-failing-plugin", "1.0.0", keel::sdk::partitioner_strategy<Failing>("test-failing"))
