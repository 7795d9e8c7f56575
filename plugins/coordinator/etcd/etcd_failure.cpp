#include "coordinator/etcd/etcd_failure.hpp"

namespace keel::coordinator {

using keel::etcd::EtcdError;

bool lease_not_found(const EtcdError& e) {
  return e.kind() == EtcdError::Kind::Rejected && e.detail().find("lease not found") != std::string::npos;
}

keel::sdk::Error etcd_failure(const EtcdError& e, const std::string& endpoints) {
  if (lease_not_found(e)) {
    return keel::sdk::Error(KEEL_ERR_UNAVAILABLE,
                            std::string(e.what()) + "; the session's lease expired: open a new session");
  }
  // grpc-gateway answers InvalidArgument (a request etcd will never take) with 400.
  if (e.kind() == EtcdError::Kind::Rejected && e.detail().find("(HTTP 400)") != std::string::npos) {
    return keel::sdk::Error(KEEL_ERR_INVALID_ARGUMENT, e.what());
  }
  return keel::sdk::Error(KEEL_ERR_UNAVAILABLE,
                          std::string(e.what()) +
                              "; the broker retries: check that etcd is up and reachable at " + endpoints +
                              " (coordinator setting `endpoints`)");
}

}  // namespace keel::coordinator
