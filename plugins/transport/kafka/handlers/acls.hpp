// What DescribeAcls (29), CreateAcls (30) and DeleteAcls (31) share: the
// Kafka error for a broker status of the ACL calls, the decoding of a
// binding filter, and the writing of a binding's fields. The ABI's
// KEEL_RESOURCE_*, KEEL_PATTERN_*, KEEL_ACL_OP_* and KEEL_ACL_PERMISSION_*
// values are Kafka's wire codes, so values pass through unconverted; a
// value Keel does not know reaches the broker, which refuses it
// (INVALID_ARGUMENT, answered INVALID_REQUEST) with a message naming it.
//
// Versions: v1 adds the pattern type (v0 means LITERAL: before KIP-290
// every binding was literal), v2 is flexible, v3 adds the USER resource
// type (which Keel's authorizer refuses as an unknown resource type).
#pragma once

#include <keel/broker.hpp>
#include <optional>
#include <string>

#include "../protocol/errors.hpp"
#include "../protocol/reader.hpp"
#include "../protocol/writer.hpp"

namespace keel::kafka::acls {

// A request's answer for one binding, filter or creation.
struct Outcome {
  ErrorCode error = ErrorCode::kNone;
  std::optional<std::string> message;  // null on success
};

// The broker's statuses for the ACL calls as Kafka's errors: no authorizer
// is SECURITY_DISABLED, a binding or filter that may not be is
// INVALID_REQUEST (as Kafka's InvalidRequestException), the rest (the file
// could not be written, ...) UNKNOWN_SERVER_ERROR with the broker's
// message.
inline Outcome outcome_of(keel_status s, const std::string& message) {
  switch (s) {
    case KEEL_OK:
      return {};
    case KEEL_ERR_UNSUPPORTED:
      return {ErrorCode::kSecurityDisabled, message};
    case KEEL_ERR_INVALID_ARGUMENT:
    case KEEL_ERR_INVALID_NAME:
      return {ErrorCode::kInvalidRequest, message};
    default:
      return {ErrorCode::kUnknownServerError, message};
  }
}

// Kafka's answer to a principal without the cluster permission the API
// needs.
inline Outcome cluster_denied(const char* operation) {
  return {ErrorCode::kClusterAuthorizationFailed,
          std::string("the principal may not ") + operation + " the cluster (CLUSTER_AUTHORIZATION_FAILED)"};
}

// The pattern type of v0, which has none on the wire.
constexpr int8_t kV0PatternType = KEEL_PATTERN_LITERAL;

// A DescribeAcls request body, or one entry of DeleteAcls' filters
// (the same seven fields). Throws ProtocolError on malformed input.
inline sdk::Broker::AclFilter read_filter(Reader& r, int16_t version, bool flex) {
  sdk::Broker::AclFilter f;
  f.resource_type = r.int8();
  f.resource_name = r.any_nullable_string(flex);
  f.pattern_type = version >= 1 ? r.int8() : kV0PatternType;
  f.principal = r.any_nullable_string(flex);
  f.host = r.any_nullable_string(flex);
  f.operation = r.int8();
  f.permission = r.int8();
  return f;
}

inline void write_outcome(Writer& w, const Outcome& o, bool flex) {
  w.int16(code(o.error));
  w.nullable_string(o.error == ErrorCode::kNone ? std::nullopt : o.message, flex);
}

}  // namespace keel::kafka::acls
