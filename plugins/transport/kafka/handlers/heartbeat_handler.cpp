// Heartbeat (key 12), v0-1: keeps a member's session alive and tells it
// when a rebalance is pending (REBALANCE_IN_PROGRESS: rejoin).
#include "../authorization.hpp"
#include "../cluster_view.hpp"
#include "../group_coordinator.hpp"
#include "../protocol/errors.hpp"
#include "../services.hpp"
#include "handlers.hpp"

namespace keel::kafka {

void handle_heartbeat(Services& services, Request& req, const Responder& respond) {
  const bool flex = req.flexible;
  Reader& r = req.body;
  const std::string group_id = r.any_string(flex);
  const int32_t generation = r.int32();
  const std::string member_id = r.any_string(flex);
  if (flex) r.tagged_fields();

  ErrorCode e = group_id.empty() ? ErrorCode::kInvalidGroupId
                : !group_allowed(services, req, KEEL_ACL_OP_READ, group_id)
                    ? ErrorCode::kGroupAuthorizationFailed
                    : coordinator_error(services, group_id);
  if (e == ErrorCode::kNone) e = services.groups().heartbeat(group_id, generation, member_id);
  Writer w;
  if (req.api_version >= 1) w.int32(0);  // throttle_time_ms
  w.int16(code(e));
  w.tagged_fields(flex);
  respond.send(std::move(w));
}

}  // namespace keel::kafka
