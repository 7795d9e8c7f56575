// The broker: owns the configuration, the plugin registry, the topics, the
// consumer-group offsets and metrics, and the life cycle around them:
// start-up recovery, the flusher and maintenance threads, the transports,
// and clean shutdown.
//
// Threads:
//  - the caller of start()/stop() (main);
//  - the flusher thread (Flusher) syncs logs and answers acks=all;
//  - the maintenance thread runs retention, age-based rolling and recovery
//    checkpoints every few seconds;
//  - transports run their own threads and call in through the broker API;
//    every public method here is safe to call from any thread.
// The topics map is guarded by topics_mu_ (shared for lookups).
#pragma once

#include <keel/plugin.h>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

#include "cluster/cluster_service.hpp"
#include "cluster/cluster_view.hpp"
#include "common/clock.hpp"
#include "config/config.hpp"
#include "config/config_check.hpp"
#include "config/topic_settings.hpp"
#include "groups/group_fence.hpp"
#include "groups/group_offsets.hpp"
#include "groups/group_views.hpp"
#include "observability/metrics.hpp"
#include "plugins/plugin_registry.hpp"
#include "plugins/transport_instance.hpp"
#include "producers/producer_ids.hpp"
#include "replication/replica_manager.hpp"
#include "request_budget.hpp"
#include "storage/flusher.hpp"
#include "storage/spare_maker.hpp"
#include "topic.hpp"

namespace keel {

namespace security {
class Authorizer;
class CredentialStore;
}  // namespace security

class Broker {
 public:
  explicit Broker(BrokerConfig config, const Clock* clock = nullptr);
  ~Broker();
  Broker(const Broker&) = delete;
  Broker& operator=(const Broker&) = delete;

  // Checks the configuration (check_config), then locks the data dir, opens
  // and recovers every topic, starts the background threads and the
  // transports. Throws keel::Error with a message that names what failed
  // and how to fix it: ConfigError when the configuration cannot work
  // (nothing on disk was touched then), DataDirLockedError when another
  // broker holds the data dir.
  void start();
  // Loads the plugins and creates (then destroys) every strategy and
  // transport the configuration names, touching no file and binding no
  // port: `keel --check-config`, and the first step of start().
  ConfigCheck check_config();
  // Stops transports, flushes every log, writes the recovery checkpoint and
  // the clean-shutdown marker. Idempotent.
  void stop();
  bool ready() const { return ready_.load(); }

  // ---- topics
  std::shared_ptr<Topic> find_topic(const std::string& name) const;
  // The topic, created with the defaults when missing and `create` is true.
  std::shared_ptr<Topic> get_topic(const std::string& name, bool create);
  // `settings_toml`: the keys of a [topics.<name>] table ("" = defaults),
  // from a client's request (messages name "the settings of the request",
  // never the broker's config file); kept in <data_dir>/.topics/<name>.toml
  // so the topic keeps them.
  std::shared_ptr<Topic> create_topic(const std::string& name, int32_t partitions,
                                      const std::string& settings_toml = "");
  void delete_topic(const std::string& name);
  // broker_topic_settings.cpp. The settings in effect for `name` (nullptr:
  // the topic defaults). Throws NOT_FOUND.
  std::vector<TopicSetting> topic_settings(const std::string* name) const;
  // Replaces a topic's own settings (see keel_broker_api::alter_topic):
  // checks them with its strategies, then saves them to
  // <data_dir>/.topics/<name>.toml and puts them in effect. Throws
  // keel::Error naming the topic and setting; nothing changes then.
  void alter_topic(const std::string& name, const std::string& settings_toml, bool validate_only);
  // alter_topic on this broker alone: for the cluster thread, which applies
  // here the settings the cluster has.
  void alter_topic_here(const std::string& name, const std::string& settings_toml, bool validate_only);
  // A topic's own settings as saved with it ("" when it has none).
  std::string saved_topic_settings(const std::string& name) const;
  std::vector<std::shared_ptr<Topic>> topics() const;
  // ---- admin (broker_admin.cpp)
  // Grows a topic to `total` partitions (Kafka's CreatePartitions): NOT_FOUND
  // for an unknown topic, INVALID_ARGUMENT for an internal topic or a count
  // that is not larger (partitions are never removed) or above the limit.
  // `validate_only`: the checks only. Blocks on the file system.
  void create_partitions(const std::string& topic, int32_t total, bool validate_only);
  // Moves a partition's log start offset (Kafka's DeleteRecords; see
  // PartitionLog::delete_records). Returns the new log start.
  int64_t delete_records(const std::string& topic, int32_t partition, int64_t offset);
  // create_partitions without the cluster's refusal: for the cluster thread,
  // which grows a topic here to the count the cluster has.
  void grow_topic(const std::string& topic, int32_t total, bool validate_only);
  bool auto_create_topics() const { return config_.auto_create_topics; }

  // ---- data path
  using ProduceDone = std::function<void(keel_status, const std::string& message, const AppendResult&)>;
  // Appends and answers through `done` once the acks level is met. `done`
  // runs exactly once, on this thread or on the flusher thread.
  // `sync_here`: acks=all's sync may run on this thread
  // (KEEL_PRODUCE_SYNC_HERE; Flusher::SyncOn::CallerIfIdle).
  // A producer id never handed out before (idempotent producers; epoch 0).
  // Blocks while a new block of ids is made durable. Throws keel::Error.
  int64_t init_producer_id();
  void produce(const std::string& topic, int32_t partition, const uint8_t* data, size_t len, int32_t acks,
               ProduceDone done, bool sync_here = false);
  ReadResult fetch(const std::string& topic, int32_t partition, int64_t offset, int64_t max_bytes);
  std::shared_ptr<PartitionLog> partition(const std::string& topic, int32_t partition) const;

  // ---- consumer groups (broker_groups.cpp)
  struct GroupCommit {
    std::string group;
    std::string member_id;  // "" outside a group protocol
    int32_t generation = KEEL_GENERATION_NONE;
    std::vector<OffsetCommit> offsets;
  };
  using CommitDone = std::function<void(keel_status, const std::string& message)>;
  // Checks the commit against the group's fence (UNKNOWN_MEMBER, FENCED),
  // stores it and makes it as durable as offsets_flush says, then calls
  // `done` exactly once. "interval": stored (visible to fetch) and `done`
  // run on this thread before it returns. "commit": appended to
  // __consumer_offsets on this thread, which never waits for the sync;
  // `done` runs on the flusher thread once the sync is over, with the
  // offsets visible to fetch from just before (never, if the sync failed).
  // A group's commits are applied and answered in the order they came.
  void commit_offsets(const GroupCommit& commit, const CommitDone& done);
  // Publishes a group's members for fencing; no members empties it.
  void set_group_members(const std::string& group, int32_t generation, std::vector<std::string> member_ids);
  // What operators' views show of a group (ABI 2.6), published with its
  // members; display only.
  void set_group_view(const std::string& group, GroupView view) { group_views_.set(group, std::move(view)); }
  // The group's published view; a group with stored offsets or metadata
  // but no members is "Empty"; nullopt when the broker knows neither.
  std::optional<GroupView> describe_group(const std::string& group) const;
  // Removes a group's offsets and metadata; FENCED while it has members
  // (set_group_members), NOT_FOUND if it has neither. Throws keel::Error.
  void delete_group(const std::string& group);
  // Removes some of a group's offsets; NOT_FOUND if the group is unknown.
  void delete_group_offsets(const std::string& group, const std::string& topic,
                            const std::vector<int32_t>& partitions);
  const GroupFence& group_fence() const { return fence_; }

  // ---- the cluster (broker_cluster.cpp). Without [cluster] the view
  // describes a cluster of one and no cluster thread runs.
  ClusterView& cluster_view() { return *cluster_view_; }
  // Throws NOT_LEADER, naming the leader, when this broker does not lead
  // the partition; returns its leader epoch when it does (what appends are
  // stamped with: one read of the view for both, so they agree).
  int32_t require_leadership(const std::string& topic, int32_t partition) const;
  // The partition's leader epoch when this broker leads it, else -1.
  int32_t leader_epoch_of(const std::string& topic, int32_t partition) const;
  // The cluster's definition of a topic (partition count, settings) when a
  // [cluster] runs and knows it: a topic made here (by a client's request
  // or auto-creation) takes it, so that every broker holds the same topic.
  std::optional<TopicRecord> cluster_topic(const std::string& name) const;

  // ---- replication (broker_replication.cpp). Without [cluster] none runs.
  // Reloads one partition of __consumer_offsets into the offset store (this
  // broker just became its leader: the group coordinator for its groups).
  void reload_offsets_partition(int32_t partition);
  FlushPolicy flush_policy(const Topic& t) const { return policy_of(t); }

  // ---- services
  Metrics& metrics() { return metrics_; }
  // The users SASL authenticates against; opened by start().
  security::CredentialStore& credentials() { return *credentials_; }
  // The [authorizer], or nullptr without one (every action allowed);
  // created by start() before the transports, destroyed after them.
  security::Authorizer* authorizer() { return authorizer_.get(); }
  RequestBudget& request_budget() { return request_budget_; }
  GroupOffsetStore& group_offsets() { return *offsets_; }
  Flusher& flusher() { return flusher_; }
  PluginRegistry& registry() { return *registry_; }
  const BrokerConfig& config() const { return config_; }
  const Clock& clock() const { return *clock_; }
  // The settings of a topic found on disk but not in the config file: the
  // ones saved when it was created, else the topic defaults.
  TopicConfig config_for_discovered(const std::string& topic) const;
  // The C table handed to transports.
  const keel_broker_api* api() const { return &api_; }

  // Runs one maintenance pass now (retention, rolling, checkpoint, offsets
  // flush); tests use it with a manual clock.
  void run_maintenance();
  // Writes the offsets committed since the last flush (offsets_flush =
  // "interval") into the internal topic; throws keel::Error.
  void flush_offsets();
  // Broker-owned topics (__consumer_offsets): clients may read them only.
  static bool is_internal(const std::string& topic);

 private:
  void lock_data_dir();
  void load_topics(bool clean);
  void open_authorizer();  // [authorizer]: before the transports start
  void open_producer_ids();
  // `existing`: the topic is on disk already (start-up), so its recovery
  // points apply.
  std::shared_ptr<Topic> open_topic(TopicConfig cfg, bool clean, bool existing);
  // Opens a new topic from `cfg` and keeps `settings_toml` (unless empty)
  // with it. Takes create_mu_.
  std::shared_ptr<Topic> create_configured_topic(TopicConfig cfg, int32_t partitions,
                                                 const std::string& settings_toml);
  void start_transports();
  void stop_transports();
  void start_cluster();
  void register_cluster_collectors();
  void stop_cluster();
  void start_replication();
  void stop_replication();
  // After an append by this broker as leader: moves the high watermark
  // when the ISR allows, and runs `done` (if set: acks=all) once `until`
  // is durable under the topic's flush policy and, in a cluster, on the
  // ISR (ReplicaManager::wait_for_replicas). `sync_on`: see
  // Flusher::appended.
  void await_durable(const Topic& topic, const std::shared_ptr<PartitionLog>& log, int64_t until,
                     Flusher::Done done, Flusher::SyncOn sync_on = Flusher::SyncOn::FlusherThread);
  // acks=all in a cluster: NOT_ENOUGH_REPLICAS before anything is written.
  void check_replicas_for_acks_all(const std::string& topic, int32_t partition);
  void maintenance_loop();
  void write_checkpoint();
  std::mutex checkpoint_mu_;
  std::map<std::string, int64_t> read_checkpoint() const;
  void register_collectors();
  std::string saved_settings_path(const std::string& topic) const;
  FlushPolicy policy_of(const Topic& t) const;
  // broker_offsets.cpp
  void open_offsets();
  // Applies the records of __consumer_offsets (of partition `only`, or all
  // when -1) to the offset store.
  void load_offsets(Topic& topic, int32_t only = -1);
  void write_offsets(int32_t partition, const std::vector<std::string>& batches, GroupOffsetStore::Done done);
  void migrate_legacy_offsets();

  BrokerConfig config_;
  SystemClock system_clock_;
  const Clock* clock_;
  std::unique_ptr<PluginRegistry> registry_;
  Metrics metrics_;
  RequestBudget request_budget_;
  std::unique_ptr<GroupOffsetStore> offsets_;
  std::unique_ptr<security::CredentialStore> credentials_;
  // Declared before transports_: destroyed after them, so that no
  // transport thread can ask a destroyed authorizer.
  std::unique_ptr<security::Authorizer> authorizer_;
  std::unique_ptr<ProducerIds> producer_ids_;  // set in start(), before transports
  GroupFence fence_;
  GroupViews group_views_;
  Flusher flusher_;
  // Declared before topics_: their partitions' hooks point at it.
  SpareMaker spare_maker_;

  mutable std::shared_mutex topics_mu_;
  std::map<std::string, std::shared_ptr<Topic>> topics_;
  std::mutex create_mu_;  // serialises topic creation and deletion

  std::vector<std::unique_ptr<TransportInstance>> transports_;
  keel_broker_api api_{};
  std::unique_ptr<ClusterView> cluster_view_;
  std::unique_ptr<ClusterHost> cluster_host_;
  std::unique_ptr<ClusterService> cluster_;  // with [cluster] only, from start()
  std::unique_ptr<ReplicaHost> replica_host_;
  std::unique_ptr<ReplicaManager> replication_;  // with [cluster] only, from start()

  int lock_fd_ = -1;
  std::atomic<bool> ready_{false};
  std::atomic<bool> stopping_{false};  // set first thing in stop()
  bool started_ = false;
  bool stopped_ = false;
  // Set when start() begins opening topics: from then on stop() writes the
  // checkpoint (a start refused before it touched no topic).
  bool opening_topics_ = false;
  std::mutex maint_mu_;
  std::condition_variable maint_cv_;
  bool maint_stop_ = false;
  std::thread maint_thread_;
  int64_t last_retention_ms_ = 0;
  int64_t last_checkpoint_ms_ = 0;
  int64_t last_offsets_flush_ms_ = 0;
};

// Fills the C broker API table with functions that call into `broker`.
void make_broker_api(Broker* broker, keel_broker_api* api);

}  // namespace keel
