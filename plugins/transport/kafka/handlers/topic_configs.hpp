// What CreateTopics, DescribeConfigs, AlterConfigs and
// IncrementalAlterConfigs share: a topic's Kafka configs read from the
// broker, and changes to them made through alter_topic. The mapping itself
// is the transports' common table (common/kafka_topic_configs.hpp).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "../protocol/errors.hpp"
#include "../protocol/writer.hpp"
#include "../services.hpp"
#include "common/kafka_topic_configs.hpp"

namespace keel::kafka {

// DescribeConfigs' ConfigSource values.
constexpr int8_t kDynamicTopicConfig = 1;
constexpr int8_t kStaticBrokerConfig = 4;
constexpr int8_t kDefaultConfig = 5;
// ConfigResource types.
constexpr int8_t kTopicResource = 2;
constexpr int8_t kBrokerResource = 4;

struct DescribedConfig {
  transport::KafkaTopicConfig config;
  int8_t source = kDefaultConfig;
  bool read_only = false;
  std::string default_value;  // the value without the topic's own setting
};

// The Kafka configs of an existing topic. A topic declared in the broker's
// file (or internal) reports its own settings as STATIC_BROKER_CONFIG and
// everything read-only: alter_topic refuses it.
std::optional<std::vector<DescribedConfig>> describe_topic_configs(Services& services,
                                                                   const std::string& name, ErrorCode* error,
                                                                   std::string* message);

// The Kafka configs of a topic that would have `settings_toml` as its own
// settings (CreateTopics with validate_only: there is no topic to ask).
std::vector<DescribedConfig> configs_of_new_topic(Services& services, const std::string& settings_toml);

// Applies Kafka config changes to an existing topic through alter_topic
// (`replace_all`: AlterConfigs, whose unnamed configs go back to their
// defaults). Returns the error to answer, kNone when done (or, with
// validate_only, when it would be).
ErrorCode alter_topic_configs(Services& services, const std::string& name,
                              const transport::KafkaConfigChanges& changes, bool replace_all,
                              bool validate_only, std::string* message);

// Whether AlterConfigs/IncrementalAlterConfigs may change this resource:
// kNone for a topic with a valid name.
ErrorCode check_alter_resource(int8_t type, const std::string& name, std::string* message);

// ConfigType of a Kafka topic config (DescribeConfigs v3+).
int8_t config_type(const std::string& name);

// One answer of AlterConfigs / IncrementalAlterConfigs (same layout).
struct AlterResult {
  ErrorCode error = ErrorCode::kNone;
  std::optional<std::string> message;
  int8_t type = 0;
  std::string name;
};
void write_alter_response(Writer& w, const std::vector<AlterResult>& results, bool flex);

}  // namespace keel::kafka
