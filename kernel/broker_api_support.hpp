// What the files that fill the broker API table share: the Broker behind
// ctx, and the guard that turns exceptions into statuses at the C boundary
// (nothing may unwind into a transport).
#pragma once

#include <keel/plugin.hpp>

#include "broker.hpp"
#include "common/error.hpp"

namespace keel {

inline Broker& B(void* ctx) { return *static_cast<Broker*>(ctx); }

template <class Fn>
keel_status guard(keel_error* err, Fn&& fn) noexcept {
  try {
    fn();
    return KEEL_OK;
  } catch (const Error& e) {
    sdk::detail::write_error(err, e.what());
    return e.code();
  } catch (const std::exception& e) {
    sdk::detail::write_error(err, e.what());
    return KEEL_ERR_INTERNAL;
  } catch (...) {
    sdk::detail::write_error(err, "unknown error");
    return KEEL_ERR_INTERNAL;
  }
}

// broker_api_groups.cpp: consumer groups and metrics.
void add_group_api(keel_broker_api* api);
void add_metrics_api(keel_broker_api* api);
// broker_api_admin.cpp: ABI 2.2 admin slots.
void add_admin_api(keel_broker_api* api);
// broker_api_cluster.cpp: ABI 2.3 cluster slots.
void add_cluster_api(keel_broker_api* api);
// broker_api_security.cpp: ABI 2.4 SASL and SCRAM credential slots.
void add_security_api(keel_broker_api* api);
// broker_api_authorization.cpp: ABI 2.5 authorization and ACL slots.
void add_authorization_api(keel_broker_api* api);
// broker_api_views.cpp: ABI 2.6 operators' views.
void add_views_api(keel_broker_api* api);

}  // namespace keel
