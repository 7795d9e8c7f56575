// GET /cluster: the cluster as this broker sees it (keel_broker_api 2.3:
// cluster_info, list_brokers, partition_state): its id, the controller, the
// live brokers with their HTTP and Kafka listeners, and each partition's
// leader, leader epoch, replicas and in-sync replicas. From a broker without
// a cluster view (ABI < 2.3): a cluster of one, broker 0, no leader epochs.
// With an authorizer: the route needs DESCRIBE on the cluster, and the
// topics (and under_replicated_partitions, which counts theirs) are those
// the principal may DESCRIBE.
#include <map>

#include "authorization.hpp"
#include "checked_broker.hpp"
#include "cluster_urls.hpp"
#include "handlers.hpp"
#include "services.hpp"

namespace keel::web {
namespace {

constexpr const char* kDefaultClusterId = "keel";

// A wildcard listen address names no host a client can reach; a cluster of
// one is reached on the loopback address (what the broker's own
// advertise_listener falls back to).
std::string reachable(const std::string& host) {
  return host.empty() || host == "0.0.0.0" || host == "::" ? "127.0.0.1" : host;
}

struct BrokerEntry {
  std::optional<sdk::BrokerEndpoint> http;
  std::optional<sdk::BrokerEndpoint> kafka;
};

nlohmann::json broker_json(int32_t id, const BrokerEntry& e) {
  nlohmann::json j = {{"id", id}, {"host", nullptr}, {"port", nullptr}, {"url", nullptr}};
  if (e.http) {
    j["host"] = e.http->host;
    j["port"] = e.http->port;
    j["url"] = http_url(e.http->host, e.http->port);
  }
  if (e.kafka) j["kafka"] = host_port(e.kafka->host, e.kafka->port);
  const std::string rack = e.http ? e.http->rack : e.kafka ? e.kafka->rack : "";
  if (!rack.empty()) j["rack"] = rack;
  return j;
}

nlohmann::json partition_json(int32_t partition, const sdk::PartitionState& st, bool known) {
  return {{"partition", partition},
          {"leader", known ? st.leader : -1},
          {"leader_epoch", known ? st.leader_epoch : -1},
          {"replicas", st.replicas},
          {"isr", st.isr},
          {"under_replicated", st.isr.size() < st.replicas.size()}};
}

}  // namespace

void handle_cluster(const ExchangePtr& x) {
  x->request.query.allow_only({});
  const Services& services = x->services;
  const sdk::Broker& b = services.broker.sdk();
  const auto info = b.cluster_info();
  const int32_t self = info ? info->broker_id : 0;

  std::map<int32_t, BrokerEntry> brokers;  // by id
  for (auto& e : b.brokers("http")) brokers[e.id].http = e;
  for (auto& e : b.brokers("kafka")) brokers[e.id].kafka = e;
  // This broker answers, so it is live, even before its registration has
  // reached the cluster view (or without one).
  if (!brokers[self].http) {
    brokers[self].http =
        sdk::BrokerEndpoint{self, reachable(services.settings.listen_host), services.bound_port, ""};
  }
  auto broker_list = nlohmann::json::array();
  for (const auto& [id, entry] : brokers) broker_list.push_back(broker_json(id, entry));

  int64_t under_replicated = 0;
  auto topics = nlohmann::json::array();
  for (const auto& t : services.broker.list_topics()) {
    // The route needs DESCRIBE on the cluster; topics are listed as GET
    // /topics and Kafka's Metadata list them: those the principal may
    // DESCRIBE (a filter, not a denial).
    if (!topic_allowed(*x, KEEL_ACL_OP_DESCRIBE, t.name, false)) continue;
    auto partitions = nlohmann::json::array();
    for (int32_t p = 0; p < t.partitions; ++p) {
      sdk::PartitionState st;
      bool known = true;
      if (!info) {
        st = sdk::PartitionState{self, -1, {self}, {self}};
      } else {
        // Not found: the partition is newer than the view; no leader yet.
        known = b.partition_state(t.name, p, &st) == KEEL_OK;
      }
      if (st.isr.size() < st.replicas.size()) ++under_replicated;
      partitions.push_back(partition_json(p, st, known));
    }
    topics.push_back({{"name", t.name}, {"internal", t.internal}, {"partitions", std::move(partitions)}});
  }

  x->respond(
      Response::ok({{"cluster_id", info && !info->cluster_id.empty() ? info->cluster_id : kDefaultClusterId},
                    {"broker_id", self},
                    {"controller_id", info ? info->controller_id : self},
                    {"clustered", info ? info->clustered : false},
                    {"brokers", std::move(broker_list)},
                    {"topics", std::move(topics)},
                    {"under_replicated_partitions", under_replicated}}));
}

}  // namespace keel::web
