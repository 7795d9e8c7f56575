// A partitioner whose vtable is the right size but has NULL in a mandatory
// slot (`partition`): the loader must refuse it, naming the plugin, the
// strategy and the slot, instead of crashing on the first produce.
#include <keel/plugin.hpp>

namespace {

class Unused final : public keel::sdk::Partitioner {
 public:
  Unused(const keel::sdk::Host&, const keel::sdk::Config&) {}
  int32_t partition(std::optional<std::string_view>, int32_t) override { return 0; }
};

const keel_partitioner_vtable* broken_vtable() {
  static const keel_partitioner_vtable vt = [] {
    keel_partitioner_vtable v = *keel::sdk::partitioner_vtable<Unused>();
    v.partition = nullptr;
    return v;
  }();
  return &vt;
}

}  // namespace

KEEL_PLUGIN("test-null-slot-plugin", "1.0.0",
            keel_strategy{sizeof(keel_strategy), KEEL_KIND_PARTITIONER, "test-null-slot", broken_vtable()})
