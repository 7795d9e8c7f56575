// CreatePartitions (key 37), v0-3 (v2+ flexible): grows topics. The kernel
// creates the new partitions' logs before answering; they survive restarts
// by their directories. Keel is one node: an explicit assignment may only
// name this broker, once per new partition. Kafka clients pick partitions
// themselves (murmur2 of the key modulo the count), so keyed records move to
// another partition when the count changes, as in Kafka.
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "../authorization.hpp"
#include "../protocol/errors.hpp"
#include "../services.hpp"
#include "handlers.hpp"

namespace keel::kafka {
namespace {

struct Growth {
  std::string name;
  int32_t count = 0;
  std::optional<std::vector<std::vector<int32_t>>> assignments;
};

struct Outcome {
  ErrorCode error = ErrorCode::kNone;
  std::optional<std::string> message;
};

Outcome refused(ErrorCode e, std::string message) { return Outcome{e, std::move(message)}; }

// A single node holds every replica: an assignment must list exactly this
// broker for each new partition.
std::optional<Outcome> check_assignments(const Services& services, const Growth& g, int32_t current) {
  if (!g.assignments) return std::nullopt;
  const int32_t node = services.node_id();
  if (static_cast<int32_t>(g.assignments->size()) != g.count - current) {
    return refused(ErrorCode::kInvalidReplicaAssignment,
                   "topic '" + g.name + "': " + std::to_string(g.assignments->size()) +
                       " assignments given for " + std::to_string(g.count - current) + " new partitions");
  }
  for (const auto& replicas : *g.assignments) {
    if (replicas != std::vector<int32_t>{node}) {
      return refused(ErrorCode::kInvalidReplicaAssignment,
                     "topic '" + g.name + "': Keel is a single broker (node " + std::to_string(node) +
                         "); each new partition's assignment must be [" + std::to_string(node) + "]");
    }
  }
  return std::nullopt;
}

Outcome grow(Services& services, const Growth& g, bool validate_only) {
  const auto topic = services.broker.describe_topic(g.name);
  if (!topic) return refused(ErrorCode::kUnknownTopicOrPartition, "unknown topic '" + g.name + "'");
  if (auto bad = check_assignments(services, g, topic->partitions)) return *bad;
  std::string message;
  switch (services.broker.create_partitions(g.name, g.count, validate_only, &message)) {
    case KEEL_OK:
      return {};
    case KEEL_ERR_NOT_FOUND:
      return refused(ErrorCode::kUnknownTopicOrPartition, message);
    case KEEL_ERR_INVALID_ARGUMENT:
      return refused(ErrorCode::kInvalidPartitions, message);
    case KEEL_ERR_INVALID_NAME:
      return refused(ErrorCode::kInvalidRequest, message);
    default:
      services.host.warn("CreatePartitions: topic '" + g.name + "': " + message);
      return refused(ErrorCode::kKafkaStorageError, message);
  }
}

}  // namespace

void handle_create_partitions(Services& services, Request& req, const Responder& respond) {
  const bool flex = req.flexible;
  Reader& r = req.body;
  std::vector<Growth> growths;
  const int32_t n = r.array_length(flex);
  for (int32_t i = 0; i < n; ++i) {
    Growth g;
    g.name = r.any_string(flex);
    g.count = r.int32();
    const int32_t assignments = r.array_length(flex);
    if (assignments >= 0) {
      g.assignments.emplace();
      for (int32_t a = 0; a < assignments; ++a) {
        std::vector<int32_t> brokers;
        const int32_t b = r.array_length(flex);
        for (int32_t k = 0; k < b; ++k) brokers.push_back(r.int32());
        if (flex) r.tagged_fields();
        g.assignments->push_back(std::move(brokers));
      }
    }
    if (flex) r.tagged_fields();
    growths.push_back(std::move(g));
  }
  r.int32();  // timeout_ms: the kernel finishes before answering
  const bool validate_only = r.boolean();
  if (flex) r.tagged_fields();

  std::set<std::string> seen;
  std::set<std::string> duplicated;
  for (const auto& g : growths) {
    if (!seen.insert(g.name).second) duplicated.insert(g.name);
  }

  Writer w;
  w.int32(0);  // throttle_time_ms
  w.array_length(static_cast<int32_t>(growths.size()), flex);
  for (const auto& g : growths) {
    // Kafka refuses a topic named twice rather than guess which count wins.
    const Outcome o =
        duplicated.count(g.name)
            ? refused(ErrorCode::kInvalidRequest, "topic '" + g.name + "' is named twice")
        : !topic_allowed(services, req, KEEL_ACL_OP_ALTER, g.name)
            ? refused(ErrorCode::kTopicAuthorizationFailed, "not authorized to ALTER topic '" + g.name + "'")
            : grow(services, g, validate_only);
    w.string(g.name, flex);
    w.int16(code(o.error));
    w.nullable_string(o.message, flex);
    w.tagged_fields(flex);
  }
  w.tagged_fields(flex);
  respond.send(std::move(w));
}

}  // namespace keel::kafka
