// InitProducerId (key 22), v0-1: ids for idempotent producers (epoch 0),
// handed out by the kernel (durable blocks: never twice, even across a
// crash).
// Transactions are not supported: a transactional id is refused with
// TRANSACTIONAL_ID_AUTHORIZATION_FAILED, which clients treat as fatal and
// report at once, instead of a retriable code they would retry forever.
#include <string>

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
  if (flex) r.tagged_fields();

  Writer w;
  w.int32(0);  // throttle_time_ms
  if (transactional_id) {
    services.client_log.info("refusing InitProducerId for transactional id '" + *transactional_id +
                             "' from client '" + req.client_id.value_or("") + "': " + kNoTransactions);
    w.int16(code(ErrorCode::kTransactionalIdAuthorizationFailed));
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
