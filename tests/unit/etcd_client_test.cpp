// The etcd client against a real etcd (tests/support/etcd_process.hpp):
// reads and writes, the compare-and-swap transactions the cluster fences its
// writes with, leases, endpoint failover and the errors an operator sees.
#include "coordinator/etcd/etcd_client.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <memory>
#include <thread>

#include "coordinator/etcd/etcd_watch.hpp"
#include "support/etcd_fixture.hpp"
#include "support/watch_collector.hpp"

namespace {

using keel::etcd::Compare;
using keel::etcd::EtcdClient;
using keel::etcd::EtcdError;
using keel::etcd::Op;
using keel::etcd::WatchEvent;
using keel::etcd::WatchUpdate;
using keel::test::EtcdTest;
using Result = keel::etcd::Compare::Result;

// etcdctl's view of a key, to cross-check the client with etcd's own tool.
std::string etcdctl_get(const std::string& endpoint, const std::string& key) {
  const std::string etcdctl = keel::test::find_on_path("etcdctl");
  if (etcdctl.empty()) return "<etcdctl not installed: run scripts/install-deps.sh (etcd-client)>";
  const std::string cmd =
      "ETCDCTL_API=3 " + etcdctl + " --endpoints=" + endpoint + " get --print-value-only '" + key + "'";
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(::popen(cmd.c_str(), "r"), ::pclose);
  std::string out;
  std::array<char, 256> buf;
  while (pipe && std::fgets(buf.data(), buf.size(), pipe.get())) out += buf.data();
  if (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

TEST_F(EtcdTest, PutRangeAndPrefixRoundTripBytes) {
  const auto c = client();
  const std::string binary("\x00\xff\x01 bytes\n", 9);
  const auto put = c.put(key("a"), binary);
  EXPECT_GT(put.revision, 0);
  c.put(key("b"), "2");
  c.put(key("c/d"), "3");
  c.put(prefix_ + "\xff", "top byte");  // prefix_range_end must still cover it
  c.put("/keel-test/other", "outside");

  const auto one = c.range(key("a"));
  ASSERT_EQ(one.kvs.size(), 1u);
  EXPECT_EQ(one.kvs[0].key, key("a"));
  EXPECT_EQ(one.kvs[0].value, binary);
  EXPECT_EQ(one.kvs[0].create_revision, put.revision);
  EXPECT_EQ(one.kvs[0].mod_revision, put.revision);
  EXPECT_EQ(one.kvs[0].version, 1);
  EXPECT_EQ(one.kvs[0].lease, 0);
  EXPECT_GE(one.revision, put.revision + 3);

  const auto all = c.range_prefix(prefix_);
  ASSERT_EQ(all.kvs.size(), 4u);
  EXPECT_EQ(all.kvs[0].key, key("a"));
  EXPECT_EQ(all.kvs[1].key, key("b"));
  EXPECT_EQ(all.kvs[2].key, key("c/d"));
  EXPECT_EQ(all.kvs[3].key, prefix_ + "\xff");
  EXPECT_TRUE(c.range(key("missing")).kvs.empty());

  c.put(key("b"), "two");
  EXPECT_EQ(etcdctl_get(endpoint(), key("b")), "two");

  const auto del = c.delete_key(key("a"));
  EXPECT_EQ(del.deleted, 1);
  EXPECT_EQ(c.delete_key(key("a")).deleted, 0);
  EXPECT_EQ(c.delete_prefix(prefix_).deleted, 3);
  EXPECT_TRUE(c.range_prefix(prefix_).kvs.empty());
  EXPECT_EQ(c.range("/keel-test/other").kvs.size(), 1u);
}

TEST_F(EtcdTest, TxnCompareAndSwapOnModRevision) {
  const auto c = client();
  const int64_t rev = c.put(key("state"), "v1").revision;

  const auto won = c.txn({Compare::mod_revision(key("state"), Result::Equal, rev)},
                         {Op::put(key("state"), "v2")}, {Op::range(key("state"))});
  EXPECT_TRUE(won.succeeded);
  ASSERT_EQ(won.responses.size(), 1u);
  EXPECT_EQ(won.responses[0].kind, Op::Kind::Put);
  EXPECT_EQ(won.responses[0].revision, won.revision);
  EXPECT_GT(won.revision, rev);

  // A writer still holding the old revision is fenced off, and learns the current value.
  const auto lost = c.txn({Compare::mod_revision(key("state"), Result::Equal, rev)},
                          {Op::put(key("state"), "stale")}, {Op::range(key("state"))});
  EXPECT_FALSE(lost.succeeded);
  EXPECT_EQ(lost.revision, won.revision);
  ASSERT_EQ(lost.responses.size(), 1u);
  EXPECT_EQ(lost.responses[0].kind, Op::Kind::Range);
  ASSERT_EQ(lost.responses[0].kvs.size(), 1u);
  EXPECT_EQ(lost.responses[0].kvs[0].value, "v2");
  EXPECT_EQ(lost.responses[0].kvs[0].mod_revision, won.revision);
  EXPECT_EQ(c.range(key("state")).kvs.at(0).value, "v2");
}

TEST_F(EtcdTest, TxnCreateIfAbsentOnCreateRevisionZero) {
  const auto c = client();
  const auto absent = Compare::create_revision(key("controller"), Result::Equal, 0);
  const auto first = c.txn({absent}, {Op::put(key("controller"), "broker-1")});
  EXPECT_TRUE(first.succeeded);
  const auto second = c.txn({absent}, {Op::put(key("controller"), "broker-2")});
  EXPECT_FALSE(second.succeeded);
  EXPECT_TRUE(second.responses.empty());
  const auto kv = c.range(key("controller")).kvs.at(0);
  EXPECT_EQ(kv.value, "broker-1");
  EXPECT_EQ(kv.create_revision, first.revision);  // the controller's epoch

  // Several ops and a delete inside one txn, fenced on the epoch.
  const auto both = c.txn({Compare::create_revision(key("controller"), Result::Equal, first.revision)},
                          {Op::put(key("p/0"), "leader=1"), Op::delete_key(key("controller"))});
  EXPECT_TRUE(both.succeeded);
  ASSERT_EQ(both.responses.size(), 2u);
  EXPECT_EQ(both.responses[1].kind, Op::Kind::Delete);
  EXPECT_EQ(both.responses[1].deleted, 1);
  EXPECT_TRUE(c.txn({absent}, {}).succeeded);
}

TEST_F(EtcdTest, TxnComparesVersionAndValueWithEveryResult) {
  const auto c = client();
  c.put(key("k"), "b");
  c.put(key("k"), "b");  // version 2
  const auto holds = [&](const Compare& cmp) { return c.txn({cmp}, {}).succeeded; };
  EXPECT_TRUE(holds(Compare::version(key("k"), Result::Equal, 2)));
  EXPECT_TRUE(holds(Compare::version(key("k"), Result::Greater, 1)));
  EXPECT_FALSE(holds(Compare::version(key("k"), Result::Greater, 2)));
  EXPECT_TRUE(holds(Compare::version(key("k"), Result::Less, 3)));
  EXPECT_TRUE(holds(Compare::version(key("k"), Result::NotEqual, 1)));
  EXPECT_TRUE(holds(Compare::value_of(key("k"), Result::Equal, "b")));
  EXPECT_TRUE(holds(Compare::value_of(key("k"), Result::Greater, "a")));
  EXPECT_TRUE(holds(Compare::value_of(key("k"), Result::Less, "c")));
  EXPECT_FALSE(holds(Compare::value_of(key("k"), Result::NotEqual, "b")));
  EXPECT_TRUE(holds(Compare::mod_revision(key("k"), Result::Greater, 0)));
  EXPECT_TRUE(holds(Compare::create_revision(key("k"), Result::Less, c.range(key("k")).revision + 1)));
}

TEST_F(EtcdTest, LeasedKeyVanishesAfterRevoke) {
  const auto c = client();
  const auto lease = c.lease_grant(60);
  EXPECT_NE(lease.id, 0);
  EXPECT_EQ(lease.ttl_seconds, 60);
  c.put(key("broker/1"), "host:9092", lease.id);
  EXPECT_EQ(c.range(key("broker/1")).kvs.at(0).lease, lease.id);
  EXPECT_GT(c.lease_keepalive_once(lease.id), 0);
  c.lease_revoke(lease.id);
  EXPECT_TRUE(c.range(key("broker/1")).kvs.empty());
  EXPECT_EQ(c.lease_keepalive_once(lease.id), 0);
  try {
    c.lease_revoke(lease.id);
    FAIL() << "revoking a revoked lease succeeded";
  } catch (const EtcdError& e) {
    EXPECT_EQ(e.kind(), EtcdError::Kind::Rejected);
    EXPECT_NE(std::string(e.what()).find("lease not found"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("lease_revoke"), std::string::npos) << e.what();
  }
}

// Waits, through a watch, for the key's deletion (no polling, a deadline).
bool wait_for_delete(const EtcdClient& c, const std::string& key, int64_t from_revision) {
  keel::test::WatchCollector seen;
  keel::etcd::Watch watch(c, {key, {}, from_revision, false}, seen.callback());
  return seen.wait_for(
      [](const std::vector<WatchUpdate>& us) {
        for (const auto& u : us)
          for (const auto& e : u.events)
            if (e.type == WatchEvent::Type::Delete) return true;
        return false;
      },
      std::chrono::seconds(20));
}

TEST_F(EtcdTest, LeasedKeyVanishesAfterExpiry) {
  const auto c = client();
  const auto lease = c.lease_grant(1);  // etcd may round a TTL up to its minimum
  EXPECT_GE(lease.ttl_seconds, 1);
  const int64_t rev = c.put(key("broker/2"), "up", lease.id).revision;
  ASSERT_TRUE(wait_for_delete(c, key("broker/2"), rev)) << "leased key still there 20 s after a 1 s TTL";
  EXPECT_TRUE(c.range(key("broker/2")).kvs.empty());
  EXPECT_EQ(c.lease_keepalive_once(lease.id), 0);
}

TEST_F(EtcdTest, KeepaliveKeepsKeyPastItsTtl) {
  const auto c = client();
  const auto lease = c.lease_grant(1);
  const int64_t rev = c.put(key("broker/3"), "up", lease.id).revision;
  // Renew at a third of the TTL for three TTLs: the key must outlive them.
  const auto ttl = std::chrono::seconds(lease.ttl_seconds);
  const auto until = std::chrono::steady_clock::now() + 3 * ttl;
  while (std::chrono::steady_clock::now() < until) {
    ASSERT_GT(c.lease_keepalive_once(lease.id), 0);
    std::this_thread::sleep_for(ttl / 3);  // the renewal cadence under test, not a wait for state
  }
  EXPECT_EQ(c.range(key("broker/3")).kvs.size(), 1u);
  // Once renewals stop, it goes.
  EXPECT_TRUE(wait_for_delete(c, key("broker/3"), rev));
}

TEST_F(EtcdTest, FailsOverToTheNextEndpoint) {
  const std::string closed = "127.0.0.1:" + std::to_string(keel::test::free_loopback_port());
  const EtcdClient c({closed, endpoint()});
  EXPECT_EQ(c.preferred_endpoint(), 0u);
  const int64_t rev = c.put(key("x"), "1").revision;
  EXPECT_EQ(c.preferred_endpoint(), 1u);  // later calls start at the one that answered
  EXPECT_EQ(c.range(key("x")).kvs.at(0).value, "1");

  // From the put's own revision: an earlier test of this etcd may have
  // compacted revision 1 away, and a watch from there asks for a resync.
  keel::test::WatchCollector seen;
  keel::etcd::Watch watch(EtcdClient({closed, endpoint()}), {key("x"), {}, rev, false}, seen.callback());
  EXPECT_TRUE(seen.wait_kind(WatchUpdate::Kind::Events));
}

TEST(EtcdClientDown, ErrorNamesTheEndpointAndWhatToCheck) {
  const std::string closed = "127.0.0.1:" + std::to_string(keel::test::free_loopback_port());
  const EtcdClient c({closed}, std::chrono::seconds(2));
  try {
    c.txn({Compare::create_revision("/keel/controller", Result::Equal, 0)},
          {Op::put("/keel/controller", "1")});
    FAIL() << "txn succeeded against a closed port";
  } catch (const EtcdError& e) {
    EXPECT_EQ(e.kind(), EtcdError::Kind::Unreachable);
    EXPECT_EQ(e.endpoint(), closed);
    EXPECT_EQ(std::string(e.what()), "etcd at " + closed +
                                         ": txn on /keel/controller: connection refused; is etcd running? "
                                         "(--listen-client-urls)");
  }

  const std::string other = "127.0.0.1:" + std::to_string(keel::test::free_loopback_port());
  try {
    EtcdClient({closed, other}).range("/k");
    FAIL() << "range succeeded against closed ports";
  } catch (const EtcdError& e) {
    EXPECT_NE(std::string(e.what()).find(closed), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(other), std::string::npos) << e.what();
  }
  EXPECT_THROW(EtcdClient({"no-port"}), std::invalid_argument);
  EXPECT_THROW(EtcdClient(std::vector<std::string>{}), std::invalid_argument);
}

}  // namespace
