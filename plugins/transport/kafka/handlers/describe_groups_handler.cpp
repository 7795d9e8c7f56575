// DescribeGroups (key 15), v0-2. Member metadata and assignments are only
// given for Stable groups, as Kafka does; unknown groups are "Dead". A group
// the principal may not DESCRIBE answers GROUP_AUTHORIZATION_FAILED.
#include "../authorization.hpp"
#include "../group_coordinator.hpp"
#include "../protocol/errors.hpp"
#include "../services.hpp"
#include "handlers.hpp"

namespace keel::kafka {

void handle_describe_groups(Services& services, Request& req, const Responder& respond) {
  const bool flex = req.flexible;
  Reader& r = req.body;
  std::vector<std::string> ids;
  const int32_t n = r.array_length(flex);
  for (int32_t i = 0; i < n; ++i) ids.push_back(r.any_string(flex));
  if (flex) r.tagged_fields();

  Writer w;
  if (req.api_version >= 1) w.int32(0);  // throttle_time_ms
  w.array_length(static_cast<int32_t>(ids.size()), flex);
  for (const auto& id : ids) {
    if (!group_allowed(services, req, KEEL_ACL_OP_DESCRIBE, id)) {
      // Nothing of the group but its id (Kafka's answer).
      w.int16(code(ErrorCode::kGroupAuthorizationFailed));
      w.string(id, flex);
      for (int i = 0; i < 3; ++i) w.string("", flex);  // state, protocol type, protocol
      w.array_length(0, flex);
      w.tagged_fields(flex);
      continue;
    }
    const GroupSummary g = services.groups().describe(id);
    w.int16(code(id.empty() ? ErrorCode::kInvalidGroupId : ErrorCode::kNone));
    w.string(g.group_id, flex);
    w.string(g.state, flex);
    w.string(g.protocol_type, flex);
    w.string(g.protocol, flex);
    w.array_length(static_cast<int32_t>(g.members.size()), flex);
    for (const auto& m : g.members) {
      w.string(m.member_id, flex);
      w.string(m.client_id, flex);
      w.string(m.client_host, flex);
      w.bytes(m.metadata, flex);
      w.bytes(m.assignment, flex);
      w.tagged_fields(flex);
    }
    w.tagged_fields(flex);
  }
  w.tagged_fields(flex);
  respond.send(std::move(w));
}

}  // namespace keel::kafka
