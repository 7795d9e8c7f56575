// POST /producers: a new idempotent producer identity from the kernel. The
// client then sends "producer": {"id", "epoch", "sequence"} with each
// produce, starting at sequence 0 per partition and adding the number of
// records of each request (see docs/protocol.md, "Idempotent produce").
#include "authorization.hpp"
#include "checked_broker.hpp"
#include "handlers.hpp"
#include "json_body.hpp"
#include "services.hpp"

namespace keel::web {

void handle_init_producer(const ExchangePtr& x) {
  x->request.query.allow_only({});
  if (!x->request.body.empty()) {
    const nlohmann::json body = parse_json_body(x->request.body);
    if (!body.is_object() || !body.empty()) {
      throw bad_request(
          "POST /producers takes no fields (transactions are not supported); send {} or nothing");
    }
  }
  // Kafka's rule since KIP-679: IDEMPOTENT_WRITE on the cluster, or WRITE
  // on some topic (the produces that follow ask WRITE on theirs). The
  // cluster's "no" is not yet a denial, so it is not logged.
  const auto& subject = x->request.subject;
  if (!cluster_allowed(*x, KEEL_ACL_OP_IDEMPOTENT_WRITE, false) &&
      !x->services.broker.sdk().allowed_on_some(subject, KEEL_RESOURCE_TOPIC, KEEL_ACL_OP_WRITE)) {
    throw forbidden(subject, KEEL_RESOURCE_CLUSTER, KEEL_ACL_OP_IDEMPOTENT_WRITE, kClusterResource,
                    "nor WRITE any topic (an idempotent producer needs one of them)");
  }
  const auto [id, epoch] = x->services.broker.init_producer_id();
  x->respond(Response::json(bhttp::status::created, {{"id", id}, {"epoch", epoch}, {"sequence", 0}}));
}

}  // namespace keel::web
