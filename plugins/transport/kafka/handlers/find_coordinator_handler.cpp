// FindCoordinator (key 10), v0-4 (v3+ flexible; v4 asks for several keys at
// once, KIP-699). A group's coordinator is the leader of its
// __consumer_offsets partition as the cluster view knows it, else this
// broker (coordinator_for in cluster_view.hpp); on a single node, always
// this broker.
// Transactions are not served: a transaction coordinator lookup gets
// TRANSACTIONAL_ID_AUTHORIZATION_FAILED with Keel's reason, which clients
// treat as fatal and report at once (as InitProducerId answers a
// transactional id), not a retriable COORDINATOR_NOT_AVAILABLE that keeps a
// transactional producer retrying until its timeout.
#include <optional>
#include <string>
#include <vector>

#include "../authorization.hpp"
#include "../cluster_view.hpp"
#include "../protocol/errors.hpp"
#include "../services.hpp"
#include "handlers.hpp"
#include "transactions.hpp"

namespace keel::kafka {

namespace {

constexpr int8_t kKeyTypeGroup = 0;
constexpr int8_t kKeyTypeTransaction = 1;

struct Coordinator {
  int16_t error = 0;
  std::optional<std::string> message;
  int32_t node = -1;
  std::string host;
  int32_t port = -1;
};

Coordinator find(Services& services, const Request& req, int8_t key_type, const std::string& key) {
  const size_t listener = req.listener;
  if (key_type == kKeyTypeTransaction) {
    return Coordinator{code(ErrorCode::kTransactionalIdAuthorizationFailed), kNoTransactions, -1,
                       std::string(), -1};
  }
  if (key_type != kKeyTypeGroup) {
    return Coordinator{code(ErrorCode::kInvalidRequest),
                       "unknown coordinator key type " + std::to_string(key_type), -1, std::string(), -1};
  }
  if (!group_allowed(services, req, KEEL_ACL_OP_DESCRIBE, key)) {
    return Coordinator{code(ErrorCode::kGroupAuthorizationFailed),
                       "not authorized to DESCRIBE group '" + key + "'", -1, std::string(), -1};
  }
  const std::optional<KafkaBroker> b = coordinator_for(services, key, listener);
  if (!b) {
    return Coordinator{code(ErrorCode::kCoordinatorNotAvailable),
                       "group '" + key +
                           "': the leader of its __consumer_offsets partition serves no Kafka "
                           "listener yet; retry",
                       -1, std::string(), -1};
  }
  return Coordinator{code(ErrorCode::kNone), std::nullopt, b->id, b->host, b->port};
}

}  // namespace

void handle_find_coordinator(Services& services, Request& req, const Responder& respond) {
  const int16_t v = req.api_version;
  const bool flex = req.flexible;
  Reader& r = req.body;
  std::vector<std::string> keys;
  if (v <= 3) keys.push_back(r.any_string(flex));  // the group id
  const int8_t key_type = v >= 1 ? r.int8() : kKeyTypeGroup;
  if (v >= 4) {
    const int32_t n = r.array_length(flex);
    for (int32_t i = 0; i < n; ++i) keys.push_back(r.any_string(flex));
  }
  if (flex) r.tagged_fields();

  Writer w;
  if (v >= 1) w.int32(0);  // throttle_time_ms
  if (v >= 4) {
    // One answer per key, in request order (a null array reads as none).
    w.array_length(static_cast<int32_t>(keys.size()), flex);
    for (const auto& key : keys) {
      const Coordinator c = find(services, req, key_type, key);
      w.string(key, flex);
      w.int32(c.node);
      w.string(c.host, flex);
      w.int32(c.port);
      w.int16(c.error);
      w.nullable_string(c.message, flex);
      w.tagged_fields(flex);
    }
  } else {
    const Coordinator c = find(services, req, key_type, keys.front());
    w.int16(c.error);
    if (v >= 1) w.nullable_string(c.message, flex);
    w.int32(c.node);
    w.string(c.host, flex);
    w.int32(c.port);
  }
  w.tagged_fields(flex);
  respond.send(std::move(w));
}

}  // namespace keel::kafka
