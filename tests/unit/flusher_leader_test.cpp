// The sync on the caller's thread (Flusher::SyncOn::CallerIfIdle,
// KEEL_PRODUCE_SYNC_HERE): an every-batch partition with no sync running
// or queued is synced by the thread that appended, which then answers its
// own waiter and every waiter that came meanwhile and the sync covered;
// the others go to the flusher thread. These tests check which thread
// syncs, the order of the answers, a failed sync, and stop().
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <keel/record_batch.hpp>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.hpp"
#include "common/error.hpp"
#include "storage/flusher.hpp"
#include "storage/partition_log.hpp"
#include "support/temp_dir.hpp"

namespace {

using keel::Flusher;
using keel::FlushMode;
using keel::FlushPolicy;
using keel::PartitionLog;
using SyncOn = keel::Flusher::SyncOn;

const FlushPolicy kEveryBatch{FlushMode::EveryBatch, 1000, 10000};
constexpr auto kDeadline = std::chrono::seconds(10);

// Holds syncs back until opened; records the thread of each sync.
class Gate {
 public:
  // A sync held past the deadline fails the test instead of hanging it
  // (a caller that wrongly syncs itself while the gate is shut).
  void hook() {
    std::unique_lock lock(mu_);
    threads_.push_back(std::this_thread::get_id());
    cv_.notify_all();
    if (!cv_.wait_for(lock, kDeadline, [&] { return open_; }))
      ADD_FAILURE() << "a sync was held past the deadline";
  }
  void open() {
    std::lock_guard lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  // Waits until `n` syncs have started.
  bool started(size_t n) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, kDeadline, [&] { return threads_.size() >= n; });
  }
  std::vector<std::thread::id> threads() {
    std::lock_guard lock(mu_);
    return threads_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
  std::vector<std::thread::id> threads_;
};

// The answers, in the order they came.
class Answers {
 public:
  Flusher::Done waiter(int id) {
    return [this, id](keel_status s, const std::string& m) {
      std::lock_guard lock(mu_);
      got_.push_back({id, s, m, std::this_thread::get_id()});
      cv_.notify_all();
    };
  }
  bool wait_for(size_t n) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, kDeadline, [&] { return got_.size() >= n; });
  }
  struct Answer {
    int id;
    keel_status status;
    std::string message;
    std::thread::id thread;
  };
  std::vector<Answer> got() {
    std::lock_guard lock(mu_);
    return got_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Answer> got_;
};

class FlusherLeaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    log_ = std::make_shared<PartitionLog>("lead", 0, dir_.sub("lead-0"), keel::LogOptions{}, &clock_);
    log_->open(true, 0);
  }
  void TearDown() override { flusher_.stop(); }
  // Appends one batch; returns the offset after it.
  int64_t append() {
    keel::batch::Builder b(0);
    b.add("k", "v", 1000);
    const std::string bytes = b.build();
    log_->append(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
    return log_->log_end_offset();
  }

  keel::test::TempDir dir_{"keel-flusher-leader"};
  keel::ManualClock clock_{1'700'000'000'000};
  std::shared_ptr<PartitionLog> log_;
  // A member, not a test's local: the flusher thread may still run a
  // (redundant) sync, and so the hook, after a test's body ends, until
  // TearDown stops it.
  Gate gate_;
  Flusher flusher_{&clock_, nullptr};
  Answers answers_;
};

TEST_F(FlusherLeaderTest, AnIdlePartitionIsSyncedOnTheCallersThreadBeforeAppendedReturns) {
  flusher_.start();
  std::mutex mu;
  std::vector<std::thread::id> syncs;
  flusher_.set_sync_hook([&](const PartitionLog&) {
    std::lock_guard lock(mu);
    syncs.push_back(std::this_thread::get_id());
  });
  const int64_t end = append();
  flusher_.appended(log_, kEveryBatch, end, answers_.waiter(1), SyncOn::CallerIfIdle);
  const auto got = answers_.got();
  ASSERT_EQ(got.size(), 1u) << "answered before appended() returned";
  EXPECT_EQ(got[0].status, KEEL_OK);
  EXPECT_EQ(got[0].thread, std::this_thread::get_id());
  std::lock_guard lock(mu);
  ASSERT_EQ(syncs.size(), 1u);
  EXPECT_EQ(syncs[0], std::this_thread::get_id());
  EXPECT_EQ(log_->flushed_offset(), end);
}

TEST_F(FlusherLeaderTest, WithoutTheFlagTheFlusherThreadSyncs) {
  flusher_.start();
  Gate& gate = gate_;
  gate.open();
  flusher_.set_sync_hook([&](const PartitionLog&) { gate.hook(); });
  const int64_t end = append();
  flusher_.appended(log_, kEveryBatch, end, answers_.waiter(1));
  ASSERT_TRUE(answers_.wait_for(1));
  EXPECT_NE(answers_.got()[0].thread, std::this_thread::get_id());
  ASSERT_EQ(gate.threads().size(), 1u);
  EXPECT_NE(gate.threads()[0], std::this_thread::get_id());
}

TEST_F(FlusherLeaderTest, OnlyEveryBatchPartitionsLead) {
  flusher_.start();
  std::vector<std::thread::id> syncs;
  std::mutex mu;
  flusher_.set_sync_hook([&](const PartitionLog&) {
    std::lock_guard lock(mu);
    syncs.push_back(std::this_thread::get_id());
  });
  const int64_t end = append();
  // An interval policy waits for its interval (or message count: 1 here).
  flusher_.appended(log_, FlushPolicy{FlushMode::Interval, 1000, 1}, end, answers_.waiter(1),
                    SyncOn::CallerIfIdle);
  ASSERT_TRUE(answers_.wait_for(1));
  std::lock_guard lock(mu);
  ASSERT_FALSE(syncs.empty());
  EXPECT_NE(syncs[0], std::this_thread::get_id());
}

TEST_F(FlusherLeaderTest, AnAppendDuringTheLeadersSyncFollowsAndIsAnsweredInAppendOrder) {
  flusher_.start();
  Gate& gate = gate_;
  flusher_.set_sync_hook([&](const PartitionLog&) { gate.hook(); });
  const int64_t first = append();
  std::thread::id leader_id;
  std::thread leader([&] {
    leader_id = std::this_thread::get_id();
    flusher_.appended(log_, kEveryBatch, first, answers_.waiter(1), SyncOn::CallerIfIdle);
  });
  ASSERT_TRUE(gate.started(1));
  // The leader's sync has not read the log's end yet (the hook runs
  // first), so it covers this append too.
  const int64_t second = append();
  flusher_.appended(log_, kEveryBatch, second, answers_.waiter(2), SyncOn::CallerIfIdle);
  EXPECT_TRUE(answers_.got().empty()) << "a sync of the partition runs: this caller must not sync too";
  gate.open();
  leader.join();
  ASSERT_TRUE(answers_.wait_for(2));
  const auto got = answers_.got();
  EXPECT_EQ(got[0].id, 1);
  EXPECT_EQ(got[1].id, 2);
  for (const auto& a : got) EXPECT_EQ(a.status, KEEL_OK) << a.message;
  const auto syncs = gate.threads();
  ASSERT_FALSE(syncs.empty());
  EXPECT_EQ(syncs[0], leader_id);
  for (const auto& t : syncs) EXPECT_NE(t, std::this_thread::get_id()) << "the follower never synced itself";
  EXPECT_EQ(got[0].thread, leader_id);
  EXPECT_EQ(got[1].thread, leader_id) << "the leader's sync covered it, so the leader answers it";
  EXPECT_EQ(log_->flushed_offset(), second);
}

TEST_F(FlusherLeaderTest, AQueuedSyncMakesTheCallerFollow) {
  flusher_.start();
  Gate& gate = gate_;
  flusher_.set_sync_hook([&](const PartitionLog&) { gate.hook(); });
  // The flusher thread takes the first append; the second finds its sync
  // running and must not sync on its own thread.
  const int64_t first = append();
  flusher_.appended(log_, kEveryBatch, first, answers_.waiter(1));
  ASSERT_TRUE(gate.started(1));
  const int64_t second = append();
  flusher_.appended(log_, kEveryBatch, second, answers_.waiter(2), SyncOn::CallerIfIdle);
  EXPECT_TRUE(answers_.got().empty());
  gate.open();
  ASSERT_TRUE(answers_.wait_for(2));
  for (const auto& t : gate.threads()) EXPECT_NE(t, std::this_thread::get_id());
  const auto got = answers_.got();
  EXPECT_EQ(got[0].id, 1);
  EXPECT_EQ(got[1].id, 2);
  EXPECT_EQ(log_->flushed_offset(), second);
}

TEST_F(FlusherLeaderTest, AFailedSyncAnswersTheLeaderWithItsErrorAndTheNextOneLeadsAgain) {
  flusher_.start();
  bool fail = true;
  flusher_.set_sync_hook([&](const PartitionLog&) {
    if (fail) keel::fail(KEEL_ERR_IO, "injected: fdatasync failed on lead-0");
  });
  const int64_t first = append();
  flusher_.appended(log_, kEveryBatch, first, answers_.waiter(1), SyncOn::CallerIfIdle);
  auto got = answers_.got();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].status, KEEL_ERR_IO);
  EXPECT_NE(got[0].message.find("injected: fdatasync failed on lead-0"), std::string::npos) << got[0].message;
  EXPECT_LT(log_->flushed_offset(), first) << "nothing promised by a failed sync";
  fail = false;
  const int64_t second = append();
  flusher_.appended(log_, kEveryBatch, second, answers_.waiter(2), SyncOn::CallerIfIdle);
  got = answers_.got();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[1].status, KEEL_OK);
  EXPECT_EQ(got[1].thread, std::this_thread::get_id());
  EXPECT_EQ(log_->flushed_offset(), second);
}

TEST_F(FlusherLeaderTest, StopAnswersTheFollowersOfALeaderStillSyncing) {
  flusher_.start();
  Gate& gate = gate_;
  flusher_.set_sync_hook([&](const PartitionLog&) { gate.hook(); });
  const int64_t first = append();
  std::thread leader(
      [&] { flusher_.appended(log_, kEveryBatch, first, answers_.waiter(1), SyncOn::CallerIfIdle); });
  ASSERT_TRUE(gate.started(1));
  // A follower, appended before the leader's sync reads the end.
  const int64_t second = append();
  flusher_.appended(log_, kEveryBatch, second, answers_.waiter(2), SyncOn::CallerIfIdle);
  std::thread stopper([&] { flusher_.stop(); });
  // stop() is under way while the leader still syncs.
  const auto until = std::chrono::steady_clock::now() + kDeadline;
  while (!flusher_.stopping() && std::chrono::steady_clock::now() < until) std::this_thread::yield();
  ASSERT_TRUE(flusher_.stopping());
  gate.open();
  stopper.join();
  // stop() returned: every waiter is answered, none left behind.
  EXPECT_EQ(answers_.got().size(), 2u);
  leader.join();
  ASSERT_TRUE(answers_.wait_for(2));
  for (const auto& a : answers_.got()) EXPECT_EQ(a.status, KEEL_OK) << a.message;
  EXPECT_EQ(log_->flushed_offset(), log_->log_end_offset());
}

TEST_F(FlusherLeaderTest, ACallbackThatThrowsLeavesThePartitionFreeToSyncAgain) {
  flusher_.start();
  const int64_t first = append();
  flusher_.appended(
      log_, kEveryBatch, first,
      [](keel_status, const std::string&) { throw std::runtime_error("callback broke"); },
      SyncOn::CallerIfIdle);
  // The next lone append leads again: the first one's sync is over.
  const int64_t second = append();
  flusher_.appended(log_, kEveryBatch, second, answers_.waiter(2), SyncOn::CallerIfIdle);
  const auto got = answers_.got();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].status, KEEL_OK);
  EXPECT_EQ(got[0].thread, std::this_thread::get_id());
  flusher_.stop();  // returns: nothing is left marked as syncing
}

}  // namespace
