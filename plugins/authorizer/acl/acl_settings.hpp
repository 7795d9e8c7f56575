// The settings of the `acl` authorizer ([authorizer.acl]):
//
//   super_users = "User:admin;User:CN=ops,O=Example"
//       Principals allowed everything, whatever the bindings, separated by
//       ';' as Kafka's super.users are (a certificate's DN holds commas).
//   allow_everyone_if_no_acl_found = false
//       What a resource no binding names gets: Kafka's
//       allow.everyone.if.no.acl.found.
#pragma once

#include <keel/plugin.hpp>
#include <set>
#include <string>
#include <string_view>

namespace keel::acl {

struct AclSettings {
  std::set<std::string> super_users;
  bool allow_everyone_if_no_acl_found = false;

  // Reads both keys; throws sdk::Error(INVALID_ARGUMENT) naming the key for
  // a super user that is not "Type:name".
  static AclSettings read(const keel::sdk::Config& config);
};

// The principals of a super_users value: split at ';', each trimmed of
// blanks, empty ones skipped. Throws sdk::Error(INVALID_ARGUMENT) for one
// that is not "Type:name", or that looks like several joined by ','.
std::set<std::string> parse_super_users(std::string_view value);

}  // namespace keel::acl
