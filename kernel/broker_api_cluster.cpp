// ABI 2.3 slots of the broker API table: the cluster as this broker sees it.
// A single-node cluster view (to be replaced by kernel/cluster): broker 0 is
// the controller, the only live broker and the leader, only replica and
// only in-sync replica of every partition, at leader epoch 0.
#include <string>

#include "broker_api_support.hpp"

namespace keel {
namespace {

constexpr int32_t kSelf = 0;
constexpr const char* kClusterId = "keel";

// Without a [cluster] advertised_host, a wildcard or empty host is named as
// the loopback address, which is where a single node's clients are.
std::string advertised(const char* host) {
  const std::string h = host != nullptr ? host : "";
  if (h.empty() || h == "0.0.0.0" || h == "::") return "127.0.0.1";
  return h;
}

}  // namespace

void add_cluster_api(keel_broker_api* api) {
  api->advertise_listener = [](void* ctx, const char* listener, const char* host, int32_t port) {
    if (listener == nullptr) return;
    try {
      B(ctx).advertise_listener(listener, Broker::Listener{advertised(host), port});
    } catch (...) {
      // Out of memory: the listener stays unadvertised (nothing may unwind).
    }
  };
  api->cluster_info = [](void*, keel_cluster_info* out) {
    if (out == nullptr) return;
    keel_cluster_info c{};
    c.struct_size = sizeof c;
    c.broker_id = kSelf;
    c.controller_id = kSelf;
    c.clustered = 0;
    c.cluster_id = kClusterId;
    keel_copy_out(out, &c, sizeof c);
  };
  api->list_brokers = [](void* ctx, const char* listener, keel_broker_callback cb, void* user) {
    if (listener == nullptr || cb == nullptr) return;
    auto where = B(ctx).advertised_listener(listener);
    if (!where) return;
    keel_broker_info b{};
    b.struct_size = sizeof b;
    b.id = kSelf;
    b.host = where->host.c_str();
    b.port = where->port;
    b.rack = "";
    cb(user, &b);
  };
  api->partition_state = [](void* ctx, const char* topic, int32_t partition, keel_partition_state_callback cb,
                            void* user) {
    return guard(nullptr, [&] {
      auto t = topic != nullptr ? B(ctx).find_topic(topic) : nullptr;
      if (!t) fail(KEEL_ERR_NOT_FOUND, std::string("unknown topic '") + (topic ? topic : "") + "'");
      if (partition < 0 || partition >= t->partition_count()) {
        fail(KEEL_ERR_NOT_FOUND, "topic '" + t->name() + "' has no partition " + std::to_string(partition));
      }
      const int32_t self = kSelf;
      keel_partition_state st{};
      st.struct_size = sizeof st;
      st.leader = kSelf;
      st.leader_epoch = 0;
      st.replica_count = 1;
      st.replicas = &self;
      st.isr = &self;
      st.isr_count = 1;
      if (cb != nullptr) cb(user, &st);
    });
  };
}

}  // namespace keel
