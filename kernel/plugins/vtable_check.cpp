#include "plugins/vtable_check.hpp"

#include <cstring>
#include <vector>

#include "common/error.hpp"

namespace keel {
namespace {

// One function pointer of a vtable: its name in keel/plugin.h, where it
// lives, and whether a plugin may leave it NULL.
struct Slot {
  const char* name;
  size_t offset;
  bool optional;
};

#define KEEL_SLOT(vt, field, optional) \
  Slot { #field, offsetof(vt, field), optional }

// The slots of each vtable as ABI 2.0 defines them. A later minor appends
// slots: add them here with their minor, never change these.
// `index_caps` are the index's KEEL_INDEX_CAN_* bits: a lookup is mandatory
// exactly when the index claims the capability.
std::vector<Slot> slots_of(int32_t kind, uint32_t index_caps) {
  const uint32_t caps = index_caps;
  switch (kind) {
    case KEEL_KIND_INDEX:
      return {KEEL_SLOT(keel_index_vtable, open, false),
              KEEL_SLOT(keel_index_vtable, recovery_position, false),
              KEEL_SLOT(keel_index_vtable, on_append, false),
              KEEL_SLOT(keel_index_vtable, lookup_offset, (caps & KEEL_INDEX_CAN_LOOKUP_OFFSET) == 0),
              KEEL_SLOT(keel_index_vtable, lookup_time, (caps & KEEL_INDEX_CAN_LOOKUP_TIME) == 0),
              KEEL_SLOT(keel_index_vtable, truncate, false),
              KEEL_SLOT(keel_index_vtable, flush, false),
              KEEL_SLOT(keel_index_vtable, seal, false),
              KEEL_SLOT(keel_index_vtable, entry_count, false),
              KEEL_SLOT(keel_index_vtable, close, false)};
    case KEEL_KIND_RETENTION:
      return {
          KEEL_SLOT(keel_retention_vtable, create, false), KEEL_SLOT(keel_retention_vtable, select, false),
          KEEL_SLOT(keel_retention_vtable, destroy, false), KEEL_SLOT(keel_retention_vtable, rewrite, true),
          KEEL_SLOT(keel_retention_vtable, requires_keys, true)};
    case KEEL_KIND_PARTITIONER:
      return {KEEL_SLOT(keel_partitioner_vtable, create, false),
              KEEL_SLOT(keel_partitioner_vtable, partition, false),
              KEEL_SLOT(keel_partitioner_vtable, destroy, false)};
    case KEEL_KIND_TRANSPORT:
      return {KEEL_SLOT(keel_transport_vtable, create, false), KEEL_SLOT(keel_transport_vtable, start, false),
              KEEL_SLOT(keel_transport_vtable, stop, false),
              KEEL_SLOT(keel_transport_vtable, destroy, false)};
    case KEEL_KIND_COORDINATOR:  // 2.3: the whole table is 2.3's
      return {KEEL_SLOT(keel_coordinator_vtable, create, false),
              KEEL_SLOT(keel_coordinator_vtable, open_session, false),
              KEEL_SLOT(keel_coordinator_vtable, range, false),
              KEEL_SLOT(keel_coordinator_vtable, txn, false),
              KEEL_SLOT(keel_coordinator_vtable, watch, false),
              KEEL_SLOT(keel_coordinator_vtable, unwatch, false),
              KEEL_SLOT(keel_coordinator_vtable, destroy, false)};
    case KEEL_KIND_AUTHORIZER:  // 2.5: the whole table is 2.5's
      return {KEEL_SLOT(keel_authorizer_vtable, create, false),
              KEEL_SLOT(keel_authorizer_vtable, authorize, false),
              KEEL_SLOT(keel_authorizer_vtable, create_acl, false),
              KEEL_SLOT(keel_authorizer_vtable, describe_acls, false),
              KEEL_SLOT(keel_authorizer_vtable, delete_acls, false),
              KEEL_SLOT(keel_authorizer_vtable, destroy, false)};
    default:
      return {};
  }
}

#undef KEEL_SLOT

}  // namespace

void check_vtable(int32_t kind, const void* vtable, const std::string& where) {
  if (kind < KEEL_KIND_INDEX || kind > KEEL_KIND_AUTHORIZER) {
    fail(KEEL_ERR_UNSUPPORTED, where + " has unknown kind " + std::to_string(kind));
  }
  if (vtable == nullptr) fail(KEEL_ERR_INVALID_ARGUMENT, where + " has no vtable");
  uint32_t vt_size = 0;
  std::memcpy(&vt_size, vtable, sizeof vt_size);
  uint32_t caps = 0;
  if (kind == KEEL_KIND_INDEX && vt_size >= offsetof(keel_index_vtable, capabilities) + sizeof caps) {
    caps = static_cast<const keel_index_vtable*>(vtable)->capabilities;
  }
  // Every slot of ABI 2.0 must be there.
  const std::vector<Slot> slots = slots_of(kind, caps);
  const size_t min_size = slots.back().offset + sizeof(void*);
  if (vt_size < min_size) {
    fail(KEEL_ERR_INVALID_ARGUMENT, where + ": its vtable is " + std::to_string(vt_size) + " bytes, ABI " +
                                        std::to_string(KEEL_ABI_MAJOR) + ".0 needs at least " +
                                        std::to_string(min_size) + "; rebuild it against the Keel SDK " +
                                        std::to_string(KEEL_ABI_MAJOR) + ".x");
  }
  for (const Slot& slot : slots) {
    void* fn = nullptr;
    std::memcpy(&fn, static_cast<const char*>(vtable) + slot.offset, sizeof fn);
    if (fn == nullptr && !slot.optional) {
      fail(KEEL_ERR_INVALID_ARGUMENT,
           where + ": vtable slot '" + slot.name + "' is NULL; it is mandatory" +
               (kind == KEEL_KIND_INDEX &&
                        (slot.name == std::string("lookup_offset") || slot.name == std::string("lookup_time"))
                    ? " for an index that declares the matching KEEL_INDEX_CAN_* capability"
                    : ""));
    }
  }
}

}  // namespace keel
