// The cluster state as read from the coordinator: brokers, controller,
// topics and partition states, each with the revisions that fence writes
// to it. A plain value: the cluster thread builds and updates it from range
// reads and watch events, and publishes copies (ClusterView) to readers.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>

#include "cluster/cluster_records.hpp"
#include "cluster/coordinator_instance.hpp"

namespace keel {

struct BrokerEntry {
  BrokerRecord record;
  int64_t epoch = 0;  // create_revision: changes each time the broker registers
  int64_t mod_revision = 0;
};

struct TopicEntry {
  TopicRecord record;
  int64_t create_revision = 0;
  int64_t mod_revision = 0;
};

struct PartitionEntry {
  PartitionRecord record;
  int64_t create_revision = 0;
  int64_t mod_revision = 0;
};

using PartitionId = std::pair<std::string, int32_t>;

struct ClusterState {
  int64_t revision = 0;  // the store revision this state reflects
  std::map<int32_t, BrokerEntry> brokers;
  int32_t controller_id = -1;
  int64_t controller_epoch = 0;  // the controller key's create_revision
  std::map<std::string, TopicEntry> topics;
  std::map<PartitionId, PartitionEntry> partitions;

  // Everything under keys.root, as one range read returned it. Values
  // that do not decode are skipped and reported in `problems`.
  static ClusterState from_range(const ClusterKeys& keys, const CoordRange& range,
                                 std::vector<std::string>* problems);
  // One PUT or DELETE event. Returns false (and a problem) for a value
  // that does not decode; the entry is then dropped.
  bool apply(const ClusterKeys& keys, const CoordEvent& event, std::string* problem);

  bool is_live(int32_t broker) const { return brokers.count(broker) != 0; }
  // The partition's replicas per its topic's assignment; empty if unknown.
  const std::vector<int32_t>* replicas(const PartitionId& p) const;
};

}  // namespace keel
