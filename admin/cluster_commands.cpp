// keel-admin cluster info|health: what Metadata says about the brokers and
// partitions (under-replicated: fewer in-sync replicas than replicas;
// offline: no leader), and for health the broker's HTTP /ready.
#include <algorithm>
#include <iostream>

#include "client.hpp"
#include "commands.hpp"
#include "http_probe.hpp"

namespace keel::admin {

namespace {

struct PartitionIssue {
  std::string topic;
  int32_t partition, leader;
  std::vector<int32_t> replicas, isr;
};

struct ClusterView {
  std::string cluster_id;
  int32_t controller = -1;
  std::vector<std::tuple<int32_t, std::string, int>> brokers;  // id, host, port
  int topics = 0, partitions = 0;
  std::vector<PartitionIssue> under_replicated, offline;
};

ClusterView view(Client& c) {
  Metadata md = c.metadata();
  ClusterView v;
  // Answered from the metadata librdkafka just cached: no second request.
  if (char* id = rd_kafka_clusterid(c.handle(), c.timeout_ms())) {
    v.cluster_id = id;
    rd_kafka_mem_free(c.handle(), id);
  }
  v.controller = rd_kafka_controllerid(c.handle(), c.timeout_ms());
  for (int i = 0; i < md->broker_cnt; ++i)
    v.brokers.emplace_back(md->brokers[i].id, md->brokers[i].host, md->brokers[i].port);
  std::sort(v.brokers.begin(), v.brokers.end());
  for (int i = 0; i < md->topic_cnt; ++i) {
    const auto& t = md->topics[i];
    if (t.err) continue;
    ++v.topics;
    for (int k = 0; k < t.partition_cnt; ++k) {
      const auto& p = t.partitions[k];
      ++v.partitions;
      PartitionIssue issue{t.topic, p.id, p.leader,
                           std::vector<int32_t>(p.replicas, p.replicas + p.replica_cnt),
                           std::vector<int32_t>(p.isrs, p.isrs + p.isr_cnt)};
      if (p.leader < 0) v.offline.push_back(issue);
      if (p.isr_cnt < p.replica_cnt) v.under_replicated.push_back(issue);
    }
  }
  auto order = [](const PartitionIssue& a, const PartitionIssue& b) {
    return std::tie(a.topic, a.partition) < std::tie(b.topic, b.partition);
  };
  std::sort(v.under_replicated.begin(), v.under_replicated.end(), order);
  std::sort(v.offline.begin(), v.offline.end(), order);
  return v;
}

Json issues_json(const std::vector<PartitionIssue>& list) {
  Json out = Json::array();
  for (const auto& i : list)
    out.push_back({{"topic", i.topic},
                   {"partition", i.partition},
                   {"leader", i.leader},
                   {"replicas", i.replicas},
                   {"isr", i.isr}});
  return out;
}

Json view_json(const ClusterView& v) {
  Json brokers = Json::array();
  for (const auto& [id, host, port] : v.brokers)
    brokers.push_back({{"id", id}, {"host", host}, {"port", port}});
  return {{"cluster_id", v.cluster_id.empty() ? Json(nullptr) : Json(v.cluster_id)},
          {"controller_id", v.controller},
          {"brokers", brokers},
          {"topic_count", v.topics},
          {"partition_count", v.partitions},
          {"under_replicated_partitions", issues_json(v.under_replicated)},
          {"offline_partitions", issues_json(v.offline)}};
}

void print_view(std::ostream& out, const ClusterView& v) {
  print_pairs(out, {{"CLUSTER", v.cluster_id.empty() ? "-" : v.cluster_id},
                    {"CONTROLLER", std::to_string(v.controller)},
                    {"TOPICS", std::to_string(v.topics)},
                    {"PARTITIONS", std::to_string(v.partitions)},
                    {"UNDER-REPLICATED", std::to_string(v.under_replicated.size())},
                    {"OFFLINE", std::to_string(v.offline.size())}});
  out << "\nBROKERS\n";
  Table brokers({"ID", "HOST", "PORT", "CONTROLLER"});
  for (const auto& [id, host, port] : v.brokers)
    brokers.add({std::to_string(id), host, std::to_string(port), id == v.controller ? "*" : ""});
  brokers.print(out);
  for (const auto& [title, list] : {std::pair{"UNDER-REPLICATED PARTITIONS", &v.under_replicated},
                                    std::pair{"OFFLINE PARTITIONS", &v.offline}}) {
    if (list->empty()) continue;
    out << "\n" << title << "\n";
    Table t({"TOPIC", "PARTITION", "LEADER", "REPLICAS", "ISR"});
    for (const auto& i : *list)
      t.add({i.topic, std::to_string(i.partition), std::to_string(i.leader), join_ints(i.replicas),
             join_ints(i.isr)});
    t.print(out);
  }
}

int info(const Parsed& p) {
  Client c(p.common, Client::Kind::producer);
  ClusterView v = view(c);
  if (p.common.output() == Format::json) {
    print_json(std::cout, view_json(v));
  } else {
    print_view(std::cout, v);
  }
  return kExitOk;
}

int health(const Parsed& p) {
  std::vector<std::string> problems;
  Json doc = Json::object();
  std::optional<ClusterView> v;
  try {
    Client c(p.common, Client::Kind::producer);
    v = view(c);
    doc = view_json(*v);
    if (v->brokers.empty()) problems.push_back("the metadata lists no broker");
    if (!v->offline.empty())
      problems.push_back(std::to_string(v->offline.size()) + " partition(s) have no leader");
    if (!v->under_replicated.empty()) {
      problems.push_back(std::to_string(v->under_replicated.size()) +
                         " partition(s) are under-replicated (fewer in-sync replicas than replicas)");
    }
  } catch (const Failure& e) {
    problems.push_back(e.what());
  }
  doc["brokers_reachable"] = v.has_value();
  if (p.has("http")) {
    const std::string address = p.get("http");
    HttpResult r = http_get(address, "/ready", p.common.timeout_ms);
    Json ready = {{"address", address}, {"status", r.status ? Json(r.status) : Json(nullptr)}};
    if (r.status == 0) {
      ready["error"] = r.error;
      problems.push_back("GET http://" + address + "/ready: " + r.error);
    } else if (r.status != 200) {
      std::string body = r.body.substr(0, 300);
      while (!body.empty() && (body.back() == '\n' || body.back() == '\r')) body.pop_back();
      problems.push_back("GET http://" + address + "/ready answered " + std::to_string(r.status) + ": " +
                         body);
    }
    doc["ready"] = ready;
  }
  doc["healthy"] = problems.empty();
  doc["problems"] = problems;
  if (p.common.output() == Format::json) {
    print_json(std::cout, doc);
  } else {
    std::cout << (problems.empty() ? "HEALTHY" : "UNHEALTHY") << "\n";
    for (const auto& why : problems) std::cout << "  - " << why << "\n";
    if (v) {
      std::cout << "\n";
      print_view(std::cout, *v);
    }
  }
  // The table already lists the problems; the JSON document stays clean.
  if (p.common.output() == Format::json)
    for (const auto& why : problems) report_error("cluster health", "unhealthy", why);
  return problems.empty() ? kExitOk : kExitFailure;
}

}  // namespace

CommandGroup cluster_commands() {
  CommandGroup g{"cluster", "brokers, controller, partition counts and health", {}};
  g.commands.push_back(
      {{"cluster info",
        "Show the cluster id, controller, brokers, topic and partition counts and under-replicated "
        "partitions.",
        "[flags]",
        {},
        {"keel-admin cluster info", "keel-admin cluster info -b broker1:9092,broker2:9092 --format json"},
        0,
        0},
       info});
  g.commands.push_back(
      {{"cluster health",
        "Exit 0 when the brokers answer, every partition has a leader and its full ISR (and /ready says "
        "ready).",
        "[flags]",
        {{"http", 0, "HOST:PORT", "also GET http://HOST:PORT/ready (the broker's HTTP listener)"}},
        {"keel-admin cluster health", "keel-admin cluster health --http 127.0.0.1:8080 || echo unhealthy",
         "keel-admin cluster health --format json"},
        0,
        0},
       health});
  return g;
}

}  // namespace keel::admin
