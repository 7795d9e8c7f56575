// DescribeConfigs (key 32), v0-4 (flexible from v4). A topic's configs are
// Kafka's names for its Keel settings (the transports' shared table,
// common/kafka_topic_configs.hpp): the ones it sets itself are
// DYNAMIC_TOPIC_CONFIG (changed by CreateTopics, AlterConfigs or
// IncrementalAlterConfigs), the others DEFAULT_CONFIG; a topic declared in
// the broker's TOML file reports its own as STATIC_BROKER_CONFIG, and all
// read-only, since its settings change only there. For the broker: what
// the transport itself knows, read-only.
#include <algorithm>
#include <cstddef>
#include <optional>
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

struct ConfigEntry {
  ConfigEntry(std::string n, std::string v, int8_t s, bool ro = true, std::string d = "")
      : name(std::move(n)), value(std::move(v)), source(s), read_only(ro), default_value(std::move(d)) {}
  std::string name;
  std::string value;
  int8_t source;
  bool read_only;
  std::string default_value;  // synonyms: what it would be without the topic's own setting
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
  std::string advertised;
  for (size_t i = 0; i < s.listeners.size(); ++i) {
    const int32_t port = i < services.advertised_ports.size() ? services.advertised_ports[i] : 0;
    advertised += (i > 0 ? "," : "") + s.listeners[i].security_protocol + "://" +
                  s.listeners[i].advertised_host + ":" + std::to_string(port);
  }
  return {
      {"broker.id", std::to_string(services.node_id()), kStaticBrokerConfig},
      {"advertised.listeners", advertised, kStaticBrokerConfig},
      {"auto.create.topics.enable", services.broker.auto_create_topics() ? "true" : "false",
       kStaticBrokerConfig},
      {"socket.request.max.bytes", std::to_string(s.max_request_bytes), kStaticBrokerConfig},
  };
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
    ErrorCode error = ErrorCode::kNone;
    std::string message;
    auto configs = describe_topic_configs(services, name, &error, &message);
    if (!configs) return fail(error, message);
    for (auto& c : *configs) {
      res.configs.emplace_back(c.config.name, c.config.value, c.source, c.read_only, c.default_value);
    }
    return res;
  }
  if (type == kBrokerResource) {
    // Empty = the cluster-wide dynamic defaults, of which Keel has none.
    if (name.empty()) return res;
    if (name != std::to_string(services.node_id())) {
      return fail(ErrorCode::kInvalidRequest, "unexpected broker id '" + name + "': this broker is node " +
                                                  std::to_string(services.node_id()));
    }
    res.configs = broker_configs(services);
    return res;
  }
  return fail(ErrorCode::kInvalidRequest, "resource type " + std::to_string(type) +
                                              " is not supported: Keel describes topics (2) and brokers (4)");
}

void write_synonym(Writer& w, const std::string& name, const std::string& value, int8_t source, bool flex) {
  w.string(name, flex);
  w.nullable_string(value, flex);
  w.int8(source);
  w.tagged_fields(flex);
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
    ResourceResult res;
    if (const ErrorCode denied = config_denial(services, req, type, name, KEEL_ACL_OP_DESCRIBE_CONFIGS);
        denied != ErrorCode::kNone) {
      res.type = type;
      res.name = name;
      res.error = denied;
      res.message = "not authorized to DESCRIBE_CONFIGS";
    } else {
      res = describe(services, type, name);
    }
    if (keys) {
      // Keys Keel does not know are left out, as Kafka does.
      std::erase_if(res.configs, [&](const ConfigEntry& c) {
        return std::find(keys->begin(), keys->end(), c.name) == keys->end();
      });
    }
    results.push_back(std::move(res));
  }
  const bool include_synonyms = v >= 1 ? r.boolean() : false;
  if (v >= 3) r.boolean();  // include_documentation: Keel has none to send (null)
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
      w.boolean(c.read_only);
      if (v == 0) {
        w.boolean(c.source == kDefaultConfig);  // is_default
      } else {
        w.int8(c.source);
      }
      w.boolean(false);  // is_sensitive
      if (v >= 1) {
        // Kafka lists the entry itself first, then what it overrides.
        const bool overrides = res.type == kTopicResource && c.source != kDefaultConfig;
        w.array_length(!include_synonyms ? 0 : overrides ? 2 : 1, flex);
        if (include_synonyms) {
          write_synonym(w, c.name, c.value, c.source, flex);
          if (overrides) write_synonym(w, c.name, c.default_value, kDefaultConfig, flex);
        }
      }
      if (v >= 3) {
        w.int8(res.type == kTopicResource ? config_type(c.name) : 0);
        w.nullable_string(std::nullopt, flex);  // documentation
      }
      w.tagged_fields(flex);
    }
    w.tagged_fields(flex);
  }
  w.tagged_fields(flex);
  respond.send(std::move(w));
}

}  // namespace keel::kafka
