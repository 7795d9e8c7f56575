// Coordinator `standalone` beyond the shared contract
// (coordinator_conformance_test.cpp): a watch from a revision older than its
// kept history gets RESYNC, driven on the class itself with a tiny history.
#include "coordinator/standalone/standalone_coordinator.hpp"

#include <gtest/gtest.h>

#include <string>

#include "support/coordinator_fixture.hpp"

namespace {

using keel::coordinator::StandaloneCoordinator;
using keel::coordinator::StandaloneSettings;
using keel::test::CoordEventLog;

int64_t put(StandaloneCoordinator& c, const std::string& key) {
  const auto r = c.txn({}, {keel::test::put_op(key, "v")});
  EXPECT_TRUE(r.succeeded);
  return r.revision;
}

TEST(StandaloneCoordinator, WatchOlderThanTheKeptHistoryGetsResync) {
  CoordEventLog gone;
  CoordEventLog kept;
  StandaloneSettings settings;
  settings.history_limit = 3;
  StandaloneCoordinator c(settings);
  const int64_t first = put(c, "k/1");
  for (int i = 2; i <= 6; ++i) put(c, "k/" + std::to_string(i));
  const int64_t last = c.range("", true).revision;
  ASSERT_EQ(last, first + 5);

  c.watch("k/", first, &CoordEventLog::callback, &gone);
  ASSERT_TRUE(gone.wait_type(KEEL_COORD_EVENT_RESYNC));
  c.watch("k/", last - 2, &CoordEventLog::callback, &kept);  // the last three are kept
  put(c, "k/7");
  ASSERT_TRUE(kept.wait_key("k/7"));

  const auto resync = gone.events();
  ASSERT_EQ(resync.size(), 1u) << "nothing after RESYNC";
  EXPECT_FALSE(resync[0].has_kv);
  EXPECT_EQ(resync[0].revision, last);
  const auto replay = kept.events();
  ASSERT_EQ(replay.size(), 4u);
  EXPECT_EQ(replay[0].kv.key, "k/4");
  EXPECT_EQ(replay[3].kv.key, "k/7");
}

TEST(StandaloneCoordinator, WatchFromNowStartsAfterTheCurrentRevision) {
  CoordEventLog log;
  StandaloneCoordinator c(StandaloneSettings{});
  put(c, "old");
  c.watch("", 0, &CoordEventLog::callback, &log);
  put(c, "new");
  ASSERT_TRUE(log.wait_key("new"));
  EXPECT_EQ(log.size(), 1u);
}

}  // namespace
