// ABI 2.5 slots of the broker API table: authorization decided by the
// configured authorizer (security/authorizer), and its ACL admin (Kafka's
// CreateAcls, DescribeAcls, DeleteAcls). Without an [authorizer] every
// action is allowed and the ACL calls answer UNSUPPORTED.
#include <spdlog/spdlog.h>

#include "broker_api_support.hpp"
#include "security/authorizer.hpp"

namespace keel {
namespace {

constexpr const char* kNoAuthorizer =
    "no authorizer is configured on this broker; add an [authorizer] section (strategy = \"acl\") to its "
    "config (see docs/security.md)";

security::Authorizer& authorizer_or_fail(void* ctx) {
  security::Authorizer* a = B(ctx).authorizer();
  if (a == nullptr) fail(KEEL_ERR_UNSUPPORTED, kNoAuthorizer);
  return *a;
}

// A status and message from the plugin, turned into the exception guard()
// reports (so that a throwing plugin wrapper and a failing one read alike).
void check(keel_status s, const keel_error& err, const char* call) {
  if (s != KEEL_OK) fail(s, std::string(call) + ": " + err.message);
}

std::string text(const char* s) { return s != nullptr ? s : "*"; }

}  // namespace

void add_authorization_api(keel_broker_api* api) {
  api->authorizer_enabled = [](void* ctx) -> int32_t { return B(ctx).authorizer() != nullptr ? 1 : 0; };
  api->authorize = [](void* ctx, const keel_authz_subject* subject, const keel_authz_action* actions,
                      uint32_t count, uint32_t action_size, int32_t log_denials, int32_t* results) {
    if (results == nullptr) return;
    security::Authorizer* a = B(ctx).authorizer();
    if (a == nullptr) {
      for (uint32_t i = 0; i < count; ++i) results[i] = KEEL_AUTHZ_ALLOWED;
      return;
    }
    if (actions == nullptr || action_size < sizeof(keel_authz_action)) {
      // A malformed question gets "no", never "yes".
      for (uint32_t i = 0; i < count; ++i) results[i] = KEEL_AUTHZ_DENIED;
      return;
    }
    a->authorize(subject, actions, count, action_size, log_denials != 0, results);
  };
  api->create_acl = [](void* ctx, const keel_acl_binding* binding, keel_error* err) {
    return guard(err, [&] {
      auto& a = authorizer_or_fail(ctx);
      if (binding == nullptr) fail(KEEL_ERR_INVALID_ARGUMENT, "create_acl without a binding");
      keel_error e{};
      check(a.create_acl(binding, &e), e, "the ACL binding was not stored");
      spdlog::info(
          "authorization: ACL binding in place (created, or there already): {} {} to {} on {} '{}' ({}) from "
          "host {}",
          binding->permission == KEEL_ACL_PERMISSION_DENY ? "DENY" : "ALLOW", text(binding->principal),
          security::acl_operation_name(binding->operation),
          security::resource_type_name(binding->resource_type), text(binding->resource_name),
          binding->pattern_type == KEEL_PATTERN_PREFIXED ? "prefixed" : "literal", text(binding->host));
    });
  };
  api->describe_acls = [](void* ctx, const keel_acl_binding* filter, keel_acl_callback cb, void* user,
                          keel_error* err) {
    return guard(err, [&] {
      auto& a = authorizer_or_fail(ctx);
      if (filter == nullptr) fail(KEEL_ERR_INVALID_ARGUMENT, "describe_acls without a filter");
      keel_error e{};
      check(a.describe_acls(filter, cb, user, &e), e, "the ACLs could not be listed");
    });
  };
  api->delete_acls = [](void* ctx, const keel_acl_binding* filter, keel_acl_callback cb, void* user,
                        keel_error* err) {
    return guard(err, [&] {
      auto& a = authorizer_or_fail(ctx);
      if (filter == nullptr) fail(KEEL_ERR_INVALID_ARGUMENT, "delete_acls without a filter");
      struct Sink {
        keel_acl_callback cb;
        void* user;
        size_t count = 0;
      } sink{cb, user};
      keel_error e{};
      check(a.delete_acls(
                filter,
                [](void* u, const keel_acl_binding* b) {
                  auto* s = static_cast<Sink*>(u);
                  ++s->count;
                  if (s->cb != nullptr) s->cb(s->user, b);
                },
                &sink, &e),
            e, "the ACLs could not be deleted");
      if (sink.count > 0) spdlog::info("authorization: deleted {} ACL binding(s)", sink.count);
    });
  };
}

}  // namespace keel
