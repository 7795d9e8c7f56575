// A consumer group as operators see it (broker API 2.6):
//   GET /groups/{g}: state, protocol, generation, leader and members with
//     their assignment, as the transport running the group protocol
//     published them; a group with committed offsets and no members is
//     "Empty".
//   POST /groups/{g}/offsets/reset {"topic", "partitions", "to", ...}:
//     Kafka's kafka-consumer-groups --reset-offsets for an empty group:
//     computes the offsets from the watermarks or a time and commits them
//     as POST /groups/{g}/offsets does (refused with 409 while the group has
//     live members).
#include <algorithm>
#include <limits>

#include "authorization.hpp"
#include "group_commit.hpp"
#include "handlers.hpp"
#include "json_body.hpp"
#include "json_records.hpp"
#include "names.hpp"

namespace keel::web {
namespace {

nlohmann::json member_json(const sdk::GroupMemberView& m) {
  auto assignment = nlohmann::json::array();
  for (const auto& [topic, partition] : m.assignment)
    assignment.push_back({{"topic", topic}, {"partition", partition}});
  return {{"member_id", m.member_id},
          {"group_instance_id", m.instance_id.empty() ? nlohmann::json() : nlohmann::json(m.instance_id)},
          {"client_id", m.client_id},
          {"client_host", m.client_host},
          {"assignment", std::move(assignment)}};
}

int64_t integer_field(const nlohmann::json& body, const char* name, const char* what) {
  auto it = body.find(name);
  if (it == body.end() || !it->is_number_integer()) {
    throw bad_request(std::string("field \"") + name + "\" (" + what + ", an integer) is required");
  }
  return it->get<int64_t>();
}

// The partitions named by the body (each checked to exist), or all.
std::vector<int32_t> reset_partitions(const CheckedBroker& b, const std::string& topic,
                                      const nlohmann::json& body) {
  const TopicInfo t = b.require_topic(topic);
  std::vector<int32_t> out;
  auto list = body.find("partitions");
  if (list == body.end() || list->is_null()) {
    for (int32_t p = 0; p < t.partitions; ++p) out.push_back(p);
    return out;
  }
  if (!list->is_array() || list->empty()) {
    throw bad_request(
        "field \"partitions\" must be a non-empty array of partition numbers (or left out: all)");
  }
  for (const auto& v : *list) {
    if (!v.is_number_integer() || v.get<int64_t>() < 0 ||
        v.get<int64_t>() > std::numeric_limits<int32_t>::max()) {
      throw bad_request("field \"partitions\" must hold integers >= 0, got " + v.dump());
    }
    const auto p = static_cast<int32_t>(v.get<int64_t>());
    b.watermarks(topic, p);  // 404 for a partition the topic does not have
    if (std::find(out.begin(), out.end(), p) == out.end()) out.push_back(p);
  }
  return out;
}

}  // namespace

void handle_describe_group(const ExchangePtr& x) {
  x->request.query.allow_only({});
  const std::string& group = x->request.params[0];
  const CheckedBroker& b = x->services.broker;
  if (!b.sdk().has_operator_views()) {
    throw HttpError(
        bhttp::status::not_implemented, "unsupported",
        "this broker does not describe groups (broker API 2.6 needed); GET /groups/{g}/offsets and "
        "/lag still work");
  }
  std::optional<sdk::GroupView> v = b.sdk().describe_group(group);
  if (!v || v->members.empty()) {
    if (!v && b.group_offsets(group).empty()) {
      throw HttpError(bhttp::status::not_found, "unknown_group",
                      "group '" + group + "' has no members and no committed offsets");
    }
    sdk::GroupView empty;
    if (v) empty = std::move(*v);
    empty.state = "Empty";
    empty.members.clear();
    v = std::move(empty);
  }
  auto members = nlohmann::json::array();
  for (const auto& m : v->members) members.push_back(member_json(m));
  x->respond(Response::ok({{"group", group},
                           {"state", v->state},
                           {"protocol_type", v->protocol_type},
                           {"protocol", v->protocol},
                           {"generation", v->generation},
                           {"leader", v->leader_id},
                           {"members", std::move(members)}}));
}

void handle_reset_offsets(const ExchangePtr& x) {
  x->request.query.allow_only({});
  const std::string& group = x->request.params[0];
  const CheckedBroker& b = x->services.broker;
  const nlohmann::json body =
      parse_object_body(x->request.body, {"topic", "partitions", "to", "timestamp", "offset"});
  auto topic_field = body.find("topic");
  if (topic_field == body.end() || !topic_field->is_string()) {
    throw bad_request("field \"topic\" (the topic whose offsets to reset, a string) is required");
  }
  const std::string topic = topic_field->get<std::string>();
  check_topic_name("field \"topic\"", topic);
  auto to_field = body.find("to");
  const std::string to = to_field != body.end() && to_field->is_string() ? to_field->get<std::string>() : "";
  if (to != "earliest" && to != "latest" && to != "timestamp" && to != "offset") {
    throw bad_request("field \"to\" must be \"earliest\", \"latest\", \"timestamp\" or \"offset\", got " +
                      (to_field == body.end() ? std::string("nothing") : to_field->dump()));
  }
  const int64_t ts = to == "timestamp" ? integer_field(body, "timestamp", "milliseconds since the epoch") : 0;
  const int64_t wanted = to == "offset" ? integer_field(body, "offset", "the next offset to read") : 0;
  // What a commit of this topic needs (as POST /groups/{g}/offsets), asked
  // before the topic is looked up.
  require(*x, KEEL_RESOURCE_TOPIC, KEEL_ACL_OP_READ, topic);
  std::vector<GroupOffset> commits;
  for (int32_t p : reset_partitions(b, topic, body)) {
    const keel_watermarks w = b.watermarks(topic, p);
    int64_t offset = w.high_watermark;  // "latest", and a time after every record
    if (to == "earliest") offset = w.log_start_offset;
    if (to == "offset") offset = std::clamp(wanted, w.log_start_offset, w.high_watermark);
    if (to == "timestamp") offset = b.offset_for_time(topic, p, ts).value_or(w.high_watermark);
    commits.push_back(GroupOffset{topic, p, offset, ""});
  }
  auto out = nlohmann::json::array();
  for (const auto& o : commits) out.push_back(offset_json(o));
  commit_then(x, group, commits, [group, out = std::move(out)]() mutable {
    return Response::ok({{"group", group}, {"offsets", std::move(out)}});
  });
}

}  // namespace keel::web
