// The broker's side of replication: what the ReplicaManager may ask of it
// (logs, min_insync_replicas, the flusher, ISR writes through the cluster
// thread, reloading group offsets when it takes over an offsets
// partition), and the wait every acks=all write goes through.
#include <spdlog/spdlog.h>

#include <future>
#include <utility>

#include "broker.hpp"
#include "common/error.hpp"
#include "groups/offsets_topic_config.hpp"

namespace keel {
namespace {

class BrokerReplicaHost final : public ReplicaHost {
 public:
  BrokerReplicaHost(Broker& broker, std::function<ClusterService*()> cluster)
      : broker_(broker), cluster_(std::move(cluster)) {}

  std::shared_ptr<PartitionLog> replica_log(const std::string& topic, int32_t partition) override {
    auto t = broker_.find_topic(topic);
    return t ? t->partition(partition) : nullptr;
  }

  int32_t min_insync_replicas(const std::string& topic) override {
    auto t = broker_.find_topic(topic);
    return t ? t->config()->min_insync_replicas : 1;
  }

  void replica_appended(const std::shared_ptr<PartitionLog>& log, int64_t until) override {
    auto t = broker_.find_topic(log->topic());
    if (!t) return;
    const FlushPolicy policy = broker_.flush_policy(*t);
    if (policy.mode != FlushMode::EveryBatch) {
      broker_.flusher().appended(log, policy, until, nullptr);
      return;
    }
    // On this (the fetcher's) thread when no other sync of the log runs,
    // else behind it: either way the next fetch, whose offset moves the
    // leader's high watermark, goes out only once this is on disk.
    std::promise<std::pair<keel_status, std::string>> synced;
    broker_.flusher().appended(
        log, policy, until,
        [&synced](keel_status s, const std::string& m) {
          synced.set_value({s, m});
        },
        Flusher::SyncOn::CallerIfIdle);
    const auto [status, message] = synced.get_future().get();
    if (status != KEEL_OK) fail(status, message);
  }

  void propose_isr(const std::string& topic, int32_t partition, int32_t leader_epoch,
                   const std::vector<int32_t>& add, const std::vector<int32_t>& remove) override {
    if (ClusterService* c = cluster_()) c->propose_isr(topic, partition, leader_epoch, add, remove);
  }

  void leadership_changed(const std::string& topic, int32_t partition, bool leads) override {
    if (leads && Broker::is_internal(topic)) broker_.reload_offsets_partition(partition);
  }

 private:
  Broker& broker_;
  std::function<ClusterService*()> cluster_;
};

}  // namespace

void Broker::start_replication() {
  if (!config_.cluster.enabled) return;
  ReplicationConfig rc;
  rc.self = config_.cluster.broker_id;
  rc.listen_host = config_.cluster.replication_host.empty() ? config_.cluster.advertised_host
                                                            : config_.cluster.replication_host;
  rc.listen_port = config_.cluster.replication_port;
  rc.advertised_port = config_.cluster.replication_advertised_port;
  rc.replica_lag_time_max_ms = config_.cluster.replica_lag_time_max_ms;
  rc.retry_backoff_ms = std::min<int64_t>(config_.cluster.retry_backoff_ms, 1000);
  replica_host_ = std::make_unique<BrokerReplicaHost>(*this, [this] { return cluster_.get(); });
  replication_ = std::make_unique<ReplicaManager>(rc, *cluster_view_, *replica_host_, *clock_);
  replication_->start();
  cluster_view_->on_published([this] { replication_->view_changed(); });
}

void Broker::stop_replication() {
  if (!replication_) return;
  cluster_view_->on_published(nullptr);
  replication_->stop();
}

void Broker::await_durable(const Topic& topic, const std::shared_ptr<PartitionLog>& log, int64_t until,
                           Flusher::Done done, Flusher::SyncOn sync_on) {
  if (replication_) replication_->leader_appended(log);
  if (!done || !replication_) {
    flusher_.appended(log, policy_of(topic), until, std::move(done), sync_on);
    return;
  }
  // Durable here first (the topic's flush policy), then on the ISR: the
  // answer waits for both, the slower decides.
  flusher_.appended(
      log, policy_of(topic), until,
      [this, log, until, done](keel_status s, const std::string& m) {
        if (s != KEEL_OK) return done(s, m);
        replication_->wait_for_replicas(log, until, done);
      },
      sync_on);
}

void Broker::check_replicas_for_acks_all(const std::string& topic, int32_t partition) {
  if (replication_) replication_->check_enough_replicas(topic, partition);
}

}  // namespace keel
