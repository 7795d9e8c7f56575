// Coordinator `etcd` where etcd itself misbehaves: a session lost while
// etcd answers nothing, a watch across an etcd restart, nothing listening,
// compacted history; and its keys under the configured prefix. Each test
// has its own etcd (free loopback ports) so that it may stop or restart it.
// The contract both coordinators share is in coordinator_conformance_test.cpp.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>

#include "coordinator/etcd/etcd_client.hpp"
#include "support/coordinator_fixture.hpp"
#include "support/etcd_process.hpp"

namespace {

using keel::test::CoordEventLog;
using keel::test::CoordinatorUnderTest;
using keel::test::EtcdProcess;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

class EtcdCoordinator : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(etcd_.start(), "") << "cannot start etcd for this test"; }

  std::string prefix() const {
    return std::string("/keel-test/") + ::testing::UnitTest::GetInstance()->current_test_info()->name() + "/";
  }
  std::string settings(const std::string& extra = "") const {
    return "endpoints = \"" + etcd_.endpoint() + "\"\nprefix = \"" + prefix() + "\"\n" + extra;
  }
  std::unique_ptr<CoordinatorUnderTest> make(const std::string& extra = "") {
    auto c = std::make_unique<CoordinatorUnderTest>("etcd", settings(extra));
    EXPECT_EQ(c->created().status, KEEL_OK) << c->created().message;
    return c;
  }

  EtcdProcess etcd_;
};

TEST_F(EtcdCoordinator, KeysLiveUnderThePrefixInEtcd) {
  CoordEventLog log;
  const auto c = make();
  const keel::etcd::EtcdClient raw({etcd_.endpoint()});
  const uint64_t w = c->watch("", c->range("", true).revision + 1, log);
  c->put("brokers/1", "one");
  EXPECT_EQ(raw.range(prefix() + "brokers/1").kvs.at(0).value, "one");
  raw.put(prefix() + "topics/t", "from outside");
  raw.put("/keel-test/elsewhere/topics/t", "another namespace");
  const auto r = c->range("", true);
  ASSERT_EQ(r.kvs.size(), 2u);
  EXPECT_EQ(r.kvs[0].key, "brokers/1");
  EXPECT_EQ(r.kvs[1].key, "topics/t");
  ASSERT_TRUE(log.wait_key("topics/t"));
  EXPECT_EQ(log.size(), 2u);
  c->unwatch(w);
}

TEST_F(EtcdCoordinator, RefusesBadSettingsNamingTheKey) {
  const CoordinatorUnderTest no_slash("etcd", "prefix = \"/keel\"");
  EXPECT_EQ(no_slash.created().status, KEEL_ERR_INVALID_ARGUMENT);
  EXPECT_NE(no_slash.created().message.find("prefix"), std::string::npos) << no_slash.created().message;
  const CoordinatorUnderTest bad_endpoint("etcd", "endpoints = \"127.0.0.1:2379, nonsense\"");
  EXPECT_EQ(bad_endpoint.created().status, KEEL_ERR_INVALID_ARGUMENT);
  EXPECT_NE(bad_endpoint.created().message.find("endpoints: \"nonsense\""), std::string::npos)
      << bad_endpoint.created().message;
  const CoordinatorUnderTest bad_timeout("etcd", "request_timeout_ms = -1");
  EXPECT_EQ(bad_timeout.created().status, KEEL_ERR_INVALID_ARGUMENT);
  EXPECT_NE(bad_timeout.created().message.find("request_timeout_ms"), std::string::npos);
}

TEST_F(EtcdCoordinator, SessionTtlIsRoundedUpToWholeSeconds) {
  const auto c = make("session_ttl_ms = 2500");
  const auto s = c->open_session();
  ASSERT_EQ(s.status, KEEL_OK) << s.message;
  EXPECT_EQ(s.ttl_ms, 3000);
}

TEST_F(EtcdCoordinator, UnavailableNamingTheEndpointWhenNothingListens) {
  const std::string closed = "127.0.0.1:" + std::to_string(keel::test::free_loopback_port());
  // create does not connect: it succeeds with nothing there.
  CoordinatorUnderTest c("etcd", "endpoints = \"" + closed + "\"\nrequest_timeout_ms = 500");
  ASSERT_EQ(c.created().status, KEEL_OK) << c.created().message;

  const auto r = c.range("brokers/", true);
  EXPECT_EQ(r.status, KEEL_ERR_UNAVAILABLE);
  EXPECT_NE(r.message.find("etcd at " + closed + ": range_prefix on /keel/brokers/: connection refused"),
            std::string::npos)
      << r.message;
  EXPECT_NE(r.message.find("the broker retries: check that etcd is up and reachable at " + closed),
            std::string::npos)
      << r.message;
  const auto t = c.txn({}, {keel::test::put_op("k", "v")});
  EXPECT_EQ(t.status, KEEL_ERR_UNAVAILABLE);
  EXPECT_NE(t.message.find(closed), std::string::npos) << t.message;
  const auto s = c.open_session();
  EXPECT_EQ(s.status, KEEL_ERR_UNAVAILABLE);
  EXPECT_NE(s.message.find(closed), std::string::npos) << s.message;

  // A watch is retried in the background; it can still be ended at once.
  CoordEventLog log;
  const uint64_t w = c.watch("", 0, log);
  const auto before = Clock::now();
  c.unwatch(w);
  c.destroy();
  EXPECT_LT(Clock::now() - before, std::chrono::seconds(3));
  EXPECT_EQ(log.size(), 0u);
}

TEST_F(EtcdCoordinator, SessionLostWhenEtcdAnswersNothingForLongerThanTheTtl) {
  CoordEventLog one;
  CoordEventLog two;
  const auto c = make("session_ttl_ms = 1000\nrequest_timeout_ms = 300");
  const auto s = c->open_session();
  ASSERT_EQ(s.status, KEEL_OK) << s.message;
  c->watch("a/", 0, one);
  c->watch("b/", 0, two);

  etcd_.pause();
  const auto paused = Clock::now();
  const bool lost = one.wait_type(KEEL_COORD_EVENT_SESSION_LOST, milliseconds(s.ttl_ms + 5000)) &&
                    two.wait_type(KEEL_COORD_EVENT_SESSION_LOST, milliseconds(5000));
  const auto after = Clock::now() - paused;
  etcd_.resume();
  ASSERT_TRUE(lost) << "no SESSION_LOST " << s.ttl_ms << " ms after etcd stopped answering";
  // Not before the lease may have expired: the last renewal was at most a
  // third of the TTL before the pause.
  EXPECT_GE(after, milliseconds(s.ttl_ms * 2 / 3));
  for (const auto& e : one.events()) {
    EXPECT_EQ(e.type, KEEL_COORD_EVENT_SESSION_LOST);
    EXPECT_FALSE(e.has_kv);
  }
  EXPECT_EQ(one.size(), 1u) << "SESSION_LOST once, then the keeper renews no more";

  // The broker opens a new session, which works once etcd answers again.
  const auto again = c->open_session();
  ASSERT_EQ(again.status, KEEL_OK) << again.message;
  EXPECT_NE(again.id, s.id);
  EXPECT_GT(c->put("brokers/1", "back", true), 0);
}

// The keeper counts the TTL from when its last successful renewal was sent
// (here the grant, just before the pause) and declares the session lost the
// moment it runs out: not a retry interval (250 ms) later, when etcd may have
// expired the lease and another broker taken over what this one leads.
TEST_F(EtcdCoordinator, SessionLostWhenItsTtlRunsOutNotAtTheNextRetry) {
  CoordEventLog log;
  const auto c = make("session_ttl_ms = 3000\nrequest_timeout_ms = 5000");
  const auto granted = Clock::now();
  const auto s = c->open_session();
  ASSERT_EQ(s.status, KEEL_OK) << s.message;
  c->watch("a/", 0, log);
  etcd_.pause();
  const bool lost = log.wait_type(KEEL_COORD_EVENT_SESSION_LOST, milliseconds(s.ttl_ms + 5000));
  const auto after = Clock::now() - granted;
  etcd_.resume();
  ASSERT_TRUE(lost) << "no SESSION_LOST " << s.ttl_ms << " ms after etcd stopped answering";
  std::printf("SESSION_LOST %lld ms after the grant (TTL %lld ms)\n",
              static_cast<long long>(std::chrono::duration_cast<milliseconds>(after).count()),
              static_cast<long long>(s.ttl_ms));
  EXPECT_GE(after, milliseconds(s.ttl_ms)) << "lost before its TTL ran out";
  // A renewal attempt ends with the TTL (its timeout is the time left); the
  // old keeper then slept its 250 ms retry interval before declaring it.
  EXPECT_LT(after, milliseconds(s.ttl_ms + 150)) << "declared lost well after its TTL ran out";
}

TEST_F(EtcdCoordinator, WatchResumesAcrossAnEtcdRestartWithoutLosingOrRepeatingEvents) {
  CoordEventLog log;
  const auto c = make("request_timeout_ms = 1000");
  const int64_t first = c->put("r/0", "before");
  c->watch("r/", first, log);
  ASSERT_TRUE(log.wait_key("r/0"));

  ASSERT_EQ(etcd_.restart(), "");
  // Written while the watch is reconnecting (its back-off has grown while
  // etcd was down): it must resume from the revision after r/0.
  c->put("r/1", "while away");
  c->put("r/2", "after");
  ASSERT_TRUE(log.wait_key("r/2", std::chrono::seconds(20))) << "events: " << log.size();
  const auto events = log.events();
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].kv.key, "r/0");
  EXPECT_EQ(events[1].kv.key, "r/1");
  EXPECT_EQ(events[1].kv.value, "while away");
  EXPECT_EQ(events[2].kv.key, "r/2");
  EXPECT_LT(events[0].revision, events[1].revision);
  EXPECT_LT(events[1].revision, events[2].revision);
}

TEST_F(EtcdCoordinator, ResyncWhenTheHistoryWasCompacted) {
  CoordEventLog old_log;
  CoordEventLog new_log;
  const auto c = make();
  const int64_t first = c->put("k", "1");
  c->put("k", "2");
  const int64_t last = c->put("k", "3");
  keel::etcd::EtcdClient({etcd_.endpoint()}).compact(last);

  c->watch("", first, old_log);
  ASSERT_TRUE(old_log.wait_type(KEEL_COORD_EVENT_RESYNC));
  const auto events = old_log.events();
  ASSERT_EQ(events.size(), 1u) << "no event from a compacted history, nothing after RESYNC";
  EXPECT_FALSE(events[0].has_kv);

  c->watch("", last, new_log);
  ASSERT_TRUE(new_log.wait_key("k"));
  EXPECT_EQ(new_log.events().at(0).kv.value, "3");
}

}  // namespace
