// ABI 2.3 slots of the broker API table: the cluster as this broker sees
// it (ClusterView), for transports' metadata, and where leader epochs end
// in a partition's log (OffsetForLeaderEpoch).
#include "broker_api_support.hpp"

namespace keel {

void add_cluster_api(keel_broker_api* api) {
  api->advertise_listener = [](void* ctx, const char* listener, const char* host, int32_t port) {
    if (listener == nullptr) return;
    B(ctx).cluster_view().advertise(listener, host != nullptr ? host : "", port);
  };
  api->cluster_info = [](void* ctx, keel_cluster_info* out) {
    if (out == nullptr) return;
    const ClusterView& v = B(ctx).cluster_view();
    keel_cluster_info info{};
    info.struct_size = sizeof info;
    info.broker_id = v.self();
    info.controller_id = v.controller_id();
    info.clustered = v.clustered() ? 1 : 0;
    info.cluster_id = v.cluster_id().c_str();  // lives as long as the broker
    keel_copy_out(out, &info, sizeof info);
  };
  api->list_brokers = [](void* ctx, const char* listener, keel_broker_callback cb, void* user) {
    if (listener == nullptr || cb == nullptr) return;
    for (const LiveBroker& b : B(ctx).cluster_view().brokers(listener)) {
      keel_broker_info info{};
      info.struct_size = sizeof info;
      info.id = b.id;
      info.host = b.endpoint.host.c_str();
      info.port = b.endpoint.port;
      info.rack = b.rack.c_str();
      cb(user, &info);
    }
  };
  api->partition_state = [](void* ctx, const char* topic, int32_t partition, keel_partition_state_callback cb,
                            void* user) {
    return guard(nullptr, [&] {
      const std::string name = topic != nullptr ? topic : "";
      B(ctx).partition(name, partition);  // NOT_FOUND for a partition this broker does not have
      const PartitionLeadership l = B(ctx).cluster_view().leadership(name, partition);
      keel_partition_state st{};
      st.struct_size = sizeof st;
      st.leader = l.leader;
      st.leader_epoch = l.leader_epoch;
      st.replica_count = static_cast<uint32_t>(l.replicas.size());
      st.replicas = l.replicas.data();
      st.isr_count = static_cast<uint32_t>(l.isr.size());
      st.isr = l.isr.data();
      if (cb != nullptr) cb(user, &st);
    });
  };
  api->offset_for_leader_epoch = [](void* ctx, const char* topic, int32_t partition, int32_t leader_epoch,
                                    int32_t* end_epoch, int64_t* end_offset, keel_error* err) {
    return guard(err, [&] {
      const std::string name = topic != nullptr ? topic : "";
      auto log = B(ctx).partition(name, partition);  // NOT_FOUND
      const int32_t current = B(ctx).require_leadership(name, partition);
      const EpochEndOffset r = log->end_offset_for_epoch(leader_epoch, current);
      if (end_epoch != nullptr) *end_epoch = r.epoch;
      if (end_offset != nullptr) *end_offset = r.end_offset;
    });
  };
}

}  // namespace keel
