// A topic: its partitions' logs and the strategy instances its config chose
// (partitioner, retention policies, index strategies with their settings).
//
// Threads: the partition list only grows after open() (add_partitions, under
// partitions_mu_; readers take it shared and keep the logs they got);
// strategy instances are created in the constructor and destroyed with the
// topic. choose_partition
// may run on any thread (partitioners are required to be thread-safe);
// apply_retention runs on the broker's maintenance thread. The settings in
// effect (config()) and the retention instances may be replaced while the
// topic runs (reconfigure, under the broker's create_mu_): both are
// shared_ptrs swapped under live_mu_, so a retention pass keeps the
// generation it started with and the replaced instances are destroyed when
// it ends.
#pragma once

#include <keel/plugin.h>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "config/config.hpp"
#include "plugins/plugin_config.hpp"
#include "plugins/plugin_registry.hpp"
#include "storage/partition_log.hpp"

namespace keel {

class Metrics;
class SpareMaker;

class Topic {
 public:
  const std::vector<IndexSpec>& index_specs() const { return index_specs_; }
  // A retention strategy of the topic rewrites segments (compaction), so
  // offsets may be missing between them.
  bool rewrites_segments() const;
  // Loads (through the registry) and instantiates the topic's strategies.
  // Touches no file (open() does). Throws keel::Error naming the topic, the
  // strategy and where the config named it on failure.
  Topic(TopicConfig config, PluginRegistry& registry, const std::string& data_dir, const Clock* clock);
  ~Topic();
  Topic(const Topic&) = delete;
  Topic& operator=(const Topic&) = delete;

  // Busy partitions ask `maker` for spares with their blocks allocated
  // (storage/spare_maker.hpp). Set before open(); `maker` outlives the
  // topic's appends (the broker stops it before closing topics, and then
  // it only ignores requests). Without one, rolls make holes.
  void set_spare_maker(SpareMaker* maker) { spare_maker_ = maker; }

  // Opens (creating as needed) max(config partitions, partitions on disk)
  // partition logs. recovery_point(p) gives each partition's checkpoint.
  void open(bool clean, const std::function<int64_t(int32_t)>& recovery_point);

  // Settings problems (unknown keys, wrong types) found once every strategy
  // has read its settings; empty when all is well. Index strategies read
  // theirs when a segment's index opens: before open() their settings are
  // not judged.
  std::vector<std::string> config_problems() const;

  const std::string& name() const { return config_.name; }
  // The settings in effect now (they change with reconfigure).
  std::shared_ptr<const TopicConfig> config() const;

  // A checked change of settings, made by prepare_reconfigure and put in
  // effect by apply_reconfigure (the broker persists it in between).
  struct Reconfiguration;
  // Creates the retention strategies with `next`'s settings, each of which
  // may refuse them, and checks what cannot change on a running topic (index
  // strategies and their settings, the partitioner, dropping a rewriting
  // retention strategy). Throws keel::Error naming the topic and setting;
  // changes nothing.
  std::shared_ptr<Reconfiguration> prepare_reconfigure(TopicConfig next, PluginRegistry& registry) const;
  // Puts it in effect: segment settings at the next roll, retention at the
  // next pass, flush settings at the next produce.
  void apply_reconfigure(const std::shared_ptr<Reconfiguration>& change);
  int32_t partition_count() const;
  // nullptr when out of range.
  std::shared_ptr<PartitionLog> partition(int32_t p) const;
  // Kafka's CreatePartitions: creates the logs of partitions
  // partition_count()..total-1 (empty, with the topic's settings). They
  // survive a restart by their directories (open() keeps every partition
  // found on disk). Callers serialise it (the broker's create_mu_). Throws
  // keel::Error; partitions created before a failure stay.
  void add_partitions(int32_t total);

  // The partitioner's choice for a key (nullptr = null key).
  int32_t choose_partition(const uint8_t* key, size_t key_len);
  // Asks every retention strategy and deletes what the most eager allows,
  // then lets each rewriting strategy rewrite closed segments of
  // every partition. Returns the number of segments deleted.
  // `stopping` (may be null) tells rewriting strategies to give up early.
  // `metrics` (may be null) gets the keel_log_rewrite_* samples
  // (storage/rewrite_progress.hpp).
  int apply_retention(int64_t now_ms, const std::atomic<bool>* stopping = nullptr,
                      Metrics* metrics = nullptr);
  // Rolls the partitions whose active segment is older than segment_ms
  // (their sealed segments then await a sync: Flusher::rolled).
  void roll_aged_segments();
  void close(PartitionLog::Closing how = PartitionLog::Closing::Keep);

  static std::string partition_dir(const std::string& data_dir, const std::string& topic, int32_t p);

 private:
  keel_config* settings_for(const std::string& strategy, const std::string& role);
  StrategyRef require(PluginRegistry& registry, int32_t kind, const std::string& name) const;
  // Where the config named the strategy ("keel.toml:7:15"), else "".
  std::string location_of(int32_t kind, const std::string& name) const;
  // The same as " (keel.toml:7:15)", else "".
  std::string named_at(int32_t kind, const std::string& name) const;
  // Type errors and unknown keys recorded for a strategy's settings, as
  // indented lines to append to a message.
  std::string problems_of(const std::string& strategy) const;
  LogOptions log_options() const;
  // A snapshot of the partition list.
  std::vector<std::shared_ptr<PartitionLog>> logs() const;

  struct RetentionInstance {
    StrategyRef ref;
    keel_retention* handle = nullptr;
  };
  // One generation of retention instances with the settings they read.
  struct RetentionSet {
    std::shared_ptr<const TopicConfig> config;  // keeps the settings tables alive
    std::map<std::string, std::unique_ptr<keel_config>> settings;
    std::vector<RetentionInstance> instances;
    RetentionSet() = default;
    RetentionSet(const RetentionSet&) = delete;
    RetentionSet& operator=(const RetentionSet&) = delete;
    ~RetentionSet();
    bool rewrites() const;
    bool requires_keys() const;
  };
  std::shared_ptr<RetentionSet> make_retention(std::shared_ptr<const TopicConfig> cfg,
                                               PluginRegistry& registry) const;
  std::shared_ptr<RetentionSet> retention() const;
  LiveLogOptions live_options(const TopicConfig& cfg, const RetentionSet& r) const;

  // Passes over the closed segments the last rewrite run of (strategy,
  // partition) made: the next run's progress estimate. Maintenance thread only.
  std::map<std::pair<std::string, int32_t>, int> rewrite_passes_;

  // The configuration the topic was opened with: its name, index
  // strategies and partitioner (with their settings) never change.
  TopicConfig config_;
  std::string data_dir_;
  SpareMaker* spare_maker_ = nullptr;
  const Clock* clock_;
  std::map<std::string, std::unique_ptr<keel_config>> settings_;
  std::vector<IndexSpec> index_specs_;

  StrategyRef partitioner_ref_;
  keel_partitioner* partitioner_ = nullptr;
  mutable std::mutex live_mu_;
  std::shared_ptr<const TopicConfig> live_;  // guarded by live_mu_
  std::shared_ptr<RetentionSet> retention_;  // guarded by live_mu_
  mutable std::shared_mutex partitions_mu_;
  std::vector<std::shared_ptr<PartitionLog>> partitions_;  // guarded by partitions_mu_
};

}  // namespace keel
