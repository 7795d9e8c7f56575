// DescribeConfigs (key 32), v0-1. Admin tools call it routinely, so it must
// answer, but it only reports values Keel can vouch for: for a topic, what
// the broker API's topic_details gives (segment size and age, largest
// batch) and cleanup.policy=delete (Keel never compacts); for the broker,
// what the transport itself knows. Retention lives in the retention
// plugins' settings, which the broker API does not expose, so it is not
// reported. Everything is read-only: settings change in the broker's TOML
// or at CreateTopics, not through AlterConfigs.
#include <algorithm>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "../protocol/errors.hpp"
#include "../services.hpp"
#include "handlers.hpp"
#include "topic_names.hpp"

namespace keel::kafka {
namespace {

constexpr int8_t kTopicResource = 2;
constexpr int8_t kBrokerResource = 4;
// ConfigSource values (DescribeConfigsResponse v1+).
constexpr int8_t kStaticBrokerConfig = 4;
constexpr int8_t kDefaultConfig = 5;

struct ConfigEntry {
  std::string name;
  std::string value;
  int8_t source;
};

struct ResourceResult {
  ErrorCode error = ErrorCode::kNone;
  std::optional<std::string> message;
  int8_t type = 0;
  std::string name;
  std::vector<ConfigEntry> configs;
};

std::vector<ConfigEntry> broker_configs(Services& services) {
  const auto& s = services.settings;
  return {
      {"broker.id", std::to_string(s.node_id), kStaticBrokerConfig},
      {"advertised.listeners",
       "PLAINTEXT://" + s.advertised_host + ":" + std::to_string(services.advertised_port),
       kStaticBrokerConfig},
      {"auto.create.topics.enable", services.broker.auto_create_topics() ? "true" : "false",
       kStaticBrokerConfig},
      {"socket.request.max.bytes", std::to_string(s.max_request_bytes), kStaticBrokerConfig},
  };
}

// Values from the topic's settings ([topics.<name>] or [topic_defaults] in
// the broker's TOML: "static" in Kafka's terms).
void add_topic_details(Services& services, const std::string& name, std::vector<ConfigEntry>* out) {
  sdk::TopicDetails d;
  if (services.broker.topic_details(name, &d) != KEEL_OK) return;
  out->push_back({"max.message.bytes", std::to_string(d.max_batch_bytes), kStaticBrokerConfig});
  out->push_back({"segment.bytes", std::to_string(d.segment_bytes), kStaticBrokerConfig});
  out->push_back({"segment.ms", std::to_string(d.segment_ms), kStaticBrokerConfig});
}

ResourceResult describe(Services& services, int8_t type, const std::string& name) {
  ResourceResult res;
  res.type = type;
  res.name = name;
  auto fail = [&](ErrorCode e, std::string message) {
    res.error = e;
    res.message = std::move(message);
    return res;
  };
  if (type == kTopicResource) {
    if (!valid_topic_name(name))
      return fail(ErrorCode::kInvalidTopicException, invalid_topic_name_message(name));
    if (!services.broker.describe_topic(name)) {
      return fail(ErrorCode::kUnknownTopicOrPartition, "unknown topic '" + name + "'");
    }
    res.configs = {{"cleanup.policy", "delete", kDefaultConfig}};
    add_topic_details(services, name, &res.configs);
    return res;
  }
  if (type == kBrokerResource) {
    // Empty = the cluster-wide dynamic defaults, of which Keel has none.
    if (name.empty()) return res;
    if (name != std::to_string(services.settings.node_id)) {
      return fail(ErrorCode::kInvalidRequest, "unexpected broker id '" + name + "': this broker is node " +
                                                  std::to_string(services.settings.node_id));
    }
    res.configs = broker_configs(services);
    return res;
  }
  return fail(ErrorCode::kInvalidRequest, "resource type " + std::to_string(type) +
                                              " is not supported: Keel describes topics (2) and brokers (4)");
}

}  // namespace

void handle_describe_configs(Services& services, Request& req, const Responder& respond) {
  const int16_t v = req.api_version;
  const bool flex = req.flexible;
  Reader& r = req.body;

  std::vector<ResourceResult> results;
  const int32_t n = r.array_length(flex);
  for (int32_t i = 0; i < n; ++i) {
    const int8_t type = r.int8();
    std::string name = r.any_string(flex);
    std::optional<std::vector<std::string>> keys;  // nullopt = all
    const int32_t k = r.array_length(flex);
    if (k >= 0) {
      keys.emplace();
      for (int32_t j = 0; j < k; ++j) keys->push_back(r.any_string(flex));
    }
    if (flex) r.tagged_fields();
    ResourceResult res = describe(services, type, name);
    if (keys) {
      // Keys Keel does not know are left out, as Kafka does.
      std::erase_if(res.configs, [&](const ConfigEntry& c) {
        return std::find(keys->begin(), keys->end(), c.name) == keys->end();
      });
    }
    results.push_back(std::move(res));
  }
  const bool include_synonyms = v >= 1 ? r.boolean() : false;
  if (flex) r.tagged_fields();

  Writer w;
  w.int32(0);  // throttle_time_ms
  w.array_length(static_cast<int32_t>(results.size()), flex);
  for (const auto& res : results) {
    w.int16(code(res.error));
    w.nullable_string(res.message, flex);
    w.int8(res.type);
    w.string(res.name, flex);
    w.array_length(static_cast<int32_t>(res.configs.size()), flex);
    for (const auto& c : res.configs) {
      w.string(c.name, flex);
      w.nullable_string(c.value, flex);
      w.boolean(true);  // read_only
      if (v == 0) {
        w.boolean(c.source == kDefaultConfig);  // is_default
      } else {
        w.int8(c.source);
      }
      w.boolean(false);  // is_sensitive
      if (v >= 1) {
        // Kafka lists the entry itself first among its synonyms.
        w.array_length(include_synonyms ? 1 : 0, flex);
        if (include_synonyms) {
          w.string(c.name, flex);
          w.nullable_string(c.value, flex);
          w.int8(c.source);
          w.tagged_fields(flex);
        }
      }
      w.tagged_fields(flex);
    }
    w.tagged_fields(flex);
  }
  w.tagged_fields(flex);
  respond.send(std::move(w));
}

}  // namespace keel::kafka
