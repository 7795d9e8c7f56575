// OffsetCommit with offsets_flush = "commit" completes asynchronously: the
// broker API's commit_offsets appends and returns, and the flusher runs the
// callback once the sync is over, sharing one sync among every commit
// appended meanwhile. Driven through a real Broker and its C API, with the
// flusher's sync held back (or failed) by its test hook.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "broker.hpp"
#include "common/clock.hpp"
#include "common/error.hpp"
#include "config/config.hpp"
#include "groups/offset_records.hpp"
#include "support/one_offset_commit.hpp"
#include "support/temp_dir.hpp"

namespace {

using ::testing::HasSubstr;
constexpr auto kCommitDeadline = std::chrono::seconds(30);

// Holds the syncs of __consumer_offsets until opened, counting them.
struct SyncGate {
  std::mutex mu;
  std::condition_variable cv;
  bool open = false;
  int passes = 0;  // flusher passes over __consumer_offsets (hook calls)

  void hook(const keel::PartitionLog& log) {
    if (log.topic() != keel::offsets::kTopic) return;
    std::unique_lock lock(mu);
    ++passes;
    cv.notify_all();
    cv.wait(lock, [&] { return open; });
  }
  void release() {
    std::lock_guard lock(mu);
    open = true;
    cv.notify_all();
  }
  bool wait_for_passes(int n) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, kCommitDeadline, [&] { return passes >= n; });
  }
};

// Callbacks of many commits: status, message and (per partition) the order
// in which their offsets were acknowledged.
struct Acks {
  struct One {
    Acks* acks;
    int32_t partition;
    int64_t offset;
  };
  std::mutex mu;
  std::condition_variable cv;
  int calls = 0;
  std::vector<std::pair<keel_status, std::string>> outcomes;
  std::map<int32_t, std::vector<int64_t>> order;
  std::vector<std::unique_ptr<One>> users;

  One* user(int32_t partition, int64_t offset) {
    std::lock_guard lock(mu);
    users.push_back(std::make_unique<One>(One{this, partition, offset}));
    return users.back().get();
  }
  static void callback(void* user, keel_status s, const char* message) {
    auto* one = static_cast<One*>(user);
    Acks& a = *one->acks;
    std::lock_guard lock(a.mu);
    ++a.calls;
    a.outcomes.emplace_back(s, message != nullptr ? message : "");
    a.order[one->partition].push_back(one->offset);
    a.cv.notify_all();
  }
  int count() {
    std::lock_guard lock(mu);
    return calls;
  }
  bool wait_for(int n) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, kCommitDeadline, [&] { return calls >= n; });
  }
};

class AsyncCommitTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string text = "[broker]\ndata_dir = \"" + dir_.sub("data") + "\"\nplugin_path = [\"" +
                             KEEL_TEST_PLUGIN_DIR + "\"]\noffsets_flush = \"commit\"\n";
    broker_ = std::make_unique<keel::Broker>(keel::parse_config(text, "test.toml"), &clock_);
    broker_->start();
    api_ = broker_->api();
  }
  // A held sync would keep the broker from stopping.
  void TearDown() override { gate_.release(); }

  void commit(int32_t partition, int64_t offset, Acks& acks) {
    const keel::test::OneOffsetCommit c("g", "orders", partition, offset);
    api_->commit_offsets(api_->ctx, &c.commit, &Acks::callback, acks.user(partition, offset));
  }
  int64_t fetch(int32_t partition) {
    int64_t offset = -2;
    EXPECT_EQ(api_->fetch_offset(api_->ctx, "g", "orders", partition, &offset, nullptr, nullptr), KEEL_OK);
    return offset;
  }

  keel::test::TempDir dir_{"keel-async-commit"};
  keel::ManualClock clock_{1'700'000'000'000};
  SyncGate gate_;
  std::unique_ptr<keel::Broker> broker_;
  const keel_broker_api* api_ = nullptr;
};

TEST_F(AsyncCommitTest, CommitReturnsBeforeTheSyncAndConcurrentCommitsShareIt) {
  broker_->flusher().set_sync_hook([this](const keel::PartitionLog& log) { gate_.hook(log); });
  Acks acks;
  commit(0, 1, acks);
  // Returned with the sync still held: not answered, not yet visible.
  ASSERT_TRUE(gate_.wait_for_passes(1)) << "the flusher never picked up the commit";
  EXPECT_EQ(acks.count(), 0);
  EXPECT_EQ(fetch(0), -1);

  // 8 committers, 25 commits each on their own partition, all while the
  // first sync is held: none waits for it.
  constexpr int kThreads = 8;
  constexpr int kEach = 25;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 1; i <= kEach; ++i) commit(t + 1, i, acks);
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(acks.count(), 0);

  gate_.release();
  ASSERT_TRUE(acks.wait_for(1 + kThreads * kEach));
  for (const auto& [status, message] : acks.outcomes) EXPECT_EQ(status, KEEL_OK) << message;
  // The held pass synced everything appended before it ran; the one pass
  // after it answered the other 200 commits (its sync found nothing new).
  EXPECT_EQ(gate_.passes, 2);
  for (int t = 1; t <= kThreads; ++t) {
    std::vector<int64_t> want;
    for (int i = 1; i <= kEach; ++i) want.push_back(i);
    EXPECT_EQ(acks.order[t], want) << "acknowledgements of partition " << t << " out of order";
    EXPECT_EQ(fetch(t), kEach);
  }
  EXPECT_EQ(fetch(0), 1);
}

TEST_F(AsyncCommitTest, AFailedSyncFailsTheCommitAndLeavesThePreviousOffset) {
  Acks first;
  commit(0, 5, first);
  ASSERT_TRUE(first.wait_for(1));
  ASSERT_EQ(first.outcomes[0].first, KEEL_OK) << first.outcomes[0].second;

  broker_->flusher().set_sync_hook([](const keel::PartitionLog& log) {
    if (log.topic() == keel::offsets::kTopic) keel::fail(KEEL_ERR_IO, "injected fdatasync failure");
  });
  Acks failed;
  commit(0, 9, failed);
  ASSERT_TRUE(failed.wait_for(1));
  EXPECT_EQ(failed.outcomes[0].first, KEEL_ERR_IO);
  EXPECT_THAT(failed.outcomes[0].second, HasSubstr("__consumer_offsets-0: syncing committed offsets failed"));
  EXPECT_THAT(failed.outcomes[0].second, HasSubstr("injected fdatasync failure"));
  EXPECT_EQ(fetch(0), 5) << "a commit whose sync failed must not be visible";

  broker_->flusher().set_sync_hook(nullptr);
  Acks retried;
  commit(0, 9, retried);
  ASSERT_TRUE(retried.wait_for(1));
  EXPECT_EQ(retried.outcomes[0].first, KEEL_OK) << retried.outcomes[0].second;
  EXPECT_EQ(fetch(0), 9);
}

}  // namespace
