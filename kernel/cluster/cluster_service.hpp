// The cluster thread: this broker's membership in a cluster, through the
// coordinator plugin ([cluster] coordinator).
//
//  - opens a session and registers brokers/<id> bound to it (refused while
//    another session holds the id: a second broker with the same id, or
//    this broker's previous run whose session has not expired yet);
//  - reads the whole cluster state, then follows it with a watch, and
//    publishes each new state to the ClusterView that readers use;
//  - campaigns for controller when there is none; as controller, assigns
//    leaders to new partitions and moves leadership away from brokers that
//    are gone (controller_plan.hpp), every write fenced by the partition
//    key's mod_revision and the controller key's create_revision (never by
//    holding a lock: Jepsen found etcd's locks unsafe);
//  - publishes topics made on this broker, and makes on this broker the
//    topics other brokers published (every broker holds every topic's
//    logs; only a partition's leader takes writes).
// A session that is lost (SESSION_LOST, or the store unreachable past the
// TTL) drops this broker from its own view at once, so it stops leading
// (ClusterView::fence, from the coordinator's thread, even while this
// thread is blocked on the store), then it joins again with a new session
// (a new broker epoch).
//
// Threads: one, started by start() and joined by stop(); everything below
// runs on it except the enqueue functions (topic_created/topic_deleted,
// listener changes and watch events), which any thread may call.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "cluster/cluster_records.hpp"
#include "cluster/cluster_state.hpp"
#include "cluster/cluster_view.hpp"
#include "cluster/controller_plan.hpp"
#include "cluster/coordinator_instance.hpp"
#include "config/config.hpp"

namespace keel {

// What the cluster thread needs of the broker: its topics on disk.
class ClusterHost {
 public:
  struct LocalTopic {
    std::string name;
    int32_t partitions = 0;
    std::string settings_toml;
    bool internal = false;
    bool declared = false;           // named in the broker's config file
    int32_t replication_factor = 0;  // 0: [cluster] default_replication_factor
  };
  virtual ~ClusterHost() = default;
  virtual std::vector<LocalTopic> local_topics() = 0;
  // Creates the topic's logs here, as another broker published it. Throws
  // keel::Error.
  virtual void create_local_topic(const std::string& name, const TopicRecord& record) = 0;
  // Adds partitions up to `partitions` (a topic made here with fewer, by a
  // client that raced the cluster). Throws keel::Error.
  virtual void grow_local_topic(const std::string& name, int32_t partitions) = 0;
  virtual void delete_local_topic(const std::string& name) = 0;
  // The topic's own settings here ("" when none), and applying the
  // cluster's. Throw keel::Error.
  virtual std::string local_settings(const std::string& name) = 0;
  virtual void alter_local_topic(const std::string& name, const std::string& settings_toml) = 0;
};

class ClusterService {
 public:
  ClusterService(const ClusterConfig& config, std::unique_ptr<CoordinatorInstance> coordinator,
                 ClusterView& view, ClusterHost& host);
  ~ClusterService();
  ClusterService(const ClusterService&) = delete;
  ClusterService& operator=(const ClusterService&) = delete;

  void start();
  // Joins the thread, then ends the session (its keys vanish at once, so
  // the controller moves this broker's leaderships without waiting for
  // the TTL). Idempotent.
  void stop();

  // A topic made or removed on this broker (admin request, auto-creation).
  void topic_created(const std::string& name, int32_t partitions, const std::string& settings_toml,
                     bool internal, int32_t replication_factor);
  void topic_deleted(const std::string& name);
  // Kafka's CreatePartitions in a cluster: the topic's assignment in the
  // store gets replicas for partitions count..total-1 (spread as at
  // creation, as many copies as its first partition), fenced by the topic
  // key's mod_revision; every broker then creates the new logs and the
  // controller gives them leaders. Blocks the caller until the cluster
  // thread has written it (or `timeout_ms`). Throws keel::Error: NOT_FOUND
  // (not in the cluster), INVALID_ARGUMENT (not larger), UNAVAILABLE (the
  // store did not answer in time; it may still take it).
  void grow_topic(const std::string& name, int32_t total, int64_t timeout_ms);
  // A topic's settings in a cluster (Kafka's AlterConfigs): written to the
  // topic's record, fenced by its revision; every broker applies them when
  // it sees the record change. Blocks like grow_topic, same errors.
  void set_topic_settings(const std::string& name, const std::string& settings_toml, int64_t timeout_ms);
  // The partition's leader asks to change its ISR (replication): `add`
  // and `remove` applied to the ISR the state holds when it is written,
  // only while the state still names this broker leader at `leader_epoch`,
  // fenced by the partition key's mod_revision; dropped otherwise (the
  // leader proposes again if it still wants it).
  void propose_isr(const std::string& topic, int32_t partition, int32_t leader_epoch,
                   std::vector<int32_t> add, std::vector<int32_t> remove);

 private:
  struct IsrProposal {
    PartitionId id;
    int32_t leader_epoch = 0;
    std::vector<int32_t> add;
    std::vector<int32_t> remove;
  };
  void write_isr_proposals();
  struct GrowOp {
    std::string name;
    int32_t total = 0;                    // > 0: grow to this count
    std::optional<std::string> settings;  // set: replace the settings
    bool done = false;
    keel_status status = KEEL_OK;
    std::string message;
  };
  void grow_topics();

  struct TopicOp {
    bool create = true;
    ClusterHost::LocalTopic topic;
  };

  void run();
  void join_cluster();
  void register_broker();
  void update_registration();
  void load_state();
  void drain_events();
  void campaign();
  void lead_partitions();
  // Carries out the controller's writes in order, fenced; false at the
  // first that fails (the state changed: plan again). `why` ends each log line.
  bool write_partitions(const std::vector<PartitionWrite>& writes, const char* why);
  // False while too few brokers are live to place it (retried later).
  bool publish_topic(const ClusterHost::LocalTopic& topic);
  void unpublish_topic(const std::string& name);
  void sync_local_topics();
  void publish_view();
  void leave_cluster(const std::string& why);
  void wait_for_work(int64_t timeout_ms);

  const ClusterConfig config_;
  const ClusterKeys keys_;
  std::unique_ptr<CoordinatorInstance> coordinator_;
  ClusterView& view_;
  ClusterHost& host_;

  // Cluster-thread state.
  ClusterState state_;
  bool joined_ = false;
  bool published_declared_ = false;
  std::optional<uint64_t> watch_id_;
  int64_t session_ttl_ms_ = 0;
  int64_t controller_epoch_ = 0;               // ours while we are the controller, else 0
  std::map<int32_t, int64_t> broker_epochs_;   // as the controller last planned with them
  int64_t last_rebalance_ms_ = 0;              // monotonic; 0: not the controller
  std::vector<std::string> topics_removed_;    // deleted in the cluster, to remove here
  std::set<std::string> waiting_for_brokers_;  // topics whose wait was logged

  // Shared with other threads, under mu_.
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool listeners_changed_ = false;
  std::deque<CoordEvent> events_;
  std::deque<TopicOp> topic_ops_;
  std::vector<IsrProposal> isr_proposals_;
  std::vector<std::shared_ptr<GrowOp>> grow_ops_;  // answered through cv_
  // Cluster thread: the topic record revision whose settings this broker
  // has checked against its own.
  std::map<std::string, int64_t> settings_synced_;
  void run_topic_op(const std::shared_ptr<GrowOp>& op, int64_t timeout_ms);
  std::thread thread_;
};

}  // namespace keel
