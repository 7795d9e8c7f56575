// What replication needs of the broker, so that kernel/replication/ knows
// no Broker: the partition logs, a topic's min_insync_replicas, the flusher
// for what followers append, and the cluster thread for ISR changes.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "storage/partition_log.hpp"

namespace keel {

class ReplicaHost {
 public:
  virtual ~ReplicaHost() = default;
  // nullptr when this broker has no such partition (yet).
  virtual std::shared_ptr<PartitionLog> replica_log(const std::string& topic, int32_t partition) = 0;
  virtual int32_t min_insync_replicas(const std::string& topic) = 0;
  // A follower appended up to `until`: flush it as the topic's policy says.
  // Under a policy that syncs before acknowledging (every-batch) it returns
  // only once `until` is on disk, and throws keel::Error if the sync
  // failed: the follower's next fetch reports its log end, which moves the
  // leader's high watermark and so acknowledges the batch, and an
  // acknowledged record must be on every in-sync replica's disk, or a
  // power cut of every machine followed by the election of a follower
  // would lose it.
  virtual void replica_appended(const std::shared_ptr<PartitionLog>& log, int64_t until) = 0;
  // Asks the cluster thread to add `add` to and remove `remove` from the
  // partition's ISR, fenced so that it only lands while this broker leads
  // it at `leader_epoch`. Changes, not a whole ISR: two proposals made from
  // the same committed ISR (two followers catching up at once) both land.
  virtual void propose_isr(const std::string& topic, int32_t partition, int32_t leader_epoch,
                           const std::vector<int32_t>& add, const std::vector<int32_t>& remove) = 0;
  // This broker started (true) or stopped leading the partition.
  virtual void leadership_changed(const std::string& topic, int32_t partition, bool leads) = 0;
};

struct ReplicationConfig {
  int32_t self = 0;
  std::string listen_host = "127.0.0.1";
  int32_t listen_port = 0;
  // The port advertised to the other brokers; 0: the one bound.
  int32_t advertised_port = 0;
  // A follower not caught up for this long leaves the ISR (Kafka's
  // replica.lag.time.max.ms).
  int64_t replica_lag_time_max_ms = 30000;
  int32_t fetch_max_wait_ms = 500;
  // A fetch that brings a follower no records is answered for a newer
  // high watermark alone at most once per this interval, and held back
  // news goes out within it (LeaderPartition::tell_high_watermark,
  // ReplicaManager::Parked::hw_moved).
  int64_t hw_news_interval_ms = 50;
  int32_t fetch_max_bytes = 1 << 20;  // per partition and fetch
  // Per answer, all partitions together (at least one batch is sent).
  int64_t fetch_response_max_bytes = 10 << 20;
  // An acks=all produce not replicated within this is answered TIMED_OUT
  // (Kafka's request.timeout.ms default).
  int64_t produce_timeout_ms = 30000;
  // How long a follower waits after an error before it fetches again.
  int64_t retry_backoff_ms = 200;
};

}  // namespace keel
