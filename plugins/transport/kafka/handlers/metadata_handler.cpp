// Metadata (key 3), v0-12 (v9+ flexible). The brokers, controller and each
// partition's leader, leader epoch (v7+), replicas, in-sync replicas and
// offline replicas (v5+) come from the broker's cluster view
// (cluster_view.hpp): on a single node, this broker is all of them. A
// partition without a leader is LEADER_NOT_AVAILABLE, which clients retry
// after a refresh. Unknown topics named in the request are created when both
// the client (v4 flag; implied before v4) and the broker
// (broker.auto_create_topics) allow it, as Kafka does.
//
// Keel has no topic ids (KIP-516): v10+ answer the zero UUID, Kafka's "no
// id", for every topic, and a topic asked for by id alone (v12) is
// UNKNOWN_TOPIC_ID. A broker without a cluster view (ABI < 2.3) has no
// leader epochs and answers -1, so clients skip epoch validation.
// Authorized operations (v8+) are Kafka's "not requested" value unless asked
// for; when asked for, those of Kafka's operations for the resource that the
// broker's authorizer allows (all of them without one, as Kafka answers).
//
// Authorization (as Kafka's KafkaApis): a request for all topics lists only
// those the principal may DESCRIBE; a named topic it may not DESCRIBE is
// TOPIC_AUTHORIZATION_FAILED whether or not it exists (so that names do not
// leak); auto-creation needs CREATE on the cluster or the topic.
#include <algorithm>
#include <climits>
#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

#include "../authorization.hpp"
#include "../cluster_view.hpp"
#include "../protocol/errors.hpp"
#include "../services.hpp"
#include "handlers.hpp"
#include "topic_names.hpp"

namespace keel::kafka {
namespace {

constexpr int32_t kOperationsNotRequested = INT32_MIN;
// Bits are Kafka's AclOperation codes: READ 3, WRITE 4, CREATE 5, DELETE 6,
// ALTER 7, DESCRIBE 8, CLUSTER_ACTION 9, DESCRIBE_CONFIGS 10, ALTER_CONFIGS
// 11, IDEMPOTENT_WRITE 12 (those Kafka supports per resource type).
constexpr int32_t bits(std::initializer_list<int> ops) {
  int32_t v = 0;
  for (int op : ops) v |= 1 << op;
  return v;
}
constexpr std::initializer_list<int> kTopicOperationList = {3, 4, 5, 6, 7, 8, 10, 11};
constexpr std::initializer_list<int> kClusterOperationList = {5, 7, 8, 9, 10, 11, 12};
constexpr int32_t kTopicOperations = bits(kTopicOperationList);
constexpr int32_t kClusterOperations = bits(kClusterOperationList);

// The operations of `all` the principal may do on the resource; asking
// only without an authorizer would be the same answer, so ask only with one.
int32_t authorized_operations(const Services& services, const Request& req, int8_t type,
                              const std::string& name, std::initializer_list<int> all, int32_t every) {
  if (!services.broker.has_authorizer()) return every;
  int32_t v = 0;
  for (int op : all) {
    if (allowed(services, req, type, static_cast<int8_t>(op), name, false)) v |= 1 << op;
  }
  return v;
}

struct TopicAnswer {
  ErrorCode error = ErrorCode::kNone;
  std::optional<std::string> name;  // null: asked for by id (v12)
  bool internal = false;
  int32_t partitions = 0;
};

TopicAnswer lookup(Services& services, const Request& req, const std::string& name, bool allow_create) {
  TopicAnswer answer{ErrorCode::kNone, name, false, 0};
  if (!topic_allowed(services, req, KEEL_ACL_OP_DESCRIBE, name)) {
    answer.error = ErrorCode::kTopicAuthorizationFailed;
    return answer;
  }
  if (!valid_topic_name(name)) {
    answer.error = ErrorCode::kInvalidTopicException;
    return answer;
  }
  auto info = services.broker.describe_topic(name);
  if (!info && allow_create && services.broker.auto_create_topics()) {
    // Asked only for a topic that is missing: CREATE on the cluster covers
    // every topic, so its "no" is not yet a denial.
    if (!cluster_allowed(services, req, KEEL_ACL_OP_CREATE, false) &&
        !topic_allowed(services, req, KEEL_ACL_OP_CREATE, name)) {
      answer.error = ErrorCode::kTopicAuthorizationFailed;
      return answer;
    }
    std::string message;
    keel_status s = services.broker.create_topic(name, 0, "", &message);
    // ALREADY_EXISTS: another client created it meanwhile, which is fine.
    if (s != KEEL_OK && s != KEEL_ERR_ALREADY_EXISTS) {
      services.host.warn("Metadata: could not auto-create topic '" + name + "': " + message);
    }
    info = services.broker.describe_topic(name);
  }
  if (!info) {
    answer.error = ErrorCode::kUnknownTopicOrPartition;
    return answer;
  }
  answer.internal = info->internal;
  answer.partitions = info->partitions;
  return answer;
}

void write_ids(Writer& w, const std::vector<int32_t>& ids, bool flex) {
  w.array_length(static_cast<int32_t>(ids.size()), flex);
  for (int32_t id : ids) w.int32(id);
}

}  // namespace

void handle_metadata(Services& services, Request& req, const Responder& respond) {
  const int16_t v = req.api_version;
  const bool flex = req.flexible;
  Reader& r = req.body;

  // nullopt = every topic.
  std::optional<std::vector<std::string>> requested;
  std::vector<TopicAnswer> by_id;  // entries without a name
  const int32_t n = r.array_length(flex);
  if (n >= 0 && !(v == 0 && n == 0)) {
    requested.emplace();
    for (int32_t i = 0; i < n; ++i) {
      if (v >= 10) r.uuid();  // topic_id: Keel knows topics by name only
      std::optional<std::string> name = v >= 10 ? r.any_nullable_string(flex) : r.any_string(flex);
      if (flex) r.tagged_fields();
      if (!name) {
        // v10-11 must name every topic (Kafka refuses such a request); an id
        // alone (v12) names no topic Keel knows.
        by_id.push_back(TopicAnswer{v >= 12 ? ErrorCode::kUnknownTopicId : ErrorCode::kInvalidRequest,
                                    std::nullopt, false, 0});
      } else if (std::find(requested->begin(), requested->end(), *name) == requested->end()) {
        requested->push_back(std::move(*name));
      }
    }
  }
  const bool allow_create = v >= 4 ? r.boolean() : true;
  const bool cluster_operations = v >= 8 && v <= 10 ? r.boolean() : false;
  const bool topic_operations = v >= 8 ? r.boolean() : false;
  if (flex) r.tagged_fields();

  std::vector<TopicAnswer> topics;
  if (requested) {
    for (const auto& name : *requested) topics.push_back(lookup(services, req, name, allow_create));
    topics.insert(topics.end(), by_id.begin(), by_id.end());
  } else {
    for (const auto& t : services.broker.list_topics()) {
      if (!topic_allowed(services, req, KEEL_ACL_OP_DESCRIBE, t.name, false)) continue;
      topics.push_back(TopicAnswer{ErrorCode::kNone, t.name, t.internal, t.partitions});
    }
  }

  const ClusterView cluster = cluster_view(services, req.listener);
  Writer w;
  if (v >= 3) w.int32(0);  // throttle_time_ms
  w.array_length(static_cast<int32_t>(cluster.brokers.size()), flex);
  for (const auto& b : cluster.brokers) {
    w.int32(b.id);
    w.string(b.host, flex);
    w.int32(b.port);
    if (v >= 1) w.nullable_string(b.rack, flex);
    w.tagged_fields(flex);
  }
  if (v >= 2) w.nullable_string(cluster.cluster_id, flex);
  if (v >= 1) w.int32(cluster.controller);
  w.array_length(static_cast<int32_t>(topics.size()), flex);
  for (const auto& t : topics) {
    w.int16(code(t.error));
    if (v >= 12) {
      w.nullable_string(t.name, flex);
    } else {
      w.string(t.name.value_or(std::string()), flex);
    }
    if (v >= 10) w.zero_uuid();  // topic_id: none
    if (v >= 1) w.boolean(t.internal);
    // An error answer carries no partitions (a denied topic's count stays 0).
    w.array_length(t.partitions, flex);
    for (int32_t p = 0; p < t.partitions; ++p) {
      const PartitionView pv = partition_view(services, cluster, *t.name, p);
      w.int16(code(pv.error));
      w.int32(p);
      w.int32(pv.leader);
      if (v >= 7) w.int32(pv.leader_epoch);
      write_ids(w, pv.replicas, flex);
      write_ids(w, pv.isr, flex);
      if (v >= 5) write_ids(w, pv.offline, flex);
      w.tagged_fields(flex);
    }
    if (v >= 8) {
      w.int32(!topic_operations ? kOperationsNotRequested
              : !t.name         ? 0
                                : authorized_operations(services, req, KEEL_RESOURCE_TOPIC, *t.name,
                                                        kTopicOperationList, kTopicOperations));
    }
    w.tagged_fields(flex);
  }
  if (v >= 8 && v <= 10) {
    w.int32(cluster_operations
                ? authorized_operations(services, req, KEEL_RESOURCE_CLUSTER, std::string(kClusterResource),
                                        kClusterOperationList, kClusterOperations)
                : kOperationsNotRequested);
  }
  w.tagged_fields(flex);
  respond.send(std::move(w));
}

}  // namespace keel::kafka
