// The Kafka error codes Keel answers with, against the protocol guide's
// error table: a wrong number makes a client take the wrong action (33, for
// instance, is UNSUPPORTED_SASL_MECHANISM, which clients treat as an
// authentication failure).
#include <gtest/gtest.h>

#include "transport/kafka/protocol/errors.hpp"

namespace keel::kafka {
namespace {

TEST(KafkaErrorCodes, AreTheProtocolGuidesNumbers) {
  const struct {
    ErrorCode code;
    int16_t kafka;
    const char* name;
  } table[] = {
      {ErrorCode::kUnknownServerError, -1, "UNKNOWN_SERVER_ERROR"},
      {ErrorCode::kNone, 0, "NONE"},
      {ErrorCode::kOffsetOutOfRange, 1, "OFFSET_OUT_OF_RANGE"},
      {ErrorCode::kCorruptMessage, 2, "CORRUPT_MESSAGE"},
      {ErrorCode::kUnknownTopicOrPartition, 3, "UNKNOWN_TOPIC_OR_PARTITION"},
      {ErrorCode::kInvalidFetchSize, 4, "INVALID_FETCH_SIZE"},
      {ErrorCode::kLeaderNotAvailable, 5, "LEADER_NOT_AVAILABLE"},
      {ErrorCode::kNotLeaderOrFollower, 6, "NOT_LEADER_OR_FOLLOWER"},
      {ErrorCode::kRequestTimedOut, 7, "REQUEST_TIMED_OUT"},
      {ErrorCode::kMessageTooLarge, 10, "MESSAGE_TOO_LARGE"},
      {ErrorCode::kOffsetMetadataTooLarge, 12, "OFFSET_METADATA_TOO_LARGE"},
      {ErrorCode::kCoordinatorLoadInProgress, 14, "COORDINATOR_LOAD_IN_PROGRESS"},
      {ErrorCode::kCoordinatorNotAvailable, 15, "COORDINATOR_NOT_AVAILABLE"},
      {ErrorCode::kNotCoordinator, 16, "NOT_COORDINATOR"},
      {ErrorCode::kInvalidTopicException, 17, "INVALID_TOPIC_EXCEPTION"},
      {ErrorCode::kRecordListTooLarge, 18, "RECORD_LIST_TOO_LARGE"},
      {ErrorCode::kNotEnoughReplicas, 19, "NOT_ENOUGH_REPLICAS"},
      {ErrorCode::kInvalidRequiredAcks, 21, "INVALID_REQUIRED_ACKS"},
      {ErrorCode::kIllegalGeneration, 22, "ILLEGAL_GENERATION"},
      {ErrorCode::kInconsistentGroupProtocol, 23, "INCONSISTENT_GROUP_PROTOCOL"},
      {ErrorCode::kInvalidGroupId, 24, "INVALID_GROUP_ID"},
      {ErrorCode::kUnknownMemberId, 25, "UNKNOWN_MEMBER_ID"},
      {ErrorCode::kInvalidSessionTimeout, 26, "INVALID_SESSION_TIMEOUT"},
      {ErrorCode::kRebalanceInProgress, 27, "REBALANCE_IN_PROGRESS"},
      {ErrorCode::kInvalidCommitOffsetSize, 28, "INVALID_COMMIT_OFFSET_SIZE"},
      {ErrorCode::kInvalidTimestamp, 32, "INVALID_TIMESTAMP"},
      {ErrorCode::kUnsupportedVersion, 35, "UNSUPPORTED_VERSION"},
      {ErrorCode::kTopicAlreadyExists, 36, "TOPIC_ALREADY_EXISTS"},
      {ErrorCode::kInvalidPartitions, 37, "INVALID_PARTITIONS"},
      {ErrorCode::kInvalidReplicationFactor, 38, "INVALID_REPLICATION_FACTOR"},
      {ErrorCode::kInvalidConfig, 40, "INVALID_CONFIG"},
      {ErrorCode::kInvalidRequest, 42, "INVALID_REQUEST"},
      {ErrorCode::kUnsupportedForMessageFormat, 43, "UNSUPPORTED_FOR_MESSAGE_FORMAT"},
      {ErrorCode::kOutOfOrderSequenceNumber, 45, "OUT_OF_ORDER_SEQUENCE_NUMBER"},
      {ErrorCode::kDuplicateSequenceNumber, 46, "DUPLICATE_SEQUENCE_NUMBER"},
      {ErrorCode::kInvalidProducerEpoch, 47, "INVALID_PRODUCER_EPOCH"},
      {ErrorCode::kKafkaStorageError, 56, "KAFKA_STORAGE_ERROR"},
      {ErrorCode::kUnknownProducerId, 59, "UNKNOWN_PRODUCER_ID"},
      {ErrorCode::kNonEmptyGroup, 68, "NON_EMPTY_GROUP"},
      {ErrorCode::kGroupIdNotFound, 69, "GROUP_ID_NOT_FOUND"},
      {ErrorCode::kUnsupportedCompressionType, 76, "UNSUPPORTED_COMPRESSION_TYPE"},
      {ErrorCode::kMemberIdRequired, 79, "MEMBER_ID_REQUIRED"},
      {ErrorCode::kInvalidRecord, 87, "INVALID_RECORD"},
  };
  for (const auto& e : table) EXPECT_EQ(code(e.code), e.kafka) << e.name;
}

}  // namespace
}  // namespace keel::kafka
