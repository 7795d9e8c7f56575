// Replication on this broker (docs/design/replication.md): for every
// partition the cluster state gives it, it either leads it — tracks its
// followers, moves the high watermark, proposes ISR changes, answers
// acks=all producers — or follows its leader through a ReplicaFetcher.
//
// Threads:
//  - the control thread reconciles with the cluster view whenever it
//    changes (and every tick): starts and stops leading and following,
//    shrinks the ISR of lagging followers, times out acks=all waiters;
//  - the ReplicaServer's connection threads call handle_fetch(); a fetch
//    parked for data is answered by the thread that appends it (a watch
//    callback fired with WatchFired::kAppend) or by its connection's thread
//    (ReplicaServer, "A parked fetch");
//  - producer threads call check_enough_replicas(), leader_appended() and
//    wait_for_replicas().
// Leader state (leading_) is guarded by mu_; waiters' callbacks always run
// after mu_ is released. Fetchers belong to the control thread.
#pragma once

#include <keel/plugin.h>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "cluster/cluster_view.hpp"
#include "common/clock.hpp"
#include "replication/leader_partition.hpp"
#include "replication/replica_fetcher.hpp"
#include "replication/replica_host.hpp"
#include "replication/replica_server.hpp"
#include "replication/replica_wire.hpp"

namespace keel {

class ReplicaManager {
 public:
  using Done = std::function<void(keel_status, const std::string&)>;

  ReplicaManager(ReplicationConfig config, ClusterView& view, ReplicaHost& host, const Clock& clock);
  ~ReplicaManager();
  ReplicaManager(const ReplicaManager&) = delete;
  ReplicaManager& operator=(const ReplicaManager&) = delete;

  // Binds the replication listener and advertises it (listener
  // "replication" in this broker's registration, at advertised_port when
  // set: a proxy in front of it), then starts the control thread. Throws
  // keel::Error when the listener cannot bind.
  void start();
  // Fails every waiter (UNAVAILABLE), stops fetchers, server and thread.
  void stop();
  // The cluster view changed: reconcile soon. Any thread.
  void view_changed();

  // ---- the data path (leader)
  // acks=all, before the append: NOT_ENOUGH_REPLICAS when the ISR is
  // smaller than the topic's min_insync_replicas.
  void check_enough_replicas(const std::string& topic, int32_t partition);
  // The leader appended: with an ISR of one the high watermark moves now.
  void leader_appended(const std::shared_ptr<PartitionLog>& log);
  // Runs `done` once the high watermark reaches `until` (KEEL_OK), or with
  // NOT_ENOUGH_REPLICAS_AFTER_APPEND when the ISR shrank below
  // min_insync_replicas meanwhile, NOT_LEADER when leadership moved,
  // TIMED_OUT after produce_timeout_ms.
  void wait_for_replicas(const std::shared_ptr<PartitionLog>& log, int64_t until, Done done);

  // ---- the leader's side of a follower's fetch (server threads)
  // The answer now, or a fetch parked until there is data, high-watermark
  // news or its max_wait_ms is over (answered through `out`).
  ReplicaServer::Reply handle_fetch(const ReplicaFetchRequest& req, ReplicaServer::Outlet& out);

  struct Stats {
    int64_t isr_shrinks = 0;       // proposed
    int64_t isr_expands = 0;       // proposed
    int64_t max_follower_lag = 0;  // offsets, over the partitions led here
    int64_t followed_partitions = 0;
    // Parked follower fetches answered right after an append, on the
    // appending thread, and by their connection's thread.
    int64_t parked_answered_on_append = 0;
    int64_t parked_answered_by_connection = 0;
  };
  Stats stats() const;

 private:
  using Key = std::pair<std::string, int32_t>;
  class Parked;
  struct Completion {
    ReplicaWaiter waiter;
    keel_status status;
    std::string message;
  };

  void control_loop();
  void reconcile();
  void tick();
  // `budget`: bytes the answer may still carry (a partition past it gets
  // its state but no records this round). `last_round`: the answer goes
  // out after this, with or without data.
  ReplicaFetchAnswer serve(int32_t follower, const ReplicaFetchPartition& p, bool last_round, int64_t* budget,
                           bool* has_data, std::vector<Completion>* completions);
  // Moves the HW of a led partition as far as its ISR allows; collects the
  // waiters it satisfies. Called with mu_ held.
  void advance_locked(LeaderPartition& lp, PartitionLog& log, std::vector<Completion>* out);
  static void complete(std::vector<Completion>& done);
  // One round of answers to every partition of `req`. `last_round`: see
  // serve(). Sets *has_data when any answer carries records or news.
  ReplicaFetchResponse answer(const ReplicaFetchRequest& req, bool last_round, bool* has_data);

  const ReplicationConfig config_;
  ClusterView& view_;
  ReplicaHost& host_;
  const Clock& clock_;
  ReplicaServer server_;

  mutable std::mutex mu_;
  std::map<Key, std::unique_ptr<LeaderPartition>> leading_;  // guarded by mu_
  Stats stats_;                                              // guarded by mu_

  // Control thread.
  std::map<int32_t, std::unique_ptr<ReplicaFetcher>> fetchers_;  // by leader
  std::map<Key, int32_t> following_;                             // -> leader

  std::mutex control_mu_;
  std::condition_variable control_cv_;
  bool changed_ = false;  // guarded by control_mu_
  bool stop_ = false;     // guarded by control_mu_
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace keel
