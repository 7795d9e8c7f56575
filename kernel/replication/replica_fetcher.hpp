// A follower's fetcher for one leader broker (Kafka's ReplicaFetcherThread):
// one connection to that broker's replication listener and one thread
// that asks, in a loop, for the batches after the log end of every
// partition this broker follows there, appends them as they are, and
// keeps the leader's high watermark.
//
// Truncation (KIP-279/320): each fetch carries the epoch of the follower's
// last batch; when the leader answers that the follower's log diverges
// from its own after that epoch, the follower cuts its log to
// min(the leader's end of that epoch, its own end of it) and fetches again.
// It never cuts to the high watermark.
//
// Threads: follow/unfollow/stop from the ReplicaManager's control thread;
// everything else on the fetcher's own thread.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "cluster/cluster_view.hpp"
#include "observability/outage_log.hpp"
#include "replication/frame_socket.hpp"
#include "replication/replica_host.hpp"
#include "replication/replica_wire.hpp"

namespace keel {

class ReplicaFetcher {
 public:
  ReplicaFetcher(int32_t leader, const ReplicationConfig& config, ClusterView& view, ReplicaHost& host);
  ~ReplicaFetcher();
  ReplicaFetcher(const ReplicaFetcher&) = delete;
  ReplicaFetcher& operator=(const ReplicaFetcher&) = delete;

  // Follows the partition at `leader_epoch` (a newer epoch replaces the old).
  void follow(const std::string& topic, int32_t partition, int32_t leader_epoch);
  void unfollow(const std::string& topic, int32_t partition);
  bool empty() const;
  int32_t leader() const { return leader_; }
  void stop();

 private:
  struct Followed {
    int32_t leader_epoch = 0;
    int64_t retry_at_ms = 0;  // after an error, not before
  };
  using Key = std::pair<std::string, int32_t>;

  void run();
  void fetch_once();
  void apply(const ReplicaFetchAnswer& a, int32_t epoch_asked);
  void connect();
  // Waits `ms` unless stopped or woken by follow().
  void pause(int64_t ms);

  const int32_t leader_;
  const ReplicationConfig config_;
  ClusterView& view_;
  ReplicaHost& host_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<Key, Followed> partitions_;  // guarded by mu_
  bool stop_ = false;                   // guarded by mu_
  FrameSocket socket_;                  // the fetcher thread's (shutdown() from stop())
  OutageLog outage_{10000};             // this thread's failures: warned first, then once per 10 s
  std::thread thread_;
};

}  // namespace keel
