// The values of Kafka's ACL model: a binding (resource pattern + access
// control entry) and the filter DescribeAcls and DeleteAcls take. The enum
// values are Kafka's wire codes (org.apache.kafka.common.acl/resource), so a
// request field converts with a cast and a response field back with one; a
// code Kafka has but Keel does not serve (DELEGATION_TOKEN = 6, USER = 7)
// survives the cast and is refused by validation, not misread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace keel::acl {

enum class ResourceType : int8_t {
  kUnknown = 0,
  kAny = 1,
  kTopic = 2,
  kGroup = 3,
  kCluster = 4,
  kTransactionalId = 5
};
enum class PatternType : int8_t { kUnknown = 0, kAny = 1, kMatch = 2, kLiteral = 3, kPrefixed = 4 };
enum class Operation : int8_t {
  kUnknown = 0,
  kAny = 1,
  kAll = 2,
  kRead = 3,
  kWrite = 4,
  kCreate = 5,
  kDelete = 6,
  kAlter = 7,
  kDescribe = 8,
  kClusterAction = 9,
  kDescribeConfigs = 10,
  kAlterConfigs = 11,
  kIdempotentWrite = 12
};
enum class Permission : int8_t { kUnknown = 0, kAny = 1, kDeny = 2, kAllow = 3 };

// Kafka's name of the one cluster resource (Resource.CLUSTER_NAME).
inline constexpr std::string_view kClusterResourceName = "kafka-cluster";
// A LITERAL binding with this name applies to every resource of its type.
inline constexpr std::string_view kWildcardResource = "*";
// A binding for this principal applies to every principal.
inline constexpr std::string_view kWildcardPrincipal = "User:*";
// A binding for this host applies to every host.
inline constexpr std::string_view kWildcardHost = "*";

struct AclBinding {
  ResourceType resource_type = ResourceType::kUnknown;
  std::string resource_name;
  PatternType pattern_type = PatternType::kUnknown;
  std::string principal;  // "User:alice", "User:*"
  std::string host;       // an address or "*"
  Operation operation = Operation::kUnknown;
  Permission permission = Permission::kUnknown;

  bool operator==(const AclBinding&) const = default;
};

// A total order (by resource, then entry), so that listings and the
// persisted file come out the same way every time.
bool operator<(const AclBinding& a, const AclBinding& b);

// Kafka's AclBindingFilter: ANY / nullopt matches anything.
struct AclBindingFilter {
  ResourceType resource_type = ResourceType::kAny;
  std::optional<std::string> resource_name = std::nullopt;
  // With a name, ANY/LITERAL/PREFIXED select patterns of exactly that name;
  // MATCH selects the bindings that would apply to that resource (literal
  // equal, literal "*", PREFIXED ones the name starts with).
  PatternType pattern_type = PatternType::kAny;
  std::optional<std::string> principal = std::nullopt;
  std::optional<std::string> host = std::nullopt;
  Operation operation = Operation::kAny;
  Permission permission = Permission::kAny;
};

// Kafka's names ("TOPIC", "PREFIXED", "DESCRIBE_CONFIGS", "ALLOW"); a value
// outside the enum is "UNKNOWN".
std::string_view to_string(ResourceType v);
std::string_view to_string(PatternType v);
std::string_view to_string(Operation v);
std::string_view to_string(Permission v);
// For logs and error messages: "ALLOW User:alice from host * to READ on TOPIC LITERAL 'orders'".
std::string to_string(const AclBinding& b);

// The inverse, ignoring ASCII case as Kafka's fromString does; nullopt for a
// name that is none of the values (so a reader can say which name is bad,
// where Kafka would quietly map it to UNKNOWN).
std::optional<ResourceType> parse_resource_type(std::string_view name);
std::optional<PatternType> parse_pattern_type(std::string_view name);
std::optional<Operation> parse_operation(std::string_view name);
std::optional<Permission> parse_permission(std::string_view name);

// "Type:name" with both parts non-empty (Kafka splits at the first colon, so
// the name may hold more: "User:CN=a,O=b:c").
bool is_principal(std::string_view principal);

// A binding's host as clients' addresses are written ("10.0.0.7",
// "2001:db8::1": inet_ntop's form; an IPv4-mapped IPv6 address as its IPv4
// one), "*" as it is, or nullopt for anything else (a host name, a
// pattern): Kafka compares a binding's host to the client's address as text,
// so "2001:db8:0:0:0:0:0:1" or "10.0.0.*" would never match, and a DENY
// written so would silently do nothing.
std::optional<std::string> canonical_host(std::string_view host);

// Why a binding may not be stored, or "" when it may: Kafka's rules for
// CreateAcls (concrete resource type, operation and permission; LITERAL or
// PREFIXED; non-empty name; "Type:name" principal; no PREFIXED "*"), the
// cluster resource's one name, a non-empty host, and UTF-8 text throughout
// (the file is JSON, and Kafka's strings are UTF-8).
std::string why_invalid(const AclBinding& b);
// Why a filter cannot be answered (an UNKNOWN field, as Kafka refuses with
// INVALID_REQUEST), or "" when it can.
std::string why_invalid(const AclBindingFilter& f);

// Whether `f` selects `b` (Kafka's AclBindingFilter.matches). Principal and
// host compare exactly: a filter for "User:alice" does not select a
// "User:*" binding.
bool matches(const AclBindingFilter& f, const AclBinding& b);

}  // namespace keel::acl
