// What the cluster keeps in the coordinator, one JSON value per key, in the
// spirit of Kafka's ZooKeeper znodes (docs/architecture.md, "Cluster state"):
//
//   <cluster_id>/brokers/<id>          BrokerRecord     session-bound; its
//                                      create_revision is the broker epoch
//   <cluster_id>/controller            ControllerRecord session-bound; its
//                                      create_revision is the controller epoch
//   <cluster_id>/topics/<t>            TopicRecord      replica assignment
//   <cluster_id>/partitions/<t>/<p>    PartitionRecord  leader, epoch, ISR
//
// Decoding is strict: a value that does not parse is reported with its key
// (keel::Error, CORRUPT) and left alone, never guessed at.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace keel {

struct HostPort {
  std::string host;
  int32_t port = 0;
  bool operator==(const HostPort&) const = default;
};

struct BrokerRecord {
  int32_t id = 0;
  std::string rack;
  std::map<std::string, HostPort> listeners;  // "kafka" -> host:port, ...
  bool operator==(const BrokerRecord&) const = default;
};

struct ControllerRecord {
  int32_t broker_id = -1;
};

struct TopicRecord {
  // replicas of each partition, preferred leader first
  std::vector<std::vector<int32_t>> assignment;
  // The topic's own settings (keys of a [topics.<name>] table), so that
  // every broker creates it alike.
  std::string settings_toml;
  bool internal = false;
};

struct PartitionRecord {
  int32_t leader = -1;
  int32_t leader_epoch = 0;
  std::vector<int32_t> isr;
  int64_t controller_epoch = 0;
  bool operator==(const PartitionRecord&) const = default;
};

// Keys, relative to the coordinator's namespace.
struct ClusterKeys {
  std::string root;  // "<cluster_id>/"
  std::string brokers() const { return root + "brokers/"; }
  std::string broker(int32_t id) const { return brokers() + std::to_string(id); }
  std::string controller() const { return root + "controller"; }
  std::string topics() const { return root + "topics/"; }
  std::string topic(const std::string& t) const { return topics() + t; }
  std::string partitions() const { return root + "partitions/"; }
  std::string partition(const std::string& t, int32_t p) const {
    return partitions() + t + "/" + std::to_string(p);
  }
};

std::string encode(const BrokerRecord& r);
std::string encode(const ControllerRecord& r);
std::string encode(const TopicRecord& r);
std::string encode(const PartitionRecord& r);
// Throw keel::Error (CORRUPT) naming `key`.
BrokerRecord decode_broker(const std::string& key, const std::string& value);
ControllerRecord decode_controller(const std::string& key, const std::string& value);
TopicRecord decode_topic(const std::string& key, const std::string& value);
PartitionRecord decode_partition(const std::string& key, const std::string& value);

// "orders/3" (after partitions/) -> {"orders", 3}; nullopt if malformed.
std::optional<std::pair<std::string, int32_t>> split_partition_key(const std::string& rest);

}  // namespace keel
