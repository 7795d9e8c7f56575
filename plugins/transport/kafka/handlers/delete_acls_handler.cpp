// DeleteAcls (key 31), v0-3 (v2+ flexible): removes the ACL bindings each
// filter selects and lists them under that filter (a binding two filters
// select is removed by the first and listed there). Needs ALTER on the
// cluster; a principal without it gets CLUSTER_AUTHORIZATION_FAILED for
// every filter, and nothing is removed. Without an [authorizer]:
// SECURITY_DISABLED. A filter with a value the broker does not know is
// INVALID_REQUEST for that filter; the others still apply. v0 has no
// pattern type: its filters select LITERAL bindings.
#include <string>
#include <vector>

#include "../authorization.hpp"
#include "../services.hpp"
#include "acls.hpp"
#include "handlers.hpp"

namespace keel::kafka {

void handle_delete_acls(Services& services, Request& req, const Responder& respond) {
  const bool flex = req.flexible;
  const int16_t v = req.api_version;
  Reader& r = req.body;
  // Decoded whole before anything is removed: a malformed request removes
  // nothing.
  std::vector<sdk::Broker::AclFilter> filters;
  const int32_t n = r.array_length(flex);
  for (int32_t i = 0; i < n; ++i) {
    filters.push_back(acls::read_filter(r, v, flex));
    if (flex) r.tagged_fields();
  }
  if (flex) r.tagged_fields();

  const bool may_alter = cluster_allowed(services, req, KEEL_ACL_OP_ALTER);
  Writer w;
  w.int32(0);  // throttle_time_ms
  w.array_length(static_cast<int32_t>(filters.size()), flex);
  for (const auto& f : filters) {
    std::vector<sdk::Broker::AclBinding> removed;
    acls::Outcome o;
    if (!may_alter) {
      o = acls::cluster_denied("ALTER");
    } else {
      std::string message;
      o = acls::outcome_of(services.broker.delete_acls(f, &removed, &message), message);
      if (o.error != ErrorCode::kNone) removed.clear();
    }
    acls::write_outcome(w, o, flex);
    w.array_length(static_cast<int32_t>(removed.size()), flex);
    for (const auto& b : removed) {
      w.int16(code(ErrorCode::kNone));  // this binding's deletion: done
      w.nullable_string(std::nullopt, flex);
      w.int8(b.resource_type);
      w.string(b.resource_name, flex);
      if (v >= 1) w.int8(b.pattern_type);
      w.string(b.principal, flex);
      w.string(b.host, flex);
      w.int8(b.operation);
      w.int8(b.permission);
      w.tagged_fields(flex);
    }
    w.tagged_fields(flex);
  }
  w.tagged_fields(flex);
  respond.send(std::move(w));
}

}  // namespace keel::kafka
