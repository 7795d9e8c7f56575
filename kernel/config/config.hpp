// The broker's configuration, parsed from TOML (see docs/configuration.md).
#pragma once

#include <toml++/toml.h>

#include <cstdint>
#include <keel/topic_name.hpp>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace keel {

enum class FlushMode {
  EveryBatch,  // group commit: fsync after appends, acks=all waits for it
  Interval,    // fsync every flush_interval_ms or flush_messages
  Os,          // never fsync explicitly; the OS writes back
};

const char* to_string(FlushMode mode);

// Where configuration text came from, for messages.
struct ConfigOrigin {
  // A file path, or a description such as "the settings of the request
  // creating topic 'x'".
  std::string name;
  // Whether line:column positions in the text mean something to the reader:
  // true for a file, false for TOML a transport built from a request (an
  // HTTP client wrote JSON, not those lines).
  bool positions = true;
};

// A plugin's settings: the TOML tables consulted in order (topic's own, then
// the topic defaults'). Either may be null.
struct PluginSettings {
  std::vector<const toml::table*> tables;
  // Human-readable location of each table, e.g. "[topics.orders.plugins.time]".
  std::vector<std::string> table_names;
  // Where each table was written: a topic created at run time has its own
  // table in the request and its defaults in the broker's file.
  std::vector<ConfigOrigin> origins;
};

struct TopicConfig {
  std::string name;
  int32_t partitions = 1;
  int64_t segment_bytes = 1LL << 30;            // 1 GiB, as Kafka
  int64_t segment_ms = 7LL * 24 * 3600 * 1000;  // 7 days
  int64_t max_batch_bytes = 1048588;            // Kafka's message.max.bytes
  FlushMode flush_mode = FlushMode::EveryBatch;
  int64_t flush_interval_ms = 1000;
  int64_t flush_messages = 10000;
  // Retention keeps deleted segments' files to become later segments, so
  // that appends overwrite blocks instead of growing a file, and a pass
  // deletes no file it would soon make again (storage/spare_segment.hpp).
  // On by default: without it each retention pass's unlinks and the
  // appends' block allocation meet in the file system (docs/performance.md,
  // "Recycled segments").
  bool recycle_segments = true;
  // The active segment's file is sized to segment_bytes when it is made (a
  // hole: no disk is taken until written), so that appends never grow it
  // and neither they nor acks=all's fdatasync wait on a size change (Kafka's
  // `preallocate`; docs/performance.md, "Preallocated segments").
  bool preallocate = true;
  // acks=all needs this many in-sync replicas (in a cluster; Kafka's
  // min.insync.replicas). A single node is always 1 of 1.
  int32_t min_insync_replicas = 1;
  // Copies of each partition in a cluster; 0: [cluster]
  // default_replication_factor. Fixed once the topic is placed.
  int32_t replication_factor = 0;
  std::vector<std::string> index = {"sparse-mmap", "timestamp"};
  std::vector<std::string> retention = {"time", "size"};
  std::string partitioner = "key-hash";
  // strategy name -> its settings tables
  std::map<std::string, PluginSettings> plugin_settings;
  // Where each strategy was named, for messages: "<kind> <name>" (e.g.
  // "partitioner key-hash") -> "keel.toml:7:15". Absent for built-in defaults.
  std::map<std::string, std::string> strategy_locations;
  bool declared = false;  // true for topics named in the config file
  // [broker] producer_id_expiration_ms, copied here by the broker (not a
  // topic key).
  int64_t producer_id_expiration_ms = 24LL * 3600 * 1000;
  // Set by the broker in a cluster (not a topic key): the partitions'
  // high watermarks follow their ISR, not their log end.
  bool replicated = false;
  // The topic's own [topics.<name>] table (in the broker's document or in
  // document_owner); null for a topic made from the defaults alone.
  const toml::table* own_table = nullptr;
  // Keeps alive the TOML document plugin_settings point into, for topics
  // built outside the broker's config file (topic_from_toml).
  std::shared_ptr<const toml::table> document_owner;
};

struct TransportConfig {
  std::string name;      // strategy name, e.g. "kafka"
  std::string location;  // where its table was written, e.g. "keel.toml:12:1"
  bool enabled = true;
  PluginSettings settings;
};

// The internal topic __consumer_offsets and how commits reach it.
struct OffsetsConfig {
  // true ("commit"): an offset commit is durable before it is answered;
  // false ("interval"): commits are written every flush_interval_ms.
  bool flush_on_commit = true;
  int64_t flush_interval_ms = 1000;
  // Used when the topic is created; it keeps them afterwards.
  int32_t topic_partitions = 1;
  int64_t topic_segment_bytes = 100LL << 20;  // Kafka's offsets.topic.segment.bytes
  std::vector<std::string> topic_retention = {"compaction"};
  // Where offsets_topic_retention named each strategy (as in TopicConfig).
  std::map<std::string, std::string> retention_locations;
};

// [cluster]: how this broker joins a cluster (docs/configuration.md).
// Without the section the broker is a cluster of one and no coordinator
// runs: nothing changes for a single-node user.
struct ClusterConfig {
  bool enabled = false;  // a [cluster] section is present
  int32_t broker_id = 0;
  // Keys of this cluster live under "<cluster_id>/" in the coordinator's
  // namespace, so that several clusters may share one etcd.
  std::string cluster_id = "keel";
  std::string coordinator = "standalone";  // coordinator strategy name
  std::string coordinator_location;        // where it was named, for messages
  // Where clients and other brokers reach this broker when a transport
  // binds a wildcard address.
  std::string advertised_host = "127.0.0.1";
  std::string rack;
  // Replicas of a new topic (capped by the live brokers at creation).
  int32_t default_replication_factor = 3;
  // How often the cluster thread retries a coordinator that cannot be
  // reached, and the longest it waits for a reply.
  int64_t retry_backoff_ms = 500;
  // The kernel's replication listener (followers fetch from leaders
  // there); "" = advertised_host, port 0 = any free port.
  std::string replication_host;
  int32_t replication_port = 0;
  // The port other brokers are told to fetch from (listener "replication"
  // in the registration); 0 = the port bound. Set when a proxy or a NAT
  // stands in front of the listener.
  int32_t replication_advertised_port = 0;
  // A follower not caught up for this long leaves the ISR (Kafka's
  // replica.lag.time.max.ms).
  int64_t replica_lag_time_max_ms = 30000;
  // How often the controller hands partitions back to their preferred
  // replica (Kafka's leader.imbalance.check.interval.seconds); 0: never.
  int64_t leader_rebalance_interval_ms = 300000;
  // [cluster.<coordinator>]: the coordinator plugin's own settings.
  PluginSettings coordinator_settings;
};

// [authorizer]: who may do what (docs/security.md, "Authorization").
// Without the section no authorizer runs and every client may do
// everything, as before.
struct AuthorizerConfig {
  bool enabled = false;  // an [authorizer] section is present
  std::string strategy;  // the authorizer strategy, e.g. "acl"
  std::string location;  // where it was named, for messages
  // [authorizer.<strategy>]: the plugin's own settings.
  PluginSettings settings;
};

struct BrokerConfig {
  std::string source;  // path of the TOML file, or "<defaults>"
  std::string data_dir = "data";
  std::vector<std::string> plugin_path;  // directories searched for plugins
  std::vector<std::string> plugins;      // extra plugin libraries to load
  bool auto_create_topics = true;
  int64_t retention_check_ms = 30000;
  int64_t recovery_checkpoint_ms = 5000;
  // Idempotent producers silent this long are forgotten by every partition
  // (Kafka's producer.id.expiration.ms).
  int64_t producer_id_expiration_ms = 24LL * 3600 * 1000;
  std::string log_level = "info";
  // Bytes of requests all transports together may hold in memory while
  // reading and handling them; -1 = unbounded (Kafka's default).
  int64_t queued_max_request_bytes = 256LL << 20;
  // Bytes appended to a partition after which the flusher starts the
  // kernel's writeback of them (sync_file_range), so that neither a segment
  // roll's fdatasync nor the kernel's dirty-page throttling meets a large
  // dirty set. 0: off (the kernel writes back when it likes).
  int64_t writeback_bytes = 1 << 20;
  OffsetsConfig offsets;
  ClusterConfig cluster;
  AuthorizerConfig authorizer;

  TopicConfig topic_defaults;
  std::vector<TopicConfig> topics;
  std::vector<TransportConfig> transports;

  // Owns the parsed TOML document the settings tables point into.
  std::shared_ptr<toml::table> document;

  // Settings for a topic not named in the config (auto-created, or created
  // by an admin request): the defaults with the given name.
  TopicConfig topic_from_defaults(const std::string& name) const;
  // Settings for a topic created at run time with its own settings: TOML
  // with the keys of a [topics.<name>] table, on top of [topic_defaults].
  // `origin` names the text in messages (the defaults keep naming this
  // config's file). Throws like parse_config.
  TopicConfig topic_from_toml(const std::string& name, const std::string& settings_toml,
                              const ConfigOrigin& origin) const;
  const TopicConfig* find_topic(const std::string& name) const;
};

// Parses TOML text. `source` names the file in messages. `overrides` are
// "dotted.key=value" pairs from the command line, applied before validation
// (the value is parsed as TOML, falling back to a bare string).
// Throws keel::Error (KEEL_ERR_INVALID_ARGUMENT) naming file, line and key.
BrokerConfig parse_config(const std::string& toml_text, const std::string& source,
                          const std::vector<std::string>& overrides = {});
BrokerConfig load_config_file(const std::string& path, const std::vector<std::string>& overrides = {});

// A "key=value" override that sets `key` to the string `value` exactly (as a
// TOML literal string when it can be one, else a basic string with escapes).
std::string string_override(const std::string& key, const std::string& value);

// A key as it must be written in TOML: bare when possible, else quoted.
std::string toml_key(std::string_view key);

// "a string", "an integer", ...: a TOML value's type for error messages.
const char* toml_type_name(const toml::node& n);

}  // namespace keel
