// OffsetForLeaderEpoch (key 23), v0-4 (v4 flexible; KIP-101/279/320): for
// each partition, where the requested leader epoch ends in the log — the
// largest epoch not above it and the start of the next one, or the log end
// for the latest epoch; -1/-1 for an epoch the log does not know. Consumers
// use it to detect log truncation after a leader change, followers (v3+
// replica_id) to find where to truncate. v2+'s current_leader_epoch is
// checked against the partition's first (leader_epoch_check.hpp).
#include <algorithm>
#include <string>
#include <vector>

#include "../authorization.hpp"
#include "../leader_epoch_check.hpp"
#include "../partition_error.hpp"
#include "../protocol/errors.hpp"
#include "../services.hpp"
#include "handlers.hpp"

namespace keel::kafka {

void handle_offset_for_leader_epoch(Services& services, Request& req, const Responder& respond) {
  const bool flex = req.flexible;
  const int16_t v = req.api_version;
  Reader& r = req.body;
  if (v >= 3) r.int32();  // replica_id: consumers send -1; every caller gets the leader's answer
  Writer w;
  if (v >= 2) w.int32(0);  // throttle_time_ms
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
      const int32_t current_leader_epoch = v >= 2 ? r.int32() : -1;
      const int32_t leader_epoch = r.int32();
      if (flex) r.tagged_fields();
      sdk::Broker::EpochEndOffset end;
      ErrorCode e = may_describe
                        ? check_current_leader_epoch(services.broker, name, partition, current_leader_epoch)
                        : ErrorCode::kTopicAuthorizationFailed;
      if (e == ErrorCode::kNone) {
        std::string message;
        const keel_status s =
            services.broker.offset_for_leader_epoch(name, partition, leader_epoch, &end, &message);
        e = partition_error(s);
        if (e == ErrorCode::kUnknownServerError) {
          services.client_log.warn("OffsetForLeaderEpoch for " + name + "-" + std::to_string(partition) +
                                   " failed: " + message);
        }
        if (s != KEEL_OK) end = {};
      }
      w.int16(code(e));
      w.int32(partition);
      if (v >= 1) w.int32(end.epoch);
      w.int64(end.end_offset);
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
