// The configured authorizer ([authorizer] strategy) as a live plugin
// instance (keel_authorizer_vtable) behind a C++ face, and the broker's
// audit of its answers: every denial is counted
// (keel_authorization_denials_total{resource_type,operation}) and logged,
// rate-limited, with principal, host, listener, resource and operation.
//
// Threads: constructed and destroyed by the broker's main thread (before
// the transports start, after they stop); authorize and the ACL calls from
// any thread, as the ABI allows the plugin.
#pragma once

#include <keel/plugin.h>

#include <memory>
#include <string>

#include "config/config.hpp"
#include "observability/metrics.hpp"
#include "observability/rate_limited_log.hpp"
#include "plugins/plugin_config.hpp"
#include "plugins/plugin_registry.hpp"

namespace keel::security {

class Authorizer {
 public:
  // Calls the plugin's create. state_dir "" = only check the settings
  // (keel --check-config): the plugin reads and writes nothing. Throws
  // ConfigError naming [authorizer] strategy when the strategy is unknown,
  // refuses its settings (or its state: a damaged ACL file is named) or
  // leaves a key of [authorizer.<strategy>] unread.
  Authorizer(PluginRegistry& registry, const AuthorizerConfig& config, const std::string& state_dir,
             Metrics* metrics, std::function<int64_t()> monotonic_ns);
  ~Authorizer();
  Authorizer(const Authorizer&) = delete;
  Authorizer& operator=(const Authorizer&) = delete;

  // As keel_broker_api.authorize; counts and logs the denials when
  // log_denials.
  void authorize(const keel_authz_subject* subject, const keel_authz_action* actions, uint32_t count,
                 uint32_t action_size, bool log_denials, int32_t* results);
  keel_status create_acl(const keel_acl_binding* binding, keel_error* err);
  keel_status describe_acls(const keel_acl_binding* filter, keel_acl_callback cb, void* user,
                            keel_error* err);
  keel_status delete_acls(const keel_acl_binding* filter, keel_acl_callback cb, void* user, keel_error* err);

  const std::string& name() const { return name_; }

 private:
  const keel_authorizer_vtable* vt() const { return ref_.vt<keel_authorizer_vtable>(); }
  void audit(const keel_authz_subject* subject, const keel_authz_action& action);

  std::string name_;
  StrategyRef ref_;
  std::unique_ptr<keel_config> settings_;
  keel_authorizer* handle_ = nullptr;
  Metrics* metrics_;
  RateLimitedLog denials_log_;
};

// Kafka's names of the ABI's values ("TOPIC", "DESCRIBE_CONFIGS"), for logs
// and metric labels; "UNKNOWN(<n>)" outside them.
std::string resource_type_name(int32_t v);
std::string acl_operation_name(int32_t v);

}  // namespace keel::security
