// A partitioner whose vtable claims to be 4 bytes long: built against a
// broken or ancient SDK. The loader must refuse it before calling anything.
#include <keel/plugin.hpp>

namespace {

const keel_partitioner_vtable kTinyVtable = {4, 0, nullptr, nullptr, nullptr};

}  // namespace

KEEL_PLUGIN("test-small-vtable", "1.0.0",
            keel_strategy{sizeof(keel_strategy), KEEL_KIND_PARTITIONER, "test-small-vtable", &kTinyVtable})
