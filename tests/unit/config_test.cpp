#include "config/config.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <utility>

#include "common/error.hpp"
#include "config/topic_settings.hpp"
#include "plugins/plugin_config.hpp"

namespace keel {
namespace {

// The message of the error parse_config throws; fails the test if none.
std::string error_of(const std::string& text, const std::vector<std::string>& overrides = {}) {
  try {
    parse_config(text, "config.toml", overrides);
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), KEEL_ERR_INVALID_ARGUMENT);
    return e.what();
  }
  ADD_FAILURE() << "no error for:\n" << text;
  return "";
}

const char* const kFullExample = R"(
[broker]
data_dir = "/var/lib/keel"
plugin_path = ["build/plugins", "/opt/keel/plugins"]
plugins = ["/opt/keel/libextra.so"]
auto_create_topics = false
retention_check_ms = 1000
recovery_checkpoint_ms = 2000
log_level = "debug"

[topic_defaults]
partitions = 2
segment_bytes = 4096
segment_ms = 60000
max_batch_bytes = 512
flush_mode = "interval"
flush_interval_ms = 50
flush_messages = 100
index = ["sparse-mmap"]
retention = ["time"]
partitioner = "round-robin"

[topic_defaults.plugins.time]
retention_ms = 1000

[topics.orders]
partitions = 3
retention = ["time", "size"]
[topics.orders.plugins.size]
retention_bytes = 1073741824

[topics.payments]
flush_mode = "every-batch"

[transports.kafka]
enabled = true
listen = "127.0.0.1:9092"
[transports.http]
listen = "127.0.0.1:8080"
)";

TEST(ConfigDefaults, EmptyDocumentGivesDefaults) {
  BrokerConfig cfg = parse_config("", "empty.toml");
  EXPECT_EQ(cfg.source, "empty.toml");
  EXPECT_EQ(cfg.data_dir, "data");
  EXPECT_TRUE(cfg.plugin_path.empty());
  EXPECT_TRUE(cfg.plugins.empty());
  EXPECT_TRUE(cfg.auto_create_topics);
  EXPECT_EQ(cfg.retention_check_ms, 30000);
  EXPECT_EQ(cfg.recovery_checkpoint_ms, 5000);
  EXPECT_EQ(cfg.log_level, "info");
  EXPECT_EQ(cfg.queued_max_request_bytes, 256LL << 20);
  EXPECT_EQ(cfg.writeback_bytes, 1 << 20);
  const TopicConfig& d = cfg.topic_defaults;
  EXPECT_EQ(d.partitions, 1);
  EXPECT_EQ(d.segment_bytes, 1073741824);
  EXPECT_EQ(d.segment_ms, 604800000);
  EXPECT_EQ(d.max_batch_bytes, 1048588);
  EXPECT_EQ(d.flush_mode, FlushMode::EveryBatch);
  EXPECT_EQ(d.flush_interval_ms, 1000);
  EXPECT_EQ(d.flush_messages, 10000);
  EXPECT_EQ(d.index, (std::vector<std::string>{"sparse-mmap", "timestamp"}));
  EXPECT_EQ(d.retention, (std::vector<std::string>{"time", "size"}));
  EXPECT_EQ(d.partitioner, "key-hash");
  EXPECT_TRUE(d.recycle_segments);
  EXPECT_FALSE(d.declared);
  EXPECT_TRUE(cfg.topics.empty());
  EXPECT_TRUE(cfg.transports.empty());
  ASSERT_NE(cfg.document, nullptr);
}

TEST(ConfigDefaults, FlushModeNames) {
  EXPECT_STREQ(to_string(FlushMode::EveryBatch), "every-batch");
  EXPECT_STREQ(to_string(FlushMode::Interval), "interval");
  EXPECT_STREQ(to_string(FlushMode::Os), "os");
}

TEST(ConfigTopicName, FollowsKafkaRule) {
  EXPECT_TRUE(valid_topic_name("orders"));
  EXPECT_TRUE(valid_topic_name("a.b_c-D9"));
  EXPECT_TRUE(valid_topic_name(std::string(249, 'x')));
  EXPECT_FALSE(valid_topic_name(std::string(250, 'x')));
  EXPECT_FALSE(valid_topic_name(""));
  EXPECT_FALSE(valid_topic_name("."));
  EXPECT_FALSE(valid_topic_name(".."));
  EXPECT_FALSE(valid_topic_name("with space"));
  EXPECT_FALSE(valid_topic_name("slash/no"));
}

TEST(ConfigParse, FullExample) {
  BrokerConfig cfg = parse_config(kFullExample, "full.toml");
  EXPECT_EQ(cfg.data_dir, "/var/lib/keel");
  EXPECT_EQ(cfg.plugin_path, (std::vector<std::string>{"build/plugins", "/opt/keel/plugins"}));
  EXPECT_EQ(cfg.plugins, (std::vector<std::string>{"/opt/keel/libextra.so"}));
  EXPECT_FALSE(cfg.auto_create_topics);
  EXPECT_EQ(cfg.retention_check_ms, 1000);
  EXPECT_EQ(cfg.recovery_checkpoint_ms, 2000);
  EXPECT_EQ(cfg.log_level, "debug");

  const TopicConfig& d = cfg.topic_defaults;
  EXPECT_EQ(d.partitions, 2);
  EXPECT_EQ(d.segment_bytes, 4096);
  EXPECT_EQ(d.segment_ms, 60000);
  EXPECT_EQ(d.max_batch_bytes, 512);
  EXPECT_EQ(d.flush_mode, FlushMode::Interval);
  EXPECT_EQ(d.flush_interval_ms, 50);
  EXPECT_EQ(d.flush_messages, 100);
  EXPECT_EQ(d.index, std::vector<std::string>{"sparse-mmap"});
  EXPECT_EQ(d.retention, std::vector<std::string>{"time"});
  EXPECT_EQ(d.partitioner, "round-robin");

  ASSERT_EQ(cfg.topics.size(), 2u);
  EXPECT_EQ(cfg.topics[0].name, "orders");
  EXPECT_EQ(cfg.topics[1].name, "payments");
  ASSERT_EQ(cfg.transports.size(), 2u);
}

TEST(ConfigParse, DeclaredTopicsInheritDefaults) {
  BrokerConfig cfg = parse_config(kFullExample, "full.toml");
  const TopicConfig* orders = cfg.find_topic("orders");
  ASSERT_NE(orders, nullptr);
  EXPECT_TRUE(orders->declared);
  EXPECT_EQ(orders->partitions, 3);                                          // own
  EXPECT_EQ(orders->retention, (std::vector<std::string>{"time", "size"}));  // own
  EXPECT_EQ(orders->segment_bytes, 4096);                                    // inherited
  EXPECT_EQ(orders->flush_mode, FlushMode::Interval);                        // inherited
  EXPECT_EQ(orders->index, std::vector<std::string>{"sparse-mmap"});         // inherited
  EXPECT_EQ(orders->partitioner, "round-robin");                             // inherited

  const TopicConfig* payments = cfg.find_topic("payments");
  ASSERT_NE(payments, nullptr);
  EXPECT_EQ(payments->flush_mode, FlushMode::EveryBatch);
  EXPECT_EQ(payments->partitions, 2);
  EXPECT_EQ(cfg.find_topic("nope"), nullptr);
}

TEST(ConfigParse, RecycleSegmentsIsOnUnlessTurnedOff) {
  BrokerConfig on = parse_config("[topics.a]\n[topics.b]\nrecycle_segments = false\n", "r.toml");
  EXPECT_TRUE(on.find_topic("a")->recycle_segments);
  EXPECT_FALSE(on.find_topic("b")->recycle_segments);
  BrokerConfig off = parse_config("[topic_defaults]\nrecycle_segments = false\n[topics.a]\n", "r.toml");
  EXPECT_FALSE(off.topic_defaults.recycle_segments);
  EXPECT_FALSE(off.find_topic("a")->recycle_segments);
}

TEST(ConfigParse, TopicFromDefaults) {
  BrokerConfig cfg = parse_config(kFullExample, "full.toml");
  TopicConfig t = cfg.topic_from_defaults("clicks");
  EXPECT_EQ(t.name, "clicks");
  EXPECT_FALSE(t.declared);
  EXPECT_EQ(t.partitions, 2);
  EXPECT_EQ(t.flush_mode, FlushMode::Interval);
  ASSERT_EQ(t.plugin_settings.count("time"), 1u);
  const PluginSettings& time = t.plugin_settings.at("time");
  ASSERT_EQ(time.tables.size(), 2u);
  EXPECT_EQ(time.tables[0], nullptr);
  ASSERT_NE(time.tables[1], nullptr);
  EXPECT_EQ(time.tables[1]->get("retention_ms")->value<int64_t>(), 1000);
  EXPECT_EQ(time.table_names[0], "[topics.clicks.plugins.time]");
  EXPECT_EQ(time.table_names[1], "[topic_defaults.plugins.time]");
  // Only the strategies the topic uses: orders' size table is not its concern.
  EXPECT_EQ(t.plugin_settings.count("size"), 0u);
  EXPECT_EQ(t.plugin_settings.count("sparse-mmap"), 1u);
  EXPECT_EQ(t.plugin_settings.count("round-robin"), 1u);
}

TEST(ConfigParse, PluginSettingsChainTopicFirstThenDefaults) {
  BrokerConfig cfg = parse_config(R"(
[topic_defaults.plugins.time]
retention_ms = 1000
[topic_defaults.plugins.size]
retention_bytes = 10
[topics.orders.plugins.time]
retention_ms = 5
)",
                                  "c.toml");
  const TopicConfig* orders = cfg.find_topic("orders");
  ASSERT_NE(orders, nullptr);
  const PluginSettings& time = orders->plugin_settings.at("time");
  ASSERT_EQ(time.tables.size(), 2u);
  ASSERT_NE(time.tables[0], nullptr);
  ASSERT_NE(time.tables[1], nullptr);
  EXPECT_EQ(time.tables[0]->get("retention_ms")->value<int64_t>(), 5);
  EXPECT_EQ(time.tables[1]->get("retention_ms")->value<int64_t>(), 1000);
  EXPECT_EQ(time.table_names,
            (std::vector<std::string>{"[topics.orders.plugins.time]", "[topic_defaults.plugins.time]"}));

  const PluginSettings& size = orders->plugin_settings.at("size");
  EXPECT_EQ(size.tables[0], nullptr);
  ASSERT_NE(size.tables[1], nullptr);
  EXPECT_EQ(size.tables[1]->get("retention_bytes")->value<int64_t>(), 10);

  // Used strategies without any table still get a (null, null) chain.
  const PluginSettings& hash = orders->plugin_settings.at("key-hash");
  EXPECT_EQ(hash.tables, (std::vector<const toml::table*>{nullptr, nullptr}));
  EXPECT_EQ(hash.table_names.size(), 2u);
  EXPECT_EQ(orders->plugin_settings.size(), 5u);  // sparse-mmap, timestamp, time, size, key-hash
}

TEST(ConfigParse, DefaultsTableForUnusedStrategyIsAccepted) {
  BrokerConfig cfg = parse_config("[topic_defaults.plugins.compaction]\nx = 1\n", "c.toml");
  EXPECT_EQ(cfg.topic_defaults.plugin_settings.count("compaction"), 0u);
}

TEST(ConfigParse, SettingsSurviveMove) {
  BrokerConfig cfg = parse_config(kFullExample, "full.toml");
  const toml::table* before = cfg.find_topic("orders")->plugin_settings.at("size").tables[0];
  BrokerConfig moved = std::move(cfg);
  const TopicConfig* orders = moved.find_topic("orders");
  ASSERT_NE(orders, nullptr);
  const toml::table* after = orders->plugin_settings.at("size").tables[0];
  EXPECT_EQ(before, after);
  ASSERT_NE(after, nullptr);
  EXPECT_EQ(after->get("retention_bytes")->value<int64_t>(), 1073741824);
}

TEST(ConfigParse, TransportsKeepOrderAndLoseEnabled) {
  BrokerConfig cfg = parse_config(R"(
[transports.zeta]
listen = "a"
[transports.alpha]
enabled = false
listen = "b"
[transports.mid]
enabled = true
)",
                                  "t.toml");
  ASSERT_EQ(cfg.transports.size(), 3u);
  EXPECT_EQ(cfg.transports[0].name, "zeta");
  EXPECT_EQ(cfg.transports[1].name, "alpha");
  EXPECT_EQ(cfg.transports[2].name, "mid");
  EXPECT_TRUE(cfg.transports[0].enabled);
  EXPECT_FALSE(cfg.transports[1].enabled);
  EXPECT_TRUE(cfg.transports[2].enabled);

  const PluginSettings& alpha = cfg.transports[1].settings;
  ASSERT_EQ(alpha.tables.size(), 1u);
  ASSERT_NE(alpha.tables[0], nullptr);
  EXPECT_EQ(alpha.table_names, std::vector<std::string>{"[transports.alpha]"});
  EXPECT_FALSE(alpha.tables[0]->contains("enabled"));
  const toml::node* listen = alpha.tables[0]->get("listen");
  ASSERT_NE(listen, nullptr);
  EXPECT_EQ(listen->value<std::string>(), "b");
  // Positions survive, so plugins can report file:line for their keys.
  EXPECT_EQ(listen->source().begin.line, 6u);
}

TEST(ConfigParse, TopicsKeepFileOrder) {
  BrokerConfig cfg = parse_config(R"(
[topics.zz.plugins.time]
retention_ms = 1
[topics.aa]
partitions = 1
[topics.zz]
partitions = 2
[topics.mm]
)",
                                  "c.toml");
  ASSERT_EQ(cfg.topics.size(), 3u);
  EXPECT_EQ(cfg.topics[0].name, "zz");
  EXPECT_EQ(cfg.topics[0].partitions, 2);
  EXPECT_EQ(cfg.topics[1].name, "aa");
  EXPECT_EQ(cfg.topics[2].name, "mm");
}

// The chains feed keel_config, whose unknown-key report needs positions.
TEST(ConfigParse, PluginUnknownKeyReportSeesFilePositions) {
  BrokerConfig cfg = parse_config(R"([topics.orders.plugins.time]
retention_ms = 5
retention_msx = 6
[transports.kafka]
enabled = true
listen = "x"
)",
                                  "config.toml");
  keel_config topic_cfg;
  topic_cfg.settings = cfg.find_topic("orders")->plugin_settings.at("time");
  topic_cfg.owner = "retention 'time' of topic 'orders'";
  ASSERT_NE(config_lookup(topic_cfg, "retention_ms", nullptr), nullptr);
  std::vector<std::string> problems = config_problems(topic_cfg);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].find("'retention_msx' in [topics.orders.plugins.time] (config.toml:3:17)"),
            std::string::npos)
      << problems[0];

  keel_config transport_cfg;
  transport_cfg.settings = cfg.transports[0].settings;
  transport_cfg.owner = "transport 'kafka'";
  ASSERT_NE(config_lookup(transport_cfg, "listen", nullptr), nullptr);
  EXPECT_TRUE(config_problems(transport_cfg).empty());  // `enabled` is not the plugin's
}

TEST(ConfigParse, QuotedTopicNameWithDots) {
  BrokerConfig cfg = parse_config("[topics.\"a.b\"]\npartitions = 2\n", "c.toml");
  ASSERT_NE(cfg.find_topic("a.b"), nullptr);
  EXPECT_EQ(cfg.find_topic("a.b")->plugin_settings.at("time").table_names[0],
            "[topics.\"a.b\".plugins.time]");
}

TEST(ConfigErrors, UnknownTopLevelKey) {
  std::string m = error_of("[brokers]\ndata_dir = \"x\"\n");
  EXPECT_NE(m.find("config.toml:1:"), std::string::npos) << m;
  EXPECT_NE(m.find("unknown top-level key 'brokers'"), std::string::npos) << m;
  EXPECT_NE(m.find("did you mean 'broker'?"), std::string::npos) << m;
}

TEST(ConfigErrors, UnknownKeyWithSuggestionAndLine) {
  std::string m = error_of("[topics.orders]\npartitions = 3\n\nsegment_byte = 4096\n");
  EXPECT_EQ(m,
            "config.toml:4:1: unknown key 'segment_byte' in [topics.orders]; did you mean 'segment_bytes'? "
            "(see docs/configuration.md)");
}

TEST(ConfigErrors, UnknownKeyWithoutCloseMatchListsAllowed) {
  std::string m = error_of("[broker]\nzzzzzzzzzz = 1\n");
  EXPECT_NE(m.find("config.toml:2:1: unknown key 'zzzzzzzzzz' in [broker]; allowed keys are"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("data_dir"), std::string::npos) << m;
}

TEST(ConfigErrors, UnquotedDottedTopicNameHintsAtQuoting) {
  std::string m = error_of("[topics.a.b]\npartitions = 2\n");
  EXPECT_NE(m.find("unknown key 'b' in [topics.a]"), std::string::npos) << m;
  EXPECT_NE(m.find("must be quoted"), std::string::npos) << m;
}

TEST(ConfigErrors, WrongTypes) {
  EXPECT_EQ(
      error_of("[broker]\ndata_dir = 5\n"),
      "config.toml:2:12: [broker] data_dir must be a string, got an integer (see docs/configuration.md)");
  EXPECT_NE(error_of("[broker]\nauto_create_topics = \"yes\"\n").find("must be a boolean"),
            std::string::npos);
  EXPECT_NE(
      error_of("[topic_defaults]\npartitions = 1.5\n").find("partitions must be an integer, got a float"),
      std::string::npos);
  EXPECT_NE(error_of("[topic_defaults]\nindex = \"sparse-mmap\"\n").find("index must be an array of strings"),
            std::string::npos);
  std::string m = error_of("[broker]\nplugin_path = [\"a\", 3]\n");
  EXPECT_NE(m.find("config.toml:2:21: each element of [broker] plugin_path must be a string, got an integer"),
            std::string::npos)
      << m;
  EXPECT_NE(error_of("broker = 3\n").find("'broker' must be a table"), std::string::npos);
  EXPECT_NE(error_of("topics = { orders = 3 }\n").find("[topics] orders must be a table"), std::string::npos);
  EXPECT_NE(error_of("[transports]\nkafka = \"on\"\n").find("[transports] kafka must be a table"),
            std::string::npos);
  EXPECT_NE(
      error_of("[transports.kafka]\nenabled = 1\n").find("[transports.kafka] enabled must be a boolean"),
      std::string::npos);
  EXPECT_NE(error_of("[topic_defaults]\nplugins = 1\n").find("plugins must be a table"), std::string::npos);
  EXPECT_NE(error_of("[topic_defaults.plugins]\ntime = 1\n")
                .find("[topic_defaults.plugins] time must be a table of settings for strategy 'time'"),
            std::string::npos);
}

TEST(ConfigErrors, OutOfRange) {
  EXPECT_EQ(error_of("[topic_defaults]\npartitions = 0\n"),
            "config.toml:2:14: [topic_defaults] partitions must be between 1 and 10000, got 0 "
            "(see docs/configuration.md)");
  EXPECT_NE(error_of("[topics.x]\npartitions = 10001\n").find("between 1 and 10000, got 10001"),
            std::string::npos);
  EXPECT_NE(error_of("[topic_defaults]\nsegment_bytes = 1023\n").find("segment_bytes must be at least 1024"),
            std::string::npos);
  EXPECT_NE(error_of("[topic_defaults]\nmax_batch_bytes = 63\n").find("max_batch_bytes must be at least 64"),
            std::string::npos);
  EXPECT_NE(error_of("[topic_defaults]\nsegment_ms = 0\n").find("segment_ms must be greater than 0"),
            std::string::npos);
  EXPECT_NE(error_of("[topic_defaults]\nflush_interval_ms = -1\n").find("greater than 0"), std::string::npos);
  EXPECT_NE(error_of("[topic_defaults]\nflush_messages = 0\n").find("greater than 0"), std::string::npos);
  EXPECT_NE(error_of("[broker]\nretention_check_ms = 0\n").find("greater than 0"), std::string::npos);
  EXPECT_NE(error_of("[broker]\nrecovery_checkpoint_ms = 0\n").find("greater than 0"), std::string::npos);
  EXPECT_NE(error_of("[broker]\ndata_dir = \"\"\n").find("must not be empty"), std::string::npos);
}

TEST(ConfigErrors, BadEnumValuesListAllowed) {
  std::string m = error_of("[topic_defaults]\nflush_mode = \"always\"\n");
  EXPECT_EQ(
      m,
      "config.toml:2:14: [topic_defaults] flush_mode must be one of every-batch, interval, os; got 'always' "
      "(see docs/configuration.md)");
  m = error_of("[broker]\nlog_level = \"verbose\"\n");
  EXPECT_NE(m.find("log_level must be one of trace, debug, info, warn, error; got 'verbose'"),
            std::string::npos)
      << m;
}

TEST(ConfigErrors, QueuedMaxRequestBytes) {
  EXPECT_EQ(parse_config("[broker]\nqueued_max_request_bytes = -1\n", "c.toml").queued_max_request_bytes, -1);
  EXPECT_EQ(parse_config("[broker]\nqueued_max_request_bytes = 1048576\n", "c.toml").queued_max_request_bytes,
            1048576);
  std::string m = error_of("[broker]\nqueued_max_request_bytes = 10\n");
  EXPECT_NE(m.find("queued_max_request_bytes must be -1 (unbounded) or at least 1024, got 10"),
            std::string::npos)
      << m;
  m = error_of("[broker]\nqueued_max_request_bytes = -2\n");
  EXPECT_NE(m.find("queued_max_request_bytes must be at least -1, got -2"), std::string::npos) << m;
}

TEST(ConfigErrors, WritebackBytes) {
  EXPECT_EQ(parse_config("[broker]\nwriteback_bytes = 0\n", "c.toml").writeback_bytes, 0);
  EXPECT_EQ(parse_config("[broker]\nwriteback_bytes = 4194304\n", "c.toml").writeback_bytes, 4194304);
  std::string m = error_of("[broker]\nwriteback_bytes = 4096\n");
  EXPECT_NE(m.find("writeback_bytes must be 0 (off) or at least 65536, got 4096"), std::string::npos) << m;
  m = error_of("[broker]\nwriteback_bytes = -1\n");
  EXPECT_NE(m.find("writeback_bytes must be between 0 and 1073741824, got -1"), std::string::npos) << m;
}

TEST(ConfigErrors, BadTopicName) {
  std::string m = error_of("[broker]\n[topics.\"bad name\"]\npartitions = 1\n");
  EXPECT_NE(m.find("config.toml:2:"), std::string::npos) << m;
  EXPECT_NE(m.find("invalid topic name 'bad name'"), std::string::npos) << m;
  EXPECT_NE(error_of("[topics.\"..\"]\n").find("invalid topic name '..'"), std::string::npos);
}

TEST(ConfigErrors, DuplicateStrategyInList) {
  std::string m = error_of("[topic_defaults]\nindex = [\"timestamp\", \"sparse-mmap\", \"timestamp\"]\n");
  EXPECT_NE(m.find("config.toml:2:38: [topic_defaults] index lists 'timestamp' twice"), std::string::npos)
      << m;
  EXPECT_NE(error_of("[topics.o]\nretention = [\"time\", \"time\"]\n").find("retention lists 'time' twice"),
            std::string::npos);
}

TEST(ConfigErrors, PluginsTableForUnusedStrategy) {
  std::string m = error_of(R"([topics.orders]
retention = ["time", "size"]
[topics.orders.plugins.compaction]
x = 1
)");
  EXPECT_NE(m.find("config.toml:3:"), std::string::npos) << m;
  EXPECT_NE(m.find("[topics.orders.plugins.compaction] configures strategy 'compaction' but topic 'orders' "
                   "does not use it; add it to `retention`/`index`/`partitioner` or remove the table"),
            std::string::npos)
      << m;
  m = error_of("[topics.orders.plugins.tme]\nretention_ms = 1\n");
  EXPECT_NE(m.find("did you mean 'time'?"), std::string::npos) << m;
}

TEST(ConfigErrors, MalformedTomlGivesLineAndColumn) {
  std::string m = error_of("[broker]\ndata_dir = \"data\"\nlog_level = \n");
  EXPECT_EQ(m.rfind("config.toml:3:", 0), 0u) << m;
  EXPECT_NE(m.find("invalid TOML"), std::string::npos) << m;
}

TEST(ConfigOverrides, SetScalarsOfEveryType) {
  BrokerConfig cfg = parse_config(kFullExample, "full.toml",
                                  {"broker.data_dir=/tmp/x", "broker.auto_create_topics=true",
                                   "topic_defaults.index=[\"timestamp\"]", "broker.log_level = warn"});
  EXPECT_EQ(cfg.data_dir, "/tmp/x");
  EXPECT_TRUE(cfg.auto_create_topics);
  EXPECT_EQ(cfg.topic_defaults.index, std::vector<std::string>{"timestamp"});
  EXPECT_EQ(cfg.log_level, "warn");
  // Overrides of topic_defaults reach declared topics through inheritance.
  EXPECT_EQ(cfg.find_topic("orders")->index, std::vector<std::string>{"timestamp"});
}

TEST(ConfigOverrides, OverrideExistingTopicAndCreateNewOne) {
  BrokerConfig cfg =
      parse_config(kFullExample, "full.toml", {"topics.orders.partitions=6", "topics.fresh.partitions=4"});
  EXPECT_EQ(cfg.find_topic("orders")->partitions, 6);
  const TopicConfig* fresh = cfg.find_topic("fresh");
  ASSERT_NE(fresh, nullptr);
  EXPECT_TRUE(fresh->declared);
  EXPECT_EQ(fresh->partitions, 4);
  EXPECT_EQ(fresh->segment_bytes, 4096);  // inherited
  // Topics from the file come first, in file order, then those from overrides.
  ASSERT_EQ(cfg.topics.size(), 3u);
  EXPECT_EQ(cfg.topics[2].name, "fresh");
}

TEST(ConfigOverrides, NestedTransportKey) {
  BrokerConfig cfg = parse_config(kFullExample, "full.toml",
                                  {"transports.kafka.listen=0.0.0.0:9092", "transports.http.enabled=false"});
  ASSERT_EQ(cfg.transports.size(), 2u);
  EXPECT_EQ(cfg.transports[0].name, "kafka");
  EXPECT_EQ(cfg.transports[0].settings.tables[0]->get("listen")->value<std::string>(), "0.0.0.0:9092");
  EXPECT_EQ(cfg.transports[1].name, "http");
  EXPECT_FALSE(cfg.transports[1].enabled);
}

TEST(ConfigOverrides, QuotedKeySegment) {
  BrokerConfig cfg = parse_config("", "c.toml", {"topics.\"a.b\".partitions=2"});
  ASSERT_NE(cfg.find_topic("a.b"), nullptr);
  EXPECT_EQ(cfg.find_topic("a.b")->partitions, 2);
}

TEST(ConfigOverrides, ErrorsNameTheOverride) {
  std::string m = error_of("", {"topics.orders.partitions=0"});
  EXPECT_EQ(m.rfind("command-line override 'topics.orders.partitions=0': [topics.orders] partitions must be "
                    "between 1 and 10000",
                    0),
            0u)
      << m;
  m = error_of("", {"broker.data_dri=/x"});
  EXPECT_NE(m.find("command-line override 'broker.data_dri=/x': unknown key 'data_dri' in [broker]; did you "
                   "mean 'data_dir'?"),
            std::string::npos)
      << m;
}

TEST(ConfigOverrides, MalformedOverrides) {
  for (std::string bad :
       {"broker.data_dir", "=value", "broker..data_dir=x", "broker.=x", "\"unterminated=1"}) {
    std::string m = error_of("", {bad});
    EXPECT_NE(m.find("command-line override '" + bad + "' is not dotted.key=value"), std::string::npos) << m;
  }
  std::string m = error_of("[broker]\ndata_dir = \"d\"\n", {"broker.data_dir.x=1"});
  EXPECT_NE(m.find("'broker.data_dir' is a string (config.toml:2:12), not a table"), std::string::npos) << m;
}

TEST(ConfigFile, MissingFile) {
  std::string path =
      (std::filesystem::temp_directory_path() / "keel-config-test-does-not-exist.toml").string();
  try {
    load_config_file(path);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(
        std::string(e.what()).rfind("cannot read config file '" + path + "': No such file or directory", 0),
        0u)
        << e.what();
  }
}

TEST(ConfigFile, LoadsFileAndNamesItInErrors) {
  auto dir = std::filesystem::temp_directory_path() / ("keel-config-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::string path = (dir / "k.toml").string();
  { std::ofstream(path) << "[broker]\ndata_dir = \"here\"\n"; }
  BrokerConfig cfg = load_config_file(path, {"broker.log_level=error"});
  EXPECT_EQ(cfg.source, path);
  EXPECT_EQ(cfg.data_dir, "here");
  EXPECT_EQ(cfg.log_level, "error");
  { std::ofstream(path) << "[broker]\ndata_dir = 1\n"; }
  try {
    load_config_file(path);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).rfind(path + ":2:12:", 0), 0u) << e.what();
  }
  std::filesystem::remove_all(dir);
}

TEST(ConfigFile, ShippedKeelTomlParses) {
  BrokerConfig cfg = load_config_file(std::string(KEEL_TEST_SOURCE_DIR) + "/config/keel.toml");
  EXPECT_EQ(cfg.data_dir, "data");
  EXPECT_EQ(cfg.plugin_path, std::vector<std::string>{"build/plugins"});
  const TopicConfig* events = cfg.find_topic("events");
  ASSERT_NE(events, nullptr);
  EXPECT_EQ(events->partitions, 3);
  EXPECT_EQ(events->index, (std::vector<std::string>{"sparse-mmap", "timestamp"}));
  EXPECT_EQ(events->retention, (std::vector<std::string>{"time", "size"}));
  EXPECT_EQ(events->partitioner, "key-hash");
  const PluginSettings& time = events->plugin_settings.at("time");
  const toml::node* ms =
      time.tables[0] ? time.tables[0]->get("retention_ms") : time.tables[1]->get("retention_ms");
  ASSERT_NE(ms, nullptr);
  EXPECT_EQ(ms->value<int64_t>(), 604800000);
  const PluginSettings& size = events->plugin_settings.at("size");
  const toml::node* bytes =
      size.tables[0] ? size.tables[0]->get("retention_bytes") : size.tables[1]->get("retention_bytes");
  ASSERT_NE(bytes, nullptr);
  EXPECT_EQ(bytes->value<int64_t>(), 1073741824);
}

// Every ```toml block in docs/configuration.md must be a valid configuration,
// so the documentation cannot drift from the parser.
TEST(ConfigFile, DocumentationExamplesParse) {
  std::ifstream in(std::string(KEEL_TEST_SOURCE_DIR) + "/docs/configuration.md");
  ASSERT_TRUE(in) << "docs/configuration.md not found";
  std::string line, block;
  bool inside = false;
  int blocks = 0;
  while (std::getline(in, line)) {
    if (!inside && line == "```toml") {
      inside = true;
      block.clear();
    } else if (inside && line == "```") {
      inside = false;
      ++blocks;
      EXPECT_NO_THROW(parse_config(block, "doc-example-" + std::to_string(blocks) + ".toml")) << block;
    } else if (inside) {
      block += line + "\n";
    }
  }
  EXPECT_GE(blocks, 4);
  // The complete example is the last block; spot-check that it means what it says.
  BrokerConfig cfg = parse_config(block, "doc.toml");
  ASSERT_NE(cfg.find_topic("orders"), nullptr);
  EXPECT_EQ(cfg.find_topic("orders")->partitions, 12);
  EXPECT_EQ(cfg.find_topic("clickstream")->flush_mode, FlushMode::Interval);
  ASSERT_EQ(cfg.transports.size(), 2u);
  EXPECT_EQ(cfg.transports[1].name, "http");
  EXPECT_TRUE(cfg.transports[1].enabled);
}

}  // namespace
}  // namespace keel

namespace keel {
namespace {

// --data-dir and friends pass any string through unchanged.
TEST(ConfigOverride, StringOverrideKeepsAnyValueExactly) {
  for (const std::string dir :
       {"/tmp/plain", "/tmp/it's", "C:\\data\\x", "/tmp/\"q\"", "/tmp/it's \"both\""}) {
    BrokerConfig cfg = parse_config("", "t.toml", {string_override("broker.data_dir", dir)});
    EXPECT_EQ(cfg.data_dir, dir);
  }
}

// The message of the error `fn` throws; fails the test if none.
template <class Fn>
std::string error_thrown_by(Fn&& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "no error";
  return "";
}

// A topic created at run time (HTTP POST /topics) has its own settings in the
// request and its defaults in the broker's file: each message names the text
// it is about, and never gives the request's lines as the file's.
TEST(ConfigRuntimeTopic, RequestSettingsAreNamedAsTheRequestNotTheConfigFile) {
  BrokerConfig cfg = parse_config("[topic_defaults.plugins.time]\nretention_ms = 5\n", "config.toml");
  const ConfigOrigin request{"the settings of the request creating topic 't'", false};
  TopicConfig t = cfg.topic_from_toml("t", "\n\n[plugins.time]\nretention_msx = 6\n", request);
  keel_config kc;
  kc.settings = t.plugin_settings.at("time");
  kc.owner = "retention 'time' of topic 't'";
  std::string where;
  ASSERT_NE(config_lookup(kc, "retention_ms", &where), nullptr);
  EXPECT_EQ(where, "[topic_defaults.plugins.time] (config.toml:2:16)");  // the default: the file's line
  std::vector<std::string> problems = config_problems(kc);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(
      problems[0].find("'retention_msx' in [topics.t.plugins.time] (the settings of the request creating "
                       "topic 't')"),
      std::string::npos)
      << problems[0];
  EXPECT_EQ(problems[0].find("config.toml"), std::string::npos) << problems[0];

  std::string m = error_thrown_by([&] { cfg.topic_from_toml("t", "\npartitions = 0\n", request); });
  EXPECT_EQ(m.rfind("the settings of the request creating topic 't': [topics.t] partitions must be", 0), 0u)
      << m;
  m = error_thrown_by([&] { cfg.topic_from_toml("t", "partitioner = [", request); });
  EXPECT_EQ(m.find("config.toml"), std::string::npos) << m;
  EXPECT_NE(m.find("the settings of the request creating topic 't' (TOML text, at 1:"), std::string::npos)
      << m;
}

TEST(ConfigRuntimeTopic, SavedSettingsFileKeepsItsLines) {
  BrokerConfig cfg = parse_config("", "config.toml");
  std::string m =
      error_thrown_by([&] { cfg.topic_from_toml("t", "\npartitions = 0\n", ConfigOrigin{"saved.toml"}); });
  EXPECT_EQ(m.rfind("saved.toml:2:14: [topics.t] partitions must be", 0), 0u) << m;
}

TEST(ConfigStrategyLocations, EachNamedStrategyKeepsWhereItWasWritten) {
  BrokerConfig cfg = parse_config(R"([broker]
offsets_topic_retention = ["compaction"]
[topic_defaults]
retention = ["time", "size"]
[topics.a]
partitioner = "round-robin"
[topics.b]
retention = ["time"]
)",
                                  "config.toml");
  const TopicConfig& a = *cfg.find_topic("a");
  EXPECT_EQ(a.strategy_locations.at("partitioner round-robin"), "config.toml:6:15");
  EXPECT_EQ(a.strategy_locations.at("retention size"), "config.toml:4:22");  // inherited from the defaults
  EXPECT_EQ(a.strategy_locations.count("index sparse-mmap"), 0u);            // built in: written nowhere
  const TopicConfig& b = *cfg.find_topic("b");
  EXPECT_EQ(b.strategy_locations.at("retention time"), "config.toml:8:14");
  EXPECT_EQ(b.strategy_locations.count("retention size"), 0u) << "b's own list replaces the defaults'";
  EXPECT_EQ(cfg.offsets.retention_locations.at("retention compaction"), "config.toml:2:28");
}

// [cluster] replication_listen: "host:port", port 0 for any free one.
TEST(ConfigCluster, ReplicationListen) {
  BrokerConfig cfg = parse_config("[cluster]\nreplication_listen = \"127.0.0.1:0\"\n", "config.toml");
  EXPECT_EQ(cfg.cluster.replication_host, "127.0.0.1");
  EXPECT_EQ(cfg.cluster.replication_port, 0);
  cfg = parse_config("[cluster]\nreplication_listen = \"broker-2.internal:65535\"\n", "config.toml");
  EXPECT_EQ(cfg.cluster.replication_host, "broker-2.internal");
  EXPECT_EQ(cfg.cluster.replication_port, 65535);
  cfg = parse_config("[cluster]\nreplication_listen = \":9093\"\n", "config.toml");
  EXPECT_EQ(cfg.cluster.replication_host, "");  // the advertised host
  EXPECT_EQ(cfg.cluster.replication_port, 9093);
  cfg = parse_config("[cluster]\n", "config.toml");
  EXPECT_EQ(cfg.cluster.replication_host, "");
  EXPECT_EQ(cfg.cluster.replication_port, 0);

  for (const std::string bad : {"nohost", "h:99999", "h:x", "h:", "h:-1", "h:123456"}) {
    EXPECT_EQ(error_of("[cluster]\nreplication_listen = \"" + bad + "\"\n"),
              "config.toml:2:22: [cluster] replication_listen must be \"host:port\" (port 0 picks a free "
              "one), got '" +
                  bad + "' (see docs/configuration.md)");
  }
  EXPECT_NE(error_of("[cluster]\nreplication_listen = 9093\n")
                .find("config.toml:2:22: [cluster] replication_listen must be a string, got an integer"),
            std::string::npos);
}

// [cluster] replication_advertised_port: the port other brokers fetch from
// (a proxy in front of the listener); 0, the default, advertises the bound one.
TEST(ConfigCluster, ReplicationAdvertisedPort) {
  EXPECT_EQ(parse_config("[cluster]\n", "c.toml").cluster.replication_advertised_port, 0);
  for (const int port : {0, 1, 9093, 65535}) {
    EXPECT_EQ(
        parse_config("[cluster]\nreplication_advertised_port = " + std::to_string(port) + "\n", "c.toml")
            .cluster.replication_advertised_port,
        port);
  }
  BrokerConfig cfg = parse_config(
      "[cluster]\nreplication_listen = \"127.0.0.1:0\"\nreplication_advertised_port = 19093\n", "c.toml");
  EXPECT_EQ(cfg.cluster.replication_port, 0);  // bound: any free port; advertised: the proxy's
  EXPECT_EQ(cfg.cluster.replication_advertised_port, 19093);
  EXPECT_EQ(error_of("[cluster]\nreplication_advertised_port = 65536\n"),
            "config.toml:2:31: [cluster] replication_advertised_port must be between 0 and 65535, got 65536 "
            "(see docs/configuration.md)");
  EXPECT_NE(error_of("[cluster]\nreplication_advertised_port = -1\n").find("between 0 and 65535, got -1"),
            std::string::npos);
  EXPECT_NE(
      error_of("[cluster]\nreplication_advertised_port = \"9093\"\n")
          .find("config.toml:2:31: [cluster] replication_advertised_port must be an integer, got a string"),
      std::string::npos);
  EXPECT_NE(error_of("[cluster]\nreplication_advertized_port = 9093\n").find("replication_advertised_port"),
            std::string::npos)
      << "a misspelt key is refused with the closest known one";
}

TEST(ConfigCluster, ReplicaLagTimeMaxMs) {
  EXPECT_EQ(parse_config("[cluster]\n", "c.toml").cluster.replica_lag_time_max_ms, 30000);
  EXPECT_EQ(
      parse_config("[cluster]\nreplica_lag_time_max_ms = 100\n", "c.toml").cluster.replica_lag_time_max_ms,
      100);
  EXPECT_EQ(parse_config("[cluster]\nreplica_lag_time_max_ms = 3600000\n", "c.toml")
                .cluster.replica_lag_time_max_ms,
            3600000);
  EXPECT_EQ(error_of("[cluster]\nreplica_lag_time_max_ms = 99\n"),
            "config.toml:2:27: [cluster] replica_lag_time_max_ms must be between 100 and 3600000, got 99 "
            "(see docs/configuration.md)");
  EXPECT_NE(error_of("[cluster]\nreplica_lag_time_max_ms = 3600001\n").find("got 3600001"),
            std::string::npos);
  EXPECT_NE(
      error_of("[cluster]\nreplica_lag_time_max_ms = \"30s\"\n").find("must be an integer, got a string"),
      std::string::npos);
}

TEST(ConfigTopics, MinInsyncReplicas) {
  BrokerConfig cfg = parse_config(R"([topic_defaults]
min_insync_replicas = 2
[topics.orders]
min_insync_replicas = 3
[topics.logs]
partitions = 1
)",
                                  "config.toml");
  EXPECT_EQ(cfg.topic_defaults.min_insync_replicas, 2);
  EXPECT_EQ(cfg.find_topic("orders")->min_insync_replicas, 3);
  EXPECT_EQ(cfg.find_topic("logs")->min_insync_replicas, 2);                    // from the defaults
  EXPECT_EQ(parse_config("", "c.toml").topic_defaults.min_insync_replicas, 1);  // Kafka's default

  auto setting = [](const TopicConfig& t) {
    for (const auto& s : topic_settings(t)) {
      if (s.key == "min_insync_replicas") return s;
    }
    ADD_FAILURE() << "no min_insync_replicas in topic_settings of " << t.name;
    return TopicSetting{};
  };
  const TopicSetting own = setting(*cfg.find_topic("orders"));
  EXPECT_EQ(own.value, "3");
  EXPECT_TRUE(own.own);
  const TopicSetting inherited = setting(*cfg.find_topic("logs"));
  EXPECT_EQ(inherited.value, "2");
  EXPECT_FALSE(inherited.own);

  EXPECT_EQ(error_of("[topics.orders]\nmin_insync_replicas = 0\n"),
            "config.toml:2:23: [topics.orders] min_insync_replicas must be between 1 and 16, got 0 "
            "(see docs/configuration.md)");
  EXPECT_NE(error_of("[topic_defaults]\nmin_insync_replicas = 17\n").find("between 1 and 16, got 17"),
            std::string::npos);
}

}  // namespace
}  // namespace keel
