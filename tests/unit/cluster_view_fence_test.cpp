// ClusterView::fence: a broker whose coordinator session was lost drops
// itself from the view at once and stays dropped in every state the cluster
// thread publishes until it joined again (unfence), so it leads nothing
// while another broker may already lead its partitions.
#include <gtest/gtest.h>

#include <memory>

#include "cluster/cluster_view.hpp"
#include "config/config.hpp"

namespace keel {
namespace {

ClusterConfig self_config() {
  ClusterConfig c;
  c.enabled = true;
  c.broker_id = 1;
  return c;
}

// Brokers 1 and 2 live, broker 1 the controller and leader of t-0.
std::shared_ptr<const ClusterState> state_where_self_leads() {
  auto st = std::make_shared<ClusterState>();
  st->brokers[1] = BrokerEntry{BrokerRecord{1, "", {{"replication", HostPort{"127.0.0.1", 9001}}}}, 10, 10};
  st->brokers[2] = BrokerEntry{BrokerRecord{2, "", {{"replication", HostPort{"127.0.0.1", 9002}}}}, 11, 11};
  st->controller_id = 1;
  st->controller_epoch = 12;
  st->partitions[PartitionId{"t", 0}] = PartitionEntry{PartitionRecord{1, 3, {1, 2}, 12}, 13, 13};
  return st;
}

TEST(ClusterViewFence, DropsThisBrokerAtOnceAndTellsTheListener) {
  ClusterView view(self_config());
  int published = 0;
  view.on_published([&] { ++published; });
  view.publish(state_where_self_leads());
  ASSERT_TRUE(view.leads("t", 0));
  ASSERT_EQ(view.controller_id(), 1);
  ASSERT_EQ(published, 1);

  EXPECT_TRUE(view.fence());
  EXPECT_EQ(published, 2) << "replication must hear of it to stop leading";
  EXPECT_FALSE(view.leads("t", 0));
  EXPECT_FALSE(view.snapshot()->is_live(1));
  EXPECT_EQ(view.controller_id(), -1);
  EXPECT_EQ(view.leadership("t", 0).leader, -1) << "a leader that is not live is no leader";
  ASSERT_EQ(view.brokers("replication").size(), 1u);
  EXPECT_EQ(view.brokers("replication")[0].id, 2);
  EXPECT_TRUE(view.snapshot()->is_live(2)) << "the others are untouched";

  EXPECT_FALSE(view.fence()) << "already fenced";
  EXPECT_EQ(published, 2);
}

TEST(ClusterViewFence, HoldsAcrossPublishesUntilUnfenced) {
  ClusterView view(self_config());
  view.publish(state_where_self_leads());
  view.fence();
  // The cluster thread, still blocked or not yet at the event, publishes
  // the state it holds, which still has this broker live.
  view.publish(state_where_self_leads());
  EXPECT_FALSE(view.leads("t", 0));
  EXPECT_FALSE(view.snapshot()->is_live(1));
  EXPECT_EQ(view.controller_id(), -1);

  // Joined again with a new session: states count as published.
  view.unfence();
  EXPECT_FALSE(view.leads("t", 0)) << "unfence changes nothing until the next publish";
  view.publish(state_where_self_leads());
  EXPECT_TRUE(view.leads("t", 0));
  EXPECT_EQ(view.controller_id(), 1);
  EXPECT_TRUE(view.fence()) << "a later session can be lost too";
  EXPECT_FALSE(view.leads("t", 0));
}

TEST(ClusterViewFence, TheStatePublishedIsNotChanged) {
  ClusterView view(self_config());
  auto st = state_where_self_leads();
  view.publish(st);
  view.fence();
  view.publish(st);
  EXPECT_TRUE(st->is_live(1)) << "the cluster thread's own state is copied, never edited";
  EXPECT_EQ(st->controller_id, 1);
}

}  // namespace
}  // namespace keel
