// What the leader of one partition knows about its followers (Kafka's
// Partition + Replica state on the leader): each follower's log end and
// when it was last caught up, the ISR as committed in the cluster state and
// the changes this leader proposed to it, the high watermark the ISR
// allows, and the acks=all producers waiting for it (Kafka's DelayedProduce
// purgatory).
//
// Pure bookkeeping: no I/O, no lock, no clock of its own. The
// ReplicaManager holds its mutex around every call and does the writes.
#pragma once

#include <keel/plugin.h>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace keel {

struct ReplicaWaiter {
  int64_t until = 0;        // answered once the high watermark reaches it
  int64_t deadline_ms = 0;  // else failed at this time
  std::function<void(keel_status, const std::string&)> done;
};

class LeaderPartition {
 public:
  // Followers get `lag_ms` from `now_ms` (the election) to fetch before
  // they count as behind, as Kafka starts their caught-up clock then.
  LeaderPartition(int32_t self, int32_t leader_epoch, int64_t now_ms);

  int32_t leader_epoch() const { return leader_epoch_; }
  // The replicas and ISR as the cluster state has them now (a leader's
  // proposal counts once the store took it), and the topic's
  // min_insync_replicas.
  void set_committed(std::vector<int32_t> replicas, std::vector<int32_t> isr, int32_t min_isr);
  const std::vector<int32_t>& replicas() const { return replicas_; }
  const std::vector<int32_t>& committed_isr() const { return isr_; }
  int32_t min_isr() const { return min_isr_; }
  // The committed ISR plus the followers this leader proposed to add: the
  // high watermark waits for them too from the moment of the proposal, so
  // that a follower the store names in-sync always has every record below
  // it (Kafka's "maximal ISR", KIP-497).
  std::vector<int32_t> effective_isr() const;
  bool enough_replicas() const { return static_cast<int32_t>(effective_isr().size()) >= min_isr_; }

  // A follower fetched from `fetch_offset` (its log end) while the
  // leader's log ended at `leader_leo`.
  void record_fetch(int32_t follower, int64_t fetch_offset, int64_t leader_leo, int64_t now_ms);
  // -1 until the follower fetched in this epoch.
  int64_t follower_end(int32_t follower) const;

  // Whether a fetch of `follower` that brings it no records should be
  // answered now only to tell it a high watermark newer than the one it
  // knows: yes at most once per `interval_ms` per follower (the first
  // news after a quiet spell, a restart or an election goes at once);
  // otherwise the news waits for the next data or for the interval
  // (ReplicaManager::Parked::hw_moved). `with_data`: the answer goes now
  // anyway, carrying the news, which counts as told.
  bool tell_high_watermark(int32_t follower, bool with_data, int64_t now_ms, int64_t interval_ms);

  // The high watermark the ISR allows: the smallest log end over the
  // effective ISR; nullopt while a member's log end is unknown or the ISR
  // is smaller than min_insync_replicas (KIP-966: the HW does not advance
  // on fewer copies than the topic asks for).
  std::optional<int64_t> allowed_high_watermark(int64_t leader_leo) const;

  // True when `follower`, outside the ISR, has reached the high watermark
  // and this epoch's start: propose adding it (once per `retry_ms` while
  // the store has not taken it).
  bool should_expand(int32_t follower, int64_t hw, int64_t epoch_start, int64_t now_ms, int64_t retry_ms);
  // Members of the committed ISR not caught up for longer than `lag_ms`:
  // propose removing them (once per `retry_ms`); empty when none.
  std::vector<int32_t> laggards(int64_t now_ms, int64_t lag_ms, int64_t retry_ms);

  void add_waiter(ReplicaWaiter w) { waiters_.push_back(std::move(w)); }
  // Waiters whose offset the high watermark `hw` reached.
  std::vector<ReplicaWaiter> take_reached(int64_t hw);
  std::vector<ReplicaWaiter> take_expired(int64_t now_ms);
  std::vector<ReplicaWaiter> take_all();
  size_t waiting() const { return waiters_.size(); }

 private:
  struct Follower {
    int64_t end = -1;  // its log end as of its last fetch; -1: none yet
    int64_t last_caught_up_ms = 0;
    int64_t last_fetch_ms = 0;
    int64_t last_fetch_leader_end = -1;  // the leader's log end at that fetch
    int64_t hw_told_ms = -1;             // when an answer last carried news of it
  };
  Follower& follower(int32_t id);
  std::vector<ReplicaWaiter> take_if(const std::function<bool(const ReplicaWaiter&)>& pred);

  const int32_t self_;
  const int32_t leader_epoch_;
  const int64_t elected_ms_;
  std::vector<int32_t> replicas_;
  std::vector<int32_t> isr_;
  int32_t min_isr_ = 1;
  std::map<int32_t, Follower> followers_;
  std::map<int32_t, int64_t> proposed_adds_;  // follower -> when proposed
  int64_t shrink_proposed_ms_ = -1;
  std::vector<ReplicaWaiter> waiters_;
};

}  // namespace keel
