#include "cluster_view.hpp"

#include <algorithm>
#include <keel/crc32c.hpp>

#include "services.hpp"

namespace keel::kafka {
namespace {

// What Metadata v2+ answered before brokers had a cluster view (clients only
// compare it across brokers).
constexpr const char* kDefaultClusterId = "keel";
constexpr const char* kOffsetsTopic = "__consumer_offsets";
KafkaBroker self_of(const Services& services, size_t listener) {
  const auto& l = services.settings.listeners.at(listener);
  const int32_t port = listener < services.advertised_ports.size() ? services.advertised_ports[listener]
                                                                   : services.advertised_port;
  return KafkaBroker{services.node_id(), l.advertised_host, port, std::nullopt};
}

}  // namespace

const KafkaBroker* ClusterView::find(int32_t id) const {
  for (const auto& b : brokers) {
    if (b.id == id) return &b;
  }
  return nullptr;
}

ClusterView cluster_view(const Services& services, size_t listener) {
  ClusterView view;
  const auto info = services.broker.cluster_info();
  if (!info) {
    // A broker older than 2.3: a cluster of one, its own controller.
    view.cluster_id = kDefaultClusterId;
    view.self = services.settings.node_id;
    view.controller = view.self;
    view.brokers.push_back(self_of(services, listener));
    return view;
  }
  view.cluster_id = info->cluster_id.empty() ? kDefaultClusterId : info->cluster_id;
  view.self = info->broker_id;
  view.controller = info->controller_id;
  for (auto& b : services.broker.brokers(services.settings.listeners.at(listener).cluster_name)) {
    view.brokers.push_back(KafkaBroker{b.id, std::move(b.host), b.port,
                                       b.rack.empty() ? std::nullopt : std::optional<std::string>(b.rack)});
  }
  // This broker answers, so it is live, even before its registration (the
  // advertised listener) has reached the cluster view.
  if (view.find(view.self) == nullptr) {
    view.brokers.push_back(self_of(services, listener));
    std::sort(view.brokers.begin(), view.brokers.end(),
              [](const KafkaBroker& a, const KafkaBroker& b) { return a.id < b.id; });
  }
  return view;
}

std::vector<int32_t> offline_replicas(const std::vector<int32_t>& replicas,
                                      const std::vector<KafkaBroker>& live) {
  std::vector<int32_t> out;
  for (int32_t r : replicas) {
    const bool is_live =
        std::any_of(live.begin(), live.end(), [r](const KafkaBroker& b) { return b.id == r; });
    if (!is_live) out.push_back(r);
  }
  return out;
}

PartitionView partition_view(const Services& services, const ClusterView& cluster, const std::string& topic,
                             int32_t partition) {
  PartitionView v;
  if (!services.broker.has_cluster()) {
    // A single node without leader epochs: -1 makes clients skip epoch checks.
    v.leader = cluster.self;
    v.replicas = {cluster.self};
    v.isr = {cluster.self};
    return v;
  }
  sdk::PartitionState st;
  if (services.broker.partition_state(topic, partition, &st) != KEEL_OK) {
    // Listed but not (yet) in the cluster view, e.g. a partition just
    // created: retriable, as Kafka answers before a new partition's election.
    v.error = ErrorCode::kLeaderNotAvailable;
    return v;
  }
  v.leader = st.leader;
  v.leader_epoch = st.leader_epoch;
  v.replicas = std::move(st.replicas);
  v.isr = std::move(st.isr);
  v.offline = offline_replicas(v.replicas, cluster.brokers);
  if (v.leader < 0) v.error = ErrorCode::kLeaderNotAvailable;
  return v;
}

int32_t offsets_partition_for(const std::string& group, int32_t partitions) {
  if (partitions <= 0) return 0;
  return static_cast<int32_t>(crc32c(group.data(), group.size()) % static_cast<uint32_t>(partitions));
}

std::optional<KafkaBroker> coordinator_for(const Services& services, const std::string& group,
                                           size_t listener) {
  const KafkaBroker self = self_of(services, listener);
  if (!services.broker.has_cluster()) return self;
  const auto offsets = services.broker.describe_topic(kOffsetsTopic);
  if (!offsets || offsets->partitions <= 0) return self;
  sdk::PartitionState st;
  const int32_t p = offsets_partition_for(group, offsets->partitions);
  if (services.broker.partition_state(kOffsetsTopic, p, &st) != KEEL_OK || st.leader < 0) return self;
  if (st.leader == self.id) return self;
  const ClusterView view = cluster_view(services, listener);
  if (const KafkaBroker* leader = view.find(st.leader)) return *leader;
  return std::nullopt;
}

ErrorCode coordinator_error(const Services& services, const std::string& group) {
  if (!services.broker.has_cluster()) return ErrorCode::kNone;
  const auto offsets = services.broker.describe_topic(kOffsetsTopic);
  if (!offsets || offsets->partitions <= 0) return ErrorCode::kCoordinatorNotAvailable;
  sdk::PartitionState st;
  const int32_t p = offsets_partition_for(group, offsets->partitions);
  if (services.broker.partition_state(kOffsetsTopic, p, &st) != KEEL_OK || st.leader < 0) {
    return ErrorCode::kCoordinatorNotAvailable;
  }
  return st.leader == services.node_id() ? ErrorCode::kNone : ErrorCode::kNotCoordinator;
}

}  // namespace keel::kafka
