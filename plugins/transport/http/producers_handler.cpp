// POST /producers: a new idempotent producer identity from the kernel. The
// client then sends "producer": {"id", "epoch", "sequence"} with each
// produce, starting at sequence 0 per partition and adding the number of
// records of each request (see docs/protocol.md, "Idempotent produce").
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
  const auto [id, epoch] = x->services.broker.init_producer_id();
  x->respond(Response::json(bhttp::status::created, {{"id", id}, {"epoch", epoch}, {"sequence", 0}}));
}

}  // namespace keel::web
