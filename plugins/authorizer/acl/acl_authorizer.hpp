// Authorizer `acl`: Kafka's AclAuthorizer over the bindings of an AclStore
// (acl_store.hpp), kept in <state_dir>/acls.json, with the settings of
// acl_settings.hpp. Without a state_dir (the broker only checks its
// configuration) the store is in memory and nothing is read or written.
//
// Threads: as sdk::Authorizer; the store is thread-safe, and a check takes
// only its shared lock.
#pragma once

#include <keel/authorizer.hpp>
#include <string>
#include <vector>

#include "authorizer/acl/acl_settings.hpp"
#include "authorizer/acl/acl_store.hpp"

namespace keel::acl {

class AclAuthorizer final : public keel::sdk::Authorizer {
 public:
  // The file of the bindings, in the strategy's state_dir.
  static constexpr const char* kFileName = "acls.json";

  // Throws sdk::Error: INVALID_ARGUMENT for bad settings, CORRUPT for a
  // damaged acls.json (naming it and what to do), IO when it cannot be read.
  AclAuthorizer(const keel::sdk::Host& host, const keel::sdk::Config& config, const char* state_dir);
  AclAuthorizer(const keel::sdk::Host& host, const AclSettings& settings, const char* state_dir);

  void authorize(const keel::sdk::AuthzSubject& subject, const keel::sdk::AuthzActions& actions,
                 keel::sdk::AuthzResults& results) override;
  void create_acl(const keel::sdk::AclBinding& binding) override;
  std::vector<keel::sdk::AclBinding> describe_acls(const keel::sdk::AclBindingFilter& filter) override;
  std::vector<keel::sdk::AclBinding> delete_acls(const keel::sdk::AclBindingFilter& filter) override;

  const AclStore& store() const { return store_; }

 private:
  AclStore store_;
};

}  // namespace keel::acl
