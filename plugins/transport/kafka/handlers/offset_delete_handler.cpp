// OffsetDelete (key 47), v0: removes some committed offsets of a group, by
// Kafka's rules (the coordinator's offset_delete_rule): GROUP_ID_NOT_FOUND
// (69) for an unknown group; while the group has members, the partitions of
// a topic they subscribe to answer GROUP_SUBSCRIBED_TO_TOPIC (86) and keep
// their offsets, and a group whose protocol is not "consumer" answers
// NON_EMPTY_GROUP (68) for the whole request. A partition without an offset
// answers 0, as Kafka's does.
#include "../authorization.hpp"
#include "../group_coordinator.hpp"
#include "../protocol/errors.hpp"
#include "../services.hpp"
#include "handlers.hpp"

namespace keel::kafka {

namespace {

ErrorCode offset_delete_error(keel_status s) {
  switch (s) {
    case KEEL_OK:
      return ErrorCode::kNone;
    case KEEL_ERR_NOT_FOUND:  // the group went meanwhile
      return ErrorCode::kGroupIdNotFound;
    case KEEL_ERR_INVALID_NAME:
      return ErrorCode::kInvalidGroupId;
    default:  // the tombstones could not be made durable: retriable
      return ErrorCode::kCoordinatorNotAvailable;
  }
}

}  // namespace

void handle_offset_delete(Services& services, Request& req, const Responder& respond) {
  const bool flex = req.flexible;
  Reader& r = req.body;
  const std::string group_id = r.any_string(flex);
  std::vector<std::pair<std::string, std::vector<int32_t>>> topics;
  const int32_t nt = r.array_length(flex);
  for (int32_t i = 0; i < nt; ++i) {
    auto& [name, partitions] = topics.emplace_back();
    name = r.any_string(flex);
    const int32_t np = r.array_length(flex);
    for (int32_t j = 0; j < np; ++j) {
      partitions.push_back(r.int32());
      if (flex) r.tagged_fields();
    }
    if (flex) r.tagged_fields();
  }
  if (flex) r.tagged_fields();

  GroupCoordinator::OffsetDeleteRule rule;
  if (group_id.empty() || group_id.find('\0') != std::string::npos) {
    rule.error = ErrorCode::kInvalidGroupId;
  } else if (!group_allowed(services, req, KEEL_ACL_OP_DELETE, group_id)) {
    rule.error = ErrorCode::kGroupAuthorizationFailed;
  } else {
    rule = services.groups().offset_delete_rule(group_id);
  }
  Writer w;
  w.int16(code(rule.error));
  w.int32(0);  // throttle_time_ms
  if (rule.error != ErrorCode::kNone) {
    w.array_length(0, flex);
    w.tagged_fields(flex);
    return respond.send(std::move(w));
  }
  w.array_length(static_cast<int32_t>(topics.size()), flex);
  for (const auto& [name, partitions] : topics) {
    ErrorCode e = ErrorCode::kGroupSubscribedToTopic;
    if (!topic_allowed(services, req, KEEL_ACL_OP_READ, name)) {
      e = ErrorCode::kTopicAuthorizationFailed;
    } else if (!rule.protects(name)) {
      std::string message;
      const keel_status s = services.broker.delete_group_offsets(group_id, name, partitions, &message);
      if (s != KEEL_OK && s != KEEL_ERR_NOT_FOUND) {
        services.host.warn("deleting offsets of group '" + group_id + "' on topic '" + name +
                           "' failed: " + message);
      }
      e = offset_delete_error(s);
    }
    w.string(name, flex);
    w.array_length(static_cast<int32_t>(partitions.size()), flex);
    for (int32_t p : partitions) {
      w.int32(p);
      w.int16(code(e));
      w.tagged_fields(flex);
    }
    w.tagged_fields(flex);
  }
  w.tagged_fields(flex);
  respond.send(std::move(w));
}

}  // namespace keel::kafka
