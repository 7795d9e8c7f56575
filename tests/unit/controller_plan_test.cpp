// The controller's decisions (kernel/cluster/controller_plan.hpp) and the
// cluster state they read (cluster_state.hpp, cluster_records.hpp), without
// a store: leaders come from the ISR only, an offline partition keeps its
// last ISR, every change bumps the leader epoch, and writes are fenced by
// the revision the plan read.
#include "cluster/controller_plan.hpp"

#include <gtest/gtest.h>

#include <map>
#include <set>

#include "cluster/cluster_records.hpp"
#include "cluster/cluster_state.hpp"
#include "common/error.hpp"

namespace keel {
namespace {

const ClusterKeys kKeys{"c/"};

ClusterState with_brokers(std::initializer_list<int32_t> ids) {
  ClusterState st;
  for (int32_t id : ids) st.brokers[id] = BrokerEntry{BrokerRecord{id, "", {}}, 10 + id, 10 + id};
  return st;
}

void add_topic(ClusterState& st, const std::string& name, std::vector<std::vector<int32_t>> assignment) {
  st.topics[name] = TopicEntry{TopicRecord{std::move(assignment), "", false}, 5, 5};
}

void add_state(ClusterState& st, const std::string& t, int32_t p, PartitionRecord r, int64_t mod_revision) {
  st.partitions[{t, p}] = PartitionEntry{std::move(r), 7, mod_revision};
}

TEST(AssignReplicas, SpreadsLeadersAndNeverRepeatsABrokerInAPartition) {
  auto a = assign_replicas(6, 3, {3, 1, 2}, 0);
  ASSERT_EQ(a.size(), 6u);
  std::map<int32_t, int> leaders;
  for (const auto& replicas : a) {
    ASSERT_EQ(replicas.size(), 3u);
    std::set<int32_t> distinct(replicas.begin(), replicas.end());
    EXPECT_EQ(distinct.size(), 3u);
    ++leaders[replicas.front()];
  }
  EXPECT_EQ(leaders, (std::map<int32_t, int>{{1, 2}, {2, 2}, {3, 2}}));
}

TEST(AssignReplicas, CapsTheReplicationFactorAtTheBrokerCount) {
  auto a = assign_replicas(2, 3, {7}, 5);
  ASSERT_EQ(a.size(), 2u);
  EXPECT_EQ(a[0], std::vector<int32_t>{7});
  EXPECT_TRUE(assign_replicas(2, 3, {}, 0).empty());
}

TEST(PlanLeadership, ANewPartitionIsLedByItsFirstLiveReplica) {
  ClusterState st = with_brokers({2, 3});
  add_topic(st, "t", {{1, 2, 3}});
  auto w = plan_leadership(st, 99);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].id, (PartitionId{"t", 0}));
  EXPECT_EQ(w[0].record.leader, 2);
  EXPECT_EQ(w[0].record.leader_epoch, 0);
  EXPECT_EQ(w[0].record.isr, std::vector<int32_t>{2});
  EXPECT_EQ(w[0].record.controller_epoch, 99);
  EXPECT_EQ(w[0].expected_mod_revision, 0);  // create only if still absent
}

TEST(PlanLeadership, NothingToDoWhenEveryLeaderIsLive) {
  ClusterState st = with_brokers({1, 2});
  add_topic(st, "t", {{1, 2}});
  add_state(st, "t", 0, PartitionRecord{1, 4, {1, 2}, 3}, 40);
  EXPECT_TRUE(plan_leadership(st, 99).empty());
}

TEST(PlanLeadership, ADeadLeaderIsReplacedFromTheIsrOnlyWithTheEpochBumped) {
  ClusterState st = with_brokers({2, 3});
  add_topic(st, "t", {{1, 3, 2}});
  // 3 is live but not in sync: it must not lead even though it comes first.
  add_state(st, "t", 0, PartitionRecord{1, 4, {1, 2}, 3}, 40);
  auto w = plan_leadership(st, 99);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].record.leader, 2);
  EXPECT_EQ(w[0].record.leader_epoch, 5);
  EXPECT_EQ(w[0].record.isr, std::vector<int32_t>{2});
  EXPECT_EQ(w[0].expected_mod_revision, 40);
}

TEST(PlanLeadership, NoLiveIsrMemberTakesThePartitionOfflineKeepingItsIsr) {
  ClusterState st = with_brokers({3});
  add_topic(st, "t", {{1, 3}});
  add_state(st, "t", 0, PartitionRecord{1, 4, {1}, 3}, 40);
  auto w = plan_leadership(st, 99);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].record.leader, -1);
  EXPECT_EQ(w[0].record.isr, std::vector<int32_t>{1});  // never an unclean leader
  EXPECT_EQ(w[0].record.leader_epoch, 5);
  // Applied, it stays offline until an ISR member is back...
  add_state(st, "t", 0, w[0].record, 41);
  EXPECT_TRUE(plan_leadership(st, 99).empty());
  // ...and then that member leads again.
  st.brokers[1] = BrokerEntry{BrokerRecord{1, "", {}}, 50, 50};
  auto back = plan_leadership(st, 99);
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0].record.leader, 1);
  EXPECT_EQ(back[0].record.leader_epoch, 6);
  EXPECT_EQ(back[0].expected_mod_revision, 41);
}

TEST(PlanLeadership, ADeadFollowerLeavesTheIsr) {
  ClusterState st = with_brokers({1, 2});
  add_topic(st, "t", {{1, 2, 3}});
  add_state(st, "t", 0, PartitionRecord{1, 4, {1, 2, 3}, 3}, 40);
  auto w = plan_leadership(st, 99);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].record.leader, 1);
  EXPECT_EQ(w[0].record.isr, (std::vector<int32_t>{1, 2}));
}

TEST(PlanLeadership, ARestartedLeaderHandsOverToAnotherInSyncReplica) {
  // Broker 1 was SIGKILLed and registered again before its old session's
  // end reached the controller: it may have lost the tail of its log.
  ClusterState st = with_brokers({1, 2, 3});
  add_topic(st, "t", {{1, 2, 3}});
  add_state(st, "t", 0, PartitionRecord{1, 4, {1, 2, 3}, 3}, 40);
  auto w = plan_leadership(st, 99, {1});
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].record.leader, 2);
  EXPECT_EQ(w[0].record.leader_epoch, 5);
  EXPECT_EQ(w[0].record.isr, (std::vector<int32_t>{2, 3}));  // 1 rejoins once caught up
  // Without the restart nothing changes.
  EXPECT_TRUE(plan_leadership(st, 99).empty());
}

TEST(PlanLeadership, ARestartedFollowerLeavesTheIsr) {
  ClusterState st = with_brokers({1, 2, 3});
  add_topic(st, "t", {{1, 2, 3}});
  add_state(st, "t", 0, PartitionRecord{1, 4, {1, 2, 3}, 3}, 40);
  auto w = plan_leadership(st, 99, {3});
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].record.leader, 1);
  EXPECT_EQ(w[0].record.isr, (std::vector<int32_t>{1, 2}));
}

TEST(PlanLeadership, ARestartedSoleInSyncReplicaLeadsAgainWithANewEpoch) {
  ClusterState st = with_brokers({1, 2});
  add_topic(st, "t", {{1, 2}});
  add_state(st, "t", 0, PartitionRecord{1, 4, {1}, 3}, 40);
  auto w = plan_leadership(st, 99, {1});
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].record.leader, 1);  // never 2: it is not in sync
  EXPECT_EQ(w[0].record.leader_epoch, 5);
  EXPECT_EQ(w[0].record.isr, std::vector<int32_t>{1});
}

TEST(PlanPreferredLeaders, HandsAPartitionBackToItsInSyncPreferredReplica) {
  ClusterState st = with_brokers({1, 2, 3});
  add_topic(st, "t", {{1, 2, 3}, {2, 3, 1}, {3, 1, 2}});
  add_state(st, "t", 0, PartitionRecord{2, 4, {2, 3, 1}, 3}, 40);  // 1 back and in sync: moves
  add_state(st, "t", 1, PartitionRecord{2, 4, {2, 3, 1}, 3}, 41);  // on its preferred already
  add_state(st, "t", 2, PartitionRecord{1, 4, {1, 2}, 3}, 42);     // 3 not in sync: stays
  auto w = plan_preferred_leaders(st, 99);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].id, (PartitionId{"t", 0}));
  EXPECT_EQ(w[0].record.leader, 1);
  EXPECT_EQ(w[0].record.leader_epoch, 5);
  EXPECT_EQ(w[0].record.isr, (std::vector<int32_t>{2, 3, 1}));
  EXPECT_EQ(w[0].expected_mod_revision, 40);
}

TEST(PlanPreferredLeaders, LeavesOfflineAndDeadPreferredPartitionsAlone) {
  ClusterState st = with_brokers({2, 3});
  add_topic(st, "t", {{1, 2}, {2, 3}});
  add_state(st, "t", 0, PartitionRecord{2, 4, {2, 1}, 3}, 40);  // preferred 1 is dead
  add_state(st, "t", 1, PartitionRecord{-1, 4, {2}, 3}, 41);    // offline: the election's job
  EXPECT_TRUE(plan_preferred_leaders(st, 99).empty());
}

TEST(ClusterStateTest, FollowsPutsAndDeletesOfEveryKind) {
  ClusterState st;
  std::string problem;
  auto put = [&](const std::string& key, const std::string& value, int64_t rev) {
    return st.apply(kKeys, CoordEvent{KEEL_COORD_EVENT_PUT, CoordKv{key, value, rev, rev}, rev}, &problem);
  };
  ASSERT_TRUE(put("c/brokers/1", encode(BrokerRecord{1, "r1", {{"kafka", HostPort{"h", 9092}}}}), 2));
  ASSERT_TRUE(put("c/controller", encode(ControllerRecord{1}), 3));
  ASSERT_TRUE(put("c/topics/a.b", encode(TopicRecord{{{1}, {1}}, "", false}), 4));
  ASSERT_TRUE(put("c/partitions/a.b/1", encode(PartitionRecord{1, 2, {1}, 3}), 5));
  EXPECT_EQ(st.brokers.at(1).record.listeners.at("kafka").port, 9092);
  EXPECT_EQ(st.brokers.at(1).epoch, 2);
  EXPECT_EQ(st.controller_id, 1);
  EXPECT_EQ(st.controller_epoch, 3);
  EXPECT_EQ(st.topics.at("a.b").record.assignment.size(), 2u);
  EXPECT_EQ(st.partitions.at({"a.b", 1}).record.leader_epoch, 2);
  EXPECT_EQ(st.revision, 5);
  ASSERT_TRUE(
      st.apply(kKeys, CoordEvent{KEEL_COORD_EVENT_DELETE, CoordKv{"c/controller", "", 0, 0}, 6}, &problem));
  EXPECT_EQ(st.controller_id, -1);
  ASSERT_TRUE(
      st.apply(kKeys, CoordEvent{KEEL_COORD_EVENT_DELETE, CoordKv{"c/brokers/1", "", 0, 0}, 7}, &problem));
  EXPECT_FALSE(st.is_live(1));
}

TEST(ClusterStateTest, AValueThatDoesNotDecodeIsReportedWithItsKeyAndDropped) {
  ClusterState st;
  std::string problem;
  ASSERT_TRUE(
      st.apply(kKeys,
               CoordEvent{KEEL_COORD_EVENT_PUT,
                          CoordKv{"c/partitions/t/0", encode(PartitionRecord{1, 0, {1}, 1}), 2, 2}, 2},
               &problem));
  EXPECT_FALSE(
      st.apply(kKeys, CoordEvent{KEEL_COORD_EVENT_PUT, CoordKv{"c/partitions/t/0", "{\"leader\":", 2, 3}, 3},
               &problem));
  EXPECT_NE(problem.find("c/partitions/t/0"), std::string::npos) << problem;
  EXPECT_EQ(st.partitions.count({"t", 0}), 0u);  // not left as its old self
}

TEST(ClusterRecords, RoundTripAndStrictDecoding) {
  PartitionRecord p{3, 7, {3, 1}, 12};
  EXPECT_EQ(decode_partition("k", encode(p)), p);
  BrokerRecord b{4, "east", {{"kafka", HostPort{"10.0.0.4", 9092}}, {"http", HostPort{"10.0.0.4", 8080}}}};
  EXPECT_EQ(decode_broker("k", encode(b)), b);
  EXPECT_THROW(decode_topic("c/topics/x", R"({"assignment":[]})"), Error);
  EXPECT_THROW(decode_topic("c/topics/x", R"({"assignment":[[]]})"), Error);
  EXPECT_THROW(decode_broker("c/brokers/1", "not json"), Error);
  EXPECT_EQ(split_partition_key("a/b/12"), (std::optional<std::pair<std::string, int32_t>>{{"a/b", 12}}));
  EXPECT_FALSE(split_partition_key("t/x1"));
  EXPECT_FALSE(split_partition_key("t/"));
}

}  // namespace
}  // namespace keel
