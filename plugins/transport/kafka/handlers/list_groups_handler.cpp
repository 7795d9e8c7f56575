// ListGroups (key 16), v0-2: groups with members and groups that only have
// committed offsets (protocol type "" for those, as Kafka reports them).
#include "../authorization.hpp"
#include "../group_coordinator.hpp"
#include "../protocol/errors.hpp"
#include "../services.hpp"
#include "handlers.hpp"

namespace keel::kafka {

void handle_list_groups(Services& services, Request& req, const Responder& respond) {
  const bool flex = req.flexible;
  if (flex) req.body.tagged_fields();
  auto groups = services.groups().list();
  // DESCRIBE on the cluster lists every group; otherwise only those the
  // principal may DESCRIBE (Kafka's rule; a filter, not a denial).
  if (!cluster_allowed(services, req, KEEL_ACL_OP_DESCRIBE, false)) {
    std::erase_if(groups, [&](const auto& g) {
      return !allowed(services, req, KEEL_RESOURCE_GROUP, KEEL_ACL_OP_DESCRIBE, g.first, false);
    });
  }
  Writer w;
  if (req.api_version >= 1) w.int32(0);  // throttle_time_ms
  w.int16(code(ErrorCode::kNone));
  w.array_length(static_cast<int32_t>(groups.size()), flex);
  for (const auto& [id, protocol_type] : groups) {
    w.string(id, flex);
    w.string(protocol_type, flex);
    w.tagged_fields(flex);
  }
  w.tagged_fields(flex);
  respond.send(std::move(w));
}

}  // namespace keel::kafka
