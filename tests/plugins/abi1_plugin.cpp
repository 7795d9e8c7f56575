// A plugin built for ABI 1.x: its descriptor has the 1.x layout (no
// strategy_size) and says major 1. A 2.x broker must refuse it with a
// message that says how to migrate, before touching its strategies.
#include <cstdint>

namespace {

// keel_plugin_descriptor and keel_strategy as ABI 1.0-1.4 defined them.
struct StrategyV1 {
  uint32_t struct_size;
  uint32_t kind;
  const char* name;
  const void* vtable;
};
struct DescriptorV1 {
  uint32_t struct_size;
  uint16_t abi_major;
  uint16_t abi_minor;
  const char* name;
  const char* version;
  uint32_t strategy_count;
  const StrategyV1* strategies;
};

// Never called: the broker refuses the plugin first.
struct VtableV1 {
  uint32_t struct_size;
  void* create;
  void* partition;
  void* destroy;
};
const VtableV1 kVtable = {sizeof(VtableV1), nullptr, nullptr, nullptr};
const StrategyV1 kStrategies[] = {{sizeof(StrategyV1), 3, "test-abi1", &kVtable}};
const DescriptorV1 kDescriptor = {sizeof(DescriptorV1), 1, 4, "test-abi1", "1.0.0", 1, kStrategies};

}  // namespace

extern "C" __attribute__((visibility("default"))) const DescriptorV1* keel_plugin_entry(void) {
  return &kDescriptor;
}
