// A plugin from a future, incompatible ABI: its descriptor says major 99.
#include <keel/plugin.hpp>

namespace {

class AnyPartitioner final : public keel::sdk::Partitioner {
 public:
  AnyPartitioner(const keel::sdk::Host&, const keel::sdk::Config&) {}
  int32_t partition(std::optional<std::string_view>, int32_t) override { return 0; }
};

}  // namespace

extern "C" __attribute__((visibility("default"))) const keel_plugin_descriptor* keel_plugin_entry(void) {
  static const keel_strategy strategies[] = {keel::sdk::partitioner_strategy<AnyPartitioner>("test-abi99")};
  static const keel_plugin_descriptor descriptor = {
      sizeof(keel_plugin_descriptor), 99, 0, "test-abi99", "1.0.0", 1, sizeof(keel_strategy), strategies};
  return &descriptor;
}
