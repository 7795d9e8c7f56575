// /groups: committed offsets (the same store Kafka consumer groups use),
// lag, and fetch-next reading a topic from the group's positions.
#include <algorithm>
#include <limits>

#include "authorization.hpp"
#include "checked_broker.hpp"
#include "errors.hpp"
#include "group_commit.hpp"
#include "handlers.hpp"
#include "json_body.hpp"
#include "json_records.hpp"
#include "long_poll.hpp"
#include "names.hpp"
#include "record_reader.hpp"
#include "services.hpp"

namespace keel::web {
namespace {

HttpError unknown_group(const std::string& group) {
  return HttpError(bhttp::status::not_found, "unknown_group",
                   "group '" + group + "' has no committed offsets");
}

struct GroupFetchArgs {
  std::string group;
  std::string topic;
  size_t max_records = 0;
  int64_t max_bytes = 0;
  bool commit = false;
  Encoding encoding = Encoding::Text;
};

// Where the group reads each partition next: its committed offset, or the
// log start when it has none or retention removed it.
std::vector<int64_t> positions(const CheckedBroker& b, const GroupFetchArgs& a, int32_t partitions) {
  std::vector<int64_t> out;
  for (int32_t p = 0; p < partitions; ++p) {
    const keel_watermarks w = b.watermarks(a.topic, p);
    const int64_t committed = b.fetch_offset(a.group, a.topic, p).offset;
    out.push_back(committed < 0 ? w.log_start_offset
                                : std::clamp(committed, w.log_start_offset, w.log_end_offset));
  }
  return out;
}

void group_answer(const ExchangePtr& x, const GroupFetchArgs& a) {
  const CheckedBroker& b = x->services.broker;
  const TopicInfo t = b.require_topic(a.topic);
  const std::vector<int64_t> from = positions(b, a, t.partitions);
  auto records = nlohmann::json::array();
  auto parts = nlohmann::json::array();
  std::vector<GroupOffset> commits;
  size_t budget = a.max_records;
  int64_t bytes = a.max_bytes;
  for (int32_t p = 0; p < t.partitions; ++p) {
    ReadResult r;
    if (budget > 0 && bytes > 0) {
      r = read_records(b, a.topic, p, from[p], budget, bytes);
    } else {
      r.next_offset = from[p];
      r.watermarks = b.watermarks(a.topic, p);
    }
    budget -= r.records.size();
    for (const auto& rec : r.records) {
      nlohmann::json j = record_to_json(rec, a.encoding);
      j["partition"] = p;
      bytes -= static_cast<int64_t>((rec.key ? rec.key->size() : 0) + (rec.value ? rec.value->size() : 0));
      records.push_back(std::move(j));
    }
    if (a.commit && !r.records.empty()) commits.push_back(GroupOffset{a.topic, p, r.next_offset, ""});
    parts.push_back({{"partition", p},
                     {"next_offset", r.next_offset},
                     {"high_watermark", r.watermarks.high_watermark},
                     {"committed", a.commit && !r.records.empty()}});
  }
  nlohmann::json answer = {{"records", std::move(records)}, {"partitions", std::move(parts)}};
  if (commits.empty()) return x->respond(Response::ok(std::move(answer)));
  // One commit for every partition read; the answer waits for it.
  commit_then(x, a.group, commits,
              [answer = std::move(answer)]() mutable { return Response::ok(std::move(answer)); });
}

}  // namespace

void handle_list_groups(const ExchangePtr& x) {
  x->request.query.allow_only({});
  std::vector<std::string> groups = x->services.broker.list_groups();
  // DESCRIBE on the cluster lists every group, else only those the
  // principal may DESCRIBE (Kafka's ListGroups; a filter, not a denial).
  if (!cluster_allowed(*x, KEEL_ACL_OP_DESCRIBE, false)) {
    std::erase_if(groups, [&x](const std::string& g) {
      return !allowed(*x, KEEL_RESOURCE_GROUP, KEEL_ACL_OP_DESCRIBE, g, false);
    });
  }
  x->respond(Response::ok({{"groups", std::move(groups)}}));
}

// 204 once the group's offsets and stored metadata are gone (durably).
void handle_delete_group(const ExchangePtr& x) {
  x->request.query.allow_only({});
  x->services.broker.delete_group(x->request.params[0]);
  Response r;
  r.status = bhttp::status::no_content;
  x->respond(std::move(r));
}

void handle_group_offsets(const ExchangePtr& x) {
  const Query& q = x->request.query;
  q.allow_only({"topic", "partition"});
  const std::string& group = x->request.params[0];
  const CheckedBroker& b = x->services.broker;
  const auto topic = q.get("topic");
  if (topic) check_topic_name("query parameter 'topic'", *topic);
  const auto partition = q.get_int("partition", 0, std::numeric_limits<int32_t>::max());
  if (partition && !topic) throw bad_request("query parameter 'partition' needs 'topic' too");
  // A topic asked for by name needs DESCRIBE (Kafka's OffsetFetch answers
  // TOPIC_AUTHORIZATION_FAILED for it), asked before it is looked up so that
  // a denied client does not learn whether it exists; the whole list leaves
  // out the topics the principal may not DESCRIBE.
  if (topic) require(*x, KEEL_RESOURCE_TOPIC, KEEL_ACL_OP_DESCRIBE, *topic);
  if (topic && partition) {
    b.watermarks(*topic, static_cast<int32_t>(*partition));  // 404 for an unknown topic or partition
    const GroupOffset o = b.fetch_offset(group, *topic, static_cast<int32_t>(*partition));
    x->respond(Response::ok({{"group", group}, {"offsets", {offset_json(o)}}}));
    return;
  }
  auto all = b.group_offsets(group);
  if (all.empty()) throw unknown_group(group);
  auto out = nlohmann::json::array();
  for (const auto& o : all) {
    if (topic ? o.topic != *topic : !topic_allowed(*x, KEEL_ACL_OP_DESCRIBE, o.topic, false)) continue;
    out.push_back(offset_json(o));
  }
  x->respond(Response::ok({{"group", group}, {"offsets", std::move(out)}}));
}

void handle_commit_offsets(const ExchangePtr& x) {
  x->request.query.allow_only({});
  const std::string& group = x->request.params[0];
  const CheckedBroker& b = x->services.broker;
  const nlohmann::json body = parse_json_body(x->request.body);
  if (!body.is_object()) throw bad_request("request body must be a JSON object, got " + type_name(body));
  for (const auto& [k, v] : body.items()) {
    if (k != "offsets") throw bad_request("unknown field \"" + k + "\"; known: offsets");
  }
  auto list = body.find("offsets");
  if (list == body.end() || !list->is_array() || list->empty()) {
    throw bad_request(
        "field \"offsets\" (a non-empty array of {\"topic\", \"partition\", \"offset\"}) is required");
  }
  // Check every entry before committing any.
  std::vector<GroupOffset> commits;
  for (size_t i = 0; i < list->size(); ++i) {
    const auto& e = (*list)[i];
    const std::string w = "offsets[" + std::to_string(i) + "]";
    if (!e.is_object()) throw bad_request(w + " must be an object, got " + type_name(e));
    GroupOffset o;
    for (const auto& [k, v] : e.items()) {
      if (k == "topic" && v.is_string()) {
        check_topic_name(w + ".topic", v.get_ref<const std::string&>());
        o.topic = v.get<std::string>();
      } else if (k == "partition" && v.is_number_integer() && v.get<int64_t>() >= 0 &&
                 v.get<int64_t>() <= std::numeric_limits<int32_t>::max()) {
        o.partition = static_cast<int32_t>(v.get<int64_t>());
      } else if (k == "offset" && v.is_number_integer() && v.get<int64_t>() >= 0) {
        o.offset = v.get<int64_t>();
      } else if (k == "metadata" && (v.is_string() || v.is_null())) {
        o.metadata = v.is_string() ? v.get<std::string>() : "";
        check_text(w + ".metadata", o.metadata);
      } else if (k == "topic" || k == "partition" || k == "offset" || k == "metadata") {
        const char* want = k == "topic"      ? "a string"
                           : k == "metadata" ? "a string or null"
                                             : "an integer >= 0";
        throw bad_request(w + "." + k + " must be " + want + ", got " + v.dump());
      } else {
        throw bad_request(w + " has unknown field \"" + k + "\"; known: topic, partition, offset, metadata");
      }
    }
    if (!e.contains("topic") || !e.contains("partition") || !e.contains("offset")) {
      throw bad_request(w + " needs \"topic\", \"partition\" and \"offset\"");
    }
    // Kafka's OffsetCommit: READ on the group (the route), then on each
    // topic; asked before the lookup, so that a denied client does not learn
    // whether the topic exists. Nothing is committed unless every topic may
    // be read.
    require(*x, KEEL_RESOURCE_TOPIC, KEEL_ACL_OP_READ, o.topic);
    b.watermarks(o.topic, o.partition);  // 404 for an unknown topic or partition
    commits.push_back(std::move(o));
  }
  auto out = nlohmann::json::array();
  for (const auto& o : commits) out.push_back(offset_json(o));
  commit_then(x, group, commits, [group, out = std::move(out)]() mutable {
    return Response::ok({{"group", group}, {"offsets", std::move(out)}});
  });
}

void handle_group_lag(const ExchangePtr& x) {
  x->request.query.allow_only({});
  const std::string& group = x->request.params[0];
  const CheckedBroker& b = x->services.broker;
  auto all = b.group_offsets(group);
  if (all.empty()) throw unknown_group(group);
  auto out = nlohmann::json::array();
  int64_t total = 0;
  for (const auto& o : all) {
    // As GET /groups/{group}/offsets: committed positions of topics the
    // principal may not DESCRIBE are left out.
    if (!topic_allowed(*x, KEEL_ACL_OP_DESCRIBE, o.topic, false)) continue;
    keel_watermarks w{};
    try {
      w = b.watermarks(o.topic, o.partition);
    } catch (const HttpError&) {
      continue;  // the topic went away since the commit
    }
    const int64_t lag = std::max<int64_t>(0, w.high_watermark - std::max(o.offset, w.log_start_offset));
    total += lag;
    out.push_back({{"topic", o.topic},
                   {"partition", o.partition},
                   {"committed_offset", o.offset},
                   {"log_start_offset", w.log_start_offset},
                   {"high_watermark", w.high_watermark},
                   {"lag", lag}});
  }
  x->respond(Response::ok({{"group", group}, {"partitions", std::move(out)}, {"total_lag", total}}));
}

void handle_group_fetch(const ExchangePtr& x) {
  const Query& q = x->request.query;
  q.allow_only({"max_records", "max_bytes", "timeout_ms", "commit", "value_format"});
  GroupFetchArgs a;
  a.group = x->request.params[0];
  a.topic = x->request.params[1];
  a.max_records = static_cast<size_t>(q.get_int("max_records", 1, 100000, 500));
  a.max_bytes = q.get_int("max_bytes", 1, int64_t{1} << 30, 1 << 20);
  a.commit = q.get_bool("commit", false);
  a.encoding =
      q.get_choice("value_format", {"text", "base64"}, "text") == "text" ? Encoding::Text : Encoding::Base64;
  const int64_t timeout_ms = q.get_int("timeout_ms", 0, x->services.settings.max_long_poll_ms, 0);

  const CheckedBroker& b = x->services.broker;
  const TopicInfo t = b.require_topic(a.topic);
  const std::vector<int64_t> from = positions(b, a, t.partitions);
  std::vector<WatchTarget> targets;
  bool any = false;
  for (int32_t p = 0; p < t.partitions; ++p) {
    any = any || from[p] < b.watermarks(a.topic, p).high_watermark;
    targets.push_back({a.topic, p, from[p]});
  }
  if (timeout_ms == 0 || any) return group_answer(x, a);
  LongPoll::start(b, x, std::move(targets), timeout_ms, [x, a] { x->guarded([&] { group_answer(x, a); }); });
}

}  // namespace keel::web
