// DeleteGroups (key 42), v0-2 (flexible from 2): removes each group's
// committed offsets and stored metadata, by Kafka's rules (the coordinator's
// delete_group): GROUP_ID_NOT_FOUND (69) for an unknown group,
// NON_EMPTY_GROUP (68) while it has members.
#include "../authorization.hpp"
#include "../group_coordinator.hpp"
#include "../protocol/errors.hpp"
#include "../services.hpp"
#include "handlers.hpp"

namespace keel::kafka {

void handle_delete_groups(Services& services, Request& req, const Responder& respond) {
  const bool flex = req.flexible;
  Reader& r = req.body;
  std::vector<std::string> groups;
  const int32_t n = r.array_length(flex);
  for (int32_t i = 0; i < n; ++i) groups.push_back(r.any_string(flex));
  if (flex) r.tagged_fields();

  Writer w;
  w.int32(0);  // throttle_time_ms
  w.array_length(static_cast<int32_t>(groups.size()), flex);
  for (const auto& g : groups) {
    const ErrorCode e = g.empty() || g.find('\0') != std::string::npos ? ErrorCode::kInvalidGroupId
                        : !group_allowed(services, req, KEEL_ACL_OP_DELETE, g)
                            ? ErrorCode::kGroupAuthorizationFailed
                            : services.groups().delete_group(g);
    w.string(g, flex);
    w.int16(code(e));
    w.tagged_fields(flex);
  }
  w.tagged_fields(flex);
  respond.send(std::move(w));
}

}  // namespace keel::kafka
