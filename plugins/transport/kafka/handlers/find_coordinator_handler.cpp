// FindCoordinator (key 10), v0-2. Keel coordinates every group itself.
// Transactions are not served: a transaction coordinator lookup gets
// TRANSACTIONAL_ID_AUTHORIZATION_FAILED with Keel's reason, which clients
// treat as fatal and report at once (as InitProducerId answers a
// transactional id), not a retriable COORDINATOR_NOT_AVAILABLE that keeps a
// transactional producer retrying until its timeout.
#include "../protocol/errors.hpp"
#include "../services.hpp"
#include "handlers.hpp"
#include "transactions.hpp"

namespace keel::kafka {

namespace {
constexpr int8_t kKeyTypeGroup = 0;
constexpr int8_t kKeyTypeTransaction = 1;
}  // namespace

void handle_find_coordinator(Services& services, Request& req, const Responder& respond) {
  const int16_t v = req.api_version;
  const bool flex = req.flexible;
  req.body.any_string(flex);  // key: the group id
  const int8_t key_type = v >= 1 ? req.body.int8() : kKeyTypeGroup;
  if (flex) req.body.tagged_fields();

  const bool served = key_type == kKeyTypeGroup;
  Writer w;
  if (v >= 1) w.int32(0);  // throttle_time_ms
  const ErrorCode refusal = key_type == kKeyTypeTransaction ? ErrorCode::kTransactionalIdAuthorizationFailed
                                                            : ErrorCode::kInvalidRequest;
  w.int16(code(served ? ErrorCode::kNone : refusal));
  if (v >= 1) {
    w.nullable_string(
        served ? std::nullopt
        : key_type == kKeyTypeTransaction
            ? std::optional<std::string>(kNoTransactions)
            : std::optional<std::string>("unknown coordinator key type " + std::to_string(key_type)),
        flex);
  }
  w.int32(served ? services.settings.node_id : -1);
  w.string(served ? services.settings.advertised_host : std::string(), flex);
  w.int32(served ? services.advertised_port : -1);
  w.tagged_fields(flex);
  respond.send(std::move(w));
}

}  // namespace keel::kafka
