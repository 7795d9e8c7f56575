// CreateTopics (key 19), v0-3. Keel is one node, so a topic has one replica
// and no manual placement. The Kafka topic configs that have a Keel
// equivalent become the new topic's settings (kept with it across
// restarts); any other config is refused rather than silently ignored: a
// client asking for compaction must not believe it got it.
#include <charconv>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "../protocol/errors.hpp"
#include "../services.hpp"
#include "handlers.hpp"
#include "topic_names.hpp"

namespace keel::kafka {
namespace {

// The kernel's limit (broker.cpp); checked here so validate_only sees it.
constexpr int32_t kMaxPartitions = 10000;

struct TopicRequest {
  std::string name;
  int32_t partitions = -1;
  int16_t replication_factor = -1;
  int32_t assignments = 0;
  std::vector<std::pair<std::string, std::optional<std::string>>> configs;
};

struct TopicResult {
  std::string name;
  ErrorCode error = ErrorCode::kNone;
  std::optional<std::string> message;
};

TopicRequest read_topic(Reader& r, bool flex) {
  TopicRequest t;
  t.name = r.any_string(flex);
  t.partitions = r.int32();
  t.replication_factor = r.int16();
  t.assignments = r.array_length(flex);
  for (int32_t i = 0; i < t.assignments; ++i) {
    r.int32();  // partition_index
    const int32_t brokers = r.array_length(flex);
    for (int32_t b = 0; b < brokers; ++b) r.int32();
    if (flex) r.tagged_fields();
  }
  const int32_t configs = r.array_length(flex);
  for (int32_t i = 0; i < configs; ++i) {
    std::string name = r.any_string(flex);
    auto value = r.any_nullable_string(flex);
    if (flex) r.tagged_fields();
    t.configs.emplace_back(std::move(name), std::move(value));
  }
  if (flex) r.tagged_fields();
  return t;
}

// Kafka topic configs and the [topics.<name>] keys they become.
struct ConfigMapping {
  const char* kafka;
  const char* keel;
};
constexpr ConfigMapping kConfigMappings[] = {
    {"segment.bytes", "segment_bytes"},
    {"segment.ms", "segment_ms"},
    {"max.message.bytes", "max_batch_bytes"},
    {"retention.ms", "plugins.time.retention_ms"},
    {"retention.bytes", "plugins.size.retention_bytes"},
};

// The topic's settings as TOML keys of a [topics.<name>] table; sets
// *error (and returns "") when a config has no Keel equivalent. Ranges are
// checked by the broker when it creates the topic.
std::string topic_settings(const TopicRequest& t, std::string* error) {
  std::string toml;
  for (const auto& [name, value] : t.configs) {
    if (!value) continue;                                          // null: the default
    if (name == "cleanup.policy" && *value == "delete") continue;  // what Keel does anyway
    const ConfigMapping* m = nullptr;
    for (const auto& candidate : kConfigMappings) {
      if (name == candidate.kafka) m = &candidate;
    }
    int64_t n = 0;
    const auto [end, ec] = std::from_chars(value->data(), value->data() + value->size(), n);
    if (m == nullptr || ec != std::errc() || end != value->data() + value->size()) {
      std::string supported = "cleanup.policy=delete";
      for (const auto& c : kConfigMappings) supported += std::string(", ") + c.kafka;
      *error = "topic config '" + name + "=" + *value + "' is not supported: Keel accepts " + supported +
               " (integers); other settings are set in the broker's TOML file ([topics.<name>] or "
               "[topic_defaults], see docs/configuration.md)";
      return "";
    }
    toml += std::string(m->keel) + " = " + std::to_string(n) + "\n";
  }
  return toml;
}

// Everything that can be decided without touching the broker. Returns
// kNone when the topic may be created.
TopicResult check(Services& services, const TopicRequest& t) {
  auto fail = [&](ErrorCode e, std::string message) { return TopicResult{t.name, e, std::move(message)}; };
  if (!valid_topic_name(t.name))
    return fail(ErrorCode::kInvalidTopicException, invalid_topic_name_message(t.name));
  if (services.broker.describe_topic(t.name)) {
    return fail(ErrorCode::kTopicAlreadyExists, "topic '" + t.name + "' already exists");
  }
  if (t.assignments > 0) {
    return fail(ErrorCode::kInvalidRequest,
                "manual replica assignments are not supported: Keel is a single node that leads every "
                "partition; send num_partitions instead");
  }
  if (t.partitions == 0 || t.partitions < -1 || t.partitions > kMaxPartitions) {
    return fail(ErrorCode::kInvalidPartitions, "num_partitions must be 1.." + std::to_string(kMaxPartitions) +
                                                   ", or -1 for the broker's default; got " +
                                                   std::to_string(t.partitions));
  }
  if (t.replication_factor != -1 && t.replication_factor != 1) {
    return fail(ErrorCode::kInvalidReplicationFactor,
                "replication_factor must be 1 (or -1 for the default): Keel is a single node and keeps one "
                "copy of each partition; got " +
                    std::to_string(t.replication_factor));
  }
  std::string error;
  topic_settings(t, &error);
  if (!error.empty()) return fail(ErrorCode::kInvalidConfig, error);
  return TopicResult{t.name, ErrorCode::kNone, std::nullopt};
}

TopicResult create(Services& services, const TopicRequest& t) {
  std::string error;
  const std::string settings = topic_settings(t, &error);
  std::string message;
  const keel_status s =
      services.broker.create_topic(t.name, t.partitions > 0 ? t.partitions : 0, settings, &message);
  switch (s) {
    case KEEL_OK:
      return TopicResult{t.name, ErrorCode::kNone, std::nullopt};
    case KEEL_ERR_ALREADY_EXISTS:
      return TopicResult{t.name, ErrorCode::kTopicAlreadyExists, message};
    case KEEL_ERR_INVALID_NAME:
      return TopicResult{t.name, ErrorCode::kInvalidTopicException, message};
    case KEEL_ERR_INVALID_ARGUMENT:
      // Name and partition count were checked above: the settings are wrong.
      return TopicResult{t.name, settings.empty() ? ErrorCode::kInvalidRequest : ErrorCode::kInvalidConfig,
                         message};
    default:
      services.host.warn("CreateTopics: could not create topic '" + t.name + "': " + message);
      return TopicResult{t.name, ErrorCode::kUnknownServerError, message};
  }
}

}  // namespace

void handle_create_topics(Services& services, Request& req, const Responder& respond) {
  const int16_t v = req.api_version;
  const bool flex = req.flexible;
  Reader& r = req.body;

  std::vector<TopicRequest> topics;
  const int32_t n = r.array_length(flex);
  for (int32_t i = 0; i < n; ++i) topics.push_back(read_topic(r, flex));
  r.int32();  // timeout_ms: creation is synchronous, so it never runs out
  const bool validate_only = v >= 1 ? r.boolean() : false;
  if (flex) r.tagged_fields();

  std::set<std::string> seen;
  std::set<std::string> duplicated;
  for (const auto& t : topics) {
    if (!seen.insert(t.name).second) duplicated.insert(t.name);
  }

  std::vector<TopicResult> results;
  for (const auto& t : topics) {
    if (duplicated.count(t.name)) {
      results.push_back(TopicResult{t.name, ErrorCode::kInvalidRequest,
                                    "topic '" + t.name + "' appears more than once in the request"});
      continue;
    }
    TopicResult result = check(services, t);
    if (result.error == ErrorCode::kNone && !validate_only) result = create(services, t);
    results.push_back(std::move(result));
  }

  Writer w;
  if (v >= 2) w.int32(0);  // throttle_time_ms
  w.array_length(static_cast<int32_t>(results.size()), flex);
  for (const auto& res : results) {
    w.string(res.name, flex);
    w.int16(code(res.error));
    if (v >= 1) w.nullable_string(res.message, flex);
    w.tagged_fields(flex);
  }
  w.tagged_fields(flex);
  respond.send(std::move(w));
}

}  // namespace keel::kafka
