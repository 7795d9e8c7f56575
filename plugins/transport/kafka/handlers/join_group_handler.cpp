// JoinGroup (key 11), v0-2. The answer waits (the Responder is kept by the
// group) until the join phase of the rebalance completes.
#include "../authorization.hpp"
#include "../cluster_view.hpp"
#include "../group_coordinator.hpp"
#include "../protocol/errors.hpp"
#include "../sasl_state.hpp"
#include "../services.hpp"
#include "handlers.hpp"

namespace keel::kafka {

namespace {

void send_join(const Responder& respond, int16_t v, bool flex, const JoinResult& r) {
  Writer w;
  if (v >= 2) w.int32(0);  // throttle_time_ms
  w.int16(code(r.error));
  w.int32(r.generation);
  w.string(r.protocol_name, flex);
  w.string(r.leader, flex);
  w.string(r.member_id, flex);
  w.array_length(static_cast<int32_t>(r.members.size()), flex);
  for (const auto& m : r.members) {
    w.string(m.member_id, flex);
    w.bytes(m.metadata, flex);
    w.tagged_fields(flex);
  }
  w.tagged_fields(flex);
  respond.send(std::move(w));
}

}  // namespace

void handle_join_group(Services& services, Request& req, const Responder& respond) {
  const int16_t v = req.api_version;
  const bool flex = req.flexible;
  Reader& r = req.body;
  const std::string group_id = r.any_string(flex);
  const int32_t session_timeout = r.int32();
  // v0 has no rebalance timeout; Kafka then uses the session timeout.
  const int32_t rebalance_timeout = v >= 1 ? r.int32() : session_timeout;
  JoinArgs args;
  args.member_id = r.any_string(flex);
  args.protocol_type = r.any_string(flex);
  const int32_t n = r.array_length(flex);
  for (int32_t i = 0; i < n; ++i) {
    GroupProtocol p;
    p.name = r.any_string(flex);
    p.metadata = std::string(r.bytes(flex));
    if (flex) r.tagged_fields();
    args.protocols.push_back(std::move(p));
  }
  if (flex) r.tagged_fields();

  auto fail = [&](ErrorCode e) {
    JoinResult res;
    res.error = e;
    res.member_id = args.member_id;
    send_join(respond, v, flex, res);
  };
  // A NUL would cut the id short where it is stored through the C ABI.
  if (group_id.empty() || group_id.find('\0') != std::string::npos) return fail(ErrorCode::kInvalidGroupId);
  if (!group_allowed(services, req, KEEL_ACL_OP_READ, group_id))
    return fail(ErrorCode::kGroupAuthorizationFailed);
  if (const ErrorCode c = coordinator_error(services, group_id); c != ErrorCode::kNone) return fail(c);
  const auto& s = services.settings;
  if (session_timeout < s.group_min_session_timeout_ms || session_timeout > s.group_max_session_timeout_ms) {
    return fail(ErrorCode::kInvalidSessionTimeout);
  }
  args.client_id = req.client_id.value_or("");
  // Kafka's form ("/10.0.0.7"), as DescribeGroups and its tools show it.
  if (req.sasl != nullptr && !req.sasl->subject.host.empty()) args.client_host = "/" + req.sasl->subject.host;
  args.session_timeout = std::chrono::milliseconds(session_timeout);
  args.rebalance_timeout = std::chrono::milliseconds(std::max(rebalance_timeout, 0));
  services.groups().join(group_id, std::move(args),
                         [respond, v, flex](const JoinResult& res) { send_join(respond, v, flex, res); });
}

}  // namespace keel::kafka
