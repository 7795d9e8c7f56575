// CreateAcls (key 30), v0-3 (v2+ flexible): stores ACL bindings in the
// broker's authorizer, one call per creation so that each gets its own
// error (Kafka's per-creation results). Needs ALTER on the cluster; a
// principal without it gets CLUSTER_AUTHORIZATION_FAILED for every
// creation, and nothing is stored. Without an [authorizer] every creation
// answers SECURITY_DISABLED. A binding that may not be stored (UNKNOWN or
// ANY values, MATCH, an empty name, a principal not "Type:name", ...) is
// INVALID_REQUEST with the broker's reason; creating one already stored
// succeeds. v0 has no pattern type: its bindings are LITERAL.
#include <string>
#include <vector>

#include "../authorization.hpp"
#include "../services.hpp"
#include "acls.hpp"
#include "handlers.hpp"

namespace keel::kafka {

void handle_create_acls(Services& services, Request& req, const Responder& respond) {
  const bool flex = req.flexible;
  const int16_t v = req.api_version;
  Reader& r = req.body;
  // Decoded whole before anything is stored: a malformed request stores
  // nothing.
  std::vector<sdk::Broker::AclBinding> creations;
  const int32_t n = r.array_length(flex);
  for (int32_t i = 0; i < n; ++i) {
    sdk::Broker::AclBinding b;
    b.resource_type = r.int8();
    b.resource_name = r.any_string(flex);
    b.pattern_type = v >= 1 ? r.int8() : acls::kV0PatternType;
    b.principal = r.any_string(flex);
    b.host = r.any_string(flex);
    b.operation = r.int8();
    b.permission = r.int8();
    if (flex) r.tagged_fields();
    creations.push_back(std::move(b));
  }
  if (flex) r.tagged_fields();

  const bool may_alter = cluster_allowed(services, req, KEEL_ACL_OP_ALTER);
  Writer w;
  w.int32(0);  // throttle_time_ms
  w.array_length(static_cast<int32_t>(creations.size()), flex);
  for (const auto& b : creations) {
    acls::Outcome o;
    if (!may_alter) {
      o = acls::cluster_denied("ALTER");
    } else {
      std::string message;
      o = acls::outcome_of(services.broker.create_acl(b, &message), message);
    }
    acls::write_outcome(w, o, flex);
    w.tagged_fields(flex);
  }
  w.tagged_fields(flex);
  respond.send(std::move(w));
}

}  // namespace keel::kafka
