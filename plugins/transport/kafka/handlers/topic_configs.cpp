#include "topic_configs.hpp"

#include <map>

#include "topic_names.hpp"

namespace keel::kafka {
namespace {

std::map<std::string, std::string> values_of(const std::vector<transport::KafkaTopicConfig>& configs) {
  std::map<std::string, std::string> out;
  for (const auto& c : configs) out[c.name] = c.value;
  return out;
}

std::vector<DescribedConfig> described(const std::vector<sdk::TopicSetting>& settings,
                                       const std::vector<sdk::TopicSetting>& defaults, bool fixed) {
  const auto default_values = values_of(transport::kafka_topic_configs(defaults));
  std::vector<DescribedConfig> out;
  for (auto& c : transport::kafka_topic_configs(settings)) {
    DescribedConfig d;
    d.source = !c.own ? kDefaultConfig : fixed ? kStaticBrokerConfig : kDynamicTopicConfig;
    d.read_only = c.read_only || fixed;
    auto it = default_values.find(c.name);
    d.default_value = it == default_values.end() ? c.value : it->second;
    d.config = std::move(c);
    out.push_back(std::move(d));
  }
  return out;
}

ErrorCode topic_config_error(keel_status s) {
  switch (s) {
    case KEEL_OK:
      return ErrorCode::kNone;
    case KEEL_ERR_NOT_FOUND:
      return ErrorCode::kUnknownTopicOrPartition;
    case KEEL_ERR_INVALID_ARGUMENT:
      return ErrorCode::kInvalidConfig;
    case KEEL_ERR_UNSUPPORTED:
      // A declared or internal topic, or a setting fixed at creation.
      return ErrorCode::kPolicyViolation;
    default:
      return ErrorCode::kUnknownServerError;
  }
}

}  // namespace

std::optional<std::vector<DescribedConfig>> describe_topic_configs(Services& services,
                                                                   const std::string& name, ErrorCode* error,
                                                                   std::string* message) {
  std::vector<sdk::TopicSetting> settings, defaults;
  keel_status s = services.broker.topic_settings(&name, &settings);
  if (s == KEEL_OK) s = services.broker.topic_settings(nullptr, &defaults);
  sdk::TopicDetails d;
  if (s == KEEL_OK) s = services.broker.topic_details(name, &d);
  if (s != KEEL_OK) {
    *error = s == KEEL_ERR_NOT_FOUND ? ErrorCode::kUnknownTopicOrPartition : ErrorCode::kUnknownServerError;
    *message = s == KEEL_ERR_NOT_FOUND
                   ? "unknown topic '" + name + "'"
                   : "could not read the settings of topic '" + name + "' (" + std::to_string(s) + ")";
    return std::nullopt;
  }
  const auto info = services.broker.describe_topic(name);
  return described(settings, defaults, d.declared || (info && info->internal));
}

std::vector<DescribedConfig> configs_of_new_topic(Services& services, const std::string& settings_toml) {
  std::vector<sdk::TopicSetting> defaults;
  services.broker.topic_settings(nullptr, &defaults);
  // settings_toml is keel_topic_settings' own output: one "key = value"
  // line per setting.
  std::vector<sdk::TopicSetting> settings = defaults;
  size_t start = 0;
  while (start < settings_toml.size()) {
    size_t end = settings_toml.find('\n', start);
    if (end == std::string::npos) end = settings_toml.size();
    const std::string line = settings_toml.substr(start, end - start);
    start = end + 1;
    const size_t eq = line.find(" = ");
    if (eq == std::string::npos) continue;
    const std::string key = line.substr(0, eq);
    std::erase_if(settings, [&](const sdk::TopicSetting& t) { return t.key == key; });
    settings.push_back({key, line.substr(eq + 3), true});
  }
  return described(settings, defaults, false);
}

ErrorCode alter_topic_configs(Services& services, const std::string& name,
                              const transport::KafkaConfigChanges& changes, bool replace_all,
                              bool validate_only, std::string* message) {
  std::vector<sdk::TopicSetting> current, defaults;
  keel_status s = services.broker.topic_settings(&name, &current);
  if (s == KEEL_OK) s = services.broker.topic_settings(nullptr, &defaults);
  if (s != KEEL_OK) {
    *message = s == KEEL_ERR_NOT_FOUND ? "unknown topic '" + name + "'"
                                       : "could not read the settings of topic '" + name + "'";
    return topic_config_error(s);
  }
  std::string error;
  const auto toml = transport::keel_topic_settings(current, defaults, changes, replace_all, &error);
  if (!toml) {
    *message = "topic '" + name + "': " + error;
    return ErrorCode::kInvalidConfig;
  }
  s = services.broker.alter_topic(name, *toml, validate_only, message);
  if (s != KEEL_OK && s != KEEL_ERR_NOT_FOUND && s != KEEL_ERR_INVALID_ARGUMENT &&
      s != KEEL_ERR_UNSUPPORTED) {
    services.host.warn("AlterConfigs: could not alter topic '" + name + "': " + *message);
  }
  return topic_config_error(s);
}

ErrorCode check_alter_resource(int8_t type, const std::string& name, std::string* message) {
  if (type == kBrokerResource) {
    *message =
        "Keel has no dynamic broker configs: the broker's settings are in its TOML file "
        "(see docs/configuration.md)";
    return ErrorCode::kPolicyViolation;
  }
  if (type != kTopicResource) {
    *message = "resource type " + std::to_string(type) + " is not supported: Keel alters topics (2)";
    return ErrorCode::kInvalidRequest;
  }
  if (!valid_topic_name(name)) {
    *message = invalid_topic_name_message(name);
    return ErrorCode::kInvalidTopicException;
  }
  return ErrorCode::kNone;
}

int8_t config_type(const std::string& name) {
  // ConfigType: BOOLEAN 1, STRING 2, INT 3, SHORT 4, LONG 5, DOUBLE 6, LIST 7.
  if (transport::is_list_config(name)) return 7;
  if (name == "min.cleanable.dirty.ratio") return 6;
  if (name == "max.message.bytes" || name == "min.insync.replicas") return 3;
  if (name == "message.timestamp.type" || name == "compression.type") return 2;
  return 5;
}

void write_alter_response(Writer& w, const std::vector<AlterResult>& results, bool flex) {
  w.int32(0);  // throttle_time_ms
  w.array_length(static_cast<int32_t>(results.size()), flex);
  for (const auto& r : results) {
    w.int16(code(r.error));
    w.nullable_string(r.message, flex);
    w.int8(r.type);
    w.string(r.name, flex);
    w.tagged_fields(flex);
  }
  w.tagged_fields(flex);
}

}  // namespace keel::kafka
