// What transports and the data path ask about the cluster: who this broker
// is, which brokers are live and where, and who leads each partition.
//
// Without a [cluster] section it describes a cluster of one (this broker
// leads everything). With one, it serves the latest ClusterState the
// cluster thread published.
//
// Threads: publish(), fence() and the listener updates come from any
// thread (fence from the coordinator's, the others from the cluster
// thread's); every reader is safe from any thread and never blocks on I/O
// (a snapshot is a shared_ptr taken under a short lock).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "cluster/cluster_state.hpp"
#include "config/config.hpp"

namespace keel {

struct PartitionLeadership {
  int32_t leader = -1;
  int32_t leader_epoch = 0;
  std::vector<int32_t> replicas;
  std::vector<int32_t> isr;
};

struct LiveBroker {
  int32_t id = 0;
  HostPort endpoint;
  std::string rack;
};

class ClusterView {
 public:
  explicit ClusterView(const ClusterConfig& config);

  bool clustered() const { return clustered_; }
  int32_t self() const { return self_; }
  const std::string& cluster_id() const { return cluster_id_; }
  int32_t controller_id() const;

  // This broker's listeners, as its transports advertised them (a wildcard
  // or empty host becomes [cluster] advertised_host). `on_change` (set
  // once, by the cluster service) runs after each change.
  void advertise(const std::string& listener, const std::string& host, int32_t port);
  BrokerRecord self_record() const;
  void on_listeners_changed(std::function<void()> fn);

  void publish(std::shared_ptr<const ClusterState> state);
  // This broker's coordinator session was lost: it drops itself from the
  // view at once (not live, not controller, so it leads nothing and every
  // reader sees so), and from every state published after, until
  // unfence(). Called from the coordinator's thread as the SESSION_LOST
  // event arrives, so that it holds even while the cluster thread is
  // blocked in a call to an unreachable store. Returns false when already
  // fenced.
  bool fence();
  // Joined again with a new session: published states count as they are.
  void unfence();
  // `fn` runs after each publish (set once, by the broker: replication
  // reconciles with the new state).
  void on_published(std::function<void()> fn);
  std::shared_ptr<const ClusterState> snapshot() const;

  // Live brokers that serve `listener`, by id.
  std::vector<LiveBroker> brokers(const std::string& listener) const;
  // nullopt-like: leader -1 and no replicas when the cluster knows nothing
  // of the partition yet.
  PartitionLeadership leadership(const std::string& topic, int32_t partition) const;
  bool leads(const std::string& topic, int32_t partition) const;

 private:
  const bool clustered_;
  const int32_t self_;
  const std::string cluster_id_;
  const std::string advertised_host_;
  const std::string rack_;

  mutable std::mutex mu_;
  std::map<std::string, HostPort> listeners_;
  std::function<void()> on_change_;
  std::function<void()> on_published_;
  std::shared_ptr<const ClusterState> state_;
  bool fenced_ = false;
};

}  // namespace keel
