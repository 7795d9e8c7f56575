// One contract, two coordinators: the built-in `standalone` (in memory) and
// `etcd` (against a real etcd on free loopback ports), each loaded from its
// built .so through its descriptor and driven through the C ABI as the
// broker drives it. Every test runs against both; etcd-only behaviour
// (sessions lost, restarts, compaction) is in etcd_coordinator_test.cpp.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "support/coordinator_fixture.hpp"
#include "support/etcd_process.hpp"

namespace {

using keel::test::CoordEventLog;
using keel::test::CoordinatorUnderTest;
using keel::test::created_at;
using keel::test::delete_op;
using keel::test::EtcdProcess;
using keel::test::mod_is;
using keel::test::put_op;
using Event = CoordEventLog::Event;

class CoordinatorConformance : public ::testing::TestWithParam<std::string> {
 protected:
  static void TearDownTestSuite() { etcd_.reset(); }

  void SetUp() override {
    if (!is_etcd()) return;
    // One etcd for the suite's etcd tests (ctest runs each test in its own
    // process); each test has its own key prefix.
    if (!etcd_) {
      etcd_ = std::make_unique<EtcdProcess>();
      etcd_error_ = etcd_->start();
    }
    ASSERT_EQ(etcd_error_, "") << "cannot start etcd for this test";
  }

  bool is_etcd() const { return GetParam() == "etcd"; }

  // The instance's settings: for etcd, this test's etcd and prefix.
  std::string settings(const std::string& extra = "") const {
    if (!is_etcd()) return extra;
    std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::replace(name.begin(), name.end(), '/', '-');
    return "endpoints = \"" + etcd_->endpoint() + "\"\nprefix = \"/keel-test/" + name + "/\"\n" + extra;
  }

  std::unique_ptr<CoordinatorUnderTest> make(const std::string& extra = "") {
    auto c = std::make_unique<CoordinatorUnderTest>(GetParam(), settings(extra));
    EXPECT_EQ(c->created().status, KEEL_OK) << c->created().message;
    return c;
  }

 private:
  static inline std::unique_ptr<EtcdProcess> etcd_;
  static inline std::string etcd_error_;
};

std::vector<std::string> keys_of(const std::vector<keel::test::CoordKv>& kvs) {
  std::vector<std::string> keys;
  for (const auto& kv : kvs) keys.push_back(kv.key);
  return keys;
}

TEST_P(CoordinatorConformance, DescriptorAndSettings) {
  const auto c =
      make(is_etcd() ? "session_ttl_ms = 5000\nrequest_timeout_ms = 1500" : "session_ttl_ms = 5000");
  ASSERT_EQ(c->created().status, KEEL_OK);
  EXPECT_EQ(c->descriptor()->abi_major, KEEL_ABI_MAJOR);
  EXPECT_EQ(c->descriptor()->abi_minor, KEEL_ABI_MINOR);
  // Every key it supports was read (unread keys are reported as unknown).
  EXPECT_TRUE(c->config_problems().empty()) << c->config_problems().front();
  const auto s = c->open_session();
  ASSERT_EQ(s.status, KEEL_OK) << s.message;
  EXPECT_GT(s.id, 0);
  EXPECT_EQ(s.ttl_ms, 5000);

  const CoordinatorUnderTest bad(GetParam(), settings("session_ttl_ms = 0"));
  EXPECT_EQ(bad.created().status, KEEL_ERR_INVALID_ARGUMENT);
  EXPECT_NE(bad.created().message.find("session_ttl_ms"), std::string::npos) << bad.created().message;
}

TEST_P(CoordinatorConformance, RangeIsSortedByKeyAndGivesTheStoreRevision) {
  const auto c = make();
  if (!is_etcd()) {
    EXPECT_EQ(c->range("", true).revision, 1) << "a new standalone store is at revision 1";
  }
  std::vector<int64_t> revisions;
  for (const auto& [key, value] : std::vector<std::pair<std::string, std::string>>{
           {"b/2", "two"}, {"a/1", "x"}, {"b/1", "one"}, {"b/3", "three"}, {"c/1", "y"}}) {
    revisions.push_back(c->put(key, value));
  }
  for (size_t i = 1; i < revisions.size(); ++i) {
    EXPECT_EQ(revisions[i], revisions[i - 1] + 1) << "one revision per transaction";
  }
  const int64_t last = revisions.back();

  const auto r = c->range("b/", true);
  ASSERT_EQ(r.status, KEEL_OK) << r.message;
  EXPECT_EQ(r.revision, last);
  EXPECT_EQ(keys_of(r.kvs), (std::vector<std::string>{"b/1", "b/2", "b/3"}));
  ASSERT_EQ(r.kvs.size(), 3u);
  EXPECT_EQ(r.kvs[0].value, "one");
  EXPECT_EQ(r.kvs[0].create_revision, revisions[2]);
  EXPECT_EQ(r.kvs[0].mod_revision, revisions[2]);
  EXPECT_EQ(r.kvs[1].value, "two");
  EXPECT_EQ(r.kvs[1].create_revision, revisions[0]);

  const auto all = c->range("", true);
  EXPECT_EQ(keys_of(all.kvs), (std::vector<std::string>{"a/1", "b/1", "b/2", "b/3", "c/1"}));

  const auto one = c->range("b/2", false);
  ASSERT_EQ(one.kvs.size(), 1u);
  EXPECT_EQ(one.kvs[0].value, "two");
  EXPECT_EQ(one.revision, last);
  EXPECT_TRUE(c->range("b/", false).kvs.empty()) << "without prefix, only the exact key";
  const auto absent = c->range("zzz", false);
  EXPECT_EQ(absent.status, KEEL_OK);
  EXPECT_TRUE(absent.kvs.empty());
  EXPECT_EQ(absent.revision, last);
}

TEST_P(CoordinatorConformance, TxnComparesCreateAndModRevisionsWithZeroForAbsent) {
  const auto c = make();
  // Create if absent: once.
  const auto created = c->txn({created_at("k", 0)}, {put_op("k", "v1")});
  ASSERT_EQ(created.status, KEEL_OK) << created.message;
  ASSERT_TRUE(created.succeeded);
  const int64_t rev1 = created.revision;
  const auto again = c->txn({created_at("k", 0)}, {put_op("k", "other")});
  ASSERT_EQ(again.status, KEEL_OK) << again.message;
  EXPECT_FALSE(again.succeeded);
  EXPECT_EQ(again.revision, rev1) << "a failed txn changes nothing and reports the current revision";
  EXPECT_EQ(c->range("k", false).kvs.at(0).value, "v1");

  // An absent key's mod_revision is 0 too.
  EXPECT_TRUE(c->txn({mod_is("absent", 0)}, {put_op("side", "x")}).succeeded);
  EXPECT_FALSE(c->txn({mod_is("k", 0)}, {put_op("side", "y")}).succeeded);

  // Fenced on mod_revision: the stale writer loses.
  const auto update = c->txn({mod_is("k", rev1)}, {put_op("k", "v2")});
  ASSERT_TRUE(update.succeeded) << update.message;
  const auto stale = c->txn({mod_is("k", rev1)}, {put_op("k", "v3")});
  EXPECT_EQ(stale.status, KEEL_OK);
  EXPECT_FALSE(stale.succeeded);

  // create_revision stays while the key lives (an epoch).
  const auto epoch = c->txn({created_at("k", rev1)}, {put_op("k", "v4")});
  ASSERT_TRUE(epoch.succeeded);
  const auto kv = c->range("k", false).kvs.at(0);
  EXPECT_EQ(kv.value, "v4");
  EXPECT_EQ(kv.create_revision, rev1);
  EXPECT_EQ(kv.mod_revision, epoch.revision);

  // ... and changes when it is deleted and created again.
  c->del("k");
  const auto reborn = c->txn({created_at("k", 0)}, {put_op("k", "v5")});
  ASSERT_TRUE(reborn.succeeded);
  EXPECT_EQ(c->range("k", false).kvs.at(0).create_revision, reborn.revision);
  EXPECT_FALSE(c->txn({created_at("k", rev1)}, {put_op("k", "v6")}).succeeded);
}

TEST_P(CoordinatorConformance, TxnAppliesEverythingAtOneRevisionOrNothing) {
  const auto c = make();
  const int64_t base = c->put("x", "0");

  // One compare fails: none of the ops applies.
  const auto failed =
      c->txn({mod_is("x", base), mod_is("y", base)}, {put_op("a", "1"), put_op("b", "2"), delete_op("x")});
  ASSERT_EQ(failed.status, KEEL_OK) << failed.message;
  EXPECT_FALSE(failed.succeeded);
  EXPECT_EQ(keys_of(c->range("", true).kvs), (std::vector<std::string>{"x"}));

  // Every compare holds: every op applies, all at one new revision.
  const auto done =
      c->txn({mod_is("x", base), mod_is("y", 0)}, {put_op("a", "1"), put_op("b", "2"), delete_op("x")});
  ASSERT_TRUE(done.succeeded) << done.message;
  EXPECT_EQ(done.revision, base + 1);
  const auto r = c->range("", true);
  EXPECT_EQ(keys_of(r.kvs), (std::vector<std::string>{"a", "b"}));
  for (const auto& kv : r.kvs) EXPECT_EQ(kv.mod_revision, done.revision) << kv.key;

  // A transaction that changes nothing does not move the revision.
  const auto noop = c->txn({}, {delete_op("never-there")});
  EXPECT_TRUE(noop.succeeded);
  EXPECT_EQ(noop.revision, done.revision);

  // A key written twice in one transaction is refused, as etcd refuses it.
  const auto twice = c->txn({}, {put_op("a", "3"), put_op("a", "4")});
  EXPECT_EQ(twice.status, KEEL_ERR_INVALID_ARGUMENT) << twice.message;
  EXPECT_EQ(c->range("a", false).kvs.at(0).value, "1");
}

TEST_P(CoordinatorConformance, SessionBoundPutNeedsASession) {
  const auto c = make();
  const auto t = c->txn({}, {put_op("brokers/1", "me", true)});
  EXPECT_EQ(t.status, KEEL_ERR_UNAVAILABLE);
  EXPECT_NE(t.message.find("open_session"), std::string::npos) << t.message;
  EXPECT_TRUE(c->range("brokers/1", false).kvs.empty());
}

TEST_P(CoordinatorConformance, SessionBoundKeysVanishWhenTheSessionEnds) {
  CoordEventLog log;
  const auto c = make();
  const auto first = c->open_session();
  ASSERT_EQ(first.status, KEEL_OK) << first.message;
  EXPECT_GT(first.id, 0);
  EXPECT_GE(first.ttl_ms, 6000) << "default session_ttl_ms";
  const int64_t start = c->range("", true).revision + 1;
  const uint64_t w = c->watch("", start, log);
  const int64_t bound = c->put("brokers/1", "me", true);
  c->put("plain", "stays");

  const auto second = c->open_session();
  ASSERT_EQ(second.status, KEEL_OK) << second.message;
  EXPECT_NE(second.id, first.id);
  EXPECT_TRUE(c->range("brokers/1", false).kvs.empty()) << "ended with the first session";
  EXPECT_EQ(c->range("plain", false).kvs.size(), 1u);

  ASSERT_TRUE(log.wait_count(3));
  const auto e = log.events().at(2);
  EXPECT_EQ(e.type, KEEL_COORD_EVENT_DELETE);
  ASSERT_TRUE(e.has_kv);
  EXPECT_EQ(e.kv.key, "brokers/1");
  EXPECT_TRUE(e.null_value) << "a DELETE carries no value";
  EXPECT_GT(e.revision, bound);
  EXPECT_EQ(e.kv.mod_revision, e.revision);

  // Bound to the second session now, and gone with it too.
  c->put("brokers/1", "me again", true);
  ASSERT_EQ(c->open_session().status, KEEL_OK);
  EXPECT_TRUE(c->range("brokers/1", false).kvs.empty());
  c->unwatch(w);
}

TEST_P(CoordinatorConformance, WatchReplaysFromAPastRevisionThenFollowsInOrder) {
  CoordEventLog log;
  const auto c = make();
  const int64_t first = c->put("w/a", "1");
  c->put("w/b", "2");
  c->del("w/a");
  c->put("elsewhere", "not watched");

  const uint64_t w = c->watch("w/", first, log);
  const int64_t live = c->put("w/c", "3");
  const auto multi = c->txn({}, {put_op("w/d", "4"), delete_op("w/b")});
  ASSERT_TRUE(multi.succeeded) << multi.message;

  ASSERT_TRUE(log.wait_count(6)) << "events: " << log.size();
  const auto events = log.events();
  ASSERT_EQ(events.size(), 6u);
  const std::vector<std::pair<int32_t, std::string>> expected = {
      {KEEL_COORD_EVENT_PUT, "w/a"}, {KEEL_COORD_EVENT_PUT, "w/b"}, {KEEL_COORD_EVENT_DELETE, "w/a"},
      {KEEL_COORD_EVENT_PUT, "w/c"}, {KEEL_COORD_EVENT_PUT, "w/d"}, {KEEL_COORD_EVENT_DELETE, "w/b"}};
  for (size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ(events[i].type, expected[i].first) << i;
    ASSERT_TRUE(events[i].has_kv) << i;
    EXPECT_EQ(events[i].kv.key, expected[i].second) << i;
    EXPECT_EQ(events[i].kv.mod_revision, events[i].revision) << i;
    if (i > 0) {
      EXPECT_GE(events[i].revision, events[i - 1].revision) << i;
    }
    EXPECT_NE(events[i].thread, std::this_thread::get_id()) << "callbacks run on the coordinator's thread";
  }
  EXPECT_EQ(events[0].revision, first);
  EXPECT_EQ(events[0].kv.value, "1");
  EXPECT_EQ(events[0].kv.create_revision, first);
  EXPECT_FALSE(events[0].null_value);
  EXPECT_TRUE(events[2].null_value);
  EXPECT_EQ(events[3].revision, live);
  EXPECT_EQ(events[3].kv.value, "3");
  EXPECT_EQ(events[4].revision, multi.revision);
  EXPECT_EQ(events[5].revision, multi.revision) << "one txn, one revision";
  EXPECT_FALSE(log.overlapped());
  c->unwatch(w);
}

TEST_P(CoordinatorConformance, WatchSeesOnlyItsPrefix) {
  CoordEventLog log;
  const auto c = make();
  const uint64_t w = c->watch("p/", c->range("", true).revision + 1, log);
  c->put("p/1", "in");
  c->put("q/1", "out");
  c->put("p", "out: not under p/");
  c->put("pp/1", "out");
  c->put("p/2", "in");
  ASSERT_TRUE(log.wait_key("p/2"));
  const auto events = log.events();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].kv.key, "p/1");
  EXPECT_EQ(events[1].kv.key, "p/2");
  c->unwatch(w);
}

TEST_P(CoordinatorConformance, WatchFromAFutureRevisionSkipsWhatComesBefore) {
  CoordEventLog log;
  const auto c = make();
  const int64_t now = c->range("", true).revision;
  const uint64_t w = c->watch("f/", now + 3, log);
  c->put("f/1", "before");
  c->put("f/2", "before");
  const int64_t third = c->put("f/3", "from here");
  ASSERT_EQ(third, now + 3);
  ASSERT_TRUE(log.wait_key("f/3"));
  const auto events = log.events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].revision, third);
  c->unwatch(w);
}

TEST_P(CoordinatorConformance, UnwatchFromInsideTheCallbackStopsAtOnce) {
  CoordEventLog log;
  CoordEventLog barrier;
  const auto c = make();
  std::atomic<uint64_t> id{0};
  log.hook = [&](const Event&) { c->unwatch(id.load()); };
  const int64_t from = c->range("", true).revision + 1;
  id = c->watch("u/", from, log);
  const uint64_t b = c->watch("u/", from, barrier);
  // One txn: its three events reach the watch together; the callback stops
  // the watch at the first.
  ASSERT_TRUE(c->txn({}, {put_op("u/1", "1"), put_op("u/2", "2"), put_op("u/3", "3")}).succeeded);
  c->put("u/4", "4");
  ASSERT_TRUE(barrier.wait_key("u/4"));
  ASSERT_TRUE(log.wait_count(1));
  EXPECT_EQ(log.size(), 1u) << "the callback ran again after unwatch from inside it";
  c->unwatch(b);
}

TEST_P(CoordinatorConformance, UnwatchWaitsForARunningCallbackAndEndsDeliveries) {
  CoordEventLog log;
  CoordEventLog barrier;
  const auto c = make();
  std::promise<void> entered;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<bool> finished{false};
  log.hook = [&](const Event& e) {
    if (e.kv.key != "v/1") return;
    entered.set_value();
    released.wait_for(std::chrono::seconds(10));
    finished = true;
  };
  const int64_t from = c->range("", true).revision + 1;
  const uint64_t w = c->watch("v/", from, log);
  const uint64_t b = c->watch("v/", from, barrier);
  c->put("v/1", "1");
  ASSERT_EQ(entered.get_future().wait_for(std::chrono::seconds(10)), std::future_status::ready);

  std::atomic<bool> finished_when_unwatched{false};
  auto unwatched = std::async(std::launch::async, [&] {
    c->unwatch(w);
    finished_when_unwatched = finished.load();
  });
  // unwatch must wait for the running callback: it cannot return yet.
  EXPECT_EQ(unwatched.wait_for(std::chrono::milliseconds(200)), std::future_status::timeout);
  release.set_value();
  ASSERT_EQ(unwatched.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_TRUE(finished_when_unwatched) << "unwatch returned while the callback was still running";

  c->put("v/2", "2");
  ASSERT_TRUE(barrier.wait_key("v/2"));
  EXPECT_EQ(log.size(), 1u) << "a callback after unwatch returned";
  c->unwatch(b);
}

TEST_P(CoordinatorConformance, TwoInstancesShareOneStore) {
  if (!is_etcd()) {
    GTEST_SKIP() << "standalone keeps its store inside the instance: two instances are two stores, "
                    "which is why it serves one broker only";
  }
  CoordEventLog seen_by_a;
  const auto a = make();
  auto b = make();
  ASSERT_EQ(a->open_session().status, KEEL_OK);
  ASSERT_EQ(b->open_session().status, KEEL_OK);
  const uint64_t w = a->watch("", a->range("", true).revision + 1, seen_by_a);

  // One controller: the first to create the key wins, the other is fenced.
  const auto won = a->txn({created_at("controller", 0)}, {put_op("controller", "a", true)});
  ASSERT_TRUE(won.succeeded) << won.message;
  const auto lost = b->txn({created_at("controller", 0)}, {put_op("controller", "b", true)});
  ASSERT_EQ(lost.status, KEEL_OK) << lost.message;
  EXPECT_FALSE(lost.succeeded);
  const auto seen = b->range("controller", false);
  ASSERT_EQ(seen.kvs.size(), 1u);
  EXPECT_EQ(seen.kvs[0].value, "a");
  EXPECT_EQ(seen.kvs[0].create_revision, won.revision);

  // b's session-bound key vanishes at once when b is destroyed.
  const int64_t registered = b->put("brokers/2", "b", true);
  EXPECT_EQ(a->range("brokers/2", false).kvs.size(), 1u);
  b->destroy();
  EXPECT_TRUE(a->range("brokers/2", false).kvs.empty()) << "destroy revokes the session";
  ASSERT_TRUE(seen_by_a.wait_for([&](const auto& es) {
    return std::any_of(es.begin(), es.end(), [&](const Event& e) {
      return e.type == KEEL_COORD_EVENT_DELETE && e.kv.key == "brokers/2" && e.revision > registered;
    });
  }));
  EXPECT_EQ(a->range("controller", false).kvs.size(), 1u) << "a's session is untouched";
  a->unwatch(w);
}

INSTANTIATE_TEST_SUITE_P(BuiltIn, CoordinatorConformance, ::testing::Values("standalone", "etcd"),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

}  // namespace
