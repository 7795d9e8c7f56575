// GroupOffsetStore: commits, batched flushes into the internal topic's
// batches, and rebuilding the state from those batches.
#include "groups/group_offsets.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <keel/record_batch.hpp>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.hpp"
#include "common/error.hpp"
#include "support/batch_bytes.hpp"

namespace keel {
namespace {

using keel::test::bytes;

// Stands in for the internal topic: keeps what the store writes, per
// partition, and can be told to fail like a full disk.
struct FakeTopic {
  std::mutex mu;
  std::map<int32_t, std::vector<std::string>> batches;
  int writes = 0;
  bool fail = false;

  // Durable as soon as written (the sync is the flusher's, tested with the
  // broker in async_commit_test.cpp).
  GroupOffsetStore::Writer writer() {
    return [this](int32_t p, const std::vector<std::string>& list, const GroupOffsetStore::Done& done) {
      {
        std::lock_guard lock(mu);
        if (fail) keel::fail(KEEL_ERR_NO_SPACE, "disk full");
        ++writes;
        for (const auto& b : list) batches[p].push_back(b);
      }
      done(KEEL_OK, "");
    };
  }
  size_t records() {
    std::lock_guard lock(mu);
    size_t n = 0;
    for (const auto& [p, list] : batches) {
      for (const auto& b : list) n += batch::decode(bytes(b), b.size()).size();
    }
    return n;
  }
  // Replays everything written into a fresh store, as a restart does.
  void replay_into(GroupOffsetStore& s) {
    std::lock_guard lock(mu);
    for (const auto& [p, list] : batches) {
      for (const auto& b : list) {
        for (const auto& r : batch::decode(bytes(b), b.size())) s.apply(*r.key, r.value);
      }
    }
  }
};

class GroupOffsetStoreTest : public ::testing::Test {
 protected:
  ManualClock clock_{1'700'000'000'000};
  FakeTopic topic_;
};

TEST_F(GroupOffsetStoreTest, CommitIsVisibleAtOnceAndDurableBeforeItReturns) {
  GroupOffsetStore s(1, topic_.writer(), true, clock_);
  EXPECT_EQ(s.fetch("g", "t", 0), std::nullopt);
  s.commit("g", {{"t", 0, 42, "meta"}, {"t", 1, 7, ""}}, clock_.now_ms());
  ASSERT_TRUE(s.fetch("g", "t", 0));
  EXPECT_EQ(s.fetch("g", "t", 0)->offset, 42);
  EXPECT_EQ(s.fetch("g", "t", 0)->metadata, "meta");
  // One commit call, one write holding both partitions.
  EXPECT_EQ(topic_.writes, 1);
  EXPECT_EQ(topic_.records(), 2u);
  EXPECT_FALSE(s.dirty());
}

TEST_F(GroupOffsetStoreTest, IntervalModeWritesOnlyOnFlushAndOnlyTheNewestValue) {
  GroupOffsetStore s(1, topic_.writer(), false, clock_);
  for (int i = 0; i < 100; ++i) s.commit("g", "t", 0, i, "", clock_.now_ms());
  EXPECT_EQ(topic_.writes, 0);
  EXPECT_TRUE(s.dirty());
  EXPECT_EQ(s.fetch("g", "t", 0)->offset, 99);
  s.flush();
  EXPECT_EQ(topic_.writes, 1);
  EXPECT_EQ(topic_.records(), 1u);
  s.flush();  // nothing dirty: nothing written
  EXPECT_EQ(topic_.writes, 1);
}

TEST_F(GroupOffsetStoreTest, RestartRebuildsOffsetsMetadataAndRemovals) {
  {
    GroupOffsetStore s(3, topic_.writer(), true, clock_);
    s.commit("g1", {{"t", 0, 10, "a"}, {"t", 1, 11, ""}, {"u", 0, 12, ""}}, clock_.now_ms());
    s.commit("g2", "u", 0, 20, "", clock_.now_ms());
    s.commit("g1", "t", 0, 15, "b", clock_.now_ms());
    s.set_group_metadata("g3", R"({"protocol_type":"consumer","generation":4})", clock_.now_ms());
    s.remove_topic("u");
  }
  GroupOffsetStore s(3, topic_.writer(), true, clock_);
  topic_.replay_into(s);
  EXPECT_EQ(s.groups(), (std::vector<std::string>{"g1", "g3"}));  // g2 only had topic u
  auto g1 = s.group_offsets("g1");
  ASSERT_EQ(g1.size(), 2u);
  EXPECT_EQ((g1[{"t", 0}].offset), 15);
  EXPECT_EQ((g1[{"t", 0}].metadata), "b");
  EXPECT_EQ((g1[{"t", 1}].offset), 11);
  EXPECT_EQ(s.group_metadata("g3"), R"({"protocol_type":"consumer","generation":4})");
  EXPECT_EQ(s.group_metadata("g1"), std::nullopt);
}

// DeleteGroups and OffsetDelete: tombstones, durable before the call
// returns (one write), so a restart does not bring the removed state back.
TEST_F(GroupOffsetStoreTest, RemovedGroupsAndOffsetsStayRemovedAfterARestart) {
  {
    GroupOffsetStore s(3, topic_.writer(), true, clock_);
    s.commit("gone", {{"t", 0, 10, ""}, {"u", 1, 11, ""}}, clock_.now_ms());
    s.set_group_metadata("gone", "{\"generation\":3}", clock_.now_ms());
    s.commit("trimmed", {{"t", 0, 5, ""}, {"t", 1, 6, ""}, {"u", 0, 7, ""}}, clock_.now_ms());
    const int writes = topic_.writes;
    EXPECT_TRUE(s.remove_group("gone"));
    EXPECT_EQ(topic_.writes, writes + 1) << "one durable write of the group's tombstones";
    EXPECT_FALSE(s.remove_group("gone")) << "nothing left to remove";
    EXPECT_FALSE(s.remove_group("never"));
    EXPECT_TRUE(s.remove_offsets("trimmed", "t", {1, 9}));  // 9 has no offset: skipped
    EXPECT_FALSE(s.remove_offsets("never", "t", {0}));
    EXPECT_EQ(s.fetch("gone", "t", 0), std::nullopt);
    EXPECT_EQ(s.group_metadata("gone"), std::nullopt);
  }
  GroupOffsetStore s(3, topic_.writer(), true, clock_);
  topic_.replay_into(s);
  EXPECT_EQ(s.groups(), (std::vector<std::string>{"trimmed"}));
  auto trimmed = s.group_offsets("trimmed");
  ASSERT_EQ(trimmed.size(), 2u);
  EXPECT_EQ((trimmed[{"t", 0}].offset), 5);
  EXPECT_EQ((trimmed[{"u", 0}].offset), 7);
}

TEST_F(GroupOffsetStoreTest, AGroupAlwaysLandsInTheSamePartition) {
  GroupOffsetStore s(8, topic_.writer(), true, clock_);
  for (int i = 0; i < 20; ++i) s.commit("group-" + std::to_string(i), "t", 0, i, "", clock_.now_ms());
  for (const auto& [p, list] : topic_.batches) {
    for (const auto& b : list) {
      for (const auto& r : batch::decode(bytes(b), b.size())) {
        const auto e = offsets::decode(*r.key, r.value);
        EXPECT_EQ(s.partition_for(e.group), p) << *r.key;
      }
    }
  }
  EXPECT_GT(topic_.batches.size(), 1u) << "20 groups should spread over 8 partitions";
}

TEST_F(GroupOffsetStoreTest, FailedFlushKeepsCommitsDirtyAndRetries) {
  GroupOffsetStore s(1, topic_.writer(), true, clock_);
  topic_.fail = true;
  EXPECT_THROW(s.commit("g", "t", 0, 5, "", clock_.now_ms()), Error);
  // Visible (it was applied) but not yet durable.
  EXPECT_EQ(s.fetch("g", "t", 0)->offset, 5);
  EXPECT_TRUE(s.dirty());
  topic_.fail = false;
  s.flush();
  EXPECT_FALSE(s.dirty());
  GroupOffsetStore restarted(1, topic_.writer(), true, clock_);
  topic_.replay_into(restarted);
  EXPECT_EQ(restarted.fetch("g", "t", 0)->offset, 5);
}

TEST_F(GroupOffsetStoreTest, ConcurrentCommitsAreAllDurableInFewerWrites) {
  GroupOffsetStore s(2, topic_.writer(), true, clock_);
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) s.commit("g" + std::to_string(t), "t", i % 4, i, "", clock_.now_ms());
    });
  }
  for (auto& th : threads) th.join();
  GroupOffsetStore restarted(2, topic_.writer(), true, clock_);
  topic_.replay_into(restarted);
  for (int t = 0; t < 8; ++t) {
    for (int p = 0; p < 4; ++p) {
      auto c = restarted.fetch("g" + std::to_string(t), "t", p);
      ASSERT_TRUE(c);
      EXPECT_EQ(c->offset, 49 - (49 - p) % 4) << "group g" << t << " partition " << p;
    }
  }
  EXPECT_LE(topic_.writes, 400);
}

TEST_F(GroupOffsetStoreTest, RecordsAreReadableJson) {
  GroupOffsetStore s(1, topic_.writer(), true, clock_);
  s.commit("g", "orders", 3, 99, "m", clock_.now_ms());
  const auto& b = topic_.batches[0].at(0);
  const auto r = batch::decode(bytes(b), b.size()).at(0);
  EXPECT_EQ(*r.key, R"(["offset","g","orders",3])");
  EXPECT_EQ(*r.value, R"({"commit_timestamp":1700000000000,"metadata":"m","offset":99})");
  EXPECT_EQ(r.timestamp, clock_.now_ms());
}

TEST_F(GroupOffsetStoreTest, MalformedAndUnknownRecords) {
  GroupOffsetStore s(1, topic_.writer(), true, clock_);
  EXPECT_THROW(s.apply("not json", std::string("{}")), Error);
  EXPECT_THROW(s.apply(R"(["offset","g"])", std::string("{}")), Error);
  s.apply(R"(["future-kind","x"])", std::string("{}"));  // skipped
  EXPECT_TRUE(s.groups().empty());
}

// A commit appended before its topic is deleted, synced after: the log holds
// the commit and then the deletion's tombstone, and memory must agree with
// the log (no offset of the deleted topic comes back when the sync lands).
TEST_F(GroupOffsetStoreTest, AnAsyncCommitSyncedAfterItsTopicIsDeletedStaysDeleted) {
  std::vector<GroupOffsetStore::Done> held;
  auto inner = topic_.writer();
  bool hold = true;
  GroupOffsetStore::Writer writer = [&](int32_t p, const std::vector<std::string>& list,
                                        const GroupOffsetStore::Done& done) {
    if (!hold) return inner(p, list, done);
    inner(p, list, [&held, done](keel_status, const std::string&) { held.push_back(done); });
  };
  GroupOffsetStore s(1, writer, true, clock_);
  std::vector<std::pair<keel_status, std::string>> answers;
  auto answer = [&](keel_status st, const std::string& m) { answers.emplace_back(st, m); };
  s.commit_async("g", {{"gone", 0, 5, ""}, {"kept", 0, 6, ""}}, clock_.now_ms(), answer);
  ASSERT_EQ(held.size(), 1u);
  hold = false;
  s.remove_topic("gone");
  // A commit to a topic of the same name made after the deletion counts.
  s.commit_async("g2", {{"gone", 1, 9, ""}}, clock_.now_ms(), answer);
  held[0](KEEL_OK, "");
  ASSERT_EQ(answers.size(), 2u);
  EXPECT_EQ(s.fetch("g", "gone", 0), std::nullopt);
  ASSERT_TRUE(s.fetch("g", "kept", 0));
  EXPECT_EQ(s.fetch("g", "kept", 0)->offset, 6);
  ASSERT_TRUE(s.fetch("g2", "gone", 1));
  EXPECT_EQ(s.fetch("g2", "gone", 1)->offset, 9);

  GroupOffsetStore replayed(1, topic_.writer(), true, clock_);
  topic_.replay_into(replayed);
  EXPECT_EQ(replayed.fetch("g", "gone", 0), std::nullopt);
  EXPECT_EQ(replayed.fetch("g", "kept", 0)->offset, 6);
  EXPECT_EQ(replayed.fetch("g2", "gone", 1)->offset, 9);
}

}  // namespace
}  // namespace keel
