#include "replication/leader_partition.hpp"

#include <algorithm>

#include "common/contains.hpp"

namespace keel {

LeaderPartition::LeaderPartition(int32_t self, int32_t leader_epoch, int64_t now_ms)
    : self_(self), leader_epoch_(leader_epoch), elected_ms_(now_ms) {}

void LeaderPartition::set_committed(std::vector<int32_t> replicas, std::vector<int32_t> isr,
                                    int32_t min_isr) {
  replicas_ = std::move(replicas);
  isr_ = std::move(isr);
  min_isr_ = std::max(min_isr, 1);
  // A proposal the store took (or that a newer state made moot) is done.
  for (auto it = proposed_adds_.begin(); it != proposed_adds_.end();) {
    it = contains(isr_, it->first) || !contains(replicas_, it->first) ? proposed_adds_.erase(it)
                                                                      : std::next(it);
  }
}

std::vector<int32_t> LeaderPartition::effective_isr() const {
  std::vector<int32_t> out = isr_;
  if (!contains(out, self_)) out.insert(out.begin(), self_);
  for (const auto& [id, _] : proposed_adds_) {
    if (!contains(out, id)) out.push_back(id);
  }
  return out;
}

LeaderPartition::Follower& LeaderPartition::follower(int32_t id) {
  auto [it, fresh] = followers_.try_emplace(id);
  if (fresh) it->second.last_caught_up_ms = elected_ms_;
  return it->second;
}

void LeaderPartition::record_fetch(int32_t id, int64_t fetch_offset, int64_t leader_leo, int64_t now_ms) {
  Follower& f = follower(id);
  f.end = fetch_offset;
  // Kafka's rule: caught up now if it reached the leader's end; caught up
  // at its previous fetch if it reached what the leader had then.
  if (fetch_offset >= leader_leo) {
    f.last_caught_up_ms = std::max(f.last_caught_up_ms, now_ms);
  } else if (f.last_fetch_leader_end >= 0 && fetch_offset >= f.last_fetch_leader_end) {
    f.last_caught_up_ms = std::max(f.last_caught_up_ms, f.last_fetch_ms);
  }
  f.last_fetch_ms = now_ms;
  f.last_fetch_leader_end = leader_leo;
}

int64_t LeaderPartition::follower_end(int32_t id) const {
  auto it = followers_.find(id);
  return it == followers_.end() ? -1 : it->second.end;
}

bool LeaderPartition::tell_high_watermark(int32_t id, bool with_data, int64_t now_ms, int64_t interval_ms) {
  Follower& f = follower(id);
  if (!with_data && f.hw_told_ms >= 0 && now_ms - f.hw_told_ms < interval_ms) return false;
  f.hw_told_ms = now_ms;
  return true;
}

std::optional<int64_t> LeaderPartition::allowed_high_watermark(int64_t leader_leo) const {
  const std::vector<int32_t> isr = effective_isr();
  if (static_cast<int32_t>(isr.size()) < min_isr_) return std::nullopt;
  int64_t hw = leader_leo;
  for (int32_t id : isr) {
    if (id == self_) continue;
    const int64_t end = follower_end(id);
    if (end < 0) return std::nullopt;
    hw = std::min(hw, end);
  }
  return hw;
}

bool LeaderPartition::should_expand(int32_t id, int64_t hw, int64_t epoch_start, int64_t now_ms,
                                    int64_t retry_ms) {
  if (id == self_ || contains(isr_, id) || !contains(replicas_, id)) return false;
  const int64_t end = follower_end(id);
  if (end < hw || end < epoch_start) return false;
  auto it = proposed_adds_.find(id);
  if (it != proposed_adds_.end() && now_ms - it->second < retry_ms) return false;
  proposed_adds_[id] = now_ms;
  return true;
}

std::vector<int32_t> LeaderPartition::laggards(int64_t now_ms, int64_t lag_ms, int64_t retry_ms) {
  std::vector<int32_t> out;
  if (shrink_proposed_ms_ >= 0 && now_ms - shrink_proposed_ms_ < retry_ms) return out;
  for (int32_t id : isr_) {
    if (id == self_) continue;
    auto it = followers_.find(id);
    const int64_t caught_up = it == followers_.end() ? elected_ms_ : it->second.last_caught_up_ms;
    if (now_ms - caught_up > lag_ms) out.push_back(id);
  }
  if (!out.empty()) shrink_proposed_ms_ = now_ms;
  return out;
}

std::vector<ReplicaWaiter> LeaderPartition::take_if(const std::function<bool(const ReplicaWaiter&)>& pred) {
  std::vector<ReplicaWaiter> out;
  for (auto it = waiters_.begin(); it != waiters_.end();) {
    if (pred(*it)) {
      out.push_back(std::move(*it));
      it = waiters_.erase(it);
    } else {
      ++it;
    }
  }
  return out;
}

std::vector<ReplicaWaiter> LeaderPartition::take_reached(int64_t hw) {
  return take_if([hw](const ReplicaWaiter& w) { return w.until <= hw; });
}

std::vector<ReplicaWaiter> LeaderPartition::take_expired(int64_t now_ms) {
  return take_if([now_ms](const ReplicaWaiter& w) { return w.deadline_ms <= now_ms; });
}

std::vector<ReplicaWaiter> LeaderPartition::take_all() {
  std::vector<ReplicaWaiter> out;
  out.swap(waiters_);
  return out;
}

}  // namespace keel
