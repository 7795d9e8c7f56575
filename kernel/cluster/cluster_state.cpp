#include "cluster/cluster_state.hpp"

#include "common/error.hpp"

namespace keel {
namespace {

bool starts_with(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

// Applies a PUT (kv with a value) or a DELETE (erase = true) of one key.
void put_or_delete(ClusterState& st, const ClusterKeys& keys, const CoordKv& kv, bool erase) {
  const std::string& k = kv.key;
  if (starts_with(k, keys.brokers())) {
    int32_t id = 0;
    try {
      id = std::stoi(k.substr(keys.brokers().size()));
    } catch (const std::exception&) {
      fail(KEEL_ERR_CORRUPT, "cluster state key '" + k + "' does not name a broker id");
    }
    if (erase) {
      st.brokers.erase(id);
    } else {
      st.brokers[id] = BrokerEntry{decode_broker(k, kv.value), kv.create_revision, kv.mod_revision};
    }
  } else if (k == keys.controller()) {
    if (erase) {
      st.controller_id = -1;
      st.controller_epoch = 0;
    } else {
      st.controller_id = decode_controller(k, kv.value).broker_id;
      st.controller_epoch = kv.create_revision;
    }
  } else if (starts_with(k, keys.topics())) {
    const std::string name = k.substr(keys.topics().size());
    if (erase) {
      st.topics.erase(name);
    } else {
      st.topics[name] = TopicEntry{decode_topic(k, kv.value), kv.create_revision, kv.mod_revision};
    }
  } else if (starts_with(k, keys.partitions())) {
    auto id = split_partition_key(k.substr(keys.partitions().size()));
    if (!id) fail(KEEL_ERR_CORRUPT, "cluster state key '" + k + "' does not name a partition");
    if (erase) {
      st.partitions.erase(*id);
    } else {
      st.partitions[*id] = PartitionEntry{decode_partition(k, kv.value), kv.create_revision, kv.mod_revision};
    }
  }
  // Other keys under the root belong to later versions: ignored.
}

}  // namespace

ClusterState ClusterState::from_range(const ClusterKeys& keys, const CoordRange& range,
                                      std::vector<std::string>* problems) {
  ClusterState st;
  st.revision = range.revision;
  for (const auto& kv : range.kvs) {
    try {
      put_or_delete(st, keys, kv, false);
    } catch (const Error& e) {
      if (problems != nullptr) problems->push_back(e.what());
    }
  }
  return st;
}

bool ClusterState::apply(const ClusterKeys& keys, const CoordEvent& event, std::string* problem) {
  if (event.revision > revision) revision = event.revision;
  try {
    put_or_delete(*this, keys, event.kv, event.type == KEEL_COORD_EVENT_DELETE);
    return true;
  } catch (const Error& e) {
    if (problem != nullptr) *problem = e.what();
    // A value we cannot read must not linger as its old self.
    try {
      put_or_delete(*this, keys, event.kv, true);
    } catch (const Error&) {
    }
    return false;
  }
}

const std::vector<int32_t>* ClusterState::replicas(const PartitionId& p) const {
  auto it = topics.find(p.first);
  if (it == topics.end() || p.second < 0 ||
      static_cast<size_t>(p.second) >= it->second.record.assignment.size()) {
    return nullptr;
  }
  return &it->second.record.assignment[static_cast<size_t>(p.second)];
}

}  // namespace keel
