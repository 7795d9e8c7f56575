// The leader's bookkeeping of one partition (leader_partition.hpp): the
// high watermark the ISR allows (KIP-966 min ISR), when to propose adding a
// follower (maximal ISR, KIP-497) and removing laggards (Kafka's caught-up
// rule), and the acks=all waiting list. Pure state, so times are given.
#include "replication/leader_partition.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace keel {
namespace {

using Ids = std::vector<int32_t>;

constexpr int32_t kSelf = 1;
constexpr int64_t kElected = 1000;  // the election's time
constexpr int64_t kLag = 1000;      // replica_lag_time_max_ms
constexpr int64_t kRetry = 500;

LeaderPartition leader(Ids isr, int32_t min_isr = 1, Ids replicas = {1, 2, 3}) {
  LeaderPartition p(kSelf, 5, kElected);
  p.set_committed(std::move(replicas), std::move(isr), min_isr);
  return p;
}

TEST(LeaderPartition, AloneInTheIsrTheHighWatermarkIsTheLogEnd) {
  LeaderPartition p = leader({1});
  EXPECT_EQ(p.allowed_high_watermark(42), 42);
  EXPECT_EQ(p.effective_isr(), Ids{1});
  // The leader counts even when the stored ISR no longer names it.
  LeaderPartition q = leader({});
  EXPECT_EQ(q.effective_isr(), Ids{1});
  EXPECT_EQ(q.allowed_high_watermark(7), 7);
}

TEST(LeaderPartition, HighWatermarkIsTheLeastLogEndOverTheIsr) {
  LeaderPartition p = leader({1, 2, 3});
  EXPECT_EQ(p.allowed_high_watermark(100), std::nullopt);  // no follower fetched yet
  p.record_fetch(2, 50, 100, kElected + 1);
  EXPECT_EQ(p.allowed_high_watermark(100), std::nullopt);  // 3 never fetched: its end is unknown
  EXPECT_EQ(p.follower_end(3), -1);
  p.record_fetch(3, 70, 100, kElected + 2);
  EXPECT_EQ(p.allowed_high_watermark(100), 50);
  p.record_fetch(2, 100, 100, kElected + 3);
  EXPECT_EQ(p.allowed_high_watermark(100), 70);
  p.record_fetch(3, 100, 100, kElected + 4);
  EXPECT_EQ(p.allowed_high_watermark(100), 100);
  EXPECT_EQ(p.allowed_high_watermark(90), 90);  // never above the leader's own end
  EXPECT_EQ(p.follower_end(2), 100);
}

TEST(LeaderPartition, FollowersOutsideTheIsrDoNotHoldTheHighWatermark) {
  LeaderPartition p = leader({1, 2});
  p.record_fetch(2, 80, 100, kElected + 1);
  EXPECT_EQ(p.allowed_high_watermark(100), 80);  // 3 never fetched, and need not
  p.record_fetch(3, 0, 100, kElected + 2);
  EXPECT_EQ(p.allowed_high_watermark(100), 80);
}

TEST(LeaderPartition, NoHighWatermarkOnFewerCopiesThanMinInsyncReplicas) {
  LeaderPartition p = leader({1, 2}, 3);
  p.record_fetch(2, 100, 100, kElected + 1);
  p.record_fetch(3, 100, 100, kElected + 1);  // caught up, but not (yet) in the ISR
  EXPECT_FALSE(p.enough_replicas());
  EXPECT_EQ(p.allowed_high_watermark(100), std::nullopt);
  p.set_committed({1, 2, 3}, {1, 2, 3}, 3);
  EXPECT_TRUE(p.enough_replicas());
  EXPECT_EQ(p.allowed_high_watermark(100), 100);
  // Exactly min_insync_replicas is enough.
  p.set_committed({1, 2, 3}, {1, 2}, 2);
  EXPECT_TRUE(p.enough_replicas());
  EXPECT_EQ(p.allowed_high_watermark(100), 100);
}

TEST(LeaderPartition, MinInsyncReplicasIsAtLeastOne) {
  LeaderPartition p = leader({1}, 0);
  EXPECT_EQ(p.min_isr(), 1);
  EXPECT_TRUE(p.enough_replicas());
  p.set_committed({1, 2, 3}, {1}, -4);
  EXPECT_EQ(p.min_isr(), 1);
  EXPECT_EQ(p.allowed_high_watermark(3), 3);
}

TEST(LeaderPartition, ExpandOnlyOnceTheFollowerReachedTheHighWatermarkAndTheEpochStart) {
  LeaderPartition p = leader({1, 2});
  const int64_t t = kElected + 10;
  EXPECT_FALSE(p.should_expand(3, 0, 0, t, kRetry));  // never fetched
  p.record_fetch(3, 40, 100, t);
  EXPECT_FALSE(p.should_expand(3, 50, 0, t, kRetry));  // below the high watermark
  p.record_fetch(3, 50, 100, t);
  EXPECT_FALSE(p.should_expand(3, 50, 60, t, kRetry));  // below this epoch's start
  p.record_fetch(3, 60, 100, t);
  EXPECT_TRUE(p.should_expand(3, 50, 60, t, kRetry));
  // Never the leader, an ISR member, or a broker that is not a replica.
  p.record_fetch(2, 100, 100, t);
  p.record_fetch(4, 100, 100, t);
  EXPECT_FALSE(p.should_expand(kSelf, 0, 0, t, kRetry));
  EXPECT_FALSE(p.should_expand(2, 50, 60, t, kRetry));
  EXPECT_FALSE(p.should_expand(4, 50, 60, t, kRetry));
}

TEST(LeaderPartition, ExpandIsProposedOncePerRetryWindow) {
  LeaderPartition p = leader({1, 2});
  const int64_t t = kElected + 10;
  p.record_fetch(3, 100, 100, t);
  EXPECT_TRUE(p.should_expand(3, 100, 0, t, kRetry));
  EXPECT_FALSE(p.should_expand(3, 100, 0, t + 1, kRetry));
  EXPECT_FALSE(p.should_expand(3, 100, 0, t + kRetry - 1, kRetry));
  EXPECT_TRUE(p.should_expand(3, 100, 0, t + kRetry, kRetry));  // the store has not taken it: again
  EXPECT_FALSE(p.should_expand(3, 100, 0, t + kRetry + 1, kRetry));
  // A newer committed state without it keeps the proposal (and its window).
  p.set_committed({1, 2, 3}, {1, 2}, 1);
  EXPECT_FALSE(p.should_expand(3, 100, 0, t + kRetry + 2, kRetry));
}

TEST(LeaderPartition, AProposedFollowerHoldsTheHighWatermarkAtOnce) {
  LeaderPartition p = leader({1, 2}, 3);
  const int64_t t = kElected + 10;
  p.record_fetch(2, 100, 120, t);
  p.record_fetch(3, 60, 120, t);
  EXPECT_EQ(p.allowed_high_watermark(120), std::nullopt);  // 2 copies, 3 asked for
  ASSERT_TRUE(p.should_expand(3, 50, 0, t, kRetry));
  // Maximal ISR: counted before the store took it, for the minimum and
  // for min_insync_replicas.
  EXPECT_EQ(p.effective_isr(), (Ids{1, 2, 3}));
  EXPECT_EQ(p.committed_isr(), (Ids{1, 2}));
  EXPECT_TRUE(p.enough_replicas());
  EXPECT_EQ(p.allowed_high_watermark(120), 60);
  p.record_fetch(3, 120, 120, t + 1);
  EXPECT_EQ(p.allowed_high_watermark(120), 100);
}

TEST(LeaderPartition, CommittedStateEndsTakenProposals) {
  LeaderPartition p = leader({1, 2});
  const int64_t t = kElected + 10;
  p.record_fetch(3, 100, 100, t);
  ASSERT_TRUE(p.should_expand(3, 100, 0, t, kRetry));
  p.set_committed({1, 2, 3}, {1, 2, 3}, 1);  // the store took it
  EXPECT_EQ(p.effective_isr(), (Ids{1, 2, 3}));
  // A later shrink by the store is not undone by the old proposal...
  p.set_committed({1, 2, 3}, {1, 2}, 1);
  EXPECT_EQ(p.effective_isr(), (Ids{1, 2}));
  // ...and a new one may be made at once: the old window went with it.
  EXPECT_TRUE(p.should_expand(3, 100, 0, t + 1, kRetry));

  // A reassignment that drops the follower ends its proposal too.
  p.set_committed({1, 2}, {1, 2}, 1);
  EXPECT_EQ(p.effective_isr(), (Ids{1, 2}));
}

TEST(LeaderPartition, AFollowerThatNeverFetchesLagsAfterLagMsFromTheElection) {
  LeaderPartition p = leader({1, 2, 3});
  p.record_fetch(3, 100, 100, kElected + kLag);  // 3 keeps up
  EXPECT_TRUE(p.laggards(kElected + kLag, kLag, kRetry).empty());
  EXPECT_EQ(p.laggards(kElected + kLag + 1, kLag, kRetry), Ids{2});
}

TEST(LeaderPartition, CaughtUpWhenAFetchReachesTheLeadersEnd) {
  LeaderPartition p = leader({1, 2});
  p.record_fetch(2, 100, 100, kElected + 700);
  EXPECT_TRUE(p.laggards(kElected + 700 + kLag, kLag, kRetry).empty());
  EXPECT_EQ(p.laggards(kElected + 700 + kLag + 1, kLag, kRetry), Ids{2});
}

TEST(LeaderPartition, CaughtUpAtThePreviousFetchWhenReachingItsLeaderEnd) {
  // Kafka's rule: a follower under steady load never equals the leader's
  // end, but a fetch from what the leader had at the previous fetch shows
  // it was caught up then.
  LeaderPartition p = leader({1, 2});
  p.record_fetch(2, 50, 100, kElected + 100);   // behind
  p.record_fetch(2, 100, 150, kElected + 200);  // reached the previous end (100): caught up at +100
  EXPECT_TRUE(p.laggards(kElected + 100 + kLag, kLag, kRetry).empty());
  EXPECT_EQ(p.laggards(kElected + 100 + kLag + 1, kLag, kRetry), Ids{2});
}

TEST(LeaderPartition, AFollowerThatNeverReachesThePreviousEndLags) {
  LeaderPartition p = leader({1, 2});
  p.record_fetch(2, 0, 100, kElected + 80);
  for (int64_t i = 2; i <= 11; ++i) {
    // Always 10 short of what the leader had at the previous fetch.
    p.record_fetch(2, (i - 1) * 100 - 10, i * 100, kElected + i * 80);
  }
  EXPECT_EQ(p.laggards(kElected + kLag + 1, kLag, kRetry), Ids{2});
}

TEST(LeaderPartition, LaggardsAreProposedOncePerRetryWindow) {
  LeaderPartition p = leader({1, 2, 3});
  const int64_t t = kElected + kLag + 1;
  EXPECT_EQ(p.laggards(t, kLag, kRetry), (Ids{2, 3}));
  EXPECT_TRUE(p.laggards(t + 1, kLag, kRetry).empty());
  EXPECT_TRUE(p.laggards(t + kRetry - 1, kLag, kRetry).empty());
  EXPECT_EQ(p.laggards(t + kRetry, kLag, kRetry), (Ids{2, 3}));
}

TEST(LeaderPartition, OnlyCommittedIsrMembersOtherThanTheLeaderLag) {
  LeaderPartition p = leader({1, 2});
  const int64_t t = kElected + 10;
  p.record_fetch(3, 100, 100, t);
  ASSERT_TRUE(p.should_expand(3, 100, 0, t, kRetry));  // proposed, not committed
  p.record_fetch(2, 100, 100, t + 5 * kLag);
  EXPECT_TRUE(p.laggards(t + 5 * kLag, kLag, kRetry).empty());  // neither 1 (self) nor 3
}

ReplicaWaiter waiter(int64_t until, int64_t deadline, std::vector<std::string>* log) {
  return {until, deadline, [log, until](keel_status s, const std::string& m) {
            log->push_back(std::to_string(until) + ":" + std::to_string(s) + ":" + m);
          }};
}

std::vector<int64_t> untils(const std::vector<ReplicaWaiter>& w) {
  std::vector<int64_t> out;
  for (const auto& x : w) out.push_back(x.until);
  return out;
}

TEST(LeaderPartition, WaitersLeaveWhenReachedInOrder) {
  LeaderPartition p = leader({1});
  std::vector<std::string> log;
  p.add_waiter(waiter(30, 5000, &log));
  p.add_waiter(waiter(10, 5000, &log));
  p.add_waiter(waiter(20, 5000, &log));
  EXPECT_TRUE(p.take_reached(9).empty());
  const auto reached = p.take_reached(20);
  EXPECT_EQ(untils(reached), (std::vector<int64_t>{10, 20}));  // in the order they came
  EXPECT_EQ(p.waiting(), 1u);
  reached[0].done(KEEL_OK, "");
  EXPECT_EQ(log, std::vector<std::string>{"10:0:"});
  EXPECT_EQ(untils(p.take_reached(30)), std::vector<int64_t>{30});
  EXPECT_EQ(p.waiting(), 0u);
}

TEST(LeaderPartition, WaitersExpireAtTheirDeadline) {
  LeaderPartition p = leader({1});
  std::vector<std::string> log;
  p.add_waiter(waiter(10, 2000, &log));
  p.add_waiter(waiter(20, 1000, &log));
  p.add_waiter(waiter(30, 3000, &log));
  EXPECT_TRUE(p.take_expired(999).empty());
  EXPECT_EQ(untils(p.take_expired(1000)), std::vector<int64_t>{20});
  EXPECT_EQ(untils(p.take_expired(2500)), std::vector<int64_t>{10});
  EXPECT_EQ(p.waiting(), 1u);
}

TEST(LeaderPartition, TakeAllEmptiesTheList) {
  LeaderPartition p = leader({1});
  std::vector<std::string> log;
  p.add_waiter(waiter(10, 2000, &log));
  p.add_waiter(waiter(20, 1000, &log));
  auto all = p.take_all();
  EXPECT_EQ(untils(all), (std::vector<int64_t>{10, 20}));
  EXPECT_EQ(p.waiting(), 0u);
  EXPECT_TRUE(p.take_all().empty());
  for (auto& w : all) w.done(KEEL_ERR_NOT_LEADER, "moved");
  EXPECT_EQ(log, (std::vector<std::string>{"10:17:moved", "20:17:moved"}));
}

TEST(LeaderPartition, HighWatermarkNewsAloneAnswersAFollowerOncePerInterval) {
  LeaderPartition p = leader({1, 2, 3});
  constexpr int64_t kInterval = 50;
  // The first news to each follower goes at once (after a restart or an
  // election, when its high watermark may be far behind).
  EXPECT_TRUE(p.tell_high_watermark(2, false, 2000, kInterval));
  EXPECT_TRUE(p.tell_high_watermark(3, false, 2001, kInterval));
  // More news within the interval waits for data or the interval's end.
  EXPECT_FALSE(p.tell_high_watermark(2, false, 2010, kInterval));
  EXPECT_FALSE(p.tell_high_watermark(2, false, 2049, kInterval));
  EXPECT_TRUE(p.tell_high_watermark(2, false, 2050, kInterval));
  // An answer that carries data carries the news, and restarts the interval.
  EXPECT_TRUE(p.tell_high_watermark(3, true, 2002, kInterval));
  EXPECT_FALSE(p.tell_high_watermark(3, false, 2051, kInterval));
  EXPECT_TRUE(p.tell_high_watermark(3, false, 2052, kInterval));
}

}  // namespace
}  // namespace keel
