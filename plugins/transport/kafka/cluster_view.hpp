// The cluster as the Kafka answers describe it (Metadata, DescribeCluster,
// FindCoordinator): read per request from the broker's cluster view
// (keel_broker_api 2.3: cluster_info, list_brokers("kafka"),
// partition_state), or, from an older broker, a cluster of one made of this
// transport's own settings (node_id, advertised host and port).
// Pure reads: any thread (the broker API calls are safe from any thread).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "protocol/errors.hpp"

namespace keel::kafka {

class Services;

// A broker as Kafka clients reach it.
struct KafkaBroker {
  int32_t id = -1;
  std::string host;
  int32_t port = -1;
  std::optional<std::string> rack;  // null when the broker names none
};

struct ClusterView {
  std::string cluster_id;
  int32_t self = 0;         // this broker's id
  int32_t controller = -1;  // -1 while none is known
  // Live brokers that serve Kafka, in id order, this one always included.
  std::vector<KafkaBroker> brokers;

  const KafkaBroker* find(int32_t id) const;
};

// `listener`: the index in settings.listeners of the listener the request
// came through; brokers are named by their addresses on that listener.
ClusterView cluster_view(const Services& services, size_t listener = 0);

// Who serves one partition, as Metadata answers it.
struct PartitionView {
  ErrorCode error = ErrorCode::kNone;  // LEADER_NOT_AVAILABLE while it has no leader
  int32_t leader = -1;
  int32_t leader_epoch = -1;  // -1: none (a broker without a cluster view)
  std::vector<int32_t> replicas;
  std::vector<int32_t> isr;
  std::vector<int32_t> offline;  // replicas that are not live brokers
};

PartitionView partition_view(const Services& services, const ClusterView& cluster, const std::string& topic,
                             int32_t partition);

// The replicas not among `live`, in replica order.
std::vector<int32_t> offline_replicas(const std::vector<int32_t>& replicas,
                                      const std::vector<KafkaBroker>& live);

// The partition of __consumer_offsets that holds a group's records: the
// kernel's choice (GroupOffsetStore::partition_for, CRC-32C of the group id
// modulo the partition count; Kafka uses abs(hashCode) instead, but what
// matters is agreeing with where Keel stores the group).
int32_t offsets_partition_for(const std::string& group, int32_t partitions);

// The broker that coordinates `group`: the leader of its __consumer_offsets
// partition when the cluster view knows one, else this broker. nullopt when
// that leader is known but serves no Kafka listener (the caller answers
// COORDINATOR_NOT_AVAILABLE, which clients retry).
std::optional<KafkaBroker> coordinator_for(const Services& services, const std::string& group,
                                           size_t listener = 0);
// kNone when this broker coordinates `group` (always on a single node);
// NOT_COORDINATOR when another broker leads its __consumer_offsets
// partition, COORDINATOR_NOT_AVAILABLE while none does. Group requests
// (JoinGroup, SyncGroup, Heartbeat, LeaveGroup) check it first, so that a
// group lives on one broker only.
ErrorCode coordinator_error(const Services& services, const std::string& group);

}  // namespace keel::kafka
