// InitProducerId (key 22), v0-4 (v2+ flexible): ids for idempotent
// producers (epoch 0), handed out by the kernel (durable blocks: never twice,
// even across a crash).
// v3+ carry the producer's current id and epoch (KIP-360). For an idempotent
// producer Kafka ignores them and hands out a fresh id with epoch 0 (the
// client resets its sequences); Keel does the same. Only one of the two set
// is INVALID_REQUEST, as in Kafka. v4 only allows PRODUCER_FENCED, which is
// about transactions.
// Transactions are not supported: a transactional id is refused with
// TRANSACTIONAL_ID_AUTHORIZATION_FAILED, which clients treat as fatal and
// report at once, instead of a retriable code they would retry forever.
#include <string>

#include "../authorization.hpp"
#include "../protocol/errors.hpp"
#include "../services.hpp"
#include "handlers.hpp"
#include "transactions.hpp"

namespace keel::kafka {

void handle_init_producer_id(Services& services, Request& req, const Responder& respond) {
  const bool flex = req.flexible;
  Reader& r = req.body;
  const auto transactional_id = r.any_nullable_string(flex);
  r.int32();  // transaction_timeout_ms
  int64_t current_id = -1;
  int16_t current_epoch = -1;
  if (req.api_version >= 3) {
    current_id = r.int64();
    current_epoch = r.int16();
  }
  if (flex) r.tagged_fields();

  Writer w;
  w.int32(0);  // throttle_time_ms
  if ((current_id == -1) != (current_epoch == -1)) {
    services.client_log.warn("InitProducerId from client '" + req.client_id.value_or("") + "': producer id " +
                             std::to_string(current_id) + " with epoch " + std::to_string(current_epoch) +
                             ": both must be -1 (a new producer) or both set (an epoch bump)");
    w.int16(code(ErrorCode::kInvalidRequest));
    w.int64(-1);
    w.int16(-1);
  } else if (transactional_id) {
    services.client_log.info("refusing InitProducerId for transactional id '" + *transactional_id +
                             "' from client '" + req.client_id.value_or("") + "': " + kNoTransactions);
    w.int16(code(ErrorCode::kTransactionalIdAuthorizationFailed));
    w.int64(-1);
    w.int16(-1);
  } else if (!cluster_allowed(services, req, KEEL_ACL_OP_IDEMPOTENT_WRITE, false) &&
             !services.broker.allowed_on_some(subject_of(req), KEEL_RESOURCE_TOPIC, KEEL_ACL_OP_WRITE)) {
    // Kafka's rule since KIP-679: IDEMPOTENT_WRITE on the cluster, or WRITE
    // on some topic.
    w.int16(code(ErrorCode::kClusterAuthorizationFailed));
    w.int64(-1);
    w.int16(-1);
  } else {
    int64_t id = -1;
    int32_t epoch = -1;
    std::string message;
    const keel_status s = services.broker.init_producer_id(0, nullptr, &id, &epoch, &message);
    if (s == KEEL_OK) {
      w.int16(code(ErrorCode::kNone));
      w.int64(id);
      w.int16(static_cast<int16_t>(epoch));
    } else {
      services.host.warn("InitProducerId from client '" + req.client_id.value_or("") +
                         "' failed: " + message);
      // Retriable for clients: they ask again.
      w.int16(code(s == KEEL_ERR_UNAVAILABLE ? ErrorCode::kCoordinatorNotAvailable
                                             : ErrorCode::kKafkaStorageError));
      w.int64(-1);
      w.int16(-1);
    }
  }
  w.tagged_fields(flex);
  respond.send(std::move(w));
}

}  // namespace keel::kafka
