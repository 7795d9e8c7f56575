// SyncGroup (key 14), v0-1. Followers' answers wait for the leader's
// assignments (the Responder is kept by the group).
#include "../authorization.hpp"
#include "../cluster_view.hpp"
#include "../group_coordinator.hpp"
#include "../protocol/errors.hpp"
#include "../services.hpp"
#include "handlers.hpp"

namespace keel::kafka {

void handle_sync_group(Services& services, Request& req, const Responder& respond) {
  const int16_t v = req.api_version;
  const bool flex = req.flexible;
  Reader& r = req.body;
  const std::string group_id = r.any_string(flex);
  const int32_t generation = r.int32();
  const std::string member_id = r.any_string(flex);
  std::vector<MemberAssignment> assignments;
  const int32_t n = r.array_length(flex);
  for (int32_t i = 0; i < n; ++i) {
    MemberAssignment a;
    a.member_id = r.any_string(flex);
    a.assignment = std::string(r.bytes(flex));
    if (flex) r.tagged_fields();
    assignments.push_back(std::move(a));
  }
  if (flex) r.tagged_fields();

  auto send = [respond, v, flex](const SyncResult& res) {
    Writer w;
    if (v >= 1) w.int32(0);  // throttle_time_ms
    w.int16(code(res.error));
    w.bytes(res.assignment, flex);
    w.tagged_fields(flex);
    respond.send(std::move(w));
  };
  if (group_id.empty()) return send(SyncResult{ErrorCode::kInvalidGroupId, {}});
  if (!group_allowed(services, req, KEEL_ACL_OP_READ, group_id)) {
    return send(SyncResult{ErrorCode::kGroupAuthorizationFailed, {}});
  }
  if (const ErrorCode c = coordinator_error(services, group_id); c != ErrorCode::kNone) {
    return send(SyncResult{c, {}});
  }
  services.groups().sync(group_id, generation, member_id, assignments, std::move(send));
}

}  // namespace keel::kafka
