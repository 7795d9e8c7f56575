// The broker's side of the cluster: starting and stopping the cluster
// thread, the topic operations it asks for, and the leadership check of
// the data path.
#include <spdlog/spdlog.h>

#include "broker.hpp"
#include "common/error.hpp"

namespace keel {
namespace {

// What the cluster thread may do to this broker's topics.
class BrokerClusterHost final : public ClusterHost {
 public:
  explicit BrokerClusterHost(Broker& broker) : broker_(broker) {}

  std::vector<LocalTopic> local_topics() override {
    std::vector<LocalTopic> out;
    for (const auto& t : broker_.topics()) {
      const auto cfg = t->config();
      out.push_back(LocalTopic{t->name(), t->partition_count(), "", Broker::is_internal(t->name()),
                               cfg->declared, cfg->replication_factor});
    }
    return out;
  }

  void create_local_topic(const std::string& name, const TopicRecord& record) override {
    try {
      broker_.create_topic(name, static_cast<int32_t>(record.assignment.size()), record.settings_toml);
    } catch (const Error& e) {
      // Created meanwhile by a client of this broker: the same topic.
      if (e.code() != KEEL_ERR_ALREADY_EXISTS) throw;
    }
  }

  void grow_local_topic(const std::string& name, int32_t partitions) override {
    broker_.grow_topic(name, partitions, false);
  }

  std::string local_settings(const std::string& name) override { return broker_.saved_topic_settings(name); }

  void alter_local_topic(const std::string& name, const std::string& settings_toml) override {
    broker_.alter_topic_here(name, settings_toml, false);
  }

  void delete_local_topic(const std::string& name) override {
    try {
      broker_.delete_topic(name);
    } catch (const Error& e) {
      if (e.code() != KEEL_ERR_NOT_FOUND) throw;
    }
  }

 private:
  Broker& broker_;
};

}  // namespace

void Broker::start_cluster() {
  if (!config_.cluster.enabled) return;
  cluster_host_ = std::make_unique<BrokerClusterHost>(*this);
  cluster_ = std::make_unique<ClusterService>(
      config_.cluster, std::make_unique<CoordinatorInstance>(*registry_, config_.cluster), *cluster_view_,
      *cluster_host_);
  cluster_->start();
  spdlog::info("cluster '{}': broker {} joining through coordinator '{}'", config_.cluster.cluster_id,
               config_.cluster.broker_id, config_.cluster.coordinator);
}

void Broker::register_cluster_collectors() {
  if (!config_.cluster.enabled) return;
  metrics_.describe("keel_cluster_brokers", "Live brokers this broker sees in its cluster");
  metrics_.describe("keel_cluster_controller", "1 while this broker is the cluster's controller");
  metrics_.describe("keel_cluster_leader_partitions", "Partitions this broker leads");
  metrics_.describe("keel_cluster_under_replicated_partitions",
                    "Partitions this broker leads whose ISR is smaller than their replicas");
  metrics_.describe("keel_cluster_offline_partitions",
                    "Partitions of the cluster without a live leader (as this broker sees it)");
  metrics_.describe(
      "keel_replication_isr_shrinks",
      "ISR shrinks this broker proposed as a leader since it started (followers that fell behind)");
  metrics_.describe("keel_replication_isr_expands",
                    "ISR expansions this broker proposed as a leader since it started (followers caught up)");
  metrics_.describe("keel_replication_max_follower_lag",
                    "The largest lag, in offsets, of a follower of a partition this broker leads");
  metrics_.describe("keel_replication_followed_partitions", "Partitions this broker copies as a follower");
  metrics_.describe("keel_replication_parked_fetches_answered_on_append",
                    "Follower fetches parked for data that the appending thread answered right after its "
                    "append, since the broker started");
  metrics_.describe("keel_replication_parked_fetches_answered_by_connection",
                    "Follower fetches parked for data that their connection's thread answered (the wait "
                    "ended, high-watermark news, or too many partitions to answer on append)");
  metrics_.add_collector([this](Metrics& sink) {
    const auto st = cluster_view_->snapshot();
    const int32_t self = cluster_view_->self();
    int64_t led = 0;
    int64_t under = 0;
    int64_t offline = 0;
    for (const auto& [id, entry] : st->partitions) {
      const int32_t leader = entry.record.leader;
      if (leader < 0 || !st->is_live(leader)) {
        ++offline;
        continue;
      }
      if (leader != self) continue;
      ++led;
      const auto* replicas = st->replicas(id);
      if (replicas != nullptr && entry.record.isr.size() < replicas->size()) ++under;
    }
    sink.gauge_set("keel_cluster_brokers", "", static_cast<double>(st->brokers.size()));
    sink.gauge_set("keel_cluster_controller", "", st->controller_id == self && st->is_live(self) ? 1.0 : 0.0);
    sink.gauge_set("keel_cluster_leader_partitions", "", static_cast<double>(led));
    sink.gauge_set("keel_cluster_under_replicated_partitions", "", static_cast<double>(under));
    sink.gauge_set("keel_cluster_offline_partitions", "", static_cast<double>(offline));
    if (replication_) {
      const ReplicaManager::Stats r = replication_->stats();
      sink.gauge_set("keel_replication_isr_shrinks", "", static_cast<double>(r.isr_shrinks));
      sink.gauge_set("keel_replication_isr_expands", "", static_cast<double>(r.isr_expands));
      sink.gauge_set("keel_replication_max_follower_lag", "", static_cast<double>(r.max_follower_lag));
      sink.gauge_set("keel_replication_followed_partitions", "", static_cast<double>(r.followed_partitions));
      sink.gauge_set("keel_replication_parked_fetches_answered_on_append", "",
                     static_cast<double>(r.parked_answered_on_append));
      sink.gauge_set("keel_replication_parked_fetches_answered_by_connection", "",
                     static_cast<double>(r.parked_answered_by_connection));
    }
  });
}

void Broker::stop_cluster() {
  if (!cluster_) return;
  spdlog::info("shutting down: leaving cluster '{}'", config_.cluster.cluster_id);
  cluster_->stop();
}

std::optional<TopicRecord> Broker::cluster_topic(const std::string& name) const {
  if (!cluster_view_->clustered()) return std::nullopt;
  const auto st = cluster_view_->snapshot();
  auto it = st->topics.find(name);
  if (it == st->topics.end()) return std::nullopt;
  return it->second.record;
}

int32_t Broker::leader_epoch_of(const std::string& topic, int32_t partition) const {
  if (!cluster_view_->clustered()) return 0;  // a cluster of one: epoch 0, always the leader
  const PartitionLeadership l = cluster_view_->leadership(topic, partition);
  return l.leader == cluster_view_->self() ? l.leader_epoch : -1;
}

int32_t Broker::require_leadership(const std::string& topic, int32_t partition) const {
  if (!cluster_view_->clustered()) return 0;  // the data path's common case: no copies of the view
  const PartitionLeadership l = cluster_view_->leadership(topic, partition);
  if (l.leader == cluster_view_->self()) return l.leader_epoch;
  fail(KEEL_ERR_NOT_LEADER,
       "broker " + std::to_string(cluster_view_->self()) + " does not lead " + topic + "-" +
           std::to_string(partition) +
           (l.leader >= 0
                ? "; broker " + std::to_string(l.leader) + " does (leader epoch " +
                      std::to_string(l.leader_epoch) + ")"
                : "; it has no leader right now (an election is running or no in-sync replica is up)") +
           ": refresh metadata and retry there");
}

}  // namespace keel
