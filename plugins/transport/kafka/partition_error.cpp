#include "partition_error.hpp"

namespace keel::kafka {

ErrorCode partition_error(keel_status status) {
  switch (status) {
    case KEEL_OK:
      return ErrorCode::kNone;
    case KEEL_ERR_NOT_FOUND:
      return ErrorCode::kUnknownTopicOrPartition;
    case KEEL_ERR_OUT_OF_RANGE:
      return ErrorCode::kOffsetOutOfRange;
    // Led elsewhere, or this broker is shutting down: both retriable,
    // clients refresh metadata and retry on the leader.
    case KEEL_ERR_NOT_LEADER:
    case KEEL_ERR_UNAVAILABLE:
      return ErrorCode::kNotLeaderOrFollower;
    // acks=all across replicas: retriable, as Kafka's producers treat them.
    case KEEL_ERR_NOT_ENOUGH_REPLICAS:
      return ErrorCode::kNotEnoughReplicas;
    case KEEL_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND:
      return ErrorCode::kNotEnoughReplicasAfterAppend;
    case KEEL_ERR_TIMED_OUT:
      return ErrorCode::kRequestTimedOut;
    case KEEL_ERR_IO:
    case KEEL_ERR_CORRUPT:
    case KEEL_ERR_NO_SPACE:
      return ErrorCode::kKafkaStorageError;
    default:
      return ErrorCode::kUnknownServerError;
  }
}

}  // namespace keel::kafka
