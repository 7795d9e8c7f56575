// Kafka protocol error codes used by Keel (see the protocol guide's table).
#pragma once

#include <cstdint>

namespace keel::kafka {

enum class ErrorCode : int16_t {
  kUnknownServerError = -1,
  kNone = 0,
  kOffsetOutOfRange = 1,
  kCorruptMessage = 2,
  kUnknownTopicOrPartition = 3,
  kInvalidFetchSize = 4,
  kLeaderNotAvailable = 5,
  kNotLeaderOrFollower = 6,
  kRequestTimedOut = 7,
  kMessageTooLarge = 10,
  kOffsetMetadataTooLarge = 12,
  kCoordinatorLoadInProgress = 14,
  kCoordinatorNotAvailable = 15,
  kNotCoordinator = 16,
  kInvalidTopicException = 17,
  kRecordListTooLarge = 18,
  kNotEnoughReplicas = 19,
  kNotEnoughReplicasAfterAppend = 20,
  kInvalidRequiredAcks = 21,
  kIllegalGeneration = 22,
  kInconsistentGroupProtocol = 23,
  kInvalidGroupId = 24,
  kUnknownMemberId = 25,
  kInvalidSessionTimeout = 26,
  kRebalanceInProgress = 27,
  kInvalidCommitOffsetSize = 28,
  // 43, not 33 (UNSUPPORTED_SASL_MECHANISM): 33 made clients report a SASL
  // failure for an old-format produce.
  kUnsupportedForMessageFormat = 43,
  kUnsupportedVersion = 35,
  kUnsupportedSaslMechanism = 33,
  kIllegalSaslState = 34,
  kSaslAuthenticationFailed = 58,
  kTopicAlreadyExists = 36,
  kInvalidPartitions = 37,
  kInvalidReplicationFactor = 38,
  kInvalidReplicaAssignment = 39,
  kInvalidConfig = 40,
  kInvalidRequest = 42,
  kPolicyViolation = 44,
  kOutOfOrderSequenceNumber = 45,
  kTopicAuthorizationFailed = 29,
  kGroupAuthorizationFailed = 30,
  kClusterAuthorizationFailed = 31,
  kTransactionalIdAuthorizationFailed = 53,
  kSecurityDisabled = 54,
  kDuplicateSequenceNumber = 46,
  kInvalidProducerEpoch = 47,
  kInvalidTimestamp = 32,
  kUnknownProducerId = 59,
  kKafkaStorageError = 56,
  kGroupIdNotFound = 69,
  kNonEmptyGroup = 68,
  kFencedLeaderEpoch = 74,
  kUnknownLeaderEpoch = 75,
  kUnsupportedCompressionType = 76,
  kMemberIdRequired = 79,
  kGroupSubscribedToTopic = 86,
  kInvalidRecord = 87,
  kUnknownTopicId = 100,
  kResourceNotFound = 91,
  kDuplicateResource = 92,
  kUnacceptableCredential = 93,
};

inline int16_t code(ErrorCode e) { return static_cast<int16_t>(e); }

}  // namespace keel::kafka
