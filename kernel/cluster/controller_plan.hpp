// The controller's decisions, as pure functions of the cluster state (so
// they are unit-tested without a store): replica assignment for a new
// topic, and the partition-state writes that give every partition a live
// leader chosen from its ISR. The cluster thread carries the writes out,
// each fenced by the partition key's revision and the controller epoch.
//
// Kafka's rules (ZooKeeper era, unclean election off): a leader is only
// ever chosen from the ISR; when no ISR member is live the partition goes
// offline (leader -1) and keeps its last ISR, so that the first of those
// replicas to come back leads again with nothing lost. Every leadership or
// ISR change by the controller bumps the leader epoch.
#pragma once

#include <cstdint>
#include <set>
#include <vector>

#include "cluster/cluster_state.hpp"

namespace keel {

struct PartitionWrite {
  PartitionId id;
  PartitionRecord record;
  int64_t expected_mod_revision = 0;  // 0: the key must not exist yet
};

// Replicas for each of `partitions` partitions: `rf` distinct brokers each
// (capped by how many there are), spread round-robin from `start` so that
// leaders (the first replica) spread too, as Kafka's assignment does
// without racks. `brokers` need not be sorted.
std::vector<std::vector<int32_t>> assign_replicas(int32_t partitions, int32_t rf,
                                                  std::vector<int32_t> brokers, uint32_t start);

// What to write now; empty when every partition is as it should be.
// `restarted`: live brokers that registered again (a new broker epoch)
// since the controller last planned, e.g. SIGKILLed and back before their
// old session's end was seen. Kafka treats them as failed: they lead
// nothing and leave every ISR (they may have lost the tail of their log);
// only when a partition has no other live in-sync replica does a restarted
// one lead it again, with a new epoch.
std::vector<PartitionWrite> plan_leadership(const ClusterState& state, int64_t controller_epoch,
                                            const std::set<int32_t>& restarted = {});

// Preferred-leader election (Kafka's auto.leader.rebalance): each partition
// whose preferred replica (the first of its assignment) is live, in the ISR
// and not its leader is handed back to it, with the leader epoch bumped, so
// that leaderships spread again after brokers came back.
std::vector<PartitionWrite> plan_preferred_leaders(const ClusterState& state, int64_t controller_epoch);

}  // namespace keel
