// RecentBatches: the positions of the last batches appended to the active
// segment, which reads at the log's end start from.
#include "storage/recent_batches.hpp"

#include <gtest/gtest.h>

namespace keel {
namespace {

constexpr int64_t kNoLimit = INT64_MAX;

// Batch i holds offsets [10 i, 10 i + 4] at position 100 i: offsets
// 10 i + 5 .. 10 i + 9 lie in no batch (a compacted or sparse log).
RecentBatches::Batch batch(int64_t i) { return {10 * i, 10 * i + 4, 100 * i, 100 * i + 100}; }

TEST(RecentBatches, EmptyFindsNothing) {
  RecentBatches r;
  EXPECT_FALSE(r.find(0, kNoLimit));
}

TEST(RecentBatches, FindsTheBatchHoldingTheOffset) {
  RecentBatches r;
  for (int64_t i = 0; i < 5; ++i) r.add(batch(i));
  for (int64_t i = 0; i < 5; ++i) {
    for (int64_t off = 10 * i; off <= 10 * i + 4; ++off) {
      auto b = r.find(off, kNoLimit);
      ASSERT_TRUE(b) << off;
      EXPECT_EQ(b->position, 100 * i) << off;
      EXPECT_EQ(b->base_offset, 10 * i) << off;
    }
    // Between batches and past the last: not remembered (the index finds
    // the next batch).
    EXPECT_FALSE(r.find(10 * i + 7, kNoLimit));
  }
  EXPECT_FALSE(r.find(1000, kNoLimit));
}

TEST(RecentBatches, ABatchAtOrPastTheLimitIsNotHandedOut) {
  RecentBatches r;
  r.add(batch(0));
  r.add(batch(1));
  EXPECT_TRUE(r.find(10, 101));
  EXPECT_FALSE(r.find(10, 100));
}

TEST(RecentBatches, RemembersOnlyTheNewestCapacity) {
  RecentBatches r;
  const int64_t n = static_cast<int64_t>(RecentBatches::kCapacity) + 10;
  for (int64_t i = 0; i < n; ++i) r.add(batch(i));
  for (int64_t i = 0; i < n; ++i) {
    const bool kept = i >= 10;
    EXPECT_EQ(r.find(10 * i, kNoLimit).has_value(), kept) << "batch " << i;
  }
}

TEST(RecentBatches, ACutForgetsTheBatchesFromItsPosition) {
  RecentBatches r;
  for (int64_t i = 0; i < 10; ++i) r.add(batch(i));
  r.cut(650);  // inside batch 6: 6..9 go, 0..5 stay
  for (int64_t i = 0; i < 10; ++i) EXPECT_EQ(r.find(10 * i, kNoLimit).has_value(), i <= 5) << i;
  // New batches after the cut, at other positions.
  r.add({60, 64, 650, 700});
  auto b = r.find(62, kNoLimit);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->position, 650);
  r.cut(0);
  EXPECT_FALSE(r.find(0, kNoLimit));
  EXPECT_FALSE(r.find(60, kNoLimit));
}

TEST(RecentBatches, ACutAfterTheRingWrappedKeepsTheOlderOnes) {
  RecentBatches r;
  const int64_t n = static_cast<int64_t>(RecentBatches::kCapacity) * 2 + 3;
  for (int64_t i = 0; i < n; ++i) r.add(batch(i));
  r.cut(100 * (n - 5) + 1);  // inside batch n - 5
  EXPECT_TRUE(r.find(10 * (n - 6), kNoLimit));
  EXPECT_FALSE(r.find(10 * (n - 5), kNoLimit));
  r.add(batch(n - 5));
  EXPECT_TRUE(r.find(10 * (n - 5), kNoLimit));
}

TEST(RecentBatches, ClearForgetsEverythingAndCanStartAgain) {
  RecentBatches r;
  for (int64_t i = 0; i < 3; ++i) r.add(batch(i));
  r.clear();
  EXPECT_FALSE(r.find(0, kNoLimit));
  r.add(batch(7));
  EXPECT_TRUE(r.find(72, kNoLimit));
}

}  // namespace
}  // namespace keel
