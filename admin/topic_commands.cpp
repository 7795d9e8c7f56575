// keel-admin topic create|list|describe|delete|alter-config|add-partitions
// (produce and consume: produce_consume.cpp).
#include <algorithm>
#include <iostream>
#include <map>
#include <optional>
#include <variant>

#include "client.hpp"
#include "commands.hpp"

namespace keel::admin {

namespace {

// One line per topic of a CreateTopics/DeleteTopics/CreatePartitions answer;
// errors also on stderr. 1 when any topic failed.
int print_topic_results(const Parsed& p, const std::string& path, const rd_kafka_topic_result_t** res,
                        size_t n, const std::string& done) {
  int rc = kExitOk;
  Table table({"TOPIC", "STATUS"});
  Json doc = Json::array();
  for (size_t i = 0; i < n; ++i) {
    const char* name = rd_kafka_topic_result_name(res[i]);
    rd_kafka_resp_err_t err = rd_kafka_topic_result_error(res[i]);
    const char* msg = rd_kafka_topic_result_error_string(res[i]);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      rc = kExitFailure;
      report_error(path, std::string("topic '") + name + "'", error_text(err, msg));
    }
    table.add({name, err ? rd_kafka_err2name(err) : done});
    doc.push_back({{"topic", name}, {"error", error_json(err, msg)}});
  }
  print_output(std::cout, p.common.output(), table, doc);
  return rc;
}

int create(const Parsed& p) {
  const long long partitions = p.integer("partitions", -1);
  const long long replicas = p.integer("replicas", -1);
  std::vector<std::pair<std::string, std::string>> configs;
  for (const auto& c : p.all("config")) configs.push_back(key_value(c, "-c/--config"));
  Client c(p.common, Client::Kind::producer);
  c.connect();
  std::vector<rd_kafka_NewTopic_t*> topics;
  auto free_all = [&] { rd_kafka_NewTopic_destroy_array(topics.data(), topics.size()); };
  char err[512];
  for (const auto& name : p.args) {
    rd_kafka_NewTopic_t* t = rd_kafka_NewTopic_new(name.c_str(), static_cast<int>(partitions),
                                                   static_cast<int>(replicas), err, sizeof err);
    if (t == nullptr) {
      free_all();
      throw UsageError("topic '" + name + "': " + err);
    }
    topics.push_back(t);
    for (const auto& [k, v] : configs) rd_kafka_NewTopic_set_config(t, k.c_str(), v.c_str());
  }
  Event ev = c.admin_call(RD_KAFKA_ADMIN_OP_CREATETOPICS, RD_KAFKA_EVENT_CREATETOPICS_RESULT, "CreateTopics",
                          [&](rd_kafka_AdminOptions_t* o, rd_kafka_queue_t* q) {
                            rd_kafka_CreateTopics(c.handle(), topics.data(), topics.size(), o, q);
                            free_all();
                          });
  size_t n = 0;
  auto res = rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev.get()), &n);
  return print_topic_results(p, "topic create", res, n, "created");
}

int remove(const Parsed& p) {
  Client c(p.common, Client::Kind::producer);
  c.connect();
  std::vector<rd_kafka_DeleteTopic_t*> topics;
  for (const auto& name : p.args) topics.push_back(rd_kafka_DeleteTopic_new(name.c_str()));
  Event ev = c.admin_call(RD_KAFKA_ADMIN_OP_DELETETOPICS, RD_KAFKA_EVENT_DELETETOPICS_RESULT, "DeleteTopics",
                          [&](rd_kafka_AdminOptions_t* o, rd_kafka_queue_t* q) {
                            rd_kafka_DeleteTopics(c.handle(), topics.data(), topics.size(), o, q);
                            rd_kafka_DeleteTopic_destroy_array(topics.data(), topics.size());
                          });
  size_t n = 0;
  auto res = rd_kafka_DeleteTopics_result_topics(rd_kafka_event_DeleteTopics_result(ev.get()), &n);
  return print_topic_results(p, "topic delete", res, n, "deleted");
}

int add_partitions(const Parsed& p) {
  const long long count = p.integer("count", 0);
  if (count <= 0) throw UsageError("--count takes the topic's new total partition count (> 0)");
  Client c(p.common, Client::Kind::producer);
  c.connect();
  char err[512];
  std::vector<rd_kafka_NewPartitions_t*> parts;
  for (const auto& name : p.args) {
    parts.push_back(rd_kafka_NewPartitions_new(name.c_str(), static_cast<size_t>(count), err, sizeof err));
  }
  Event ev = c.admin_call(RD_KAFKA_ADMIN_OP_CREATEPARTITIONS, RD_KAFKA_EVENT_CREATEPARTITIONS_RESULT,
                          "CreatePartitions", [&](rd_kafka_AdminOptions_t* o, rd_kafka_queue_t* q) {
                            rd_kafka_CreatePartitions(c.handle(), parts.data(), parts.size(), o, q);
                            rd_kafka_NewPartitions_destroy_array(parts.data(), parts.size());
                          });
  size_t n = 0;
  auto res = rd_kafka_CreatePartitions_result_topics(rd_kafka_event_CreatePartitions_result(ev.get()), &n);
  return print_topic_results(p, "topic add-partitions", res, n, std::to_string(count) + " partitions");
}

int list(const Parsed& p) {
  Client c(p.common, Client::Kind::producer);
  Metadata md = c.metadata();
  std::vector<const rd_kafka_metadata_topic_t*> topics;
  for (int i = 0; i < md->topic_cnt; ++i) topics.push_back(&md->topics[i]);
  std::sort(topics.begin(), topics.end(), [](auto* a, auto* b) { return std::string(a->topic) < b->topic; });
  Table table({"NAME", "PARTITIONS", "REPLICAS"});
  Json doc = Json::array();
  for (auto* t : topics) {
    const int replicas = t->partition_cnt > 0 ? t->partitions[0].replica_cnt : 0;
    table.add({t->topic, std::to_string(t->partition_cnt), std::to_string(replicas)});
    doc.push_back({{"name", t->topic}, {"partitions", t->partition_cnt}, {"replicas", replicas}});
  }
  print_output(std::cout, p.common.output(), table, doc);
  return kExitOk;
}

struct ConfigEntry {
  std::string name;
  std::optional<std::string> value;
  std::string source;
  rd_kafka_ConfigSource_t source_code;
  bool read_only;
  bool sensitive;
};

// DescribeConfigs of the topics; per topic its configs, or an error text.
std::map<std::string, std::variant<std::vector<ConfigEntry>, std::string>> describe_configs(
    Client& c, const std::vector<std::string>& topics) {
  std::vector<rd_kafka_ConfigResource_t*> res;
  for (const auto& t : topics) res.push_back(rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, t.c_str()));
  Event ev = c.admin_call(RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS, RD_KAFKA_EVENT_DESCRIBECONFIGS_RESULT,
                          "DescribeConfigs", [&](rd_kafka_AdminOptions_t* o, rd_kafka_queue_t* q) {
                            rd_kafka_DescribeConfigs(c.handle(), res.data(), res.size(), o, q);
                            rd_kafka_ConfigResource_destroy_array(res.data(), res.size());
                          });
  size_t n = 0;
  auto out_res =
      rd_kafka_DescribeConfigs_result_resources(rd_kafka_event_DescribeConfigs_result(ev.get()), &n);
  std::map<std::string, std::variant<std::vector<ConfigEntry>, std::string>> out;
  for (size_t i = 0; i < n; ++i) {
    const std::string name = rd_kafka_ConfigResource_name(out_res[i]);
    if (rd_kafka_resp_err_t err = rd_kafka_ConfigResource_error(out_res[i])) {
      out[name] = error_text(err, rd_kafka_ConfigResource_error_string(out_res[i]));
      continue;
    }
    size_t m = 0;
    auto entries = rd_kafka_ConfigResource_configs(out_res[i], &m);
    std::vector<ConfigEntry> list;
    for (size_t j = 0; j < m; ++j) {
      const char* v = rd_kafka_ConfigEntry_value(entries[j]);
      auto src = rd_kafka_ConfigEntry_source(entries[j]);
      list.push_back({rd_kafka_ConfigEntry_name(entries[j]), v ? std::optional<std::string>(v) : std::nullopt,
                      rd_kafka_ConfigSource_name(src), src,
                      rd_kafka_ConfigEntry_is_read_only(entries[j]) != 0,
                      rd_kafka_ConfigEntry_is_sensitive(entries[j]) != 0});
    }
    std::sort(list.begin(), list.end(), [](auto& a, auto& b) { return a.name < b.name; });
    out[name] = std::move(list);
  }
  return out;
}

int describe(const Parsed& p) {
  Client c(p.common, Client::Kind::producer);
  c.connect();
  auto configs = describe_configs(c, p.args);
  int rc = kExitOk;
  Json doc = Json::array();
  bool first = true;
  for (const auto& name : p.args) {
    Metadata md = c.metadata(name.c_str());
    const rd_kafka_metadata_topic_t* t = md->topic_cnt == 1 ? &md->topics[0] : nullptr;
    if (t == nullptr || t->err) {
      rc = kExitFailure;
      report_error("topic describe", "topic '" + name + "'",
                   error_text(t ? t->err : RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART));
      continue;
    }
    std::vector<const rd_kafka_metadata_partition_t*> parts;
    for (int i = 0; i < t->partition_cnt; ++i) parts.push_back(&t->partitions[i]);
    std::sort(parts.begin(), parts.end(), [](auto* a, auto* b) { return a->id < b->id; });
    Table ptable({"PARTITION", "LEADER", "REPLICAS", "ISR", "LOG-START", "HIGH-WATERMARK"});
    Json pjson = Json::array();
    for (auto* part : parts) {
      auto [lo, hi] = c.watermarks(name, part->id);
      std::vector<int32_t> replicas(part->replicas, part->replicas + part->replica_cnt);
      std::vector<int32_t> isr(part->isrs, part->isrs + part->isr_cnt);
      ptable.add({std::to_string(part->id), std::to_string(part->leader), join_ints(replicas), join_ints(isr),
                  std::to_string(lo), std::to_string(hi)});
      pjson.push_back({{"partition", part->id},
                       {"leader", part->leader},
                       {"replicas", replicas},
                       {"isr", isr},
                       {"log_start_offset", lo},
                       {"high_watermark", hi},
                       {"error", error_json(part->err, nullptr)}});
    }
    Table ctable({"KEY", "VALUE", "SOURCE"});
    Json cjson = Json::array();
    Json cerror = nullptr;
    auto it = configs.find(name);
    if (it != configs.end() && std::holds_alternative<std::string>(it->second)) {
      rc = kExitFailure;
      report_error("topic describe", "configs of topic '" + name + "'", std::get<std::string>(it->second));
      cerror = std::get<std::string>(it->second);
    } else if (it != configs.end()) {
      for (const auto& e : std::get<std::vector<ConfigEntry>>(it->second)) {
        const std::string shown = e.sensitive ? "(sensitive)" : e.value.value_or("(null)");
        ctable.add({e.name, shown, e.source});
        cjson.push_back({{"name", e.name},
                         {"value", e.sensitive || !e.value ? Json(nullptr) : Json(*e.value)},
                         {"source", e.source},
                         {"read_only", e.read_only},
                         {"sensitive", e.sensitive}});
      }
    }
    const int replicas = t->partition_cnt > 0 ? t->partitions[0].replica_cnt : 0;
    doc.push_back({{"name", name},
                   {"partition_count", t->partition_cnt},
                   {"replicas", replicas},
                   {"partitions", pjson},
                   {"configs", cjson},
                   {"configs_error", cerror}});
    if (p.common.output() == Format::table) {
      print_section(std::cout, "TOPIC " + name, first);
      first = false;
      Table summary({"NAME", "PARTITIONS", "REPLICAS"});
      summary.add({name, std::to_string(t->partition_cnt), std::to_string(replicas)});
      summary.print(std::cout);
      std::cout << "\nCONFIGS\n";
      ctable.print(std::cout);
      std::cout << "\nPARTITIONS\n";
      ptable.print(std::cout);
    }
  }
  if (p.common.output() == Format::json) print_json(std::cout, doc);
  return rc;
}

// AlterConfigs replaces a topic's dynamic configs as a whole (this
// librdkafka has no IncrementalAlterConfigs): read the ones the topic sets
// itself, change those named, and write the set back. A concurrent change
// by someone else between the read and the write is overwritten.
int alter_config(const Parsed& p) {
  const std::string& topic = p.args[0];
  std::map<std::string, std::string> set;
  for (const auto& kv : p.all("set")) set.insert(key_value(kv, "--set"));
  const auto& deletes = p.all("delete");
  if (set.empty() && deletes.empty())
    throw UsageError("nothing to change: give --set KEY=VALUE or --delete KEY");
  for (const auto& k : deletes)
    if (set.count(k)) throw UsageError("'" + k + "' is both in --set and --delete");
  Client c(p.common, Client::Kind::producer);
  c.connect();
  auto current = describe_configs(c, {topic});
  auto it = current.find(topic);
  if (it == current.end()) throw Failure("DescribeConfigs did not answer for topic '" + topic + "'");
  if (auto* e = std::get_if<std::string>(&it->second))
    throw Failure("configs of topic '" + topic + "': " + *e);
  std::map<std::string, std::string> next;
  for (const auto& e : std::get<std::vector<ConfigEntry>>(it->second)) {
    if (e.source_code == RD_KAFKA_CONFIG_SOURCE_DYNAMIC_TOPIC_CONFIG && e.value) next[e.name] = *e.value;
  }
  for (const auto& k : deletes) next.erase(k);
  for (const auto& [k, v] : set) next[k] = v;

  rd_kafka_ConfigResource_t* res = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic.c_str());
  for (const auto& [k, v] : next) rd_kafka_ConfigResource_set_config(res, k.c_str(), v.c_str());
  Event ev = c.admin_call(RD_KAFKA_ADMIN_OP_ALTERCONFIGS, RD_KAFKA_EVENT_ALTERCONFIGS_RESULT, "AlterConfigs",
                          [&](rd_kafka_AdminOptions_t* o, rd_kafka_queue_t* q) {
                            rd_kafka_AlterConfigs(c.handle(), &res, 1, o, q);
                            rd_kafka_ConfigResource_destroy(res);
                          });
  size_t n = 0;
  auto out = rd_kafka_AlterConfigs_result_resources(rd_kafka_event_AlterConfigs_result(ev.get()), &n);
  for (size_t i = 0; i < n; ++i) {
    if (rd_kafka_resp_err_t err = rd_kafka_ConfigResource_error(out[i])) {
      throw Failure("topic '" + topic +
                    "': " + error_text(err, rd_kafka_ConfigResource_error_string(out[i])));
    }
  }
  Table table({"KEY", "VALUE", "CHANGE"});
  Json jset = Json::object();
  for (const auto& [k, v] : set) {
    table.add({k, v, "set"});
    jset[k] = v;
  }
  for (const auto& k : deletes) table.add({k, "", "deleted (default)"});
  if (p.common.output() == Format::json) {
    print_json(std::cout, {{"topic", topic}, {"set", jset}, {"deleted", deletes}, {"dynamic_configs", next}});
  } else {
    table.print(std::cout);
  }
  return kExitOk;
}

}  // namespace

CommandGroup topic_commands() {
  CommandGroup g{
      "topic", "create, list, describe, delete and change topics; produce and consume records", {}};
  g.commands.push_back({{"topic create",
                         "Create topics.",
                         "<topic>... [flags]",
                         {{"partitions", 'p', "N", "partitions (default: the broker's default)"},
                          {"replicas", 'r', "N", "replication factor (default: the broker's default)"},
                          {"config", 'c', "KEY=VALUE", "a topic config by its Kafka name; repeatable", true}},
                         {"keel-admin topic create orders -p 6",
                          "keel-admin topic create users -p 3 -r 3 -c cleanup.policy=compact",
                          "keel-admin topic create a b c --format json"},
                         1},
                        create});
  g.commands.push_back({{"topic list",
                         "List topics with their partition and replica counts.",
                         "[flags]",
                         {},
                         {"keel-admin topic list", "keel-admin topic list --format json -b broker1:9092"},
                         0,
                         0},
                        list});
  g.commands.push_back(
      {{"topic describe",
        "Show topics' partitions (leader, replicas, ISR, log start, high watermark) and configs.",
        "<topic>... [flags]",
        {},
        {"keel-admin topic describe orders", "keel-admin topic describe orders --format json"},
        1},
       describe});
  g.commands.push_back({{"topic delete",
                         "Delete topics and their records.",
                         "<topic>... [flags]",
                         {},
                         {"keel-admin topic delete orders", "keel-admin topic delete a b c"},
                         1},
                        remove});
  g.commands.push_back(
      {{"topic alter-config",
        "Set or remove (back to the default) a topic's configs.",
        "<topic> [--set KEY=VALUE]... [--delete KEY]... [flags]",
        {{"set", 0, "KEY=VALUE", "set a config (Kafka name); repeatable", true},
         {"delete", 0, "KEY", "remove a config: it goes back to its default; repeatable", true}},
        {"keel-admin topic alter-config orders --set retention.ms=86400000",
         "keel-admin topic alter-config orders --delete retention.ms --set segment.bytes=1048576"},
        1,
        1},
       alter_config});
  g.commands.push_back({{"topic add-partitions",
                         "Grow topics to a total partition count (partitions are never removed).",
                         "<topic>... --count N [flags]",
                         {{"count", 'n', "N", "the new total partition count"}},
                         {"keel-admin topic add-partitions orders --count 12"},
                         1},
                        add_partitions});
  g.commands.push_back(produce_command());
  g.commands.push_back(consume_command());
  return g;
}

}  // namespace keel::admin
