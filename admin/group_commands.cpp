// keel-admin group list|describe|seek|delete: consumer groups through
// librdkafka's admin API (ListConsumerGroups, DescribeConsumerGroups,
// ListConsumerGroupOffsets, AlterConsumerGroupOffsets, DeleteGroups).
#include <algorithm>
#include <iostream>
#include <map>
#include <set>

#include "client.hpp"
#include "commands.hpp"

namespace keel::admin {

namespace {

struct PartitionListDeleter {
  void operator()(rd_kafka_topic_partition_list_t* l) const { rd_kafka_topic_partition_list_destroy(l); }
};
using PartitionList = std::unique_ptr<rd_kafka_topic_partition_list_t, PartitionListDeleter>;

using TopicPartition = std::pair<std::string, int32_t>;

struct Member {
  std::string id, client_id, host;
  std::vector<TopicPartition> assignment;
};

struct GroupInfo {
  std::string name;
  std::string state;
  bool dead = false;
  std::string protocol;
  std::string coordinator;
  std::vector<Member> members;
  std::string error;  // non-empty: the description failed
};

std::vector<GroupInfo> describe_groups(Client& c, const std::vector<std::string>& names) {
  std::vector<const char*> ids;
  for (const auto& n : names) ids.push_back(n.c_str());
  Event ev =
      c.admin_call(RD_KAFKA_ADMIN_OP_DESCRIBECONSUMERGROUPS, RD_KAFKA_EVENT_DESCRIBECONSUMERGROUPS_RESULT,
                   "DescribeConsumerGroups", [&](rd_kafka_AdminOptions_t* o, rd_kafka_queue_t* q) {
                     rd_kafka_DescribeConsumerGroups(c.handle(), ids.data(), ids.size(), o, q);
                   });
  size_t n = 0;
  auto groups = rd_kafka_DescribeConsumerGroups_result_groups(
      rd_kafka_event_DescribeConsumerGroups_result(ev.get()), &n);
  std::vector<GroupInfo> out;
  for (size_t i = 0; i < n; ++i) {
    const rd_kafka_ConsumerGroupDescription_t* g = groups[i];
    GroupInfo info;
    info.name = rd_kafka_ConsumerGroupDescription_group_id(g);
    if (const rd_kafka_error_t* e = rd_kafka_ConsumerGroupDescription_error(g)) {
      info.error = std::string(rd_kafka_error_name(e)) + ": " + rd_kafka_error_string(e);
      out.push_back(std::move(info));
      continue;
    }
    auto state = rd_kafka_ConsumerGroupDescription_state(g);
    info.state = rd_kafka_consumer_group_state_name(state);
    info.dead = state == RD_KAFKA_CONSUMER_GROUP_STATE_DEAD;
    const char* assignor = rd_kafka_ConsumerGroupDescription_partition_assignor(g);
    info.protocol = assignor ? assignor : "";
    if (const rd_kafka_Node_t* node = rd_kafka_ConsumerGroupDescription_coordinator(g)) {
      info.coordinator = std::to_string(rd_kafka_Node_id(node)) + " (" + rd_kafka_Node_host(node) + ":" +
                         std::to_string(rd_kafka_Node_port(node)) + ")";
    }
    for (size_t m = 0; m < rd_kafka_ConsumerGroupDescription_member_count(g); ++m) {
      const rd_kafka_MemberDescription_t* md = rd_kafka_ConsumerGroupDescription_member(g, m);
      Member member{rd_kafka_MemberDescription_consumer_id(md),
                    rd_kafka_MemberDescription_client_id(md),
                    rd_kafka_MemberDescription_host(md),
                    {}};
      const rd_kafka_topic_partition_list_t* parts =
          rd_kafka_MemberAssignment_partitions(rd_kafka_MemberDescription_assignment(md));
      for (int k = 0; parts && k < parts->cnt; ++k)
        member.assignment.push_back({parts->elems[k].topic, parts->elems[k].partition});
      std::sort(member.assignment.begin(), member.assignment.end());
      info.members.push_back(std::move(member));
    }
    out.push_back(std::move(info));
  }
  return out;
}

// Every offset the group committed (OffsetFetch with no partition list).
std::map<TopicPartition, int64_t> committed_offsets(Client& c, const std::string& group) {
  rd_kafka_ListConsumerGroupOffsets_t* req = rd_kafka_ListConsumerGroupOffsets_new(group.c_str(), nullptr);
  Event ev =
      c.admin_call(RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPOFFSETS, RD_KAFKA_EVENT_LISTCONSUMERGROUPOFFSETS_RESULT,
                   "ListConsumerGroupOffsets of group '" + group + "'",
                   [&](rd_kafka_AdminOptions_t* o, rd_kafka_queue_t* q) {
                     rd_kafka_ListConsumerGroupOffsets(c.handle(), &req, 1, o, q);
                     rd_kafka_ListConsumerGroupOffsets_destroy(req);
                   });
  size_t n = 0;
  auto groups = rd_kafka_ListConsumerGroupOffsets_result_groups(
      rd_kafka_event_ListConsumerGroupOffsets_result(ev.get()), &n);
  std::map<TopicPartition, int64_t> out;
  for (size_t i = 0; i < n; ++i) {
    if (const rd_kafka_error_t* e = rd_kafka_group_result_error(groups[i])) {
      throw Failure("committed offsets of group '" + group + "': " + rd_kafka_error_name(e) + ": " +
                    rd_kafka_error_string(e));
    }
    const rd_kafka_topic_partition_list_t* parts = rd_kafka_group_result_partitions(groups[i]);
    for (int k = 0; parts && k < parts->cnt; ++k) {
      if (parts->elems[k].err == RD_KAFKA_RESP_ERR_NO_ERROR && parts->elems[k].offset >= 0)
        out[{parts->elems[k].topic, parts->elems[k].partition}] = parts->elems[k].offset;
    }
  }
  return out;
}

std::string assignment_text(const std::vector<TopicPartition>& parts) {
  std::string text;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i == 0 || parts[i].first != parts[i - 1].first) {
      text += (i ? "] " : "") + parts[i].first + "[";
    } else {
      text += ",";
    }
    text += std::to_string(parts[i].second);
  }
  return text.empty() ? "-" : text + "]";
}

std::string not_found(const std::string& group) {
  return "group '" + group +
         "' does not exist (no members and no committed offsets; 'keel-admin group list' shows "
         "the groups)";
}

std::string refuse_live(const GroupInfo& g) {
  std::string clients;
  for (const auto& m : g.members)
    clients += (clients.empty() ? "" : ", ") + m.client_id + (m.host.empty() ? "" : "@" + m.host);
  return "group '" + g.name + "' has " + std::to_string(g.members.size()) + " live member(s) (" + clients +
         "; state " + g.state +
         "): stop its consumers first, a group's offsets can only be moved while it is empty";
}

int list(const Parsed& p) {
  Client c(p.common, Client::Kind::producer);
  c.connect();
  Event ev = c.admin_call(RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPS, RD_KAFKA_EVENT_LISTCONSUMERGROUPS_RESULT,
                          "ListConsumerGroups", [&](rd_kafka_AdminOptions_t* o, rd_kafka_queue_t* q) {
                            rd_kafka_ListConsumerGroups(c.handle(), o, q);
                          });
  const auto* result = rd_kafka_event_ListConsumerGroups_result(ev.get());
  size_t n = 0, n_err = 0;
  auto groups = rd_kafka_ListConsumerGroups_result_valid(result, &n);
  auto errors = rd_kafka_ListConsumerGroups_result_errors(result, &n_err);
  int rc = kExitOk;
  for (size_t i = 0; i < n_err; ++i) {
    rc = kExitFailure;
    report_error("group list", "a broker's group list",
                 std::string(rd_kafka_error_name(errors[i])) + ": " + rd_kafka_error_string(errors[i]));
  }
  std::vector<std::pair<std::string, std::string>> rows;
  std::vector<std::string> names;
  for (size_t i = 0; i < n; ++i) {
    names.push_back(rd_kafka_ConsumerGroupListing_group_id(groups[i]));
    rows.push_back(
        {names.back(), rd_kafka_consumer_group_state_name(rd_kafka_ConsumerGroupListing_state(groups[i]))});
  }
  // ListGroups before v4 (Keel serves v0-2) carries no state: DescribeGroups
  // has it, for all the groups in one request.
  if (!names.empty()) {
    std::map<std::string, std::string> states;
    for (const GroupInfo& g : describe_groups(c, names))
      if (g.error.empty()) states[g.name] = g.state;
    for (auto& [g, s] : rows)
      if (s == "Unknown" && states.count(g)) s = states[g];
  }
  std::sort(rows.begin(), rows.end());
  Table table({"GROUP", "STATE"});
  Json doc = Json::array();
  for (const auto& [g, s] : rows) {
    table.add({g, s});
    doc.push_back({{"group", g}, {"state", s}});
  }
  print_output(std::cout, p.common.output(), table, doc);
  return rc;
}

int describe(const Parsed& p) {
  Client c(p.common, Client::Kind::producer);
  c.connect();
  int rc = kExitOk;
  Json doc = Json::array();
  bool first = true;
  for (const GroupInfo& g : describe_groups(c, p.args)) {
    if (!g.error.empty()) {
      rc = kExitFailure;
      report_error("group describe", "group '" + g.name + "'", g.error);
      continue;
    }
    auto committed = committed_offsets(c, g.name);
    if (g.dead && committed.empty()) {
      rc = kExitFailure;
      report_error("group describe", "group '" + g.name + "'", not_found(g.name));
      continue;
    }
    // Every partition a member holds or the group committed.
    std::map<TopicPartition, std::string> owner;
    for (const auto& m : g.members)
      for (const auto& tp : m.assignment) owner[tp] = m.id;
    std::set<TopicPartition> parts;
    for (const auto& [tp, o] : committed) parts.insert(tp);
    for (const auto& [tp, m] : owner) parts.insert(tp);
    Table offsets({"TOPIC", "PARTITION", "COMMITTED", "HIGH-WATERMARK", "LAG", "MEMBER-ID"});
    Json joffsets = Json::array();
    int64_t total_lag = 0;
    for (const auto& tp : parts) {
      auto [lo, hi] = c.watermarks(tp.first, tp.second);
      (void)lo;
      auto it = committed.find(tp);
      Json jcommitted = nullptr, jlag = nullptr;
      std::string scommitted = "-", slag = "-";
      if (it != committed.end()) {
        const int64_t lag = std::max<int64_t>(0, hi - it->second);
        total_lag += lag;
        jcommitted = it->second;
        jlag = lag;
        scommitted = std::to_string(it->second);
        slag = std::to_string(lag);
      }
      const std::string member = owner.count(tp) ? owner[tp] : "";
      offsets.add({tp.first, std::to_string(tp.second), scommitted, std::to_string(hi), slag,
                   member.empty() ? "-" : member});
      joffsets.push_back({{"topic", tp.first},
                          {"partition", tp.second},
                          {"committed_offset", jcommitted},
                          {"high_watermark", hi},
                          {"lag", jlag},
                          {"member_id", member.empty() ? Json(nullptr) : Json(member)}});
    }
    Table members({"MEMBER-ID", "CLIENT-ID", "HOST", "PARTITIONS"});
    Json jmembers = Json::array();
    for (const auto& m : g.members) {
      members.add({m.id, m.client_id.empty() ? "-" : m.client_id, m.host.empty() ? "-" : m.host,
                   assignment_text(m.assignment)});
      Json assigned = Json::array();
      for (const auto& [t, part] : m.assignment) assigned.push_back({{"topic", t}, {"partition", part}});
      jmembers.push_back(
          {{"member_id", m.id}, {"client_id", m.client_id}, {"host", m.host}, {"assignment", assigned}});
    }
    doc.push_back({{"group", g.name},
                   {"state", g.state},
                   {"protocol", g.protocol},
                   {"coordinator", g.coordinator},
                   {"members", jmembers},
                   {"offsets", joffsets},
                   {"total_lag", total_lag}});
    if (p.common.output() == Format::table) {
      print_section(std::cout, "GROUP " + g.name, first);
      first = false;
      print_pairs(std::cout, {{"STATE", g.state},
                              {"PROTOCOL", g.protocol.empty() ? "-" : g.protocol},
                              {"COORDINATOR", g.coordinator.empty() ? "-" : g.coordinator},
                              {"MEMBERS", std::to_string(g.members.size())},
                              {"TOTAL-LAG", std::to_string(total_lag)}});
      if (!g.members.empty()) {
        std::cout << "\nMEMBERS\n";
        members.print(std::cout);
      }
      std::cout << "\nOFFSETS\n";
      offsets.print(std::cout);
    }
  }
  if (p.common.output() == Format::json) print_json(std::cout, doc);
  return rc;
}

int seek(const Parsed& p) {
  const std::string& group = p.args[0];
  const std::string topic = p.get("topic");
  const std::string to = p.get("to");
  if (topic.empty()) throw UsageError("--topic is required");
  if (to.empty()) throw UsageError("--to is required: earliest, latest, timestamp:<ms> or offset:<n>");
  enum { kEarliest, kLatest, kTimestamp, kOffset } target;
  long long value = 0;
  auto number = [](const std::string& text) {
    Parsed one;  // Parsed::integer's checks and message, for the part after "timestamp:"/"offset:"
    one.values["to"] = {text};
    return one.integer("to", 0);
  };
  if (to == "earliest" || to == "start") {
    target = kEarliest;
  } else if (to == "latest" || to == "end") {
    target = kLatest;
  } else if (to.rfind("timestamp:", 0) == 0) {
    target = kTimestamp;
    value = number(to.substr(10));
  } else if (to.rfind("offset:", 0) == 0) {
    target = kOffset;
    value = number(to.substr(7));
    if (value < 0) throw UsageError("--to offset:<n> takes n >= 0");
  } else {
    throw UsageError("--to takes earliest, latest, timestamp:<ms> or offset:<n>; got '" + to + "'");
  }

  Client c(p.common, Client::Kind::producer);
  c.connect();
  auto groups = describe_groups(c, {group});
  if (groups.size() != 1) throw Failure("DescribeConsumerGroups did not answer for group '" + group + "'");
  if (!groups[0].error.empty()) throw Failure("group '" + group + "': " + groups[0].error);
  if (!groups[0].members.empty()) throw Failure(refuse_live(groups[0]));

  Metadata md = c.metadata(topic.c_str());
  if (md->topic_cnt != 1 || md->topics[0].err) {
    throw Failure(
        "topic '" + topic +
        "': " + error_text(md->topic_cnt == 1 ? md->topics[0].err : RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART));
  }
  std::vector<int> parts;
  if (p.has("partitions")) {
    parts = int_list(p.get("partitions"), "--partitions");
    for (int part : parts)
      if (part >= md->topics[0].partition_cnt)
        throw Failure("topic '" + topic + "' has no partition " + std::to_string(part));
  } else {
    for (int i = 0; i < md->topics[0].partition_cnt; ++i) parts.push_back(md->topics[0].partitions[i].id);
    std::sort(parts.begin(), parts.end());
  }

  PartitionList list(rd_kafka_topic_partition_list_new(static_cast<int>(parts.size())));
  for (int part : parts) rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), part)->offset = value;
  if (target == kTimestamp) {
    if (rd_kafka_resp_err_t err = rd_kafka_offsets_for_times(c.handle(), list.get(), c.timeout_ms())) {
      throw Failure("offsets for timestamp " + std::to_string(value) + " in '" + topic +
                    "': " + error_text(err));
    }
  }
  for (int i = 0; i < list->cnt; ++i) {
    auto& e = list->elems[i];
    if (e.err)
      throw Failure("offset of " + topic + "/" + std::to_string(e.partition) + ": " + error_text(e.err));
    if (target == kEarliest || target == kLatest || (target == kTimestamp && e.offset < 0)) {
      // No record that late: the end, as Kafka's reset to a timestamp does.
      auto [lo, hi] = c.watermarks(topic, e.partition);
      e.offset = target == kEarliest ? lo : hi;
    }
  }
  auto previous = committed_offsets(c, group);

  rd_kafka_AlterConsumerGroupOffsets_t* req =
      rd_kafka_AlterConsumerGroupOffsets_new(group.c_str(), list.get());
  Event ev = c.admin_call(RD_KAFKA_ADMIN_OP_ALTERCONSUMERGROUPOFFSETS,
                          RD_KAFKA_EVENT_ALTERCONSUMERGROUPOFFSETS_RESULT,
                          "AlterConsumerGroupOffsets of group '" + group + "'",
                          [&](rd_kafka_AdminOptions_t* o, rd_kafka_queue_t* q) {
                            rd_kafka_AlterConsumerGroupOffsets(c.handle(), &req, 1, o, q);
                            rd_kafka_AlterConsumerGroupOffsets_destroy(req);
                          });
  size_t n = 0;
  auto results = rd_kafka_AlterConsumerGroupOffsets_result_groups(
      rd_kafka_event_AlterConsumerGroupOffsets_result(ev.get()), &n);
  // The broker fences commits from outside a live group: a consumer that
  // joined since the check above shows up as one of these.
  auto live_group = [](rd_kafka_resp_err_t err) {
    return err == RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID || err == RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION ||
           err == RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS;
  };
  int rc = kExitOk;
  Table table({"TOPIC", "PARTITION", "PREVIOUS", "NEW"});
  Json jparts = Json::array();
  for (size_t i = 0; i < n; ++i) {
    if (const rd_kafka_error_t* e = rd_kafka_group_result_error(results[i])) {
      if (live_group(rd_kafka_error_code(e))) throw Failure(refuse_live(describe_groups(c, {group}).at(0)));
      throw Failure("group '" + group + "': " + rd_kafka_error_name(e) + ": " + rd_kafka_error_string(e));
    }
    const rd_kafka_topic_partition_list_t* done = rd_kafka_group_result_partitions(results[i]);
    for (int k = 0; done && k < done->cnt; ++k) {
      const auto& e = done->elems[k];
      if (live_group(e.err)) {
        throw Failure("group '" + group +
                      "' has live members: stop its consumers first (the broker answered " +
                      rd_kafka_err2name(e.err) + ")");
      }
      auto prev = previous.find({e.topic, e.partition});
      Json jprev = prev == previous.end() ? Json(nullptr) : Json(prev->second);
      if (e.err) {
        rc = kExitFailure;
        report_error("group seek", "group '" + group + "' " + e.topic + "/" + std::to_string(e.partition),
                     error_text(e.err));
      }
      table.add({e.topic, std::to_string(e.partition),
                 prev == previous.end() ? "-" : std::to_string(prev->second),
                 e.err ? rd_kafka_err2name(e.err) : std::to_string(e.offset)});
      jparts.push_back({{"topic", e.topic},
                        {"partition", e.partition},
                        {"previous_offset", jprev},
                        {"offset", e.offset},
                        {"error", error_json(e.err, nullptr)}});
    }
  }
  if (p.common.output() == Format::json) {
    print_json(std::cout, {{"group", group}, {"partitions", jparts}});
  } else {
    table.print(std::cout);
  }
  return rc;
}

int remove(const Parsed& p) {
  Client c(p.common, Client::Kind::producer);
  c.connect();
  std::vector<rd_kafka_DeleteGroup_t*> req;
  for (const auto& g : p.args) req.push_back(rd_kafka_DeleteGroup_new(g.c_str()));
  Event ev = c.admin_call(RD_KAFKA_ADMIN_OP_DELETEGROUPS, RD_KAFKA_EVENT_DELETEGROUPS_RESULT, "DeleteGroups",
                          [&](rd_kafka_AdminOptions_t* o, rd_kafka_queue_t* q) {
                            rd_kafka_DeleteGroups(c.handle(), req.data(), req.size(), o, q);
                            rd_kafka_DeleteGroup_destroy_array(req.data(), req.size());
                          });
  size_t n = 0;
  auto results = rd_kafka_DeleteGroups_result_groups(rd_kafka_event_DeleteGroups_result(ev.get()), &n);
  int rc = kExitOk;
  Table table({"GROUP", "STATUS"});
  Json doc = Json::array();
  for (size_t i = 0; i < n; ++i) {
    const std::string name = rd_kafka_group_result_name(results[i]);
    const rd_kafka_error_t* e = rd_kafka_group_result_error(results[i]);
    rd_kafka_resp_err_t code = e ? rd_kafka_error_code(e) : RD_KAFKA_RESP_ERR_NO_ERROR;
    if (e) {
      rc = kExitFailure;
      std::string why = std::string(rd_kafka_error_name(e)) + ": " + rd_kafka_error_string(e);
      if (code == RD_KAFKA_RESP_ERR_NON_EMPTY_GROUP) why += " (stop its consumers first)";
      report_error("group delete", "group '" + name + "'", why);
    }
    table.add({name, e ? rd_kafka_error_name(e) : "deleted"});
    doc.push_back(
        {{"group", name}, {"error", e ? error_json(code, rd_kafka_error_string(e)) : Json(nullptr)}});
  }
  print_output(std::cout, p.common.output(), table, doc);
  return rc;
}

}  // namespace

CommandGroup group_commands() {
  CommandGroup g{"group", "list, describe, move (seek) and delete consumer groups", {}};
  g.commands.push_back({{"group list",
                         "List consumer groups and their states.",
                         "[flags]",
                         {},
                         {"keel-admin group list", "keel-admin group list --format json"},
                         0,
                         0},
                        list});
  g.commands.push_back(
      {{"group describe",
        "Show groups: state, protocol, members and their partitions, committed offsets, high watermarks and "
        "lag.",
        "<group>... [flags]",
        {},
        {"keel-admin group describe billing", "keel-admin group describe billing --format json"},
        1},
       describe});
  g.commands.push_back(
      {{"group seek",
        "Move an empty group's committed offsets of a topic (stop its consumers first).",
        "<group> --topic TOPIC --to earliest|latest|timestamp:<ms>|offset:<n> [flags]",
        {{"topic", 't', "TOPIC", "the topic whose offsets move"},
         {"partitions", 'p', "N[,N...]", "only these partitions (default: all of the topic's)"},
         {"to", 0, "TARGET", "earliest, latest, timestamp:<ms since the epoch> or offset:<n>"}},
        {"keel-admin group seek billing --topic orders --to earliest",
         "keel-admin group seek billing --topic orders --to timestamp:1767225600000",
         "keel-admin group seek billing --topic orders -p 0,1 --to offset:42"},
        1,
        1},
       seek});
  g.commands.push_back({{"group delete",
                         "Delete empty groups and their committed offsets.",
                         "<group>... [flags]",
                         {},
                         {"keel-admin group delete billing"},
                         1},
                        remove});
  return g;
}

}  // namespace keel::admin
