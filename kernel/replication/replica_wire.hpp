// The replication protocol between brokers (docs/protocol.md, "Replication
// between brokers"): a follower asks its leader for the batches after its
// log end, as Kafka's replica fetcher does with Fetch and replica_id, in a
// small framed protocol of the kernel's own (the kernel knows no transport
// plugin, so followers do not speak Kafka to each other).
//
// Every frame is a 4-byte big-endian length, then the payload. Integers are
// big-endian; a string is an int16 length and its bytes; bytes are an int32
// length and the bytes. Decoding is strict: a frame that does not parse
// whole is refused (keel::Error, CORRUPT) and the connection dropped.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace keel {

constexpr int16_t kReplicaProtocolVersion = 0;
// Frames above this are refused before they are read (a fetch answers at
// most max_bytes per partition, summed well below it).
constexpr int32_t kMaxReplicaFrame = 64 << 20;

// Per-partition answers of the leader.
enum class ReplicaError : int16_t {
  kNone = 0,
  kNotLeader = 1,           // this broker does not lead the partition (now)
  kFencedLeaderEpoch = 2,   // the follower's leader epoch is older than the leader's
  kUnknownLeaderEpoch = 3,  // the follower's leader epoch is newer: the leader has not heard yet
  kOffsetOutOfRange = 4,    // the fetch offset is outside the leader's log
  kStorage = 5,             // the leader could not read its log
  kNotReplica = 6,          // the follower is not one of the partition's replicas
};
const char* replica_error_name(ReplicaError e);

struct ReplicaFetchPartition {
  std::string topic;
  int32_t partition = 0;
  int32_t current_leader_epoch = 0;  // the epoch the follower follows
  int64_t fetch_offset = 0;          // the follower's log end
  int32_t last_fetched_epoch = -1;   // the epoch of its last batch (-1: empty log)
  int32_t max_bytes = 1 << 20;
  // The high watermark the follower knows: a leader with a newer one
  // answers without waiting for data, within hw_news_interval_ms, so that
  // followers (the next leaders) learn it soon.
  int64_t high_watermark = -1;
  bool operator==(const ReplicaFetchPartition&) const = default;
};

struct ReplicaFetchRequest {
  int32_t broker_id = -1;   // the follower
  int32_t max_wait_ms = 0;  // how long the leader may hold an answer without data
  std::vector<ReplicaFetchPartition> partitions;
  bool operator==(const ReplicaFetchRequest&) const = default;
};

struct ReplicaFetchAnswer {
  std::string topic;
  int32_t partition = 0;
  ReplicaError error = ReplicaError::kNone;
  std::string message;  // why, when error != kNone
  int64_t high_watermark = -1;
  int64_t log_start_offset = -1;
  int64_t log_end_offset = -1;
  // KIP-320: set when the follower's log diverges from the leader's after
  // last_fetched_epoch; it truncates to min(this end, its own end of that
  // epoch) and fetches again. -1 when not diverging.
  int32_t diverging_epoch = -1;
  int64_t diverging_end_offset = -1;
  std::string records;  // stored batches, as the leader holds them
  bool operator==(const ReplicaFetchAnswer&) const = default;
};

struct ReplicaFetchResponse {
  // A whole-request refusal (e.g. the protocol version); empty when fine.
  std::string error;
  std::vector<ReplicaFetchAnswer> partitions;
  bool operator==(const ReplicaFetchResponse&) const = default;
};

// Payloads (without the 4-byte frame length).
std::string encode(const ReplicaFetchRequest& r);
std::string encode(const ReplicaFetchResponse& r);
// Throw keel::Error (CORRUPT) naming the field that did not parse.
ReplicaFetchRequest decode_fetch_request(const std::string& payload);
ReplicaFetchResponse decode_fetch_response(const std::string& payload);

}  // namespace keel
