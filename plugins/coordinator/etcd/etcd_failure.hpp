// What an etcd client error means to the broker: the status it acts on and
// a message naming the endpoint, the call and the key (EtcdError's), plus
// what to check.
//   UNAVAILABLE       etcd did not answer, or not in time, or the session's
//                     lease is gone: the broker retries (or opens a new
//                     session);
//   INVALID_ARGUMENT  etcd refused the request itself (HTTP 400: e.g. a key
//                     written twice in one txn, too many ops).
#pragma once

#include <keel/plugin.hpp>
#include <string>

#include "coordinator/etcd/etcd_error.hpp"

namespace keel::coordinator {

// endpoints: the configured list, for the hint.
keel::sdk::Error etcd_failure(const keel::etcd::EtcdError& e, const std::string& endpoints);

// Whether etcd answered that the lease does not exist (expired or revoked).
bool lease_not_found(const keel::etcd::EtcdError& e);

}  // namespace keel::coordinator
