// Kafka's topic configs (cleanup.policy, retention.ms, segment.bytes, ...)
// in Keel's terms and back: the one table both built-in transports use, the
// Kafka transport for CreateTopics, DescribeConfigs, AlterConfigs and
// IncrementalAlterConfigs, the HTTP transport for its topic view and
// POST /topics "configs".
//
// Why here: the names are Kafka's vocabulary, which the kernel must not
// speak (it knows no plugin by name, and a topic's strategies are data to
// it). The table does name the built-in strategies (time, size,
// compaction), but only as data: it reads and writes the keys of a
// [topics.<name>] table (retention = [...], plugins.time.retention_ms, ...)
// that the broker API's topic_settings, create_topic and alter_topic carry,
// and the kernel and the strategies judge the result exactly as they judge
// the TOML file. Both transports link this static library, so the mapping
// is written once and shows the same in both.
//
// Threads: pure functions.
#pragma once

#include <keel/broker.hpp>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace keel::transport {

// One Kafka topic config of a topic, as DescribeConfigs reports it.
struct KafkaTopicConfig {
  std::string name;
  std::string value;
  // The topic sets it itself (Kafka: DYNAMIC_TOPIC_CONFIG), rather than
  // taking the broker's default.
  bool own = false;
  // Keel serves only this value (e.g. message.timestamp.type=CreateTime).
  bool read_only = false;
};

// The Kafka configs of a topic whose settings are `settings` (the broker
// API's topic_settings), sorted by name.
std::vector<KafkaTopicConfig> kafka_topic_configs(const std::vector<sdk::TopicSetting>& settings);

// Kafka config changes: name -> new value, or nullopt to go back to the
// default.
using KafkaConfigChanges = std::map<std::string, std::optional<std::string>>;

// The topic's own settings (TOML for create_topic/alter_topic) after
// `changes`. `current`: the topic's settings now (topic_settings; only its
// own ones are kept), empty for a new topic. `defaults`: the topic defaults
// (topic_settings(nullptr)), whose retention strategies a topic keeps when
// cleanup.policy is not given. `replace_all` (AlterConfigs): every Kafka
// config not in `changes` goes back to its default too. Own settings no
// Kafka config maps to (partitioner, index, other plugins' keys) stay.
// Returns nullopt and sets *error (naming the config and its value, and
// what Keel accepts) when a config has no Keel equivalent or a bad value.
std::optional<std::string> keel_topic_settings(const std::vector<sdk::TopicSetting>& current,
                                               const std::vector<sdk::TopicSetting>& defaults,
                                               const KafkaConfigChanges& changes, bool replace_all,
                                               std::string* error);

// cleanup.policy is Kafka's one list-typed topic config (APPEND/SUBTRACT).
bool is_list_config(const std::string& name);

// "cleanup.policy (delete, compact, compact,delete), retention.ms, ...":
// what Keel accepts, for messages and docs.
std::string supported_kafka_topic_configs();

}  // namespace keel::transport
