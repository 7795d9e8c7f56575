#include "authorizer/acl/acl_authorizer.hpp"

#include <filesystem>
#include <utility>

namespace keel::acl {

namespace sdk = keel::sdk;

namespace {

// The ABI's values are Kafka's wire codes, as the store's enums are: a cast
// converts, and a code neither knows survives it to be refused by the
// store's validation, not misread.
AclBinding from_sdk(const sdk::AclBinding& b) {
  return AclBinding{static_cast<ResourceType>(b.resource_type),
                    b.resource_name,
                    static_cast<PatternType>(b.pattern_type),
                    b.principal,
                    b.host,
                    static_cast<Operation>(b.operation),
                    static_cast<Permission>(b.permission)};
}

AclBindingFilter from_sdk(const sdk::AclBindingFilter& f) {
  return AclBindingFilter{static_cast<ResourceType>(f.resource_type),
                          f.resource_name,
                          static_cast<PatternType>(f.pattern_type),
                          f.principal,
                          f.host,
                          static_cast<Operation>(f.operation),
                          static_cast<Permission>(f.permission)};
}

std::vector<sdk::AclBinding> to_sdk(const std::vector<AclBinding>& bindings) {
  std::vector<sdk::AclBinding> out;
  out.reserve(bindings.size());
  for (const AclBinding& b : bindings) {
    out.push_back(sdk::AclBinding{static_cast<int8_t>(b.resource_type), static_cast<int8_t>(b.pattern_type),
                                  static_cast<int8_t>(b.operation), static_cast<int8_t>(b.permission),
                                  b.resource_name, b.principal, b.host});
  }
  return out;
}

std::string file_in(const char* state_dir) {
  if (state_dir == nullptr) return "";  // checking the configuration only: in memory
  if (*state_dir == '\0') {
    // Not "in memory": bindings an operator creates would vanish at the next start.
    throw sdk::Error(KEEL_ERR_INVALID_ARGUMENT, "acl authorizer: the state directory is empty");
  }
  return (std::filesystem::path(state_dir) / AclAuthorizer::kFileName).string();
}

AclStore::Options options_of(const AclSettings& s) {
  return AclStore::Options{s.super_users, s.allow_everyone_if_no_acl_found};
}

}  // namespace

AclAuthorizer::AclAuthorizer(const sdk::Host& host, const sdk::Config& config, const char* state_dir)
    : AclAuthorizer(host, AclSettings::read(config), state_dir) {}

AclAuthorizer::AclAuthorizer(const sdk::Host& host, const AclSettings& settings, const char* state_dir)
    : store_(file_in(state_dir), options_of(settings)) {
  if (state_dir == nullptr) return;  // a check logs nothing: the broker is not starting
  host.info("acl authorizer: " + std::to_string(store_.size()) + " ACL bindings from '" + store_.path() +
            "', " + std::to_string(settings.super_users.size()) + " super users");
  if (store_.size() == 0 && settings.super_users.empty() && !settings.allow_everyone_if_no_acl_found) {
    // Kafka behaves the same, and it is a lock-out: even CreateAcls needs
    // a binding (ALTER on the cluster) that no one can create.
    host.warn(
        "acl authorizer: no ACL bindings, no super users and allow_everyone_if_no_acl_found = false: "
        "every request is denied, CreateAcls too; set super_users to administer the ACLs");
  }
  if (settings.allow_everyone_if_no_acl_found &&
      store_.describe(AclBindingFilter{.resource_type = ResourceType::kCluster}).empty()) {
    // The other side of the same rule: while no binding names the cluster,
    // it is open, and the cluster is what guards the ACLs and the users.
    host.warn(
        "acl authorizer: allow_everyone_if_no_acl_found = true and no binding names the cluster: every "
        "client may create and delete ACLs and users (CreateAcls, AlterUserScramCredentials); add a "
        "binding for the cluster (e.g. ALLOW User:admin ALL on CLUSTER 'kafka-cluster') to close it");
  }
}

void AclAuthorizer::authorize(const sdk::AuthzSubject& subject, const sdk::AuthzActions& actions,
                              sdk::AuthzResults& results) {
  for (size_t i = 0; i < actions.size(); ++i) {
    const sdk::AuthzAction a = actions[i];
    const auto type = static_cast<ResourceType>(a.resource_type);
    const auto op = static_cast<Operation>(a.operation);
    results.set(i, a.any_resource
                       ? store_.authorize_any(subject.principal, subject.host, type, op)
                       : store_.authorize(subject.principal, subject.host, type, a.resource_name, op));
  }
}

void AclAuthorizer::create_acl(const sdk::AclBinding& binding) { store_.add({from_sdk(binding)}); }

std::vector<sdk::AclBinding> AclAuthorizer::describe_acls(const sdk::AclBindingFilter& filter) {
  return to_sdk(store_.describe(from_sdk(filter)));
}

std::vector<sdk::AclBinding> AclAuthorizer::delete_acls(const sdk::AclBindingFilter& filter) {
  return to_sdk(store_.remove(from_sdk(filter)));
}

}  // namespace keel::acl
