#include "authorizer/acl/acl_binding.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <array>
#include <cstring>
#include <keel/acl_names.hpp>
#include <tuple>

namespace keel::acl {

namespace {

// The names by wire code are the SDK's (keel/acl_names.hpp): the broker's
// logs and this plugin's file and messages use the same words.
using sdk::acl_names::kOperations;
using sdk::acl_names::kPatternTypes;
using sdk::acl_names::kPermissions;
using sdk::acl_names::kResourceTypes;

template <class E, size_t N>
std::string_view name_of(E v, const std::array<std::string_view, N>& names) {
  return sdk::acl_names::name_of(static_cast<int>(v), names);
}

bool equal_ignoring_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char c = a[i];
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    if (c != b[i]) return false;  // the table's names are upper case
  }
  return true;
}

template <class E, size_t N>
std::optional<E> parse(std::string_view name, const std::array<std::string_view, N>& names) {
  for (size_t i = 0; i < N; ++i) {
    if (equal_ignoring_case(name, names[i])) return static_cast<E>(i);
  }
  return std::nullopt;
}

// The name, and for a code outside the enum the code too, so that a wire
// value Keel does not know shows up as what the client sent.
template <class E>
std::string describe_code(E v) {
  std::string out(to_string(v));
  if (out == "UNKNOWN" && v != E{}) out += " (code " + std::to_string(static_cast<int>(v)) + ")";
  return out;
}

// Whether `s` is well-formed UTF-8 (no overlong forms, no surrogates): the
// bindings persist as JSON text, and Kafka's strings are UTF-8.
bool is_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t more = 0;
    unsigned char lo = 0x80, hi = 0xbf;  // the range of the second byte
    if (c < 0x80) {
      ++i;
      continue;
    } else if (c >= 0xc2 && c <= 0xdf) {
      more = 1;
    } else if (c >= 0xe0 && c <= 0xef) {
      more = 2;
      if (c == 0xe0) lo = 0xa0;  // overlong
      if (c == 0xed) hi = 0x9f;  // surrogates
    } else if (c >= 0xf0 && c <= 0xf4) {
      more = 3;
      if (c == 0xf0) lo = 0x90;  // overlong
      if (c == 0xf4) hi = 0x8f;  // beyond U+10FFFF
    } else {
      return false;
    }
    if (s.size() - i - 1 < more) return false;
    for (size_t k = 1; k <= more; ++k) {
      const auto d = static_cast<unsigned char>(s[i + k]);
      if (d < (k == 1 ? lo : 0x80) || d > (k == 1 ? hi : 0xbf)) return false;
    }
    i += more + 1;
  }
  return true;
}

// UNKNOWN itself, or a code outside the enum.
template <class E>
bool unknown(E v) {
  return to_string(v) == "UNKNOWN";
}

auto key(const AclBinding& b) {
  return std::tie(b.resource_type, b.pattern_type, b.resource_name, b.principal, b.host, b.operation,
                  b.permission);
}

}  // namespace

bool operator<(const AclBinding& a, const AclBinding& b) { return key(a) < key(b); }

std::string_view to_string(ResourceType v) { return name_of(v, kResourceTypes); }
std::string_view to_string(PatternType v) { return name_of(v, kPatternTypes); }
std::string_view to_string(Operation v) { return name_of(v, kOperations); }
std::string_view to_string(Permission v) { return name_of(v, kPermissions); }

std::string to_string(const AclBinding& b) {
  std::string out;
  out.append(to_string(b.permission)).append(" ").append(b.principal);
  out.append(" from host ").append(b.host);
  out.append(" to ").append(to_string(b.operation));
  out.append(" on ").append(to_string(b.resource_type)).append(" ").append(to_string(b.pattern_type));
  out.append(" '").append(b.resource_name).append("'");
  return out;
}

std::optional<ResourceType> parse_resource_type(std::string_view name) {
  return parse<ResourceType>(name, kResourceTypes);
}
std::optional<PatternType> parse_pattern_type(std::string_view name) {
  return parse<PatternType>(name, kPatternTypes);
}
std::optional<Operation> parse_operation(std::string_view name) {
  return parse<Operation>(name, kOperations);
}
std::optional<Permission> parse_permission(std::string_view name) {
  return parse<Permission>(name, kPermissions);
}

bool is_principal(std::string_view principal) {
  const size_t colon = principal.find(':');
  return colon != std::string_view::npos && colon > 0 && colon + 1 < principal.size();
}

std::string why_invalid(const AclBinding& b) {
  switch (b.resource_type) {
    case ResourceType::kTopic:
    case ResourceType::kGroup:
    case ResourceType::kCluster:
    case ResourceType::kTransactionalId:
      break;
    default:
      return "resource type " + describe_code(b.resource_type) +
             " is not one of TOPIC, GROUP, CLUSTER, TRANSACTIONAL_ID";
  }
  if (b.pattern_type != PatternType::kLiteral && b.pattern_type != PatternType::kPrefixed) {
    return "pattern type " + describe_code(b.pattern_type) + " is not LITERAL or PREFIXED";
  }
  if (b.resource_name.empty()) return "the resource name is empty";
  if (!is_utf8(b.resource_name)) return "the resource name is not UTF-8 text";
  if (b.pattern_type == PatternType::kPrefixed && b.resource_name == kWildcardResource) {
    // Kafka refuses it too: the intent ("everything") is LITERAL '*'.
    return "a PREFIXED pattern may not be '*' (use LITERAL '*' for every resource)";
  }
  if (b.resource_type == ResourceType::kCluster &&
      (b.pattern_type != PatternType::kLiteral || b.resource_name != kClusterResourceName)) {
    return "a CLUSTER binding must name the cluster as LITERAL '" + std::string(kClusterResourceName) + "'";
  }
  if (!is_principal(b.principal)) {
    return "principal '" + b.principal + "' is not of the form Type:name (e.g. User:alice)";
  }
  if (!is_utf8(b.principal)) return "the principal is not UTF-8 text";
  if (b.host.empty()) return "the host is empty (use '*' for every host)";
  if (!is_utf8(b.host)) return "the host is not UTF-8 text";
  if (!canonical_host(b.host)) {
    return "host '" + b.host +
           "' is not '*' or an IP address (a binding's host is compared to the client's address)";
  }
  if (b.operation == Operation::kAny || unknown(b.operation)) {
    return "operation " + describe_code(b.operation) + " is not an operation a binding can grant or deny";
  }
  if (b.permission != Permission::kAllow && b.permission != Permission::kDeny) {
    return "permission " + describe_code(b.permission) + " is not ALLOW or DENY";
  }
  return "";
}

std::optional<std::string> canonical_host(std::string_view host) {
  if (host == kWildcardHost) return std::string(host);
  if (host.empty() || host.size() > 64) return std::nullopt;
  const std::string text(host);
  char buf[INET6_ADDRSTRLEN] = {};
  in_addr v4{};
  if (::inet_pton(AF_INET, text.c_str(), &v4) == 1)
    return std::string(::inet_ntop(AF_INET, &v4, buf, sizeof buf));
  in6_addr v6{};
  if (::inet_pton(AF_INET6, text.c_str(), &v6) != 1) return std::nullopt;
  if (IN6_IS_ADDR_V4MAPPED(&v6)) {
    std::memcpy(&v4, &v6.s6_addr[12], sizeof v4);
    return std::string(::inet_ntop(AF_INET, &v4, buf, sizeof buf));
  }
  return std::string(::inet_ntop(AF_INET6, &v6, buf, sizeof buf));
}

std::string why_invalid(const AclBindingFilter& f) {
  // Kafka answers INVALID_REQUEST for these: such a filter can match nothing.
  if (unknown(f.resource_type)) {
    return "the filter's resource type is " + describe_code(f.resource_type);
  }
  if (unknown(f.pattern_type)) {
    return "the filter's pattern type is " + describe_code(f.pattern_type);
  }
  if (unknown(f.operation)) return "the filter's operation is " + describe_code(f.operation);
  if (unknown(f.permission)) {
    return "the filter's permission is " + describe_code(f.permission);
  }
  return "";
}

bool matches(const AclBindingFilter& f, const AclBinding& b) {
  if (f.resource_type != ResourceType::kAny && f.resource_type != b.resource_type) return false;
  if (f.pattern_type != PatternType::kAny && f.pattern_type != PatternType::kMatch &&
      f.pattern_type != b.pattern_type) {
    return false;
  }
  if (f.resource_name) {
    const std::string& name = *f.resource_name;
    if (f.pattern_type == PatternType::kMatch) {
      // The bindings that would apply to resource `name`.
      if (b.pattern_type == PatternType::kPrefixed) {
        if (!name.starts_with(b.resource_name)) return false;
      } else if (b.resource_name != name && b.resource_name != kWildcardResource) {
        return false;
      }
    } else if (b.resource_name != name) {
      return false;
    }
  }
  if (f.principal && *f.principal != b.principal) return false;
  if (f.host && *f.host != b.host) return false;
  if (f.operation != Operation::kAny && f.operation != b.operation) return false;
  return f.permission == Permission::kAny || f.permission == b.permission;
}

}  // namespace keel::acl
