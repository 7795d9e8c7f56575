// etcd watches against a real etcd: events in order from a start revision
// (history included), compaction reported as a resync, a prompt stop, and a
// dropped connection reported with the endpoint.
#include "coordinator/etcd/etcd_watch.hpp"

#include <gtest/gtest.h>

#include <future>

#include "support/etcd_fixture.hpp"
#include "support/watch_collector.hpp"

namespace {

using keel::etcd::EtcdClient;
using keel::etcd::Watch;
using keel::etcd::WatchEvent;
using keel::etcd::WatchOptions;
using keel::etcd::WatchUpdate;
using keel::test::EtcdTest;
using keel::test::WatchCollector;

TEST_F(EtcdTest, WatchDeliversHistoryThenLiveEventsInOrder) {
  const auto c = client();
  const int64_t first = c.put(key("a"), "1").revision;  // before the watch
  c.put(key("b"), "2");
  c.delete_key(key("a"));
  c.put("/keel-test/elsewhere", "not watched");

  WatchCollector seen;
  Watch watch(c, WatchOptions::prefix(prefix_, first), seen.callback());
  ASSERT_TRUE(seen.wait_kind(WatchUpdate::Kind::Created));
  const int64_t live = c.put(key("c"), "3").revision;  // after it
  c.delete_prefix(prefix_);

  ASSERT_TRUE(seen.wait_for([&](const std::vector<WatchUpdate>& us) {
    size_t n = 0;
    for (const auto& u : us) n += u.events.size();
    return n >= 6;
  })) << "events seen: "
      << seen.events().size();
  const auto events = seen.events();
  ASSERT_EQ(events.size(), 6u);
  const std::vector<std::pair<WatchEvent::Type, std::string>> expected = {
      {WatchEvent::Type::Put, key("a")},    {WatchEvent::Type::Put, key("b")},
      {WatchEvent::Type::Delete, key("a")}, {WatchEvent::Type::Put, key("c")},
      {WatchEvent::Type::Delete, key("b")}, {WatchEvent::Type::Delete, key("c")}};
  for (size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ(events[i].type, expected[i].first) << i;
    EXPECT_EQ(events[i].kv.key, expected[i].second) << i;
    if (i > 0) {
      EXPECT_GE(events[i].kv.mod_revision, events[i - 1].kv.mod_revision) << i;
    }
  }
  EXPECT_EQ(events[0].kv.mod_revision, first);
  EXPECT_EQ(events[0].kv.value, "1");
  EXPECT_EQ(events[3].kv.mod_revision, live);
  EXPECT_EQ(watch.last_revision(), events.back().kv.mod_revision);
}

TEST_F(EtcdTest, WatchDeliversPreviousValues) {
  const auto c = client();
  const int64_t first = c.put(key("k"), "old").revision;
  c.put(key("k"), "new");
  WatchCollector seen;
  Watch watch(c, WatchOptions{key("k"), {}, first, true}, seen.callback());
  ASSERT_TRUE(seen.wait_for([](const auto& us) {
    size_t n = 0;
    for (const auto& u : us) n += u.events.size();
    return n >= 2;
  }));
  const auto events = seen.events();
  EXPECT_FALSE(events[0].prev_kv.has_value());
  ASSERT_TRUE(events[1].prev_kv.has_value());
  EXPECT_EQ(events[1].prev_kv->value, "old");
  EXPECT_EQ(events[1].kv.value, "new");
}

TEST_F(EtcdTest, WatchFromCompactedRevisionAsksForResync) {
  const auto c = client();
  const int64_t first = c.put(key("k"), "1").revision;
  c.put(key("k"), "2");
  const int64_t compacted = c.put(key("k"), "3").revision;
  c.compact(compacted);

  WatchCollector seen;
  Watch watch(c, WatchOptions{key("k"), {}, first, false}, seen.callback());
  ASSERT_TRUE(seen.wait_kind(WatchUpdate::Kind::Resync));
  for (const auto& u : seen.updates()) {
    if (u.kind == WatchUpdate::Kind::Resync) {
      EXPECT_EQ(u.compact_revision, compacted);
    }
    EXPECT_TRUE(u.events.empty()) << "no events from a compacted history";
  }
  // From the compaction point on, history is there again.
  WatchCollector again;
  Watch resumed(c, WatchOptions{key("k"), {}, compacted, false}, again.callback());
  ASSERT_TRUE(again.wait_kind(WatchUpdate::Kind::Events));
  EXPECT_EQ(again.events().at(0).kv.value, "3");
}

TEST_F(EtcdTest, WatchStopsPromptlyFromAnotherThread) {
  const auto c = client();
  WatchCollector seen;
  auto watch = std::make_unique<Watch>(c, WatchOptions{key("quiet"), {}, 0, false}, seen.callback());
  ASSERT_TRUE(seen.wait_kind(WatchUpdate::Kind::Created));
  // The stream is idle: stop must not wait for etcd to send anything.
  auto stopped = std::async(std::launch::async, [&] { watch->stop(); });
  ASSERT_EQ(stopped.wait_for(std::chrono::seconds(10)), std::future_status::ready) << "Watch::stop hung";
  for (const auto& u : seen.updates()) EXPECT_NE(u.kind, WatchUpdate::Kind::Error) << u.message;
  watch.reset();  // stopping twice is fine
}

TEST(EtcdWatchDown, ReportsAnUnreachableEtcd) {
  const std::string closed = "127.0.0.1:" + std::to_string(keel::test::free_loopback_port());
  WatchCollector seen;
  Watch watch(EtcdClient({closed}), WatchOptions{"/k", {}, 0, false}, seen.callback());
  ASSERT_TRUE(seen.wait_kind(WatchUpdate::Kind::Error));
  const auto u = seen.updates().back();
  EXPECT_NE(u.message.find("etcd at " + closed + ": watch on /k: connection refused"), std::string::npos)
      << u.message;
}

TEST(EtcdWatchDown, ReportsADroppedConnectionNamingTheEndpoint) {
  keel::test::EtcdProcess etcd;
  ASSERT_EQ(etcd.start(), "");
  WatchCollector seen;
  Watch watch(EtcdClient({etcd.endpoint()}), WatchOptions{"/k", {}, 0, false}, seen.callback());
  ASSERT_TRUE(seen.wait_kind(WatchUpdate::Kind::Created));
  etcd.kill();
  ASSERT_TRUE(seen.wait_kind(WatchUpdate::Kind::Error));
  const auto u = seen.updates().back();
  EXPECT_EQ(u.kind, WatchUpdate::Kind::Error);
  EXPECT_NE(u.message.find("etcd at " + etcd.endpoint() + ": watch on /k"), std::string::npos) << u.message;
}

}  // namespace
