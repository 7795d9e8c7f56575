// ListOffsets (key 2), v1-6 (v6 flexible): the offset for a timestamp, or
// the log's ends (-1 latest = high watermark, -2 earliest = log start
// offset). v4+ carry leader epochs: the request's current_leader_epoch is
// checked against the partition's (leader_epoch_check.hpp), and the answer
// names the partition's current leader epoch (-1 from a broker older than
// ABI 2.3). v7 (-3, the record with the largest timestamp, KIP-734) is
// not served: the broker API does not expose a log's largest timestamp.
// Targets that later versions introduced (-3, -4, -5) get UNSUPPORTED_VERSION
// per partition, as Kafka answers a version too old for them.
#include <string>

#include "../authorization.hpp"
#include "../leader_epoch_check.hpp"
#include "../partition_error.hpp"
#include "../protocol/errors.hpp"
#include "../services.hpp"
#include "handlers.hpp"

namespace keel::kafka {
namespace {

constexpr int64_t kLatest = -1;
constexpr int64_t kEarliest = -2;
// -3 max timestamp (v7), -4 earliest local (v8), -5 latest tiered (v9).
constexpr int64_t kNewestSpecialTarget = -5;

struct Answer {
  int16_t error = 0;
  int64_t timestamp = -1;
  int64_t offset = -1;
  int32_t leader_epoch = -1;
};

Answer look_up(Services& services, const std::string& topic, int32_t partition, int64_t timestamp) {
  Answer a;
  if (timestamp < kEarliest && timestamp >= kNewestSpecialTarget) {
    return Answer{code(ErrorCode::kUnsupportedVersion), -1, -1};
  }
  keel_status s = KEEL_OK;
  if (timestamp == kLatest || timestamp == kEarliest) {
    keel_watermarks w{};
    w.struct_size = sizeof w;
    s = services.broker.watermarks(topic, partition, &w);
    // read_committed sees the high watermark too: no transactions.
    if (s == KEEL_OK) a.offset = timestamp == kLatest ? w.high_watermark : w.log_start_offset;
  } else {
    s = services.broker.offset_for_time(topic, partition, timestamp, &a.offset, &a.timestamp);
    if (s == KEEL_OK && a.offset < 0) a.timestamp = -1;  // no record that new
  }
  if (s == KEEL_OK) return a;
  const ErrorCode e = partition_error(s);
  // An unknown partition or one led elsewhere is the client's to handle;
  // anything else is this broker's failure and worth a line.
  if (e != ErrorCode::kUnknownTopicOrPartition && e != ErrorCode::kNotLeaderOrFollower) {
    services.host.warn("ListOffsets for " + topic + "-" + std::to_string(partition) + " at timestamp " +
                       std::to_string(timestamp) + " failed with status " + std::to_string(s));
  }
  return Answer{code(e), -1, -1};
}

}  // namespace

void handle_list_offsets(Services& services, Request& req, const Responder& respond) {
  const bool flex = req.flexible;
  Reader& r = req.body;
  r.int32();                           // replica_id
  if (req.api_version >= 2) r.int8();  // isolation_level: same answer without transactions
  Writer w;
  if (req.api_version >= 2) w.int32(0);  // throttle_time_ms
  const int32_t topic_count = r.array_length(flex);
  w.array_length(std::max(topic_count, 0), flex);
  for (int32_t t = 0; t < topic_count; ++t) {
    const std::string name = r.any_string(flex);
    w.string(name, flex);
    const bool may_describe = topic_allowed(services, req, KEEL_ACL_OP_DESCRIBE, name);
    const int32_t partition_count = r.array_length(flex);
    w.array_length(std::max(partition_count, 0), flex);
    for (int32_t i = 0; i < partition_count; ++i) {
      const int32_t partition = r.int32();
      const int32_t current_leader_epoch = req.api_version >= 4 ? r.int32() : -1;
      const int64_t timestamp = r.int64();
      if (flex) r.tagged_fields();
      int32_t leader_epoch = -1;
      const ErrorCode fenced =
          check_current_leader_epoch(services.broker, name, partition, current_leader_epoch, &leader_epoch);
      Answer a = !may_describe                ? Answer{code(ErrorCode::kTopicAuthorizationFailed), -1, -1}
                 : fenced != ErrorCode::kNone ? Answer{code(fenced), -1, -1}
                                              : look_up(services, name, partition, timestamp);
      if (a.error == 0) a.leader_epoch = leader_epoch;
      w.int32(partition);
      w.int16(a.error);
      w.int64(a.timestamp);
      w.int64(a.offset);
      if (req.api_version >= 4) w.int32(a.leader_epoch);
      w.tagged_fields(flex);
    }
    if (flex) r.tagged_fields();
    w.tagged_fields(flex);
  }
  if (flex) r.tagged_fields();
  w.tagged_fields(flex);
  respond.send(std::move(w));
}

}  // namespace keel::kafka
