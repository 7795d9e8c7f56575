// Metadata (key 3), v0-4. Keel is one node: it is every partition's leader,
// its only replica and the controller. Unknown topics named in the request
// are created when both the client (v4 flag; implied before v4) and the
// broker (broker.auto_create_topics) allow it, as Kafka does.
#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "../protocol/errors.hpp"
#include "../services.hpp"
#include "handlers.hpp"
#include "topic_names.hpp"

namespace keel::kafka {
namespace {

// Kafka answers with the cluster id from v2; a fixed one is enough for a
// single node (clients only compare it across brokers).
constexpr const char* kClusterId = "keel";

struct TopicAnswer {
  ErrorCode error = ErrorCode::kNone;
  std::string name;
  bool internal = false;
  int32_t partitions = 0;
};

TopicAnswer lookup(Services& services, const std::string& name, bool allow_create) {
  TopicAnswer answer{ErrorCode::kNone, name, false, 0};
  if (!valid_topic_name(name)) {
    answer.error = ErrorCode::kInvalidTopicException;
    return answer;
  }
  auto info = services.broker.describe_topic(name);
  if (!info && allow_create && services.broker.auto_create_topics()) {
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

}  // namespace

void handle_metadata(Services& services, Request& req, const Responder& respond) {
  const int16_t v = req.api_version;
  const bool flex = req.flexible;
  Reader& r = req.body;

  // nullopt = every topic.
  std::optional<std::vector<std::string>> requested;
  const int32_t n = r.array_length(flex);
  if (n >= 0 && !(v == 0 && n == 0)) {
    requested.emplace();
    for (int32_t i = 0; i < n; ++i) {
      std::string name = r.any_string(flex);
      if (flex) r.tagged_fields();
      if (std::find(requested->begin(), requested->end(), name) == requested->end()) {
        requested->push_back(std::move(name));
      }
    }
  }
  const bool allow_create = v >= 4 ? r.boolean() : true;
  if (flex) r.tagged_fields();

  std::vector<TopicAnswer> topics;
  if (requested) {
    for (const auto& name : *requested) topics.push_back(lookup(services, name, allow_create));
  } else {
    for (const auto& t : services.broker.list_topics()) {
      topics.push_back(TopicAnswer{ErrorCode::kNone, t.name, t.internal, t.partitions});
    }
  }

  const int32_t node = services.settings.node_id;
  Writer w;
  if (v >= 3) w.int32(0);  // throttle_time_ms
  w.array_length(1, flex);
  w.int32(node);
  w.string(services.settings.advertised_host, flex);
  w.int32(services.advertised_port);
  if (v >= 1) w.nullable_string(std::nullopt, flex);  // rack
  w.tagged_fields(flex);
  if (v >= 2) w.nullable_string(std::string(kClusterId), flex);
  if (v >= 1) w.int32(node);  // controller_id
  w.array_length(static_cast<int32_t>(topics.size()), flex);
  for (const auto& t : topics) {
    w.int16(code(t.error));
    w.string(t.name, flex);
    if (v >= 1) w.boolean(t.internal);
    w.array_length(t.partitions, flex);
    for (int32_t p = 0; p < t.partitions; ++p) {
      w.int16(code(ErrorCode::kNone));
      w.int32(p);
      w.int32(node);  // leader
      w.array_length(1, flex);
      w.int32(node);  // replicas
      w.array_length(1, flex);
      w.int32(node);  // in-sync replicas
      w.tagged_fields(flex);
    }
    w.tagged_fields(flex);
  }
  w.tagged_fields(flex);
  respond.send(std::move(w));
}

}  // namespace keel::kafka
