// A small synchronous client for etcd's v3 API, what Keel's etcd
// coordinator stands on: key-value reads and writes, compare-and-swap
// transactions, leases, and (etcd_watch.hpp) watches.
//
// Why etcd's JSON gateway (HTTP/1.1 POST /v3/..., on by default in etcd 3.4)
// rather than gRPC: Debian ships no C++ etcd client, and gRPC stubs would
// need three more -dev packages (libgrpc++-dev, protobuf-compiler-grpc,
// golang-etcd-server-dev for the .proto files) and proto generation at
// build time, while the gateway needs only Boost.Beast and nlohmann_json,
// which Keel already links. The cost is JSON and base64 on a path that
// carries coordination, not records.
//
// Every call has a deadline (the client's default timeout unless given) and
// opens its own connection, so one client may be used from several threads
// at once and a call never waits behind another. Endpoints are tried in
// order from the last one that answered: a call moves to the next endpoint
// when a connection cannot be made (nothing was sent, so it is safe for any
// call); once a request is sent and the connection breaks or the deadline
// passes, the call fails (EtcdError::Kind::Dropped / Timeout: a write may
// have applied) and the next call starts at the next endpoint. Fence writes
// with txn() on mod_revision so that a retry cannot apply twice.
//
// Errors: EtcdError (etcd_error.hpp) naming the endpoint, the call, the key
// and etcd's message.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "coordinator/etcd/etcd_error.hpp"
#include "coordinator/etcd/etcd_http.hpp"
#include "coordinator/etcd/etcd_json.hpp"
#include "coordinator/etcd/etcd_types.hpp"

namespace keel::etcd {

class EtcdClient {
 public:
  // nullopt: the client's default timeout.
  using Timeout = std::optional<std::chrono::milliseconds>;

  // endpoints: "host:port" (or "http://host:port"), at least one; throws
  // std::invalid_argument naming the one that is not.
  explicit EtcdClient(const std::vector<std::string>& endpoints,
                      std::chrono::milliseconds default_timeout = std::chrono::seconds(5));

  RangeResult range(const std::string& key, Timeout timeout = {}) const;
  RangeResult range_prefix(const std::string& prefix, Timeout timeout = {}) const;
  PutResult put(const std::string& key, const std::string& value, int64_t lease = 0,
                Timeout timeout = {}) const;
  DeleteResult delete_key(const std::string& key, Timeout timeout = {}) const;
  DeleteResult delete_prefix(const std::string& prefix, Timeout timeout = {}) const;
  // All compares hold: success ops run, else failure ops; atomically.
  TxnResult txn(const std::vector<Compare>& compares, const std::vector<Op>& success,
                const std::vector<Op>& failure = {}, Timeout timeout = {}) const;

  LeaseGrant lease_grant(int64_t ttl_seconds, Timeout timeout = {}) const;
  // One keepalive; the lease's remaining TTL in seconds, 0 when it has
  // expired or never existed (its keys are gone).
  int64_t lease_keepalive_once(int64_t id, Timeout timeout = {}) const;
  // Ends the lease and deletes its keys; Rejected if etcd does not know it.
  void lease_revoke(int64_t id, Timeout timeout = {}) const;

  // Drops the history before `revision` (watches from older revisions then
  // report a resync); for operators and tests.
  void compact(int64_t revision, Timeout timeout = {}) const;

  const std::vector<Endpoint>& endpoints() const { return endpoints_; }
  // The endpoint the next call tries first.
  size_t preferred_endpoint() const { return preferred_.load(); }
  std::chrono::milliseconds default_timeout() const { return default_timeout_; }

 private:
  struct Answer {
    nlohmann::json body;
    std::string endpoint;  // the one that answered, for messages
  };
  // POSTs body to target; etcd's answer, or EtcdError.
  Answer call(const char* operation, const std::string& key, const char* target, const nlohmann::json& body,
              Timeout timeout) const;

  std::vector<Endpoint> endpoints_;
  std::chrono::milliseconds default_timeout_;
  mutable std::atomic<size_t> preferred_{0};
};

// "host:port" as the user wrote it, for messages.
std::string endpoint_name(const Endpoint& e);

}  // namespace keel::etcd
