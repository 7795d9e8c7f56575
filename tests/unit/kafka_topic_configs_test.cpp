// The Kafka topic configs table both transports share, both ways.
#include "common/kafka_topic_configs.hpp"

#include <gtest/gtest.h>

#include <map>

namespace keel::transport {
namespace {

using sdk::TopicSetting;

// What the broker's topic_settings gives for the built-in defaults.
std::vector<TopicSetting> defaults() {
  return {{"partitions", "1", false},
          {"segment_bytes", "1073741824", false},
          {"segment_ms", "604800000", false},
          {"max_batch_bytes", "1048588", false},
          {"flush_mode", "\"every-batch\"", false},
          {"flush_interval_ms", "1000", false},
          {"flush_messages", "10000", false},
          {"index", "[\"sparse-mmap\",\"timestamp\"]", false},
          {"retention", "[\"time\",\"size\"]", false},
          {"partitioner", "\"key-hash\"", false},
          {"min_insync_replicas", "1", false},
          {"preallocate", "true", false}};
}

std::map<std::string, KafkaTopicConfig> by_name(const std::vector<TopicSetting>& s) {
  std::map<std::string, KafkaTopicConfig> out;
  for (auto& c : kafka_topic_configs(s)) out[c.name] = c;
  return out;
}

// Settings after `toml` (one "key = value" per line) on top of defaults().
std::vector<TopicSetting> with(const std::string& toml) {
  auto out = defaults();
  size_t start = 0;
  while (start < toml.size()) {
    size_t end = toml.find('\n', start);
    if (end == std::string::npos) end = toml.size();
    const std::string line = toml.substr(start, end - start);
    start = end + 1;
    const size_t eq = line.find(" = ");
    const std::string key = line.substr(0, eq);
    std::erase_if(out, [&](const TopicSetting& t) { return t.key == key; });
    out.push_back({key, line.substr(eq + 3), true});
  }
  return out;
}

std::string to_keel(const KafkaConfigChanges& changes, const std::vector<TopicSetting>& current = {},
                    bool replace_all = false) {
  std::string error;
  auto toml = keel_topic_settings(current, defaults(), changes, replace_all, &error);
  EXPECT_TRUE(toml.has_value()) << error;
  return toml.value_or("");
}

std::string refusal(const KafkaConfigChanges& changes) {
  std::string error;
  EXPECT_FALSE(keel_topic_settings({}, defaults(), changes, false, &error).has_value());
  return error;
}

TEST(KafkaTopicConfigs, DefaultsReadAsKafkasDefaults) {
  auto c = by_name(defaults());
  EXPECT_EQ(c["cleanup.policy"].value, "delete");
  EXPECT_EQ(c["retention.ms"].value, "604800000");  // the time plugin's default
  EXPECT_EQ(c["retention.bytes"].value, "-1");
  EXPECT_EQ(c["segment.bytes"].value, "1073741824");
  EXPECT_EQ(c["max.message.bytes"].value, "1048588");
  EXPECT_EQ(c["flush.messages"].value, "1");  // every-batch
  EXPECT_EQ(c["min.cleanable.dirty.ratio"].value, "0.5");
  EXPECT_EQ(c["min.insync.replicas"].value, "1");
  EXPECT_EQ(c["message.timestamp.type"].value, "CreateTime");
  EXPECT_TRUE(c["message.timestamp.type"].read_only);
  for (const auto& [name, cfg] : c) EXPECT_FALSE(cfg.own) << name;
}

TEST(KafkaTopicConfigs, CleanupPolicyMapsToRetentionStrategies) {
  EXPECT_EQ(to_keel({{"cleanup.policy", "compact"}}), "retention = [\"compaction\"]\n");
  EXPECT_EQ(to_keel({{"cleanup.policy", "delete"}}), "retention = [\"time\",\"size\"]\n");
  EXPECT_EQ(to_keel({{"cleanup.policy", "compact,delete"}}),
            "retention = [\"compaction\",\"time\",\"size\"]\n");
  EXPECT_EQ(to_keel({{"cleanup.policy", "delete, compact"}}),
            "retention = [\"compaction\",\"time\",\"size\"]\n");
  EXPECT_EQ(by_name(with("retention = [\"compaction\"]"))["cleanup.policy"].value, "compact");
  EXPECT_EQ(by_name(with("retention = [\"compaction\",\"time\"]"))["cleanup.policy"].value, "compact,delete");
  EXPECT_TRUE(by_name(with("retention = [\"compaction\"]"))["cleanup.policy"].own);
  // Keeping everything is "delete" without limits.
  auto forever = by_name(with("retention = []"));
  EXPECT_EQ(forever["cleanup.policy"].value, "delete");
  EXPECT_EQ(forever["retention.ms"].value, "-1");
}

TEST(KafkaTopicConfigs, NumbersRoundTrip) {
  const std::string toml = to_keel({{"cleanup.policy", "compact,delete"},
                                    {"retention.ms", "-1"},
                                    {"retention.bytes", "1048576"},
                                    {"segment.bytes", "16777216"},
                                    {"segment.ms", "3600000"},
                                    {"max.message.bytes", "2097152"},
                                    {"min.compaction.lag.ms", "5000"},
                                    {"delete.retention.ms", "60000"},
                                    {"min.cleanable.dirty.ratio", "0.25"}});
  auto c = by_name(with(toml));
  EXPECT_EQ(c["retention.ms"].value, "-1");
  EXPECT_EQ(c["retention.bytes"].value, "1048576");
  EXPECT_EQ(c["segment.bytes"].value, "16777216");
  EXPECT_EQ(c["segment.ms"].value, "3600000");
  EXPECT_EQ(c["max.message.bytes"].value, "2097152");
  EXPECT_EQ(c["min.compaction.lag.ms"].value, "5000");
  EXPECT_EQ(c["delete.retention.ms"].value, "60000");
  EXPECT_EQ(c["min.cleanable.dirty.ratio"].value, "0.25");
  EXPECT_TRUE(c["segment.bytes"].own);
  EXPECT_NE(toml.find("plugins.time.retention_ms = -1\n"), std::string::npos);
  EXPECT_NE(toml.find("plugins.compaction.min_cleanable_dirty_ratio = 0.25\n"), std::string::npos);
}

TEST(KafkaTopicConfigs, SettingsOfAPolicyTheTopicLacksAreIgnoredAsKafkaDoes) {
  const std::string toml = to_keel({{"cleanup.policy", "compact"}, {"retention.ms", "1000"}});
  EXPECT_EQ(toml, "retention = [\"compaction\"]\n");
  EXPECT_EQ(to_keel({{"min.compaction.lag.ms", "5"}}), "");  // defaults: time and size, no compaction
}

TEST(KafkaTopicConfigs, FlushConfigsMapToFlushModes) {
  EXPECT_EQ(to_keel({{"flush.messages", "1"}}), "flush_mode = \"every-batch\"\n");
  EXPECT_EQ(to_keel({{"flush.messages", "9223372036854775807"}, {"flush.ms", "9223372036854775807"}}),
            "flush_mode = \"os\"\n");
  EXPECT_EQ(to_keel({{"flush.messages", "500"}, {"flush.ms", "200"}}),
            "flush_interval_ms = 200\nflush_messages = 500\nflush_mode = \"interval\"\n");
  auto c = by_name(with("flush_mode = \"interval\"\nflush_messages = 500\nflush_interval_ms = 200"));
  EXPECT_EQ(c["flush.messages"].value, "500");
  EXPECT_EQ(c["flush.ms"].value, "200");
  EXPECT_EQ(by_name(with("flush_mode = \"os\""))["flush.ms"].value, "9223372036854775807");
}

TEST(KafkaTopicConfigs, RefusalsNameTheConfigAndValue) {
  EXPECT_NE(refusal({{"cleanup.policy", "archive"}}).find("cleanup.policy=archive"), std::string::npos);
  EXPECT_NE(refusal({{"retention.ms", "soon"}}).find("retention.ms=soon"), std::string::npos);
  EXPECT_NE(refusal({{"retention.ms", "-2"}}).find("-1 for no limit"), std::string::npos);
  EXPECT_NE(refusal({{"segment.bytes", "100"}}).find(">= 1024"), std::string::npos);
  EXPECT_NE(refusal({{"min.cleanable.dirty.ratio", "1.5"}}).find("from 0 to 1"), std::string::npos);
  const std::string unknown = refusal({{"segment.index.bytes", "4096"}});
  EXPECT_NE(unknown.find("'segment.index.bytes=4096'"), std::string::npos);
  EXPECT_NE(unknown.find("cleanup.policy"), std::string::npos);  // says what is supported
  EXPECT_NE(refusal({{"message.timestamp.type", "LogAppendTime"}}).find("CreateTime"), std::string::npos);
  EXPECT_NE(refusal({{"compression.type", "zstd"}}).find("producer"), std::string::npos);
  // The values Keel serves are accepted and change nothing.
  EXPECT_EQ(to_keel({{"message.timestamp.type", "CreateTime"}, {"compression.type", "producer"}}), "");
}

TEST(KafkaTopicConfigs, AlteringKeepsWhatKafkaCannotName) {
  // An HTTP-made topic: its own partitioner, a compaction buffer and a size.
  const std::vector<TopicSetting> current = {{"partitioner", "\"round-robin\"", true},
                                             {"retention", "[\"compaction\"]", true},
                                             {"plugins.compaction.buffer_bytes", "65536", true},
                                             {"segment_bytes", "4096", true},
                                             {"segment_ms", "604800000", false}};
  // Incremental: only what is named changes.
  EXPECT_EQ(to_keel({{"segment.bytes", "8192"}}, current),
            "partitioner = \"round-robin\"\nplugins.compaction.buffer_bytes = 65536\n"
            "retention = [\"compaction\"]\nsegment_bytes = 8192\n");
  // DELETE: back to the default.
  EXPECT_EQ(to_keel({{"segment.bytes", std::nullopt}}, current),
            "partitioner = \"round-robin\"\nplugins.compaction.buffer_bytes = 65536\nretention = "
            "[\"compaction\"]\n");
  // AlterConfigs replaces every Kafka config; leaving compaction drops its
  // settings with it.
  EXPECT_EQ(to_keel({{"retention.ms", "1000"}}, current, true),
            "partitioner = \"round-robin\"\nplugins.time.retention_ms = 1000\n");
}

TEST(KafkaTopicConfigs, MinInsyncReplicasIsTheTopicsOwnKey) {
  EXPECT_EQ(to_keel({{"min.insync.replicas", "2"}}), "min_insync_replicas = 2\n");
  auto c = by_name(with("min_insync_replicas = 2"));
  EXPECT_EQ(c["min.insync.replicas"].value, "2");
  EXPECT_TRUE(c["min.insync.replicas"].own);
  EXPECT_FALSE(c["min.insync.replicas"].read_only);
  // DELETE: back to the default (the key leaves the topic's table).
  EXPECT_EQ(to_keel({{"min.insync.replicas", std::nullopt}}, with("min_insync_replicas = 2")), "");
  const std::string zero = refusal({{"min.insync.replicas", "0"}});
  EXPECT_NE(zero.find("min.insync.replicas=0"), std::string::npos) << zero;
  EXPECT_NE(zero.find(">= 1"), std::string::npos) << zero;
  EXPECT_NE(refusal({{"min.insync.replicas", "two"}}).find("min.insync.replicas=two"), std::string::npos);
  EXPECT_NE(supported_kafka_topic_configs().find("min.insync.replicas"), std::string::npos);
}

TEST(KafkaTopicConfigs, PreallocateIsTheTopicsOwnBooleanKey) {
  EXPECT_EQ(to_keel({{"preallocate", "false"}}), "preallocate = false\n");
  EXPECT_EQ(by_name(defaults())["preallocate"].value, "true");
  auto c = by_name(with("preallocate = false"));
  EXPECT_EQ(c["preallocate"].value, "false");
  EXPECT_TRUE(c["preallocate"].own);
  EXPECT_EQ(to_keel({{"preallocate", std::nullopt}}, with("preallocate = false")), "");
  const std::string bad = refusal({{"preallocate", "yes"}});
  EXPECT_NE(bad.find("preallocate=yes"), std::string::npos) << bad;
  EXPECT_NE(bad.find("true or false"), std::string::npos) << bad;
}

}  // namespace
}  // namespace keel::transport
