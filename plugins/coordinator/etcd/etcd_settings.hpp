// The settings of coordinator `etcd` (its config table, [cluster.etcd] in
// the broker's file), read and checked once at create.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <keel/plugin.hpp>
#include <string>
#include <vector>

namespace keel::coordinator {

struct EtcdSettings {
  std::vector<std::string> endpoints{"127.0.0.1:2379"};
  // Every key of the ABI is relative to it: "brokers/1" is "/keel/brokers/1"
  // in etcd. Ends with '/' so that one namespace's keys never start another's.
  std::string prefix = "/keel/";
  int64_t session_ttl_ms = 6000;
  int64_t request_timeout_ms = 2000;

  // Reads endpoints (comma-separated host:port), prefix, session_ttl_ms and
  // request_timeout_ms; throws sdk::Error(INVALID_ARGUMENT) naming the key.
  static EtcdSettings read(const keel::sdk::Config& config);

  // etcd leases count whole seconds: the TTL rounded up, at least 1 s (etcd
  // may grant more: its minimum is 1.5 x its election timeout).
  int64_t lease_ttl_seconds() const { return std::max<int64_t>(1, (session_ttl_ms + 999) / 1000); }
  std::chrono::milliseconds request_timeout() const { return std::chrono::milliseconds(request_timeout_ms); }
  // "a:1, b:2", for messages.
  std::string endpoint_list() const;
};

}  // namespace keel::coordinator
