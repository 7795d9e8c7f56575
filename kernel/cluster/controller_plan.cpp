#include "cluster/controller_plan.hpp"

#include <algorithm>

#include "common/contains.hpp"

namespace keel {

std::vector<std::vector<int32_t>> assign_replicas(int32_t partitions, int32_t rf,
                                                  std::vector<int32_t> brokers, uint32_t start) {
  std::sort(brokers.begin(), brokers.end());
  std::vector<std::vector<int32_t>> out;
  if (brokers.empty()) return out;
  const size_t n = brokers.size();
  const size_t copies = std::min<size_t>(static_cast<size_t>(std::max(rf, 1)), n);
  for (int32_t p = 0; p < partitions; ++p) {
    std::vector<int32_t> replicas;
    for (size_t r = 0; r < copies; ++r) replicas.push_back(brokers[(start + static_cast<size_t>(p) + r) % n]);
    out.push_back(std::move(replicas));
  }
  return out;
}

std::vector<PartitionWrite> plan_leadership(const ClusterState& st, int64_t controller_epoch,
                                            const std::set<int32_t>& restarted) {
  std::vector<PartitionWrite> out;
  const auto fresh = [&](int32_t id) { return st.is_live(id) && restarted.count(id) == 0; };
  for (const auto& [topic, entry] : st.topics) {
    const auto& assignment = entry.record.assignment;
    for (size_t i = 0; i < assignment.size(); ++i) {
      const PartitionId id{topic, static_cast<int32_t>(i)};
      const std::vector<int32_t>& replicas = assignment[i];
      auto it = st.partitions.find(id);
      if (it == st.partitions.end()) {
        // A new partition: its first live replica leads. Until followers
        // replicate, the leader alone is in sync.
        for (int32_t r : replicas) {
          if (!st.is_live(r)) continue;
          out.push_back(PartitionWrite{id, PartitionRecord{r, 0, {r}, controller_epoch}, 0});
          break;
        }
        continue;
      }
      const PartitionRecord& cur = it->second.record;
      PartitionRecord next = cur;
      next.controller_epoch = controller_epoch;
      if (cur.leader >= 0 && fresh(cur.leader)) {
        // Leader fine: drop dead (and restarted) followers from the ISR.
        std::vector<int32_t> isr;
        for (int32_t id : cur.isr) {
          if (fresh(id)) isr.push_back(id);
        }
        if (!contains(isr, cur.leader)) isr.insert(isr.begin(), cur.leader);
        if (isr == cur.isr) continue;
        next.isr = std::move(isr);
      } else {
        // Leader gone (or restarted): the first replica (in assignment
        // order, the preferred order) that is in the ISR and live takes
        // over; a restarted one only when no other can.
        int32_t chosen = -1;
        for (int32_t r : replicas) {
          if (contains(cur.isr, r) && fresh(r)) {
            chosen = r;
            break;
          }
        }
        for (int32_t r : replicas) {
          if (chosen >= 0) break;
          if (contains(cur.isr, r) && st.is_live(r)) chosen = r;
        }
        if (chosen < 0) {
          if (cur.leader == -1) continue;  // offline already; wait for an ISR member
          next.leader = -1;                // keep the last ISR: never elect outside it
        } else {
          next.leader = chosen;
          next.isr.clear();
          for (int32_t id : cur.isr) {
            if (id == chosen || fresh(id)) next.isr.push_back(id);
          }
        }
      }
      next.leader_epoch = cur.leader_epoch + 1;
      out.push_back(PartitionWrite{id, std::move(next), it->second.mod_revision});
    }
  }
  return out;
}

std::vector<PartitionWrite> plan_preferred_leaders(const ClusterState& st, int64_t controller_epoch) {
  std::vector<PartitionWrite> out;
  for (const auto& [topic, entry] : st.topics) {
    const auto& assignment = entry.record.assignment;
    for (size_t i = 0; i < assignment.size(); ++i) {
      if (assignment[i].empty()) continue;
      const PartitionId id{topic, static_cast<int32_t>(i)};
      auto it = st.partitions.find(id);
      if (it == st.partitions.end()) continue;
      const PartitionRecord& cur = it->second.record;
      const int32_t preferred = assignment[i].front();
      // Only from a live leader: a partition without one is the election's
      // business (plan_leadership), not the rebalance's.
      if (cur.leader == preferred || cur.leader < 0 || !st.is_live(cur.leader)) continue;
      if (!st.is_live(preferred) || !contains(cur.isr, preferred)) continue;
      PartitionRecord next = cur;
      next.leader = preferred;
      next.leader_epoch = cur.leader_epoch + 1;
      next.controller_epoch = controller_epoch;
      out.push_back(PartitionWrite{id, std::move(next), it->second.mod_revision});
    }
  }
  return out;
}

}  // namespace keel
