// Kafka's names of the authorization values of ABI 2.5 (KEEL_RESOURCE_*,
// KEEL_PATTERN_*, KEEL_ACL_OP_*, KEEL_ACL_PERMISSION_*), indexed by wire
// code, as Kafka's tools print and parse them ("TOPIC", "PREFIXED",
// "DESCRIBE_CONFIGS", "ALLOW"). Code 0 and any code outside a table is
// "UNKNOWN". Header-only; for logs, metric labels and files.
#pragma once

#include <array>
#include <cstddef>
#include <string_view>

namespace keel::sdk::acl_names {

inline constexpr std::array<std::string_view, 6> kResourceTypes = {"UNKNOWN", "ANY",     "TOPIC",
                                                                   "GROUP",   "CLUSTER", "TRANSACTIONAL_ID"};
inline constexpr std::array<std::string_view, 5> kPatternTypes = {"UNKNOWN", "ANY", "MATCH", "LITERAL",
                                                                  "PREFIXED"};
inline constexpr std::array<std::string_view, 13> kOperations = {"UNKNOWN",
                                                                 "ANY",
                                                                 "ALL",
                                                                 "READ",
                                                                 "WRITE",
                                                                 "CREATE",
                                                                 "DELETE",
                                                                 "ALTER",
                                                                 "DESCRIBE",
                                                                 "CLUSTER_ACTION",
                                                                 "DESCRIBE_CONFIGS",
                                                                 "ALTER_CONFIGS",
                                                                 "IDEMPOTENT_WRITE"};
inline constexpr std::array<std::string_view, 4> kPermissions = {"UNKNOWN", "ANY", "DENY", "ALLOW"};

template <size_t N>
constexpr std::string_view name_of(int code, const std::array<std::string_view, N>& names) {
  return code >= 0 && static_cast<size_t>(code) < N ? names[static_cast<size_t>(code)] : names[0];
}

constexpr std::string_view resource_type(int code) { return name_of(code, kResourceTypes); }
constexpr std::string_view pattern_type(int code) { return name_of(code, kPatternTypes); }
constexpr std::string_view operation(int code) { return name_of(code, kOperations); }
constexpr std::string_view permission(int code) { return name_of(code, kPermissions); }

}  // namespace keel::sdk::acl_names
