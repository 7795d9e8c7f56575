// DescribeAcls (key 29), v0-3 (v2+ flexible): the ACL bindings a filter
// selects, grouped by resource (type, name, pattern type) as the response
// carries them. Needs DESCRIBE on the cluster (else
// CLUSTER_AUTHORIZATION_FAILED, no resources). Without an [authorizer]:
// SECURITY_DISABLED. A filter with a value the broker does not know is
// INVALID_REQUEST. v0 has no pattern type: its filter selects LITERAL
// bindings (so that its answer, which cannot say PREFIXED, holds only
// those).
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "../authorization.hpp"
#include "../services.hpp"
#include "acls.hpp"
#include "handlers.hpp"

namespace keel::kafka {

void handle_describe_acls(Services& services, Request& req, const Responder& respond) {
  const bool flex = req.flexible;
  const int16_t v = req.api_version;
  Reader& r = req.body;
  const sdk::Broker::AclFilter filter = acls::read_filter(r, v, flex);
  if (flex) r.tagged_fields();

  std::vector<sdk::Broker::AclBinding> bindings;
  acls::Outcome o;
  if (!cluster_allowed(services, req, KEEL_ACL_OP_DESCRIBE)) {
    o = acls::cluster_denied("DESCRIBE");
  } else {
    std::string message;
    o = acls::outcome_of(services.broker.describe_acls(filter, &bindings, &message), message);
    if (o.error != ErrorCode::kNone) bindings.clear();
  }

  // Resource (type, name, pattern type) -> its bindings, in a stable order.
  using Resource = std::tuple<int8_t, std::string, int8_t>;
  std::map<Resource, std::vector<const sdk::Broker::AclBinding*>> resources;
  for (const auto& b : bindings)
    resources[Resource{b.resource_type, b.resource_name, b.pattern_type}].push_back(&b);

  Writer w;
  w.int32(0);  // throttle_time_ms
  acls::write_outcome(w, o, flex);
  w.array_length(static_cast<int32_t>(resources.size()), flex);
  for (const auto& [resource, entries] : resources) {
    w.int8(std::get<0>(resource));
    w.string(std::get<1>(resource), flex);
    if (v >= 1) w.int8(std::get<2>(resource));
    w.array_length(static_cast<int32_t>(entries.size()), flex);
    for (const auto* b : entries) {
      w.string(b->principal, flex);
      w.string(b->host, flex);
      w.int8(b->operation);
      w.int8(b->permission);
      w.tagged_fields(flex);
    }
    w.tagged_fields(flex);
  }
  w.tagged_fields(flex);
  respond.send(std::move(w));
}

}  // namespace keel::kafka
