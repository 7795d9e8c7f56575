// CreateTopics (key 19), v0-7 (flexible from v5). Keel is one node, so a
// topic has one replica and no manual placement; num_partitions and
// replication_factor -1 mean the broker's defaults (KIP-464, v4+). The
// Kafka topic configs become the new topic's settings through the
// transports' shared table (kept with the topic across restarts); a config
// with no Keel equivalent is refused rather than silently ignored: a client
// asking for something must not believe it got it. v5+ answers with the
// created topic's configs; v7's topic id is the zero UUID (Keel has no
// topic ids).
#include <charconv>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "../authorization.hpp"
#include "../protocol/errors.hpp"
#include "../services.hpp"
#include "handlers.hpp"
#include "topic_configs.hpp"
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
  TopicResult(std::string n, ErrorCode e, std::optional<std::string> m)
      : name(std::move(n)), error(e), message(std::move(m)) {}
  std::string name;
  ErrorCode error = ErrorCode::kNone;
  std::optional<std::string> message;
  // v5+: what the topic got (or, validate_only, would get).
  int32_t partitions = -1;
  // -1 when the cluster's default applies (placed by the controller).
  int16_t replication_factor = 1;
  std::optional<std::vector<DescribedConfig>> configs;
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

// The topic's own settings (TOML) for its Kafka configs, through the
// transports' shared table; sets *error (naming the config) and returns ""
// when one has no Keel equivalent. Ranges are checked by the broker and
// the strategies when the topic is created.
std::string topic_settings(Services& services, const TopicRequest& t, std::string* error) {
  transport::KafkaConfigChanges changes;
  for (const auto& [name, value] : t.configs) {
    if (changes.count(name)) {
      *error = "topic config '" + name + "' appears more than once";
      return "";
    }
    changes[name] = value;  // null: the default
  }
  std::vector<sdk::TopicSetting> defaults;
  services.broker.topic_settings(nullptr, &defaults);
  auto toml = transport::keel_topic_settings({}, defaults, changes, false, error);
  if (!toml) return "";
  // In a cluster the request's replication factor is the topic's own (on a
  // single node check() allowed only 1 or -1: nothing to keep).
  const auto cluster = services.broker.cluster_info();
  if (cluster && cluster->clustered && t.replication_factor > 0) {
    *toml += "replication_factor = " + std::to_string(t.replication_factor) + "\n";
  }
  return *toml;
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
  const auto cluster = services.broker.cluster_info();
  const bool clustered = cluster && cluster->clustered;
  if (!clustered && t.replication_factor != -1 && t.replication_factor != 1) {
    return fail(ErrorCode::kInvalidReplicationFactor,
                "replication_factor must be 1 (or -1 for the default): this Keel broker runs alone (no "
                "[cluster]) and keeps one copy of each partition; got " +
                    std::to_string(t.replication_factor));
  }
  if (clustered && (t.replication_factor == 0 || t.replication_factor < -1 || t.replication_factor > 16)) {
    return fail(
        ErrorCode::kInvalidReplicationFactor,
        "replication_factor must be 1..16 (or -1 for the cluster's default_replication_factor); got " +
            std::to_string(t.replication_factor));
  }
  if (clustered && t.replication_factor > 0) {
    const auto live = static_cast<int16_t>(services.broker.brokers("kafka").size());
    if (t.replication_factor > live) {
      return fail(ErrorCode::kInvalidReplicationFactor,
                  "replication_factor " + std::to_string(t.replication_factor) + " is larger than the " +
                      std::to_string(live) + " live broker(s) of the cluster");
    }
  }
  std::string error;
  const std::string settings = topic_settings(services, t, &error);
  if (!error.empty()) return fail(ErrorCode::kInvalidConfig, "topic '" + t.name + "': " + error);
  TopicResult ok{t.name, ErrorCode::kNone, std::nullopt};
  ok.configs = configs_of_new_topic(services, settings);
  ok.partitions = t.partitions;
  if (clustered) ok.replication_factor = t.replication_factor;
  if (ok.partitions < 0) {  // KIP-464: the broker's default
    std::vector<sdk::TopicSetting> defaults;
    services.broker.topic_settings(nullptr, &defaults);
    for (const auto& d : defaults) {
      if (d.key == "partitions") ok.partitions = std::stoi(d.value);
    }
  }
  return ok;
}

TopicResult create(Services& services, const TopicRequest& t) {
  std::string error;
  const std::string settings = topic_settings(services, t, &error);
  std::string message;
  const keel_status s =
      services.broker.create_topic(t.name, t.partitions > 0 ? t.partitions : 0, settings, &message);
  switch (s) {
    case KEEL_OK: {
      TopicResult ok{t.name, ErrorCode::kNone, std::nullopt};
      if (auto info = services.broker.describe_topic(t.name)) ok.partitions = info->partitions;
      ErrorCode e = ErrorCode::kNone;
      ok.configs = describe_topic_configs(services, t.name, &e, &message);
      return ok;
    }
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

  // CREATE on the cluster covers every topic; without it, each topic needs
  // its own (Kafka's rule).
  const bool cluster_create = cluster_allowed(services, req, KEEL_ACL_OP_CREATE, false);
  std::vector<TopicResult> results;
  for (const auto& t : topics) {
    if (!cluster_create && !topic_allowed(services, req, KEEL_ACL_OP_CREATE, t.name)) {
      results.push_back(TopicResult{t.name, ErrorCode::kTopicAuthorizationFailed,
                                    "not authorized to CREATE topic '" + t.name + "'"});
      continue;
    }
    if (duplicated.count(t.name)) {
      results.push_back(TopicResult{t.name, ErrorCode::kInvalidRequest,
                                    "topic '" + t.name + "' appears more than once in the request"});
      continue;
    }
    TopicResult result = check(services, t);
    if (result.error == ErrorCode::kNone && !validate_only) result = create(services, t);
    // The new topic's configs (v5+) only for a principal that may read
    // them (Kafka asks DESCRIBE_CONFIGS; a "no" only leaves them out).
    if (result.configs && !topic_allowed(services, req, KEEL_ACL_OP_DESCRIBE_CONFIGS, t.name, false)) {
      result.configs.reset();
    }
    results.push_back(std::move(result));
  }

  Writer w;
  if (v >= 2) w.int32(0);  // throttle_time_ms
  w.array_length(static_cast<int32_t>(results.size()), flex);
  for (const auto& res : results) {
    w.string(res.name, flex);
    // Keel has no topic ids: the zero UUID, as Kafka sends for "none".
    if (v >= 7) w.raw(std::string(16, '\0'));
    w.int16(code(res.error));
    if (v >= 1) w.nullable_string(res.message, flex);
    if (v >= 5) {
      const bool ok = res.error == ErrorCode::kNone;
      w.int32(ok ? res.partitions : -1);
      w.int16(ok ? res.replication_factor : -1);
      if (!ok || !res.configs) {
        w.array_length(-1, flex);
      } else {
        w.array_length(static_cast<int32_t>(res.configs->size()), flex);
        for (const auto& c : *res.configs) {
          w.string(c.config.name, flex);
          w.nullable_string(c.config.value, flex);
          w.boolean(c.read_only);
          w.int8(c.source);
          w.boolean(false);  // is_sensitive
          w.tagged_fields(flex);
        }
      }
    }
    w.tagged_fields(flex);
  }
  w.tagged_fields(flex);
  respond.send(std::move(w));
}

}  // namespace keel::kafka
