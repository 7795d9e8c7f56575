// OffsetFetch (key 9), v0-8: the offsets a group committed, -1 where none.
//  - v2+: a null topic list asks for every offset the group committed
//    (KIP-88; what admin tools and lag monitors use), and the answer carries
//    a top-level error code.
//  - v5+: committed_leader_epoch, always -1 (Keel has no leader epochs).
//  - v7: require_stable. Offsets are never pending here (no transactions,
//    and a commit is visible only once stored), so every answer is stable.
//  - v8: several groups in one request, each answered with its own error.
#include <map>
#include <optional>

#include "../authorization.hpp"
#include "../cluster_view.hpp"
#include "../protocol/errors.hpp"
#include "../services.hpp"
#include "handlers.hpp"

namespace keel::kafka {

namespace {

struct TopicAsk {
  std::string name;
  std::vector<int32_t> partitions;
};

struct GroupAsk {
  std::string group_id;
  std::optional<std::vector<TopicAsk>> topics;  // nullopt: everything committed
};

struct PartitionAnswer {
  int32_t partition = 0;
  int64_t offset = -1;
  std::string metadata;
  ErrorCode error = ErrorCode::kNone;
};

using TopicAnswers = std::vector<std::pair<std::string, std::vector<PartitionAnswer>>>;

std::optional<std::vector<TopicAsk>> read_topics(Reader& r, bool flex) {
  const int32_t nt = r.array_length(flex);
  if (nt < 0) return std::nullopt;
  std::vector<TopicAsk> topics;
  for (int32_t i = 0; i < nt; ++i) {
    TopicAsk& t = topics.emplace_back();
    t.name = r.any_string(flex);
    const int32_t np = r.array_length(flex);
    for (int32_t j = 0; j < np; ++j) t.partitions.push_back(r.int32());
    if (flex) r.tagged_fields();
  }
  return topics;
}

// `group_error`: NOT_COORDINATOR (or COORDINATOR_NOT_AVAILABLE) on a
// broker that does not coordinate the group: every partition asked for
// carries it (v0-1 clients read only those), never a stale "-1".
// Topics the principal may not DESCRIBE are left out of an "everything"
// answer and answer TOPIC_AUTHORIZATION_FAILED where named (Kafka's rule).
TopicAnswers answer(Services& services, const Request& req, const GroupAsk& ask, ErrorCode group_error) {
  TopicAnswers out;
  if (group_error != ErrorCode::kNone) {
    for (const auto& t : ask.topics.value_or(std::vector<TopicAsk>{})) {
      auto& answers = out.emplace_back(t.name, std::vector<PartitionAnswer>{}).second;
      for (int32_t p : t.partitions) answers.push_back(PartitionAnswer{p, -1, "", group_error});
    }
    return out;
  }
  if (!ask.topics) {
    std::map<std::string, std::vector<PartitionAnswer>> by_topic;
    for (auto& o : services.broker.group_offsets(ask.group_id)) {
      if (!topic_allowed(services, req, KEEL_ACL_OP_DESCRIBE, o.topic, false)) continue;
      by_topic[o.topic].push_back(PartitionAnswer{o.partition, o.offset, std::move(o.metadata)});
    }
    for (auto& [name, partitions] : by_topic) out.emplace_back(name, std::move(partitions));
    return out;
  }
  for (const auto& t : *ask.topics) {
    auto& [name, partitions] = out.emplace_back(t.name, std::vector<PartitionAnswer>{});
    const bool may_describe = topic_allowed(services, req, KEEL_ACL_OP_DESCRIBE, t.name);
    for (int32_t p : t.partitions) {
      PartitionAnswer& a = partitions.emplace_back();
      a.partition = p;
      if (!may_describe) {
        a.error = ErrorCode::kTopicAuthorizationFailed;
        continue;
      }
      const keel_status s = services.broker.fetch_offset(ask.group_id, t.name, p, &a.offset, &a.metadata);
      if (s != KEEL_OK) {
        a.offset = -1;
        a.error = ErrorCode::kUnknownServerError;
      }
    }
  }
  return out;
}

ErrorCode group_error(Services& services, const Request& req, const std::string& group) {
  if (!group_allowed(services, req, KEEL_ACL_OP_DESCRIBE, group)) return ErrorCode::kGroupAuthorizationFailed;
  return coordinator_error(services, group);
}

void write_topics(Writer& w, const TopicAnswers& topics, int16_t v, bool flex) {
  w.array_length(static_cast<int32_t>(topics.size()), flex);
  for (const auto& [name, partitions] : topics) {
    w.string(name, flex);
    w.array_length(static_cast<int32_t>(partitions.size()), flex);
    for (const auto& p : partitions) {
      w.int32(p.partition);
      w.int64(p.offset);
      if (v >= 5) w.int32(-1);  // committed_leader_epoch
      w.nullable_string(p.metadata, flex);
      w.int16(code(p.error));
      w.tagged_fields(flex);
    }
    w.tagged_fields(flex);
  }
}

}  // namespace

void handle_offset_fetch(Services& services, Request& req, const Responder& respond) {
  const int16_t v = req.api_version;
  const bool flex = req.flexible;
  Reader& r = req.body;
  std::vector<GroupAsk> groups;
  if (v >= 8) {
    const int32_t ng = r.array_length(flex);
    for (int32_t i = 0; i < ng; ++i) {
      GroupAsk& g = groups.emplace_back();
      g.group_id = r.any_string(flex);
      g.topics = read_topics(r, flex);
      if (flex) r.tagged_fields();
    }
  } else {
    GroupAsk& g = groups.emplace_back();
    g.group_id = r.any_string(flex);
    g.topics = read_topics(r, flex);  // null only from v2; v0-1 clients always name them
  }
  if (v >= 7) r.boolean();  // require_stable: every offset here is stable
  if (flex) r.tagged_fields();

  Writer w;
  if (v >= 3) w.int32(0);  // throttle_time_ms
  if (v >= 8) {
    w.array_length(static_cast<int32_t>(groups.size()), flex);
    for (const auto& g : groups) {
      w.string(g.group_id, flex);
      const ErrorCode e = group_error(services, req, g.group_id);
      write_topics(w, answer(services, req, g, e), v, flex);
      w.int16(code(e));
      w.tagged_fields(flex);
    }
  } else {
    const ErrorCode e = group_error(services, req, groups.front().group_id);
    write_topics(w, answer(services, req, groups.front(), e), v, flex);
    if (v >= 2) w.int16(code(e));
  }
  w.tagged_fields(flex);
  respond.send(std::move(w));
}

}  // namespace keel::kafka
