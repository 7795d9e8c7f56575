#include "coordinator/etcd/etcd_error.hpp"

#include <utility>

namespace keel::etcd {

namespace {

std::string describe(const std::string& endpoint, const std::string& operation, const std::string& key,
                     const std::string& detail) {
  std::string s = "etcd at " + endpoint + ": " + operation;
  if (!key.empty()) s += " on " + key;
  return s + ": " + detail;
}

}  // namespace

EtcdError::EtcdError(Kind kind, std::string endpoint, std::string operation, std::string key,
                     std::string detail)
    : std::runtime_error(describe(endpoint, operation, key, detail)),
      kind_(kind),
      endpoint_(std::move(endpoint)),
      operation_(std::move(operation)),
      key_(std::move(key)),
      detail_(std::move(detail)) {}

}  // namespace keel::etcd
